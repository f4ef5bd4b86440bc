"""The hit queue: what analysts work through, flights about to leave first.

Why it is ordered this way (issue 15): a hit on a flight leaving in two hours needs a person
before one on a flight next week, and a hit on a flight that has left can wait. So the queue
has two parts: **departing** flights, nearest departure first, then **departed** flights,
most recent first. The split and the order across pages use the clear booking columns
(flight date, carrier, number); the exact departure time is itinerary content, stored
encrypted, and is read (content key only, never the identity key) for the rows of the page
shown, which are then sorted by it and given their time to departure from now. A flight
dated yesterday or today (local dates: a day either side of UTC) is in the departing part
until its exact time says it left; such rows show under "departed" on their page.

Reading the flight time is not logged as a consultation: it is the schedule of a flight,
not data about a person. Filters (flight, list, rule, score, status, assignee, priority)
are clear columns too; nothing here decrypts a name, and no name is in a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Purpose
from pnrguard.domain.model import reporting_leg
from pnrguard.errors import N_, CryptoError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import parse_flight
from pnrguard.service.search_index import flight_condition
from pnrguard.store import screening as hits_store
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import HitKind, HitRecord, HitStatus, hit, watchlist
from pnrguard.store.tables import booking
from pnrguard.store.traveller import members_of_travellers

__all__ = ["PAGE_SIZE", "PRIORITIES", "QueueFilter", "QueueRow", "hit_queue"]

PAGE_SIZE = 25
#: Priority values and their labels (``hit.priority``).
PRIORITIES: dict[int, str] = {0: "normal", 1: "high", 2: "urgent"}
WHEN = ("all", "departing", "departed")
#: `QueueFilter.assignee` values that are not usernames.
NOBODY = "-"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """What the queue is narrowed to. Empty strings and None mean "any"."""

    status: HitStatus | None = HitStatus.OPEN
    flight: str = ""  # MU103, MU 103, 103 ...
    watchlist: str = ""  # list name
    rule: str = ""  # rule id
    min_score: float | None = None
    assignee: str = ""  # a username, or NOBODY for unassigned hits
    priority: int | None = None  # at least this priority
    when: str = "all"  # all, departing, departed
    flight_date: dt.date | None = None  # with `flight`: one flight on one (local) date

    def __post_init__(self) -> None:
        if self.flight and parse_flight(self.flight) is None:
            raise InputError(N_("a flight is like MU103, MU 103, 103 or 0103"))
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise InputError(N_("a score is between 0 and 1"))
        if self.priority is not None and self.priority not in PRIORITIES:
            raise InputError(N_("a priority is normal, high or urgent"))
        if self.when not in WHEN:
            raise InputError(N_("when is all, departing or departed"))


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A hit in the queue: ids, flight, scores and who works on it; never a name."""

    hit_id: str
    status: HitStatus
    kind: HitKind
    purpose: Purpose
    score: float
    match: str  # "list <name>" or "rule <id> v<n>"
    booking_state: str
    flight: str
    origin: str
    destination: str
    flight_date: dt.date | None
    departure: Any  # review.Moment | None (imported lazily: review imports this module)
    created_at: dt.datetime
    #: The sources of the matched person ("PNR + API"), and fields they disagree on.
    sources: str = ""
    conflicts: str = ""
    assignee: str | None = None
    priority: int = 0
    #: Departure minus now (negative: departed); None when the time is unknown.
    departs_in: dt.timedelta | None = None
    #: The SQL part the row came from: False for flights dated before yesterday.
    departing: bool = True

    @property
    def departed(self) -> bool:
        if self.departs_in is not None:
            return self.departs_in < dt.timedelta(0)
        return not self.departing

    @property
    def priority_label(self) -> str:
        return PRIORITIES.get(self.priority, str(self.priority))

    def to_json(self) -> dict[str, Any]:
        return {
            "hit_id": self.hit_id,
            "sources": self.sources,
            "conflicts": self.conflicts,
            "status": self.status.value,
            "kind": self.kind.value,
            "purpose": self.purpose.value,
            "score": self.score,
            "match": self.match,
            "booking_state": self.booking_state,
            "flight": self.flight,
            "origin": self.origin,
            "destination": self.destination,
            "flight_date": self.flight_date.isoformat() if self.flight_date else None,
            "departure": self.departure.to_json() if self.departure else None,
            "departs_in_minutes": int(self.departs_in.total_seconds() // 60) if self.departs_in else None,
            "departed": self.departed,
            "assignee": self.assignee,
            "priority": self.priority_label,
            "created_at": self.created_at.isoformat(),
        }


def _conditions(conn: Any, f: QueueFilter, *, cut: dt.date) -> list[Any]:
    cond: list[Any] = []
    if f.status is not None:
        cond.append(hit.c.status == f.status.value)
    if f.flight:
        parsed = parse_flight(f.flight)
        assert parsed is not None
        cond += flight_condition(*parsed)
    if f.flight_date is not None:
        cond.append(booking.c.flight_date == f.flight_date)
    if f.watchlist:
        wid = conn.execute(select(watchlist.c.id).where(watchlist.c.name == f.watchlist)).scalar()
        cond.append(hit.c.watchlist_id == (wid if wid is not None else -1))
    if f.rule:
        cond.append(hit.c.rule_id == f.rule)
    if f.min_score is not None:
        cond.append(hit.c.score >= f.min_score)
    if f.assignee == NOBODY:
        cond.append(hit.c.assignee.is_(None))
    elif f.assignee:
        cond.append(hit.c.assignee == f.assignee)
    if f.priority is not None:
        cond.append(hit.c.priority >= f.priority)
    if f.when == "departing":
        cond.append(booking.c.flight_date >= cut)
    elif f.when == "departed":
        cond.append(or_(booking.c.flight_date.is_(None), booking.c.flight_date < cut))
    return cond


def hit_queue(
    engine: Engine,
    keystore: KeyStore,
    *,
    status: HitStatus | None = HitStatus.OPEN,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    filters: QueueFilter | None = None,
    now: dt.datetime | None = None,
) -> Any:  # review.Page[QueueRow]
    """One page of the queue (module docstring). `filters` (default: `status` only)."""
    from pnrguard.service.review import Page, moment  # review re-exports this module

    f = filters if filters is not None else QueueFilter(status=status)
    now = now or dt.datetime.now(dt.UTC)
    cut = now.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    page = max(page, 1)
    with engine.connect() as conn:
        cond = _conditions(conn, f, cut=cut)
        joined = hit.join(booking, and_(booking.c.id == hit.c.booking_id))
        total = int(conn.execute(select(func.count()).select_from(joined).where(*cond)).scalar_one())
        wl_names = {w.id: w.name for w in hits_store.list_watchlists(conn)}
        past = case((booking.c.flight_date.is_(None), 2), (booking.c.flight_date < cut, 1), else_=0)
        q = (
            select(
                hit,
                booking.c.state.label("b_state"),
                booking.c.source.label("b_source"),
                booking.c.flight_carrier,
                booking.c.flight_number,
                booking.c.flight_date,
                booking.c.origin,
                booking.c.destination,
                past.label("b_past"),
            )
            .select_from(joined)
            .where(*cond)
            .order_by(
                past,
                # departing: nearest first; departed: most recent first
                case((booking.c.flight_date < cut, None), else_=booking.c.flight_date).asc(),
                booking.c.flight_date.desc(),
                booking.c.flight_carrier,
                booking.c.flight_number,
                hit.c.priority.desc(),
                hit.c.created_at,
                hit.c.id,
            )
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        rows = conn.execute(q).all()
        repo = BookingRepository(conn, keystore)
        people = members_of_travellers(conn, {r.traveller_id for r in rows if r.traveller_id})
        items: list[QueueRow] = []
        for r in rows:
            rec = HitRecord.from_row(r)
            members = people.get(rec.traveller_id or "", [])
            sources = " + ".join(sorted({m.source for m in members}, reverse=True)) or str(r.b_source)
            conflicts = ",".join(sorted({c for m in members for c in m.conflicts.split(",") if c}))
            departure = None
            if r.b_state != "deleted":
                try:
                    b = repo.get(rec.booking_id, version=rec.booking_version, include_identity=False)
                except (NotFoundError, CryptoError):
                    b = None
                leg = reporting_leg(b) if b else None
                if leg is not None:
                    departure = moment(leg.departure, leg.origin)
            if rec.kind is HitKind.WATCHLIST:
                match = f"list {wl_names.get(rec.watchlist_id or -1, '?')}"
            else:
                match = f"rule {rec.rule_id} v{rec.rule_version}"
            departs_in = departure.utc - now if departure is not None and departure.utc is not None else None
            items.append(
                QueueRow(
                    rec.id, rec.status, rec.kind, rec.purpose, rec.score, match, r.b_state,
                    f"{r.flight_carrier}{r.flight_number}", r.origin, r.destination, r.flight_date,
                    departure, rec.created_at, sources, conflicts, rec.assignee, rec.priority,
                    departs_in, r.b_past == 0,
                )
            )  # fmt: skip
    # Within the page: departing rows by exact time, then departed rows, latest first.
    far = dt.timedelta.max
    items.sort(
        key=lambda i: (
            i.departed,
            (i.departs_in if i.departs_in is not None else far) if not i.departed else dt.timedelta(0),
            -(i.departs_in or dt.timedelta(0)).total_seconds() if i.departed else 0,
            i.flight,
            -i.priority,
        )
    )
    return Page(items, page, page_size, total)


def countdown(delta: dt.timedelta | None) -> str:
    """A time to departure as people say it: "in 2 h 05 min", "departed 3 d ago"."""
    if delta is None:
        return ""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        text = f"{days} d {hours} h"
    elif days == 1 or hours:
        text = f"{days * 24 + hours} h {mins:02d} min"
    else:
        text = f"{mins} min"
    return f"in {text}" if delta >= dt.timedelta(0) else f"departed {text} ago"
