"""Split PNRs (EQN then RCI), non-air segments (MSG: outside Annex I), and the booking's
history (ABI/SAC groups, LTS lines), kept as the carrier wrote it."""

from __future__ import annotations

from pnrguard.domain.model import HistoryEntry
from pnrguard.formats.edifact import Segment, write_segment
from pnrguard.formats.pnrgov.state import _HISTORY, _NONAIR, _SPLIT, BookingReader


def eqn(rd: BookingReader, seg: Segment) -> bool:
    rd.state = _SPLIT  # split / divided PNR: the RCI that follows names the other PNR
    return False


def msg(rd: BookingReader, seg: Segment) -> bool:
    rd.state = _NONAIR  # a non-air segment (hotel, car): outside Annex I
    rd.ctx.result.unknown_segments["MSG"] += 1
    return False


def abi(rd: BookingReader, seg: Segment) -> bool:
    rd.state = _HISTORY
    history_segment(rd, seg)
    return False


def history_segment(rd: BookingReader, seg: Segment) -> None:
    """ABI/SAC history groups: each SAC (or ABI) starts one entry holding the segments
    of that change as the carrier sent them (element 19 in its own words)."""
    text = write_segment(seg.tag, seg.elements)
    if seg.tag in ("SAC", "ABI") or rd.history_parts is None:
        rd.flush_history()
        rd.history_parts = [text]
    else:
        rd.history_parts.append(text)


def lts(rd: BookingReader, seg: Segment) -> bool:
    rd.flush_history()
    rd.b.history.append(HistoryEntry(text="+".join(map(":".join, seg.elements))))
    return False
