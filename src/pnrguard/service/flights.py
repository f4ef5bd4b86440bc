"""A flight as the workspace shows it: when it leaves, its hits, its counts; nobody by name.

Why no travellers here (issue 15; docs/workspace.md, "Flights"): a passenger list is
personal data, and a record opens only under a purpose (a hit, or a competent authority's
request whose searches found it). So the flight page shows what the clear booking columns
say (bookings and travellers per source, hits by status) and the flight's schedule; to see
who is on board an analyst searches the flight *under a request* (`web/requests.py`),
where every page shown is a logged consultation and binds the records to the request.
The schedule is read from one booking's itinerary with the content key (never the identity
key) and is not logged: it is a flight's timetable, not data about a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from pnrguard.domain.model import reporting_leg
from pnrguard.errors import N_, CryptoError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import parse_flight
from pnrguard.service.search_index import flight_condition
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking
from pnrguard.store.traveller import traveller_member

__all__ = ["FlightSummary", "flight_summary"]


@dataclass(frozen=True, slots=True)
class FlightSummary:
    carrier: str
    number: str
    date: dt.date
    origin: str
    destination: str
    departure: object  # review.Moment | None
    departs_in: dt.timedelta | None
    bookings: dict[str, int]  # per source (PNR, API)
    travellers: dict[str, int]  # per source, from the clear traveller counts
    hits: dict[str, int]  # per status
    masked: int  # bookings no longer active

    @property
    def label(self) -> str:
        return f"{self.carrier}{self.number}"


def flight_summary(
    engine: Engine, keystore: KeyStore, *, flight: str, date: dt.date, now: dt.datetime
) -> FlightSummary:
    """Counts and schedule of one flight on one (local) date. `NotFoundError` when no
    booking of it is stored."""
    from pnrguard.service.review import moment  # review imports the queue, which this page uses

    parsed = parse_flight(flight)
    if parsed is None or not parsed[0]:
        raise InputError(N_("a flight is a carrier and a number, like MU103"))
    cond: list[Any] = [*flight_condition(*parsed), booking.c.flight_date == date]
    with engine.connect() as conn:
        # Travellers per source from the traveller links (one row per traveller of a booking):
        # a booking's own traveller count is not kept (Art. 12(2)(a)).
        people = (
            select(traveller_member.c.booking_id, func.count().label("n"))
            .where(traveller_member.c.booking_id.in_(select(booking.c.id).where(*cond)))
            .group_by(traveller_member.c.booking_id)
            .subquery()
        )
        per_source = conn.execute(
            select(booking.c.source, func.count(), func.coalesce(func.sum(people.c.n), 0))
            .select_from(booking.outerjoin(people, people.c.booking_id == booking.c.id))
            .where(*cond)
            .group_by(booking.c.source)
        ).all()
        if not per_source:
            raise NotFoundError(N_("no booking of this flight on this date is stored"))
        route = conn.execute(
            select(booking.c.origin, booking.c.destination, func.count())
            .where(*cond)
            .group_by(booking.c.origin, booking.c.destination)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        inactive = select(func.count()).select_from(booking).where(*cond, booking.c.state != "active")
        masked = int(conn.execute(inactive).scalar_one())
        by_status = conn.execute(
            select(hit.c.status, func.count())
            .select_from(hit.join(booking, booking.c.id == hit.c.booking_id))
            .where(*cond)
            .group_by(hit.c.status)
        ).all()
        sample = conn.execute(
            select(booking.c.id).where(*cond, booking.c.state == "active").order_by(booking.c.id).limit(1)
        ).scalar()
        departure = None
        if sample is not None:
            try:
                b = BookingRepository(conn, keystore).get(sample, include_identity=False)
            except (NotFoundError, CryptoError):
                b = None
            leg = reporting_leg(b) if b else None
            if leg is not None:
                departure = moment(leg.departure, leg.origin)
    utc = getattr(departure, "utc", None)
    return FlightSummary(
        carrier=parsed[0],
        number=parsed[1],
        date=date,
        origin=str(route[0]),
        destination=str(route[1]),
        departure=departure,
        departs_in=utc - now if utc is not None else None,
        bookings={str(s): int(n) for s, n, _ in per_source},
        travellers={str(s): int(t) for s, _, t in per_source},
        hits={str(s): int(n) for s, n in by_status},
        masked=masked,
    )
