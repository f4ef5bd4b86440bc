"""Link analysis on SQLite and PostgreSQL through the real ingest: each link kind, the
purpose it needs, masked and deleted bookings, the depth limit, and the log of every
expansion."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import (
    Address,
    Agency,
    Booking,
    Contact,
    Document,
    FrequentFlyer,
    Leg,
    Payment,
    Seat,
    Source,
    Traveller,
)
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.formats.pnrgov import write_pnrgov
from pnrguard.links.model import LinkKind
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.clock import FixedClock
from pnrguard.service.disclosure import add_authority
from pnrguard.service.ingest import ingest
from pnrguard.service.links import LinkView, add_linked_to_request, links_for_request, table_csv
from pnrguard.service.requests import decide_request, register_request
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import claim_bookings, delete_bookings, mask_bookings
from pnrguard.store.tables import booking
from pnrguard.store.workspace import was_found

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SENSITIVE = SensitiveFilter.load()


def traveller(ref: str, surname: str, given: str, dob: dt.date, doc: str = "", ff: str = "") -> Traveller:
    return Traveller(
        ref=ref, surname=surname, given_names=given, date_of_birth=dob,
        documents=[Document(doc_type="P", number=doc, surname=surname, given_names=given, date_of_birth=dob,
                            nationality="DE", issuing_country="DE", gender="M")] if doc else [],
        frequent_flyers=[FrequentFlyer(airline="LH", number=ff)] if ff else [],
    )  # fmt: skip


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)
        self.n = 0

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="test.invalid/piu", clock=self.clock)

    def pnr(self, travellers: list[Traveller], *, day: int = 2, number: str = "400", **extra: object) -> str:
        self.n += 1
        f = Leg(carrier="LH", flight_number=number, origin="FRA", destination="IST",
                departure=dt.datetime(2026, 3, day, 9, 15))  # fmt: skip
        b = Booking(
            source=Source.PNR, carrier="LH", locator=f"LOC{self.n:03d}", created=dt.datetime(2026, 2, 1, 10),
            reported_flight=f, itinerary=[f], travellers=travellers, **extra,  # type: ignore[arg-type]
        )  # fmt: skip
        message = write_pnrgov([b], flight=f, prepared=dt.datetime(2026, 3, 1, 9)).encode()
        r = ingest(message, engine=self.engine, keystore=self.keystore, audit=self.audit,
                   sensitive_filter=SENSITIVE, clock=self.clock)  # fmt: skip
        assert r.status.value == "accepted", r
        [bid] = r.booking_ids
        return bid


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


@pytest.fixture
def analyst(node: Node) -> Account:
    return accounts.create_account(
        node.engine, username="ana-1", role=Role.ANALYST, password="x" * 16, now=T0
    )


def _request(node: Node, analyst: Account) -> str:
    node.n += 1
    authority = add_authority(node.engine, code=f"POL{node.n}", name="Police", kind="national", now=T0)
    return register_request(user=analyst, authority_id=authority.id, case_reference="C-1",
                            purpose=Purpose.TERRORIST_OFFENCES, reason="case C-1: duly reasoned",
                            engine=node.engine, keystore=node.keystore, clock=node.clock).id  # fmt: skip


def _links(
    node: Node, analyst: Account, request_id: str, bid: str, ref: str = "1", depth: int = 1
) -> LinkView:
    return links_for_request(request_id, bid, ref, depth=depth, user=analyst, engine=node.engine,
                             keystore=node.keystore, audit=node.audit)  # fmt: skip


def _kinds(view: LinkView) -> dict[str, set[LinkKind]]:
    out: dict[str, set[LinkKind]] = {}
    for e in view.graph.edges:
        for p in (e.a, e.b):
            if p != view.graph.start:
                out.setdefault(view.labels[p].split(",")[0], set()).add(e.kind)
    return out


DOB = dt.date(1980, 1, 2)


def test_each_link_kind_through_the_real_ingest(node: Node, analyst: Account) -> None:
    home = Address(kind="700", street="Hauptstr. 5", postal_code="10115", city="Berlin", country="DE")
    pair = [traveller("1", "KAYA", "EMRE", DOB, "P111", ff="LH9001"), traveller("2", "CO", "BOOKER", DOB)]
    start = node.pnr(pair, contacts=[Contact(kind="phone", value="+49 170 1234567")],
                     payments=[Payment(form="CC", card_number="4111111111111111")],
                     agency=Agency(iata_number="23456789", location="IST"),
                     seats=[Seat(seat="12C", traveller_ref="1")])  # fmt: skip
    node.pnr([traveller("1", "PHONE", "FRIEND", dt.date(1970, 5, 5))], day=9,
             contacts=[Contact(kind="phone", value="0170-1234567")])  # fmt: skip
    node.pnr([traveller("1", "CARD", "PAYER", dt.date(1971, 5, 5))], day=10,
             payments=[Payment(form="CC", card_number="4111 1111 1111 1111")])  # fmt: skip
    node.pnr(
        [traveller("1", "SEAT", "NEIGHBOUR", dt.date(1972, 5, 5))],
        seats=[Seat(seat="12D", traveller_ref="1")],
    )
    node.pnr(
        [traveller("1", "FAR", "SEAT", dt.date(1973, 5, 5))], seats=[Seat(seat="12F", traveller_ref="1")]
    )
    node.pnr([traveller("1", "FLYER", "SHARED", dt.date(1975, 5, 5), ff="LH9001")], day=11)
    node.pnr([traveller("1", "DOC", "FORGED", dt.date(1976, 5, 5), "P111")], day=12)
    node.pnr([traveller("1", "HOME", "MATE", dt.date(1977, 5, 5))], day=13, addresses=[home])
    node.pnr(
        [traveller("1", "KAYA", "EMRE", DOB, "P111")], day=14, addresses=[home]
    )  # the same person, later
    request_id = _request(node, analyst)
    view = _links(node, analyst, request_id, start)
    kinds = _kinds(view)
    assert kinds["CO"] == {LinkKind.SAME_BOOKING}
    assert kinds["PHONE"] == {LinkKind.PHONE}
    assert kinds["CARD"] == {LinkKind.CARD}
    assert kinds["SEAT"] == {LinkKind.ADJACENT_SEAT}
    assert "FAR" not in kinds  # 12C and 12F are not adjacent
    assert kinds["FLYER"] == {LinkKind.FREQUENT_FLYER}
    assert kinds["DOC"] == {LinkKind.DOCUMENT}  # same passport number, another birth date
    assert kinds["HOME"] == {LinkKind.ADDRESS}  # through the start person's later booking
    assert "KAYA" not in kinds  # the later booking is the same person, not a link
    assert "EMRE" not in " ".join(view.labels[p] for p in view.graph.persons if p != view.graph.start)


def test_joint_travel_only_when_repeated(node: Node, analyst: Account) -> None:
    me = traveller("1", "ONE", "PERSON", DOB, "P1")
    other = traveller("1", "TWO", "PERSON", dt.date(1990, 1, 1), "P2")
    stranger = traveller("1", "THREE", "PERSON", dt.date(1991, 1, 1), "P3")
    start = node.pnr([me], day=2, number="400")
    node.pnr([other], day=2, number="400")
    node.pnr([stranger], day=2, number="400")
    node.pnr([me], day=20, number="402")
    node.pnr([other], day=20, number="402")
    view = _links(node, analyst, _request(node, analyst), start)
    [edge] = [e for e in view.graph.edges if e.kind is LinkKind.JOINT_TRAVEL]
    assert edge.count == 2
    assert {view.labels[edge.a], view.labels[edge.b]} >= {"TWO, PERSON (1990-01-01)"}
    assert not any(view.labels[p].startswith("THREE") for p in view.graph.persons)


def test_purpose_depth_and_the_log_of_every_expansion(node: Node, analyst: Account) -> None:
    a = node.pnr([traveller("1", "ALPHA", "A", DOB)], contacts=[Contact(kind="email", value="x@example.org")])
    node.pnr([traveller("1", "BRAVO", "B", dt.date(1981, 1, 1))], day=5,
             contacts=[Contact(kind="email", value="X@example.org")],
             payments=[Payment(form="CC", card_number="5500000000000004")])  # fmt: skip
    node.pnr([traveller("1", "CHARLIE", "C", dt.date(1982, 1, 1))], day=6,
             payments=[Payment(form="CC", card_number="5500000000000004")])  # fmt: skip
    request_id = _request(node, analyst)
    one = _links(node, analyst, request_id, a, depth=1)
    two = _links(node, analyst, request_id, a, depth=2)
    assert sorted(n.depth for n in one.graph.persons.values()) == [0, 1]
    assert sorted(n.depth for n in two.graph.persons.values()) == [0, 1, 2]
    with pytest.raises(InputError):
        _links(node, analyst, request_id, a, depth=3)
    with node.engine.connect() as conn:
        entries = SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.CONSULTATION)
    logged = [e for e in entries if e.reference == f"request:{request_id}"]
    expansions = [e for e in logged if e.counts.get("links.expanded")]
    assert len(expansions) == 1 + 2  # depth 1: one step (ALPHA); depth 2: two steps (ALPHA, then BRAVO)
    assert all(e.purpose is Purpose.TERRORIST_OFFENCES and e.actor == "ana-1" for e in expansions)
    assert a in expansions[0].record_ids
    # No personal data in the log: ids and counts only.
    assert "ALPHA" not in str(logged)
    assert "example.org" not in str(logged)
    # A closed request opens nothing; a role without investigation opens nothing.
    decide_request(request_id, user=analyst, answered=False, reason="no data", engine=node.engine,
    keystore=node.keystore,
                   clock=node.clock)  # fmt: skip
    with pytest.raises(ConflictError):
        _links(node, analyst, request_id, a)
    dpo = accounts.create_account(node.engine, username="dpo-1", role=Role.DPO, password="x" * 16, now=T0)
    with pytest.raises(ForbiddenError):
        links_for_request(_request(node, analyst), a, "1", depth=1, user=dpo, engine=node.engine,
                          keystore=node.keystore, audit=node.audit)  # fmt: skip


def test_masked_and_deleted_bookings_join_no_edge(node: Node, analyst: Account) -> None:
    a = node.pnr([traveller("1", "ALPHA", "A", DOB)], contacts=[Contact(kind="phone", value="+491701111111")])
    b = node.pnr([traveller("1", "BRAVO", "B", dt.date(1981, 1, 1))], day=5,
                 contacts=[Contact(kind="phone", value="+491701111111")])  # fmt: skip
    c = node.pnr([traveller("1", "CHARLIE", "C", dt.date(1982, 1, 1))], day=6,
                 contacts=[Contact(kind="phone", value="+491701111111")])  # fmt: skip
    request_id = _request(node, analyst)
    assert len(_links(node, analyst, request_id, a).graph.persons) == 3
    with node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == b, limit=10)
        assert mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0) == [b]
    with node.engine.begin() as conn:
        delete_bookings(conn, [c], at=T0)
    view = _links(node, analyst, request_id, a)
    assert list(view.graph.persons) == [view.graph.start]
    assert view.graph.edges == []
    with pytest.raises(ConflictError):
        _links(node, analyst, request_id, b)


def test_a_linked_person_is_added_to_the_request_and_logged(node: Node, analyst: Account) -> None:
    a = node.pnr([traveller("1", "ALPHA", "A", DOB)], contacts=[Contact(kind="phone", value="+491702222222")])
    b = node.pnr([traveller("1", "BRAVO", "B", dt.date(1981, 1, 1))], day=5,
                 contacts=[Contact(kind="phone", value="+491702222222")])  # fmt: skip
    request_id = _request(node, analyst)
    view = _links(node, analyst, request_id, a)
    [bravo] = [r for r in view.rows if r.label.startswith("BRAVO")]
    assert bravo.booking_ids == (b,)
    with node.engine.connect() as conn:
        assert not was_found(conn, request_id, b)
    added = add_linked_to_request(request_id, a, "1", bravo.id, depth=1, user=analyst, engine=node.engine,
                                  keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip
    assert added == [b]
    with node.engine.connect() as conn:
        assert was_found(conn, request_id, b)  # now part of the case: opened and transmitted under it
        entries = SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.ALTERATION)
    [entry] = [e for e in entries if e.counts.get("links.added_to_case")]
    assert (entry.reference, list(entry.record_ids)) == (f"request:{request_id}", [b])
    with pytest.raises(NotFoundError):  # only someone the neighbourhood shows
        add_linked_to_request(request_id, a, "1", "p" + "0" * 24, depth=1, user=analyst, engine=node.engine,
                              keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip
    assert b"BRAVO" in table_csv(view)
