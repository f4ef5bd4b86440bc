"""Group 5, the itinerary: legs (TVL, with code-share operating flights as a second TVL or
TRA), their status (RPI) and equipment (APD), and each leg's check-in (DCS) groups: TRI/TIF
with seats (SSD) and bags (TBD)."""

from __future__ import annotations

import datetime as dt
from typing import Final

from pnrguard.domain.model import Bag, Leg, Seat
from pnrguard.formats.edifact import Segment
from pnrguard.formats.pnrgov.state import _LEG, BookingReader
from pnrguard.formats.pnrgov.values import _NONE, _comp, _datetime, _int, _moments_ok, _time

#: Max bags expanded from one "first tag + number of consecutive tags" element; a larger
#: count is kept as the single tag given (real traffic sends garbage counts like 722356).
MAX_TAG_RUN: Final = 99


def _leg_from_tvl(seg: Segment) -> Leg:
    # Guarded indexing, written out: 3x faster than ten `_comp` calls (measured).
    els = seg.elements
    n = len(els)
    e0 = els[0] if n else _NONE
    m = len(e0)
    if m >= 4:
        dep_d, dep_t, arr_d, arr_t = e0[0], e0[1], e0[2], e0[3]
    else:
        dep_d, dep_t, arr_d, arr_t = (*e0, "", "", "", "")[:4]
    if not arr_t and len(arr_d.strip()) == 4:  # TVL+120518:1220:1505: the arrival time only
        arr_d, arr_t = "", arr_d
    departure = _datetime(dep_d, dep_t) if dep_d else None
    arrival: dt.datetime | None = None
    if arr_d:
        arrival = _datetime(arr_d, arr_t)
    elif arr_t and departure is not None:
        # Arrival date left out "if it is the same day"; an earlier time means next day.
        tm = _time(arr_t)
        if tm is not None:
            arrival = dt.datetime.combine(departure.date(), tm)
            if arrival < departure:
                arrival += dt.timedelta(days=1)
    e1 = els[1] if n > 1 else _NONE
    e2 = els[2] if n > 2 else _NONE
    e3 = els[3] if n > 3 else _NONE
    e4 = els[4] if n > 4 else _NONE
    return Leg(
        carrier=e3[0] if e3 else "",
        operating_carrier=e3[1] if len(e3) > 1 else "",
        flight_number=e4[0] if e4 else "",
        booking_class=e4[1] if len(e4) > 1 else "",
        origin=e1[0] if e1 else "",
        destination=e2[0] if e2 else "",
        departure=departure,
        arrival=arrival,
    )


def _is_operating_tvl(seg: Segment) -> bool:
    """`TVL+++++624:M`: the operating flight of the code-share leg just read (11.1 style)."""
    els = seg.elements
    if len(els) < 5 or not els[4] or not els[4][0]:
        return False
    if els[0] and els[0][0]:  # a leg's own TVL starts with its date: skip the generator
        return False
    return not any(c for e in els[:4] for c in e)


def tvl(rd: BookingReader, seg: Segment) -> bool:
    leg = rd.leg
    if rd.state == _LEG and leg is not None and _is_operating_tvl(seg):
        if not leg.operating_flight_number:
            leg.operating_flight_number = seg.elements[4][0]
        else:
            rd.ctx.result.unknown_segments["TVL"] += 1
        return False
    rd.flush_fare()
    leg = _leg_from_tvl(seg)
    if not _moments_ok(seg, 0, 2):
        rd.ctx.deviate("datetime_unreadable", seg)
    open_leg(rd, leg)
    return False


def open_leg(rd: BookingReader, leg: Leg) -> None:
    """The leg a TVL gave (by `tvl`, or from the raw text by `fast.tvl`) joins the
    itinerary, and the reader is now in its group."""
    rd.b.itinerary.append(leg)
    rd.leg = leg
    rd.leg_index = len(rd.b.itinerary) - 1
    rd.state = _LEG
    rd.traveller = None
    rd.ticket = None
    rd.payment = None
    rd.checkin_open = False
    rd.checkin_at = None
    rd.tri_ref = None
    rd.tri_checkin = None
    rd.tri_expect_tif = False


