"""Released characters (ISO 9735 release character): splitting around them, and the
stand-ins that let plain `str.split` serve segments holding them."""

from __future__ import annotations

import re
from typing import Any


def _split_escaped(text: str, sep: str, release: str) -> list[str]:
    """`text.split(sep)`, except where `sep` is escaped by an odd run of release characters."""
    parts = text.split(sep)
    if not release or release not in text:
        return parts
    out: list[str] = []
    buf: str | None = None
    for part in parts:
        buf = part if buf is None else buf + sep + part
        run = len(part) - len(part.rstrip(release))
        if run % 2 == 1:
            continue  # the separator after this piece was released: keep joining
        out.append(buf)
        buf = None
    if buf is not None:
        out.append(buf)
    return out


def _unescape(value: str, release: str) -> str:
    if not release or release not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == release and i + 1 < n:
            out.append(value[i + 1])
            i += 2
        elif ch == release:
            i += 1  # a dangling release character at the very end releases nothing
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# Stand-ins while a message is split, for a released release character, segment
# terminator, element separator, component separator, and for a lone release character
# (which releases a plain character, or nothing at the very end). C1 control characters,
# which carriers do not send (when one occurs, the tokenizer falls back to
# `_split_escaped`). Not ASCII, so the O(1) `str.isascii` clears a segment of them; but
# Latin-1, so an ASCII body stays one byte per character (private-use stand-ins made every
# later split and slice slower: the tokenizer lost 30%, measured).
_RELEASED = ("\x80", "\x81", "\x82", "\x83", "\x84")


def _released_segment(
    raw: str, esep: str, csep: str, rel: str, restore: dict[int, str] | None
) -> tuple[str, list[list[str]]]:
    """Tag and elements of a segment holding release characters (a few percent of them)."""
    if restore is None:  # stand-ins unavailable: escapes are still in `raw`
        elements = [
            [_unescape(c, rel) for c in _split_escaped(e, csep, rel)] for e in _split_escaped(raw, esep, rel)
        ]
    else:
        # Separators are plain again once released ones are stand-ins: split, then put the
        # released characters back (a lone release character's stand-in maps to nothing).
        parts: list[Any] = raw.split(esep)
        i = 0
        for e in parts:
            comps = e.split(csep)
            if not e.isascii():
                comps = [c.translate(restore) for c in comps]
            parts[i] = comps
            i += 1  # noqa: SIM113 (a counter beats enumerate here, measured)
        elements = parts
    tag = elements[0][0]
    del elements[0]
    return tag, elements


_RELEASED_RE = re.compile("[" + "".join(_RELEASED) + "]")


def _has_released(raw: str, restore: dict[int, str] | None, rel: str) -> bool:
    if restore is None:
        return rel in raw
    return _RELEASED_RE.search(raw) is not None
