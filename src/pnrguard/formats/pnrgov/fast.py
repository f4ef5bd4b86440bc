"""Fast paths: the commonest PNRGOV segments, in their commonest shape, read from the raw text.

About 40% of the segments of a push (synthetic traffic) are a handful of shapes
(`TRI++:::1`, the `TIF` that names a checked-in traveller, `RPI+1+HK`, `APD+788`,
`DAT+710:020225`, `LTS+...`). Reading them from the raw segment, without splitting it into
a `Segment` first and without the general dispatch, saves that work for them
(docs/performance.md).

Each function reads one raw segment (default separators `+` and `:`, ASCII, no released
character: the caller checks) and returns True when it placed it, or False, having changed
nothing, when the segment needs the general handler: another state, or any case that
records a deviation. Each does exactly what its general handler does for the shapes it
takes; `tests/unit/formats/test_fast_paths.py` holds the two ways equal.
"""

from __future__ import annotations

from collections.abc import Callable

from pnrguard.domain.model import HistoryEntry
from pnrguard.formats.pnrgov.state import _LEG, BookingReader
from pnrguard.formats.pnrgov.values import _date6, _datetime


def tri(rd: BookingReader, raw: str) -> bool:
    """`TRI++:::1`: a traveller's check-in group on the current leg."""
    if rd.state != _LEG or rd.leg is None:
        return False
    parts = raw.split("+", 3)
    ref = ""
    if len(parts) > 2:
        e1 = parts[2].split(":", 4)
        ref = e1[3] if len(e1) > 3 else ""
    rd.start_tri(ref)
    rd.tri_expect_tif = True
    return True


def tif(rd: BookingReader, raw: str) -> bool:
    """The `TIF` right after a `TRI`: names the checked-in traveller (no new traveller)."""
    if rd.state != _LEG or not rd.tri_expect_tif:
        return False
    parts = raw.split("+", 3)
    ref = ""
    if len(parts) > 2:
        e1 = parts[2].split(":", 3)
        ref = e1[2] if len(e1) > 2 else ""
    rd.tri_expect_tif = False
    if ref:
        rd.tri_ref = ref
        if rd.tri_checkin is not None:
            rd.tri_checkin.traveller_ref = ref
    return True


def rpi(rd: BookingReader, raw: str) -> bool:
    """`RPI+1+HK`: the leg's party size and status."""
    leg = rd.leg
    if rd.state != _LEG or leg is None:
        return False
    parts = raw.split("+", 3)
    n = len(parts)
    size = parts[1].partition(":")[0].strip() if n > 1 else ""
    leg.party_size = int(size) if size.isdigit() and len(size) < 10 else None
    leg.status = parts[2].partition(":")[0] if n > 2 else ""
    return True


def apd(rd: BookingReader, raw: str) -> bool:
    """`APD+788`: the leg's equipment."""
    leg = rd.leg
    if rd.state != _LEG or leg is None:
        return False
    leg.equipment = raw[4:].partition("+")[0].partition(":")[0]
    return True


def lts(rd: BookingReader, raw: str) -> bool:
    """`LTS+<text>`: a history line, the text as sent (separators included)."""
    rd.flush_history()
    rd.b.history.append(HistoryEntry(text=raw[4:]))
    return True


def dat(rd: BookingReader, raw: str) -> bool:
    """`DAT+2:date:time` on a leg (its check-in block), `DAT+710:date` elsewhere (ticketing)."""
    if rd.state == _LEG:
        e0 = raw[4:].partition("+")[0].split(":")
        date_v = e0[1] if len(e0) > 1 else ""
        time_v = e0[2] if len(e0) > 2 else ""
        at = _datetime(date_v, time_v)
        if at is None and (date_v.strip() or time_v.strip()):
            return False  # a deviation: the general handler records it
        rd.checkin_open = True
        rd.checkin_at = at
        rd.tri_ref = None
        rd.tri_checkin = None
        return True
    if len(raw) < 5:
        return False
    for element in raw[4:].split("+"):
        el = element.split(":")
        if el[0] == "710":
            day = _date6(el[1]) if len(el) > 1 else None
            ticket = rd.ticket
            if ticket is not None:
                if ticket.issue_date is None:
                    ticket.issue_date = day
            elif rd.b.ticketed is None:
                rd.b.ticketed = day
    return True


FastPath = Callable[[BookingReader, str], bool]

#: Tag -> fast path, for messages with the default separators.
FAST: dict[str, FastPath] = {"TRI": tri, "TIF": tif, "RPI": rpi, "APD": apd, "LTS": lts, "DAT": dat}
