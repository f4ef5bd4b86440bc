"""Interchange bytes to text, by the UNB syntax identifier, tolerating mislabelled text."""

from __future__ import annotations

import re

from pnrguard.formats.edifact.model import (
    Deviation,
)

# ISO 9735 syntax identifiers -> Python codecs. UNOA/UNOB are ASCII subsets, but carriers
# send UTF-8 or Latin-1 under them; we read those leniently and record a deviation.
SYNTAX_CODECS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859_2",
    "UNOE": "iso8859_5",
    "UNOF": "iso8859_7",
    "UNOG": "iso8859_3",
    "UNOH": "iso8859_4",
    "UNOI": "iso8859_6",
    "UNOJ": "iso8859_8",
    "UNOK": "iso8859_9",
    "UNOW": "utf-8",
    "UNOX": "iso2022_jp",
    "UNOY": "utf-8",
}


_SYNTAX_RE = re.compile(rb"UNB.([A-Z]{4})")


def decode(data: bytes) -> tuple[str, list[Deviation]]:
    """Decode interchange bytes by the UNB syntax identifier, tolerating mislabelled text.

    Carriers send UTF-8 under every declaration (UNOA to UNOK): decoded as declared, a
    UTF-8 `Ü` becomes `Ã\x9c` and screening misses the name. Non-ASCII bytes that form valid
    UTF-8 are therefore read as UTF-8 whatever the declaration (`utf8_under_declared_charset`);
    a single-byte text almost never forms valid multi-byte UTF-8 by accident. Bytes invalid in
    the declared charset fall back to Latin-1, which reads every byte (`charset_mismatch`).
    """
    deviations: list[Deviation] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    match = _SYNTAX_RE.search(data, 0, 4096)
    codec = SYNTAX_CODECS.get(match.group(1).decode("ascii"), "") if match else ""
    if data.isascii():
        return data.decode("ascii"), deviations
    if codec != "utf-8":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if codec:
                deviations.append(Deviation("utf8_under_declared_charset"))
            return text, deviations
    if codec and codec not in ("ascii", "utf-8"):
        try:
            return data.decode(codec), deviations
        except UnicodeDecodeError:
            deviations.append(Deviation("charset_mismatch"))
            return data.decode("latin-1"), deviations
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if codec == "utf-8":
            deviations.append(Deviation("charset_mismatch"))
        text = data.decode("latin-1")
    if codec == "ascii" and not text.isascii():
        deviations.append(Deviation("non_ascii_in_unoa"))
    return text, deviations
