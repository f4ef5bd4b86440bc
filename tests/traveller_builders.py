"""Builders for the linked-traveller and search tests: a node over a real database that
ingests PNRGOV and PAXLST messages written by our own writers (real crypto, real audit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.domain.model import Booking, Contact, Document, Leg, Seat, Source, Traveller, TravellerType
from pnrguard.formats.paxlst import write_paxlst
from pnrguard.formats.pnrgov import write_pnrgov
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.ingest import IngestResult, ingest
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.repository import BookingRepository
from pnrguard.store.traveller import search_token, traveller_member

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DOB = dt.date(1980, 1, 2)
SENSITIVE = SensitiveFilter.load()


def leg(number: str = "103", day: int = 2) -> Leg:
    return Leg(
        carrier="MU",
        flight_number=number,
        origin="PVG",
        destination="FRA",
        departure=dt.datetime(2026, 3, day, 9, 15),
    )


def person(
    ref: str,
    surname: str,
    given: str,
    dob: dt.date | None,
    doc: str = "",
    *,
    kind: TravellerType = TravellerType.ADULT,
    with_account: str = "",
) -> Traveller:
    docs = (
        [
            Document(
                doc_type="P" if doc else "", number=doc, surname=surname, given_names=given,
                date_of_birth=dob, nationality="CN", issuing_country="CN", gender="M",
            )
        ]
        if doc or dob  # a DOCS without a number still carries the birth date (secure flight)
        else []
    )  # fmt: skip
    return Traveller(
        ref=ref, surname=surname, given_names=given, date_of_birth=dob, traveller_type=kind,
        accompanied_by_ref=with_account, documents=docs,
    )  # fmt: skip


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="test.invalid/piu", clock=self.clock)

    def ingest(self, text: str) -> IngestResult:
        r = ingest(
            text.encode("utf-8"), engine=self.engine, keystore=self.keystore, audit=self.audit,
            sensitive_filter=SENSITIVE, clock=self.clock,
        )  # fmt: skip
        assert r.status.value == "accepted", r
        return r

    def pnr(
        self,
        locator: str,
        travellers: list[Traveller],
        *,
        seats: dict[str, str] | None = None,
        day: int = 2,
        contacts: Sequence[Contact] = (),
    ) -> str:
        f = leg("103", day)
        b = Booking(
            source=Source.PNR, carrier="MU", locator=locator, created=dt.datetime(2026, 2, 1, 10, 0),
            reported_flight=f, itinerary=[f], travellers=travellers,
            seats=[Seat(seat=s, traveller_ref=r) for r, s in (seats or {}).items()], contacts=list(contacts),
        )  # fmt: skip
        [bid] = self.ingest(write_pnrgov([b], flight=f, prepared=dt.datetime(2026, 3, 1, 9, 0))).booking_ids
        return bid

    def api(self, travellers: list[Traveller], *, number: str = "0103") -> list[str]:
        f = leg(number)
        b = Booking(source=Source.API, carrier="MU", reported_flight=f, itinerary=[f], travellers=travellers)
        return list(
            self.ingest(write_paxlst([b], flight=f, prepared=dt.datetime(2026, 3, 2, 8, 0))).booking_ids
        )

    def members(self) -> dict[tuple[str, str], tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return {
                (r.booking_id, r.traveller_ref): (r.traveller_id, r.linked_by, r.conflicts)
                for r in conn.execute(select(traveller_member))
            }

    def traveller(self, booking_id: str, ref: str) -> str:
        return self.members()[(booking_id, ref)][0]

    def ref_of(self, booking_id: str, surname: str, given: str) -> str:
        with self.engine.connect() as conn:
            b = BookingRepository(conn, self.keystore).get(booking_id)
        [ref] = [
            t.ref or f"#{i}"
            for i, t in enumerate(b.travellers, start=1)
            if t.surname == surname and t.given_names == given
        ]
        return ref

    def tokens(self, booking_id: str | None = None) -> int:
        q = select(func.count()).select_from(search_token)
        if booking_id:
            q = q.where(search_token.c.booking_id == booking_id)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())
