"""The link graph's vocabulary: what can connect two travellers, and how an edge is told.

Why these kinds and no others: they are the links Directive 2016/681 Annex I data can show
(elements 4-6, 8, 12-13, 16-18) and that GTAS users work with (shared phone, e-mail, card,
address, document, frequent-flyer account, agency office; co-travel). Each is a keyed
digest in the blind index; an edge says which kind joined two people, when (flight dates),
how often and from which source (PNR or API), never the value that joined them.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

__all__ = ["CO_TRAVEL", "IDENTIFIERS", "Crowd", "Edge", "LinkKind", "Occurrence", "Person"]


class LinkKind(enum.StrEnum):
    # Co-travel
    SAME_BOOKING = "same_booking"
    SAME_GROUP = "same_group"  # split from / divided into the same record
    ADJACENT_SEAT = "adjacent_seat"
    CONSECUTIVE_CHECK_IN = "consecutive_check_in"
    JOINT_TRAVEL = "joint_travel"  # the same flights, repeatedly
    # Shared identifiers
    PHONE = "phone"
    EMAIL = "email"
    CARD = "card"
    ADDRESS = "address"
    DOCUMENT = "document"
    FREQUENT_FLYER = "frequent_flyer"
    AGENCY_OFFICE = "agency_office"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    LinkKind.SAME_BOOKING: "same booking",
    LinkKind.SAME_GROUP: "same group (split record)",
    LinkKind.ADJACENT_SEAT: "adjacent seats",
    LinkKind.CONSECUTIVE_CHECK_IN: "consecutive check-in",
    LinkKind.JOINT_TRAVEL: "repeated joint travel",
    LinkKind.PHONE: "shared phone",
    LinkKind.EMAIL: "shared e-mail",
    LinkKind.CARD: "shared payment card",
    LinkKind.ADDRESS: "shared address",
    LinkKind.DOCUMENT: "shared travel document",
    LinkKind.FREQUENT_FLYER: "shared frequent-flyer account",
    LinkKind.AGENCY_OFFICE: "same agency booking office",
}

CO_TRAVEL = frozenset(
    {LinkKind.SAME_BOOKING, LinkKind.SAME_GROUP, LinkKind.ADJACENT_SEAT, LinkKind.CONSECUTIVE_CHECK_IN,
     LinkKind.JOINT_TRAVEL}
)  # fmt: skip
IDENTIFIERS = frozenset(LinkKind) - CO_TRAVEL


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One traveller carries one keyed digest of one kind on one booking: the unit the
    graph is built from (a row of the blind index, with the flight date beside it)."""

    person: str  # the linked traveller's id (API and PNR records of one person are one id)
    booking_id: str
    kind: LinkKind
    token: bytes
    day: dt.date | None  # flight date
    source: str = "PNR"  # PNR or API
    #: on a masked booking read under a decided judicial unmasking (`service.links_unmasked`)
    unmasked: bool = False


@dataclass(frozen=True, slots=True)
class Crowd:
    """A digest of `kind` carried by more people than the graph's fan-out (`people`, a
    lower bound when the source stopped counting): a hub. The source reports it instead
    of its occurrences, so nobody behind it is read or resolved."""

    kind: LinkKind
    token: bytes
    people: int


@dataclass(frozen=True, slots=True)
class Person:
    """A node. `masked`: every record of the person is past the masking date and no
    decided unmasking covers it, so it is shown as a count, never as a person."""

    id: str
    masked: bool = False
    depth: int = 0


@dataclass(frozen=True, slots=True)
class Edge:
    """Two people joined by one kind of link (a and b sorted, so an edge is counted once)."""

    a: str
    b: str
    kind: LinkKind
    first: dt.date | None
    last: dt.date | None
    count: int  # distinct bookings (or, for joint travel, distinct flights) that join them
    sources: frozenset[str] = field(default_factory=frozenset)
    #: found through a masked booking opened under a decided judicial unmasking
    unmasked: bool = False

    def other(self, person: str) -> str:
        return self.b if person == self.a else self.a
