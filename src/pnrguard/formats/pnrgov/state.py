"""Where the reader is inside one SRC group, and what it has built so far.

One `BookingReader` per PNR: the segment handlers (reservation, ssr, travellers,
itinerary, history) read and change it; `reader` dispatches segments to them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Final

from pnrguard.domain.model import (
    Address,
    Booking,
    CheckIn,
    Document,
    HistoryEntry,
    Leg,
    Payment,
    Remark,
    Source,
    Ticket,
    Traveller,
)
from pnrguard.errors import MessageError
from pnrguard.formats.edifact import Deviation, Segment, safe_tag
from pnrguard.formats.result import ReadResult

#: CheckIn.status for a traveller reported in a leg's check-in (DCS) group. PNRGOV carries
#: the check-in time, not a status code, so this is the only status the reader produces.
CHECKED_IN: Final = "checked_in"

# Tags that belong to PNRGOV: outside Annex I they are counted, not reported as deviations.
_PNRGOV_TAGS: Final = frozenset(
    {
        "MSG",
        "ORG",
        "TVL",
        "EQN",
        "SRC",
        "RCI",
        "SSR",
        "DAT",
        "IFT",
        "ADD",
        "EBD",
        "TIF",
        "FTI",
        "REF",
        "FAR",
        "TKT",
        "MON",
        "PTK",
        "TXD",
        "FOP",
        "RPI",
        "APD",
        "TRA",
        "TRI",
        "SSD",
        "TBD",
        "ABI",
        "SAC",
        "LTS",
        "ERC",
        "CBD",
        "PBD",
    }
)

# Every booking gets its own copy of the message's flight. `copy.copy` on a slotted
# dataclass goes through `__reduce_ex__` and took 10% of the reader (measured); building
# the Leg from its own fields (all immutable values) is a shallow copy too. Each field
# named: compiled, a direct native construction (about 400 instructions), where
# `Leg(*attrgetter(...)(leg))` cost 3,700 (a tuple, and a call through the Python
# convention). `_LEG_FIELDS` and tests/unit/formats/test_fast_paths.py keep it complete.
_LEG_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Leg))


def _copy_leg(leg: Leg) -> Leg:
    return Leg(
        carrier=leg.carrier,
        flight_number=leg.flight_number,
        origin=leg.origin,
        destination=leg.destination,
        departure=leg.departure,
        arrival=leg.arrival,
        booking_class=leg.booking_class,
        status=leg.status,
        party_size=leg.party_size,
        operating_carrier=leg.operating_carrier,
        operating_flight_number=leg.operating_flight_number,
        equipment=leg.equipment,
    )


# Where in the SRC group the reader is. `Final`: mypyc inlines them (a plain module
# global is a dict look-up at every use, ~150 instructions; docs/performance.md).
_BOOKING: Final = 0
_TRAVELLER: Final = 1
_LEG: Final = 2
_SPLIT: Final = 3
_NONAIR: Final = 4
_HISTORY: Final = 5


class Context:
    """Per-read state shared by the bookings of one interchange: result, strictness."""

    __slots__ = ("result", "strict", "today")

    def __init__(self, result: ReadResult, strict: bool) -> None:
        self.result = result
        self.strict = strict
        self.today = dt.date.today()

    def deviate(self, code: str, seg: Segment | None) -> None:
        index = seg.index if seg is not None else None
        if self.strict:
            raise MessageError(code, segment_index=index)
        self.result.deviations.append(Deviation(code, index, safe_tag(seg.tag) if seg else ""))

    def deviate_at(self, code: str, index: int, tag: str) -> None:
        """`deviate` for a segment read from its raw text (`fast`): no `Segment` exists."""
        if self.strict:
            raise MessageError(code, segment_index=index)
        self.result.deviations.append(Deviation(code, index, safe_tag(tag)))

    def unknown(self, seg: Segment) -> None:
        tag = seg.tag
        if tag in _PNRGOV_TAGS:
            self.result.unknown_segments[tag] += 1
        else:
            tag = safe_tag(tag)
            self.result.unknown_segments[tag] += 1
            self.deviate("unknown_segment", seg)


@dataclasses.dataclass(slots=True)
class Pending:
    """An SSR DOCS/DOCA/DOCO or traveller ADD waiting for its traveller (infant DOCS can
    come before the infant's TIF, so placement happens when the SRC group ends)."""

    kind: str  # "DOCS", "DOCA", "DOCO", "ADD"
    obj: Document | Address | None
    ref: str  # traveller reference given in the SSR
    context: Traveller | None  # the TIF the SSR was found under
    infant: bool
    surname: str
    index: int
    birth_place: str = ""

    # Written out rather than generated: mypyc compiles this one into a native constructor
    # (a dataclass's generated `__init__` stays interpreted; docs/performance.md).
    def __init__(
        self,
        kind: str,
        obj: Document | Address | None,
        ref: str,
        context: Traveller | None,
        infant: bool,
        surname: str,
        index: int,
        birth_place: str = "",
    ) -> None:
        self.kind = kind
        self.obj = obj
        self.ref = ref
        self.context = context
        self.infant = infant
        self.surname = surname
        self.index = index
        self.birth_place = birth_place


class BookingReader:
    """Builds one Booking from the segments of one SRC group (the handlers of each group
    change it; helpers shared by several groups are its methods)."""

    def __init__(self, ctx: Context, flight: Leg | None, reporting: str, flight_carriers: set[str]) -> None:
        self.ctx = ctx
        self.b = Booking(
            source=Source.PNR,
            reported_flight=_copy_leg(flight) if flight is not None else None,
            reporting_party=reporting,
        )
        self.flight_carriers = flight_carriers
        self.state = _BOOKING
        self.rci_seen = False
        self.traveller: Traveller | None = None
        self.ticket: Ticket | None = None
        self.payment: Payment | None = None
        self.leg_index: int | None = None
        self.leg: Leg | None = None
        self.checkin_open = False
        self.checkin_at: dt.datetime | None = None
        self.tri_ref: str | None = None
        self.tri_checkin: CheckIn | None = None
        self.tri_expect_tif = False
        self.pending_fare: tuple[str, str] | None = None
        self.pending: list[Pending] = []
        self.infant_flagged: list[Traveller] = []
        self.linked: set[str] = set()
        self.history_parts: list[str] | None = None
        self.fed = 0

    def flush_fare(self) -> None:
        if self.pending_fare is not None:
            text, ref = self.pending_fare
            self.b.remarks.append(Remark(kind="4:15", text=text, traveller_ref=ref))
            self.pending_fare = None

    def enter_traveller(self, t: Traveller) -> None:
        self.traveller = t
        self.ticket = None
        self.payment = None
        self.state = _TRAVELLER
        self.leg = None
        self.leg_index = None

    def leg_only(self, seg: Segment) -> Leg | None:
        if self.state != _LEG or self.leg is None:
            self.ctx.deviate("segment_out_of_order", seg)
            self.ctx.result.unknown_segments[seg.tag] += 1
            return None
        return self.leg

    def start_tri(self, ref: str) -> None:
        self.tri_ref = ref
        self.tri_checkin = None
        if self.checkin_open:
            at = self.checkin_at
            checkin = CheckIn(traveller_ref=ref, leg_index=self.leg_index, status=CHECKED_IN, at=at)
            self.b.check_ins.append(checkin)
            self.tri_checkin = checkin

    def flush_history(self) -> None:
        if self.history_parts:
            self.b.history.append(HistoryEntry(text="".join(self.history_parts)))
        self.history_parts = None
