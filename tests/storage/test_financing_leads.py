"""Financing leads on SQLite and PostgreSQL through the real ingest: each lead kind, who
may run and review them, masked and deleted bookings, the log of every run and review,
and the FIU package (payment information only, a CSV the unit can load)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.config import Settings
from pnrguard.domain.model import Booking, Leg, Payment, Source, Traveller
from pnrguard.errors import ConflictError, ForbiddenError, InputError
from pnrguard.formats.pnrgov import write_pnrgov
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.screening.criteria import Rule
from pnrguard.service import accounts
from pnrguard.service import leads as svc
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node as BootedNode
from pnrguard.service.clock import FixedClock
from pnrguard.service.disclosure import add_authority
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.ingest import ingest
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.worker import WorkerPool
from pnrguard.store import screening as hits_store
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.leads import financing_lead, financing_lead_record, lead_disclosure
from pnrguard.store.lifecycle import claim_bookings, delete_bookings, mask_bookings
from pnrguard.store.repository import new_id
from pnrguard.store.screening import HitKind, HitRecord, HitStatus
from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SENSITIVE = SensitiveFilter.load()
CARD = "4111111111111111"


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(T0)
        self.n = 0

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="test.invalid/piu", clock=self.clock)

    def pnr(
        self,
        surnames: list[str],
        *,
        day: int = 5,
        booked_before: int = 1,
        route: tuple[str, str] = ("FRA", "IST"),
        payment: Payment | None = None,
    ) -> str:
        self.n += 1
        dep = dt.datetime(2026, 3, day, 9, 15)
        f = Leg(
            carrier="LH",
            flight_number=f"{400 + self.n}",
            origin=route[0],
            destination=route[1],
            departure=dep,
        )
        travellers = [
            Traveller(
                ref=str(i), surname=s, given_names="ALEX", date_of_birth=dt.date(1970 + self.n, 1, 1 + i)
            )
            for i, s in enumerate(surnames, start=1)
        ]
        b = Booking(
            source=Source.PNR,
            carrier="LH",
            locator=f"LOC{self.n:03d}",
            created=dep - dt.timedelta(days=booked_before),
            reported_flight=f,
            itinerary=[f],
            travellers=travellers,
            payments=[payment] if payment else [],
        )
        message = write_pnrgov([b], flight=f, prepared=dt.datetime(2026, 3, 1, 9)).encode()
        r = ingest(
            message,
            engine=self.engine,
            keystore=self.keystore,
            audit=self.audit,
            sensitive_filter=SENSITIVE,
            clock=self.clock,
        )
        assert r.status.value == "accepted", r
        [bid] = r.booking_ids
        return bid

    def entries(self, operation: Operation) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return list(SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=operation))


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


def _account(node: Node, name: str, role: Role) -> Account:
    return accounts.create_account(node.engine, username=name, role=role, password="x" * 16, now=T0)


@pytest.fixture
def analyst(node: Node) -> Account:
    return _account(node, "ana-1", Role.ANALYST)


def _detect(node: Node, user: Account) -> list[str]:
    return svc.detect_leads(
        user=user, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock
    )


def _leads(node: Node) -> list[tuple[str, str, int]]:
    with node.engine.connect() as conn:
        rows = conn.execute(select(financing_lead.c.id, financing_lead.c.kind, financing_lead.c.bookings))
        return [(r.id, r.kind, r.bookings) for r in rows]


def _card(holder: str = "J PAYER") -> Payment:
    return Payment(
        form="CC", card_vendor="VI", card_number=CARD, holder=holder, amount="412.00", currency="EUR"
    )


def _unrelated_card_bookings(node: Node, holder: str = "J PAYER") -> list[str]:
    return [
        node.pnr([s], day=d, payment=_card(holder)) for s, d in (("KAYA", 5), ("MEYER", 9), ("OKAFOR", 14))
    ]


def test_one_card_for_unrelated_late_travellers_is_a_lead_families_and_early_bookings_are_not(
    node: Node, analyst: Account
) -> None:
    bids = _unrelated_card_bookings(node)
    other = Payment(form="CC", card_number="5500000000000004", holder="ROSSI")
    for d in (5, 9, 14):  # a family paying for itself: one surname
        node.pnr(["ROSSI"], day=d, payment=other)
    early = Payment(form="CC", card_number="6011000000000004", holder="X")
    for s, d in (("ADAMS", 5), ("BAKER", 9), ("CLARK", 14)):  # booked weeks ahead
        node.pnr([s], day=d, booked_before=40, payment=early)
    new = _detect(node, analyst)
    assert [(k, n) for _, k, n in _leads(node)] == [("card_many_unrelated", 3)]
    with node.engine.connect() as conn:
        named = set(conn.execute(select(financing_lead_record.c.booking_id)).scalars())
    assert named == set(bids)
    assert _detect(node, analyst) == []  # a rerun files nothing twice
    [run, rerun] = [e for e in node.entries(Operation.COMBINATION) if e.counts.get("leads.found") is not None]
    assert run.counts["leads.new"] == 1
    assert rerun.counts["leads.new"] == 0
    assert list(run.record_ids) == [f"lead:{new[0]}"]
    assert "KAYA" not in str(run)


def _rule(node: Node, rule_id: str, expression: str) -> None:
    rule = Rule(
        rule_id=rule_id,
        version=1,
        name=rule_id,
        expression=expression,
        purpose=Purpose.TERRORIST_OFFENCES,
        owner="sup",
        review_date=dt.date(2027, 1, 1),
        expires=dt.date(2027, 6, 1),
    )
    with node.engine.begin() as conn:
        hits_store.insert_rule(conn, rule, at=T0, by="sup")


def _confirmed_hit(node: Node, booking_id: str) -> str:
    _rule(node, "R-BAG", "booking.bag_count > 3")
    hit_id = new_id()
    rec = HitRecord(
        id=hit_id,
        booking_id=booking_id,
        booking_version=1,
        traveller_ref="1",
        kind=HitKind.RULE,
        purpose=Purpose.TERRORIST_OFFENCES,
        match_key="rule:R-BAG",
        watchlist_id=None,
        list_version=None,
        entity_id=None,
        fingerprint=None,
        rule_id="R-BAG",
        rule_version=1,
        score=0.97,
        features=(),
        person_digest=None,
        status=HitStatus.CONFIRMED,
        created_at=T0,
        reviewed_by="ana-0",
        reviewed_at=T0,
    )
    with node.engine.begin() as conn:
        hits_store.insert_hits(conn, [rec])
    return hit_id


def test_a_card_of_a_confirmed_hit_paying_for_others_is_a_lead(node: Node, analyst: Account) -> None:
    card = Payment(form="CC", card_number="4000000000000002", holder="KAYA")
    suspect = node.pnr(["KAYA"], day=5, booked_before=60, payment=card)
    friend = node.pnr(["DEMIR"], day=20, booked_before=60, payment=card)
    node.pnr(["OTHER"], day=20, booked_before=60, payment=Payment(form="CC", card_number="4000000000000010"))
    hit_id = _confirmed_hit(node, suspect)
    _detect(node, analyst)
    [(lead_id, kind, n)] = _leads(node)
    assert (kind, n) == ("card_of_confirmed", 2)
    with node.engine.connect() as conn:
        lead = conn.execute(select(financing_lead).where(financing_lead.c.id == lead_id)).one()
        named = set(conn.execute(select(financing_lead_record.c.booking_id)).scalars())
    assert lead.hit_id == hit_id
    assert named == {suspect, friend}


def test_cash_clustered_on_a_route_a_criterion_names_is_a_lead(node: Node, analyst: Account) -> None:
    _rule(node, "R-IST", "'IST' in booking.route")
    for i, s in enumerate(("A", "B", "C", "D")):
        node.pnr([f"CASH{s}"], day=5 + i, payment=Payment(form="CA", amount="300"))
    node.pnr(
        ["THIRDP"], day=8, payment=Payment(form="CC", card_number="4000000000000028", holder="Z STRANGER")
    )
    for i, s in enumerate(("E", "F", "G", "H", "I")):  # a route no criterion names
        node.pnr([f"CASH{s}"], day=5 + i, route=("FRA", "MAD"), payment=Payment(form="CA"))
    _detect(node, analyst)
    [(lead_id, kind, n)] = _leads(node)
    assert (kind, n) == ("cash_on_route", 5)  # four cash bookings and one paid by a stranger
    with node.engine.connect() as conn:
        lead = conn.execute(select(financing_lead).where(financing_lead.c.id == lead_id)).one()
    assert (lead.origin, lead.destination, lead.rule_id) == ("FRA", "IST", "R-IST")


def test_only_analysts_run_review_and_open_leads_and_every_review_is_logged(
    node: Node, analyst: Account
) -> None:
    dpo = _account(node, "dpo-1", Role.DPO)
    with pytest.raises(ForbiddenError):
        _detect(node, dpo)
    _unrelated_card_bookings(node)
    [lead_id] = _detect(node, analyst)
    with pytest.raises(ForbiddenError):
        svc.lead_view(lead_id, user=dpo, engine=node.engine, keystore=node.keystore, audit=node.audit)
    view = svc.lead_view(lead_id, user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit)
    assert sorted(r.label for r in view.rows) == ["KAYA, ALEX", "MEYER, ALEX", "OKAFOR, ALEX"]
    assert view.withheld == 0
    with pytest.raises(InputError):  # a reason code from the list, never free text
        svc.review_lead(
            lead_id,
            decision="confirm",
            code="he looked nervous",
            user=analyst,
            engine=node.engine,
            audit=node.audit,
            clock=node.clock,
        )
    with pytest.raises(ForbiddenError):
        svc.review_lead(
            lead_id,
            decision="confirm",
            code="pattern_unexplained",
            user=dpo,
            engine=node.engine,
            audit=node.audit,
            clock=node.clock,
        )
    done = svc.review_lead(
        lead_id,
        decision="dismiss",
        code="travel_agency_or_employer",
        user=analyst,
        engine=node.engine,
        audit=node.audit,
        clock=node.clock,
    )
    assert (done.status, done.reviewed_by) == ("dismissed", "ana-1")
    with pytest.raises(ConflictError):  # decided once
        svc.review_lead(
            lead_id,
            decision="confirm",
            code="pattern_unexplained",
            user=analyst,
            engine=node.engine,
            audit=node.audit,
            clock=node.clock,
        )
    opened = [e for e in node.entries(Operation.CONSULTATION) if e.reference == f"lead:{lead_id}"]
    reviewed = [e for e in node.entries(Operation.ALTERATION) if e.reference == f"lead:{lead_id}"]
    assert len(opened) == 1
    assert opened[0].purpose is Purpose.TERRORIST_OFFENCES
    assert [e.counts for e in reviewed] == [{"leads.dismissed": 1}]
    assert "KAYA" not in str(opened + reviewed)


def _confirmed_lead(node: Node, analyst: Account, holder: str = "J PAYER") -> tuple[str, list[str]]:
    bids = _unrelated_card_bookings(node, holder)
    [lead_id] = _detect(node, analyst)
    svc.review_lead(
        lead_id,
        decision="confirm",
        code="pattern_unexplained",
        user=analyst,
        engine=node.engine,
        audit=node.audit,
        clock=node.clock,
    )
    return lead_id, bids


def _propose(node: Node, user: Account, lead_id: str, authority_id: str, *, four_eyes: bool = True) -> str:
    return svc.propose_disclosure(
        lead_id,
        authority_id=authority_id,
        user=user,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        clock=node.clock,
        node_name="piu.test",
        policy=ReviewPolicy(four_eyes=four_eyes),
    ).id


def test_a_confirmed_lead_goes_to_the_fiu_under_four_eyes_with_payment_information_only(
    node: Node, analyst: Account
) -> None:
    lead_id, bids = _confirmed_lead(node, analyst, holder='=HYPERLINK("http://x")')
    fiu = add_authority(node.engine, code="FIU", name="Financial intelligence unit", kind="national", now=T0)
    europol = add_authority(node.engine, code="EUROPOL", name="Europol", kind="europol", now=T0)
    sup1, sup2 = _account(node, "sup-1", Role.SUPERVISOR), _account(node, "sup-2", Role.SUPERVISOR)
    with pytest.raises(InputError):
        _propose(node, analyst, lead_id, europol.id)
    disclosure_id = _propose(node, sup1, lead_id, fiu.id)
    approve = dict(
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock, node_name="piu.test"
    )
    with pytest.raises(ForbiddenError):  # four eyes: not the proposer, not an analyst
        svc.approve_disclosure(disclosure_id, user=sup1, **approve)  # type: ignore[arg-type]
    with pytest.raises(ForbiddenError):
        svc.approve_disclosure(disclosure_id, user=analyst, **approve)  # type: ignore[arg-type]
    assert not [e for e in node.entries(Operation.DISCLOSURE) if e.reference == disclosure_id]
    released = svc.approve_disclosure(disclosure_id, user=sup2, **approve)  # type: ignore[arg-type]
    assert released.status == "released"
    pkg = svc.disclosure_package(
        disclosure_id,
        user=analyst,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        node_name="piu.test",
    )
    assert hashlib.sha256(pkg.json_bytes).digest() == released.package_sha256  # the copy released
    data = json.loads(pkg.json_bytes)
    assert data["recipient"]["code"] == "FIU"
    assert {p["booking_id"] for p in data["payments"]} == set(bids)
    assert all(set(p) == set(svc.PAYMENT_COLUMNS) for p in data["payments"])
    assert {p["card_number"] for p in data["payments"]} == {CARD}
    text = pkg.json_bytes.decode()
    for traveller_data in ("KAYA", "MEYER", "OKAFOR", "ALEX", "1971-01-02", "date_of_birth", "documents"):
        assert traveller_data not in text  # payment information only
    rows = list(csv.reader(io.StringIO(pkg.csv().decode())))
    assert rows[0] == list(svc.PAYMENT_COLUMNS)
    assert len(rows) == 4
    assert {r[rows[0].index("holder")] for r in rows[1:]} == {'\'=HYPERLINK("http://x")'}  # defused
    [disclosed] = [e for e in node.entries(Operation.DISCLOSURE) if e.reference == disclosure_id]
    assert set(bids) <= set(disclosed.record_ids)
    assert "authority:FIU" in disclosed.record_ids


def test_an_open_lead_is_not_disclosed(node: Node, analyst: Account) -> None:
    _unrelated_card_bookings(node)
    [lead_id] = _detect(node, analyst)
    fiu = add_authority(node.engine, code="FIU", name="FIU", kind="national", now=T0)
    with pytest.raises(ConflictError):
        _propose(node, analyst, lead_id, fiu.id, four_eyes=False)


def _mask(node: Node, bid: str) -> None:
    with node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == bid, limit=10)
        assert mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0) == [bid]


def test_masked_bookings_are_counts_only_and_leave_no_open_lead(node: Node, analyst: Account) -> None:
    lead_id, bids = _confirmed_lead(node, analyst)
    _mask(node, bids[0])
    view = svc.lead_view(lead_id, user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit)
    assert view.withheld == 1
    assert sorted(r.label for r in view.rows) == ["MEYER, ALEX", "OKAFOR, ALEX"]
    fiu = add_authority(node.engine, code="FIU", name="FIU", kind="national", now=T0)
    disclosure_id = _propose(node, analyst, lead_id, fiu.id, four_eyes=False)
    pkg = svc.disclosure_package(
        disclosure_id,
        user=analyst,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        node_name="piu.test",
    )
    assert bids[0] not in {p["booking_id"] for p in pkg.data["payments"]}
    assert pkg.data["withheld"] == {"bookings_masked_or_deleted": 1}
    with node.engine.connect() as conn:  # the decided lead keeps its ids, not its card digest
        assert conn.execute(select(financing_lead.c.card_token)).scalar_one() is None
    # An open lead naming a masked booking goes: it cannot be reviewed without an unmasking.
    other = [
        node.pnr([s], day=d, payment=Payment(form="CC", card_number="4000000000000036"))
        for s, d in (("NOVAK", 5), ("SILVA", 9), ("TANAKA", 14))
    ]
    [open_lead] = _detect(node, analyst)
    _mask(node, other[1])
    assert open_lead not in [i for i, _, _ in _leads(node)]


def test_no_lead_survives_the_deletion_of_a_booking_it_names(node: Node, analyst: Account) -> None:
    lead_id, bids = _confirmed_lead(node, analyst)
    fiu = add_authority(node.engine, code="FIU", name="FIU", kind="national", now=T0)
    _propose(node, analyst, lead_id, fiu.id, four_eyes=False)
    with node.engine.begin() as conn:
        delete_bookings(conn, [bids[2]], at=T0)
    with node.engine.connect() as conn:
        for table in (financing_lead, financing_lead_record, lead_disclosure):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table.name
    assert _detect(node, analyst) == []  # two bookings left on the card: no longer a pattern


def test_payment_form_tokens_say_cash_and_third_party_without_clear_values() -> None:
    from pnrguard.links.tokens import CASH, THIRD_PARTY, payment_forms

    b = Booking(source=Source.PNR, carrier="LH", locator="X", travellers=[Traveller(ref="1", surname="KAYA")])
    assert payment_forms(dataclasses.replace(b, payments=[Payment(form="CA")])) == {CASH}
    assert payment_forms(dataclasses.replace(b, payments=[Payment(form="CC", holder="E KAYA")])) == set()
    assert payment_forms(dataclasses.replace(b, payments=[Payment(form="CC", holder="Z OTHER")])) == {
        THIRD_PARTY
    }
    assert payment_forms(dataclasses.replace(b, payments=[Payment(form="CC")])) == set()  # unknown holder


def test_the_worker_runs_the_detectors_on_its_schedule_as_a_logged_system_run(
    node: Node, tmp_path: Path
) -> None:
    _unrelated_card_bookings(node)
    settings = Settings(
        database_url=SecretStr(str(node.engine.url)),
        key_file=tmp_path / "keys.json",
        node_name="test.invalid/piu",
    )
    booted = BootedNode(settings, node.engine, node.keystore, SENSITIVE, node.clock)
    pool = WorkerPool(booted, GatewaySettings(leads_seconds=3600))
    pool._last_housekeeping = pool._last_checkpoint = time.monotonic()  # only the leads timer here
    pool._housekeeping()
    assert _leads(node) == []  # a pool just started waits one period
    pool._last_leads -= 3600
    pool._housekeeping()
    assert [(k, n) for _, k, n in _leads(node)] == [("card_many_unrelated", 3)]
    [run] = [e for e in node.entries(Operation.COMBINATION) if e.counts.get("leads.found") is not None]
    assert (run.actor, run.role, run.purpose) == ("system:leads", "system", Purpose.TERRORIST_OFFENCES)
    assert "KAYA" not in str(run)
    assert pool.find_leads() == 0  # the next run files nothing twice

    off = WorkerPool(booted, GatewaySettings(leads_seconds=0))
    off._last_housekeeping = off._last_checkpoint = time.monotonic()
    off._last_leads -= 10**6
    off._housekeeping()
    runs = [e for e in node.entries(Operation.COMBINATION) if e.counts.get("leads.found") is not None]
    assert len(runs) == 2  # 0 = on demand only: the idle pool ran nothing


def test_two_workers_finding_the_same_lead_at_once_file_it_once(node: Node, analyst: Account) -> None:
    """Worker processes on one PostgreSQL run the detectors side by side: both read no such
    fingerprint, both insert it. The second waits on the unique key and must then skip the
    lead, not fail its run (SQLite cannot race here: every write transaction is IMMEDIATE)."""
    if node.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises write transactions (BEGIN IMMEDIATE)")
    _unrelated_card_bookings(node)
    assert len(_detect(node, analyst)) == 1
    with node.engine.begin() as conn:
        lead = dict(conn.execute(select(financing_lead)).mappings().one())
        records = [dict(r) for r in conn.execute(select(financing_lead_record)).mappings()]
        conn.execute(delete(financing_lead_record))
        conn.execute(delete(financing_lead))
    outcome: dict[str, object] = {}

    def second_worker() -> None:
        try:
            outcome["new"] = _detect(node, analyst)
        except Exception as exc:  # the assertion below names it
            outcome["error"] = exc

    with node.engine.connect() as first:
        tx = first.begin()
        first.execute(insert(financing_lead).values(lead))  # the first worker's run, not committed yet
        first.execute(insert(financing_lead_record), records)
        worker = threading.Thread(target=second_worker)
        worker.start()
        deadline = time.monotonic() + 60
        while not _waiting_on_a_lock(node.engine) and worker.is_alive():
            assert time.monotonic() < deadline, "the second run never reached the lead's unique key"
            time.sleep(0.05)
        tx.commit()
    worker.join(timeout=60)
    assert "error" not in outcome, outcome
    assert outcome["new"] == []
    assert [(k, n) for _, k, n in _leads(node)] == [("card_many_unrelated", 3)]
    last = [e for e in node.entries(Operation.COMBINATION) if e.counts.get("leads.found") is not None][-1]
    assert last.counts["leads.new"] == 0


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database() AND query LIKE 'INSERT INTO financing_lead %'"
            )
        ).scalar_one()
    return bool(waiting)
