"""Shared builders for the life-cycle tests: bookings with known personal values, a node-like
`World` over a real database with a fixed clock, and hits inserted as the screening store
keeps them."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.domain.model import Booking, Contact, Document, Leg, Remark, Source, Traveller
from pnrguard.protection.keystore import InMemoryKeyStore, KeyStore
from pnrguard.protection.retention import EU_2016_681, RetentionProfile
from pnrguard.service.clock import FixedClock
from pnrguard.service.retention import RetentionSummary, run_retention
from pnrguard.service.traveller import index_and_link
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import create_watchlist, criteria_rule, get_watchlist, hit, watchlist_version

T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
ORIGIN = "pnrguard.test/piu"


def person(
    ref: str, surname: str, given: str = "ANNA", *, doc: str = "", dob: dt.date | None = None
) -> Traveller:
    docs = [Document(doc_type="P", number=doc, surname=surname, date_of_birth=dob)] if doc else []
    return Traveller(ref=ref, surname=surname, given_names=given, date_of_birth=dob, documents=docs)


def pnr(
    locator: str,
    travellers: Sequence[Traveller],
    *,
    contacts: Sequence[Contact] = (),
    remark: str = "",
    flight: str = "123",
) -> Booking:
    leg = Leg(
        carrier="XY",
        flight_number=flight,
        origin="FRA",
        destination="JFK",
        departure=dt.datetime(2026, 1, 20, 9, 15),
    )
    return Booking(
        source=Source.PNR,
        carrier="XY",
        locator=locator,
        created=dt.datetime(2026, 1, 2, 10, 10),
        reported_flight=leg,
        itinerary=[dataclasses.replace(leg)],
        travellers=list(travellers),
        contacts=list(contacts),
        remarks=[Remark(kind="OSI", text=remark)] if remark else [],
        party_size=len(travellers),
    )


class World:
    """A node's ports over one test database: in-memory key store, fixed clock, SQL audit."""

    def __init__(self, engine: Engine, at: dt.datetime = T0, *, ks: KeyStore | None = None) -> None:
        self.engine = engine
        self.ks: KeyStore = ks or InMemoryKeyStore()
        self.clock = FixedClock(at)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin=ORIGIN, clock=self.clock)

    def save(self, b: Booking, *, at: dt.datetime | None = None) -> str:
        at = at or self.clock.now()
        with self.engine.begin() as conn:
            mid = new_id()
            MessageRepository(conn, self.ks).add(
                message_id=mid,
                received_at=at,
                sha256=mid.encode()[:32],
                size=1,
                channel="test",
                status=MessageStatus.ACCEPTED,
            )
            outcome = BookingRepository(conn, self.ks, now=at).save_version(b, message_id=mid, received_at=at)
            index_and_link(conn, self.ks, [b], [outcome], now=at)  # as ingest does: blind index, links
            return outcome.booking_id

    def run(self, profile: RetentionProfile = EU_2016_681, **kw: Any) -> RetentionSummary:
        """A retention run. Default: the mask-everyone profile, so tests of masking need no
        link; the C-817/19 default (unlinked deleted) is tested by name."""
        return run_retention(
            engine=self.engine, keystore=self.ks, audit=self.audit, clock=self.clock, profile=profile, **kw
        )

    def entries(self, operation: Operation | None = None) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return SqlAuditLog(conn, origin=ORIGIN).entries(operation=operation)

    def state(self, booking_id: str) -> str:
        with self.engine.connect() as conn:
            return BookingRepository(conn, self.ks).summary(booking_id).state

    def get(self, booking_id: str, **kw: Any) -> Booking:
        with self.engine.connect() as conn:
            return BookingRepository(conn, self.ks).get(booking_id, **kw)

    def add_hit(
        self,
        booking_id: str,
        *,
        traveller_ref: str = "1",
        status: str = "confirmed",
        rule_id: str | None = "R1",
        list_name: str | None = None,
        at: dt.datetime | None = None,
    ) -> str:
        """A hit row as the screening store keeps it (rule or list), with its parents."""
        at = at or self.clock.now()
        hid = new_id()
        with self.engine.begin() as conn:
            values: dict[str, Any] = {}
            if list_name is not None:
                wl = get_watchlist(conn, list_name)
                if wl is None:
                    wid = create_watchlist(
                        conn, name=list_name, fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, at=at
                    )
                    conn.execute(
                        insert(watchlist_version).values(
                            watchlist_id=wid,
                            version=1,
                            imported_at=at,
                            imported_by="t",
                            sha256=b"\0" * 32,
                            added=1,
                            removed=0,
                            changed=0,
                            total=1,
                            rescreened_at=at,
                        )
                    )
                else:
                    wid = wl.id
                values = {
                    "kind": "watchlist",
                    "watchlist_id": wid,
                    "list_version": 1,
                    "entity_id": "E1",
                    "match_key": f"list:{list_name}:E1:{hid}",
                }
            else:
                assert rule_id is not None
                if (
                    conn.execute(
                        select(criteria_rule.c.rule_id).where(criteria_rule.c.rule_id == rule_id)
                    ).first()
                    is None
                ):
                    conn.execute(
                        insert(criteria_rule).values(
                            rule_id=rule_id,
                            version=1,
                            name=rule_id,
                            description="d",
                            expression="true",
                            purpose="terrorist_offences",
                            owner="o",
                            review_date=dt.date(2027, 1, 1),
                            expires=dt.date(2027, 6, 1),
                            enabled=True,
                            created_at=at,
                            created_by="t",
                        )
                    )
                values = {
                    "kind": "rule",
                    "rule_id": rule_id,
                    "rule_version": 1,
                    "match_key": f"rule:{rule_id}:{hid}",
                }
            conn.execute(
                insert(hit).values(
                    id=hid,
                    booking_id=booking_id,
                    booking_version=1,
                    traveller_ref=traveller_ref,
                    purpose="terrorist_offences",
                    score=0.9,
                    features=[],
                    person_digest=b"\1" * 32,
                    status=status,
                    created_at=at,
                    **values,
                )
            )
        return hid
