"""Joint travel stored as one booking-wide row per leg (0027_upkeep), on SQLite and
PostgreSQL: the edges are the ones the per-traveller rows gave, through the migration both
ways, with multi-leg itineraries, a booking shared by two travellers and a traveller a later
version dropped."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Purpose
from pnrguard.domain.model import Booking, Document, Leg, Source, Traveller
from pnrguard.formats.pnrgov import write_pnrgov
from pnrguard.links.model import LinkKind
from pnrguard.links.tokens import LinkField
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.clock import FixedClock
from pnrguard.service.disclosure import add_authority
from pnrguard.service.ingest import ingest
from pnrguard.service.links import links_for_request
from pnrguard.service.requests import register_request
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import alembic_config, upgrade
from pnrguard.store.traveller import search_token

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SENSITIVE = SensitiveFilter.load()
FLIGHT = int(LinkField.FLIGHT)
Row = tuple[bytes, int, int, str, str]


def _leg(number: str, day: int) -> Leg:
    return Leg(carrier="LH", flight_number=number, origin="FRA", destination="IST",
               departure=dt.datetime(2026, 3, day, 9, 15))  # fmt: skip


L1, L2, L3 = _leg("400", 2), _leg("402", 20), _leg("500", 21)


def _person(ref: str, surname: str, dob: dt.date, doc: str) -> Traveller:
    return Traveller(
        ref=ref, surname=surname, given_names="PERSON", date_of_birth=dob,
        documents=[Document(doc_type="P", number=doc, surname=surname, given_names="PERSON",
                            date_of_birth=dob, nationality="DE", issuing_country="DE", gender="M")],
    )  # fmt: skip


A = _person("1", "ALPHA", dt.date(1980, 1, 2), "P100")
B = _person("1", "BRAVO", dt.date(1981, 1, 2), "P200")
C = _person("2", "CHARLIE", dt.date(1982, 1, 2), "P300")
D = _person("1", "DELTA", dt.date(1983, 1, 2), "P400")


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="test.invalid/piu", clock=self.clock)

    def pnr(self, locator: str, travellers: list[Traveller], legs: list[Leg], hour: int = 9) -> str:
        b = Booking(source=Source.PNR, carrier="LH", locator=locator, created=dt.datetime(2026, 2, 1, 10),
                    reported_flight=legs[0], itinerary=legs, travellers=travellers)  # fmt: skip
        message = write_pnrgov([b], flight=legs[0], prepared=dt.datetime(2026, 3, 1, hour)).encode()
        r = ingest(message, engine=self.engine, keystore=self.keystore, audit=self.audit,
                   sensitive_filter=SENSITIVE, clock=self.clock)  # fmt: skip
        assert r.status.value == "accepted", r
        [bid] = r.booking_ids
        return bid

    def rows(self) -> set[Row]:
        with self.engine.connect() as conn:
            return {
                (bytes(r.token), r.field, r.day, r.booking_id, r.traveller_ref)
                for r in conn.execute(select(search_token))
            }


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


@pytest.fixture
def analyst(node: Node) -> Account:
    return accounts.create_account(
        node.engine, username="ana-1", role=Role.ANALYST, password="x" * 16, now=T0
    )


Edge = tuple[str, str, str, int, dt.date | None, dt.date | None, tuple[str, ...]]


def _edges(node: Node, analyst: Account, request_id: str, starts: list[tuple[str, str]]) -> set[Edge]:
    """Every edge of the depth-2 neighbourhood of each start, by the people's labels."""
    out: set[Edge] = set()
    for bid, ref in starts:
        view = links_for_request(request_id, bid, ref, depth=2, user=analyst, engine=node.engine,
                                 keystore=node.keystore, audit=node.audit)  # fmt: skip
        for e in view.graph.edges:
            a, b = sorted((view.labels[e.a], view.labels[e.b]))
            out.add((a, b, e.kind.value, e.count, e.first, e.last, tuple(sorted(e.sources))))
    return out


