"""The UNA service string advice: the delimiters an interchange declares, read leniently."""

from __future__ import annotations

import re

from pnrguard.errors import EdifactError
from pnrguard.formats.edifact.model import (
    Delimiters,
    Deviation,
)

_UNH_UNG = re.compile(r"UN[HG]")


def _read_una(text: str, deviations: list[Deviation]) -> tuple[Delimiters, int]:
    """Delimiters from a UNA advice at the start of `text`; returns them and the body start.

    Tolerates a short advice (a character left out) and a declared terminator that the
    interchange does not use (the character that really ends the UNB segment wins).
    """
    advice = text[3:9]
    unb = text.find("UNB", 3, 64)
    if unb != -1 and text[9:unb].strip() != "":
        unb = -1
    # A complete advice followed by blanks only: read it as declared, even when it declares
    # CR, LF or a space (which a strip would take for padding).
    complete = len(advice) == 6 and unb >= 9 and text[9:unb].strip("\r\n\t ") == ""
    if unb == -1 or complete or len(text[3:unb].rstrip("\r\n\t ")) == 6 or len(advice) < 6:
        if len(advice) < 6:
            raise EdifactError("UNA service string advice is incomplete", segment_index=0)
        body_start = 9
        chars = advice
    else:
        chars = text[3:unb].rstrip("\r\n\t ")
        body_start = unb
        if len(chars) < 3:
            raise EdifactError("UNA service string advice is incomplete", segment_index=0)
        deviations.append(Deviation("una_irregular", 0, "UNA"))
        middle = chars[2:-1]
        decimal = next((c for c in middle if c in ".,"), ".")
        rest = [c for c in middle if c != decimal]
        release = rest[0] if rest else ""
        reserved = rest[1] if len(rest) > 1 else " "
        chars = chars[0] + chars[1] + decimal + (release or "\x00") + reserved + chars[-1]
    delims = Delimiters(
        component=chars[0],
        element=chars[1],
        decimal=chars[2],
        release="" if chars[3] in ("\x00", " ") else chars[3],
        reserved=chars[4],
        segment=chars[5],
    )
    # Check the declared terminator against the one that really ends UNB (or UNG).
    m = _UNH_UNG.search(text, body_start)
    if m is not None:
        before = text[body_start : m.start()].rstrip("\r\n\t ")
        if before and before[-1] != delims.segment and before[-1] not in "\r\n":
            actual = before[-1]
            if actual != delims.release and not actual.isalnum():
                deviations.append(Deviation("una_terminator_mismatch", 0, "UNA"))
                delims = Delimiters(
                    delims.component,
                    delims.element,
                    delims.decimal,
                    delims.release,
                    delims.reserved,
                    actual,
                )
    if len({delims.component, delims.element, delims.segment}) != 3 or (
        delims.release and delims.release in (delims.component, delims.element, delims.segment)
    ):
        raise EdifactError("UNA service characters are not distinct", segment_index=0)
    return delims, body_start