def rpi(rd: BookingReader, seg: Segment) -> bool:
    leg = rd.leg if rd.state == _LEG else None
    if leg is None:
        rd.leg_only(seg)  # records the deviation
        return False
    els = seg.elements
    n = len(els)
    e0 = els[0] if n else _NONE
    e1 = els[1] if n > 1 else _NONE
    size = e0[0].strip() if e0 else ""
    leg.party_size = int(size) if size.isdigit() and len(size) < 10 else None  # `_int`, inline
    leg.status = e1[0] if e1 else ""
    return False


def apd(rd: BookingReader, seg: Segment) -> bool:
    leg = rd.leg if rd.state == _LEG else None
    if leg is None:
        rd.leg_only(seg)  # records the deviation
        return False
    els = seg.elements
    leg.equipment = els[0][0] if els and els[0] else ""
    return False


def tra(rd: BookingReader, seg: Segment) -> bool:
    leg = rd.leg_only(seg)
    if leg is not None:
        leg.operating_carrier = _comp(seg.elements, 0, 0)
        leg.operating_flight_number = _comp(seg.elements, 1, 0)
    return False


def tri(rd: BookingReader, seg: Segment) -> bool:
    if rd.leg_only(seg) is None:
        return False
    rd.start_tri(_comp(seg.elements, 1, 3))
    rd.tri_expect_tif = True
    return False


def ssd(rd: BookingReader, seg: Segment) -> bool:
    if rd.leg_only(seg) is None:
        return False
    rd.tri_expect_tif = False
    ref = rd.tri_ref
    if ref is None:
        rd.ctx.deviate("seat_without_traveller", seg)
        ref = ""
    seat, cabin = _comp(seg.elements, 0, 0), _comp(seg.elements, 4, 0)
    leg_index = rd.leg_index
    for s in rd.b.seats:  # the SSD confirming a seat requested by SSR SEAT
        if s.leg_index == leg_index and s.seat == seat and s.traveller_ref == ref and not s.cabin:
            s.cabin = cabin
            return False
    rd.b.seats.append(Seat(seat=seat, traveller_ref=ref, leg_index=leg_index, cabin=cabin))
    return False


def tbd(rd: BookingReader, seg: Segment) -> bool:
    if rd.leg_only(seg) is None:
        return False
    rd.tri_expect_tif = False
    ref = rd.tri_ref
    if ref is None:
        rd.ctx.deviate("bag_without_traveller", seg)
        ref = ""
    els = seg.elements
    count = _int(_comp(els, 1, 0))
    pool = ""
    tags: list[str] = []
    for i, el in enumerate(els):
        if i < 2 or not el:
            continue
        marker = el[0].strip()
        if marker in ("HP", "MP"):
            pool = "head" if marker == "HP" else "member"
            continue
        if i < 3 or len(el) < 2 or not el[1].strip():
            continue
        number = el[1].strip()
        tag = marker + number
        # "first tag : number of consecutive tags", believed only within the bag count
        run = _int(el[2]) if len(el) > 2 else None
        limit = MAX_TAG_RUN if count is None else count - len(tags)
        if run is not None and 1 < run <= min(limit, MAX_TAG_RUN) and number.isdigit():
            width = len(number)
            start = int(number)
            tags.extend(f"{marker}{start + k:0{width}d}" for k in range(run))
        else:
            tags.append(tag)
    if len(tags) > 1:
        tags = list(dict.fromkeys(tags))
    rd.b.bags.append(
        Bag(
            traveller_ref=ref,
            leg_index=rd.leg_index,
            count=count,
            weight=_comp(els, 1, 1),
            unit=_comp(els, 1, 2),
            tag_numbers=tags,
            pool=pool,
        )
    )
    return False
