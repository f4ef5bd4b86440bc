"""One entry point for carrier messages: parse the interchange once, read it by message type.

Carriers push PNRGOV and PAXLST to the same inbox, so the caller need not know which it
got; the UNH message type decides.
"""

from __future__ import annotations

from pnrguard.errors import MessageError, UnsupportedMessageError
from pnrguard.formats.edifact import gc_paused, scan_interchange
from pnrguard.formats.result import ReadResult


def read_message(data: bytes | str, *, strict: bool = False) -> ReadResult:
    """Read a PNRGOV or PAXLST interchange. Raises only `ParseError` subclasses:
    `EdifactError` for the syntax, `MessageError` for content or an unknown message type."""
    with gc_paused():
        return _read(data, strict=strict)


def _read(data: bytes | str, *, strict: bool) -> ReadResult:
    ichg = scan_interchange(data, strict=strict)  # bodies split as read (see edifact)
    kinds = {m.type.strip().upper() for m in ichg.messages}
    if {"PNRGOV", "PAXLST"} <= kinds:
        # One result has one message type; reading one kind would drop the other's data.
        raise UnsupportedMessageError(
            "interchange mixes PNRGOV and PAXLST messages: send them apart",
            segment_index=ichg.messages[0].header.index,
        )
    if "PNRGOV" in kinds:
        from pnrguard.formats.pnrgov import read_pnrgov

        return read_pnrgov(ichg, strict=strict)
    if "PAXLST" in kinds:
        from pnrguard.formats.paxlst import read_paxlst

        return read_paxlst(ichg, strict=strict)
    raise MessageError("unknown message type", segment_index=ichg.messages[0].header.index)