def _per_traveller(rows: set[Row]) -> set[Row]:
    """What the index stored before 0027: each flight row once per traveller holding rows of
    its own in the booking, none for the booking."""
    own = {(b, r) for _, f, _, b, r in rows if r and f != FLIGHT}
    wide = {(t, f, d, b) for t, f, d, b, r in rows if f == FLIGHT and r == ""}
    kept = {row for row in rows if row[1] != FLIGHT}
    kept |= {row for row in rows if row[1] == FLIGHT and row[4]}
    kept |= {(t, f, d, b, r) for t, f, d, b in wide for b2, r in own if b2 == b}
    return kept


def test_joint_travel_edges_are_the_same_with_booking_wide_rows(node: Node, analyst: Account) -> None:
    a1 = node.pnr("JT0001", [A], [L1])
    node.pnr("JT0002", [A], [L2, L3])  # two legs, two days, one booking
    shared = node.pnr("JT0003", [B, C], [L1, L2])  # B and C together, with A on day 2
    node.pnr("JT0006", [B, C], [L3])  # and on day 21: twice
    node.pnr("JT0004", [D], [L3])
    d2 = node.pnr("JT0005", [D, _person("2", "ECHO", dt.date(1984, 1, 2), "P500")], [L1, L3])
    authority = add_authority(node.engine, code="POL1", name="Police", kind="national", now=T0)
    request = register_request(user=analyst, authority_id=authority.id, case_reference="C-1",
                               purpose=Purpose.TERRORIST_OFFENCES, reason="case C-1: duly reasoned",
                               engine=node.engine, keystore=node.keystore, clock=node.clock)  # fmt: skip
    request_id = request.id
    starts = [(a1, "1"), (shared, "1"), (d2, "1")]

    rows = node.rows()
    flight_rows = [r for r in rows if r[1] == FLIGHT]
    assert {r[4] for r in flight_rows} == {""}  # one row a leg, for the booking
    assert len(flight_rows) == 1 + 2 + 2 + 1 + 1 + 2

    edges = _edges(node, analyst, request_id, starts)
    joint = {(a, b, n) for a, b, kind, n, *_ in edges if kind == LinkKind.JOINT_TRAVEL.value}
    assert joint == {
        ("ALPHA, PERSON (1980-01-02)", "BRAVO, PERSON (1981-01-02)", 2),
        ("ALPHA, PERSON (1980-01-02)", "CHARLIE, PERSON (1982-01-02)", 2),
        ("ALPHA, PERSON (1980-01-02)", "DELTA, PERSON (1983-01-02)", 2),
        ("BRAVO, PERSON (1981-01-02)", "DELTA, PERSON (1983-01-02)", 2),
        ("CHARLIE, PERSON (1982-01-02)", "DELTA, PERSON (1983-01-02)", 2),
    }  # ECHO: with A on two legs of one booking, one day: one trip (a booking's flight date)

    # Back to 0026: the per-traveller rows as they were stored; the same edges after 0027.
    command.downgrade(alembic_config(node.engine), "0026_links_speed")
    assert node.rows() == _per_traveller(rows)
    upgrade(node.engine)
    assert node.rows() == rows
    assert _edges(node, analyst, request_id, starts) == edges

    # C leaves the first booking (a new version without C): C's link stays in
    # traveller_member, but C travelled with A once now, as when C's own flight rows went
    # with its other rows.
    node.pnr("JT0003", [B], [L1, L2], hour=10)
    after = _edges(node, analyst, request_id, starts)
    assert {(a, b, n) for a, b, kind, n, *_ in after if kind == LinkKind.JOINT_TRAVEL.value} == {
        ("ALPHA, PERSON (1980-01-02)", "BRAVO, PERSON (1981-01-02)", 2),
        ("ALPHA, PERSON (1980-01-02)", "DELTA, PERSON (1983-01-02)", 2),
        ("BRAVO, PERSON (1981-01-02)", "DELTA, PERSON (1983-01-02)", 2),
    }
