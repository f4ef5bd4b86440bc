"""Through ingest on SQLite and PostgreSQL: a PAXLST carrying place of birth and document
issue dates stores neither (Annex I as C-817/19 reads it, issue 10 item 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from pnrguard.domain.model import Booking, Document, Leg, Source, Traveller
from pnrguard.formats.paxlst import read_paxlst, write_paxlst
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.ingest import IngestStatus, ingest
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.repository import BookingRepository

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_place_of_birth_and_issue_date_are_not_stored(engine: Engine) -> None:
    departure = dt.datetime(2026, 3, 2, 9)
    leg = Leg(carrier="XY", flight_number="77", origin="FRA", destination="JFK", departure=departure)
    b = Booking(
        source=Source.API,
        carrier="XY",
        reported_flight=leg,
        itinerary=[leg],
        travellers=[
            Traveller(
                ref="1", surname="BIRTHPLACEOVA", given_names="ANNA", date_of_birth=dt.date(1980, 1, 2),
                birth_place="KRAKOWVILLE",
                documents=[Document(doc_type="P", number="PX123", issuing_country="POL",
                                    date_of_issue=dt.date(2019, 5, 6), expiry=dt.date(2029, 5, 5))],
            )
        ],
    )  # fmt: skip
    raw = write_paxlst([b], flight=leg, prepared=dt.datetime(2026, 3, 1, 6))
    [read] = read_paxlst(raw.encode()).bookings
    assert read.travellers[0].birth_place == "KRAKOWVILLE"  # the reader sees it ...
    assert read.travellers[0].documents[0].date_of_issue == dt.date(2019, 5, 6)
    ks, clock = InMemoryKeyStore(), FixedClock(T0)
    result = ingest(
        raw.encode(), engine=engine, keystore=ks, audit=lambda c: SqlAuditLog(c, origin="t/piu", clock=clock),
        sensitive_filter=SensitiveFilter.load(), clock=clock,
    )  # fmt: skip
    assert result.status is IngestStatus.ACCEPTED
    with engine.connect() as conn:
        stored = BookingRepository(conn, ks).get(result.booking_ids[0])
    t = stored.travellers[0]
    assert (t.surname, t.documents[0].number) == ("BIRTHPLACEOVA", "PX123")  # heading 18 data kept
    assert t.birth_place == ""  # ... but it is never stored
    assert t.documents[0].date_of_issue is None
    assert "KRAKOWVILLE" not in repr(stored)
