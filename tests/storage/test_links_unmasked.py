"""Masked bookings in link analysis (issue 16): counts only, or absent, without a decided
unmasking; shown by name, with the edge marked, under one decided for this very request;
never under another request, after the window, or once deleted. Every use is logged.
SQLite and PostgreSQL, through the real ingest, masking and judicial approval."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from test_links import DOB, T0, Node, _request, traveller

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Contact, Payment
from pnrguard.links.model import LinkKind
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.links import LinkView, links_for_request, table_csv
from pnrguard.service.unmasking import Principal, approve_unmasking, request_unmasking
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import claim_bookings, delete_bookings, mask_bookings
from pnrguard.store.tables import booking
from pnrguard.store.traveller import search_token

pytestmark = pytest.mark.storage

JUDGE = Principal("judge-1", frozenset({"judicial"}))
PHONE = "+491703333333"


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


@pytest.fixture
def analyst(node: Node) -> Account:
    return accounts.create_account(
        node.engine, username="ana-1", role=Role.ANALYST, password="x" * 16, now=T0
    )


def _mask(node: Node, bid: str) -> None:
    with node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == bid, limit=10)
        assert mask_bookings(conn, rows, keystore=node.keystore, seal_keystore=node.keystore, at=T0) == [bid]


def _unmask(node: Node, analyst: Account, bids: list[str], case: str, *, days: int = 7) -> str:
    rid = request_unmasking(
        requester=analyst, purpose=Purpose.TERRORIST_OFFENCES, case_reference=case,
        reason="Linked to the suspect of case C-1 by a shared phone; identity needed.", booking_ids=bids,
        valid_from=T0 - dt.timedelta(hours=1), valid_until=T0 + dt.timedelta(days=days),
        engine=node.engine, keystore=node.keystore, clock=node.clock,
    )  # fmt: skip
    approve_unmasking(rid, judge=JUDGE, decision="approved", reason="Necessary and proportionate.",
                      engine=node.engine, keystore=node.keystore, audit=node.audit,
                      clock=node.clock)  # fmt: skip
    return rid


def _view(node: Node, analyst: Account, request_id: str, bid: str, depth: int = 1) -> LinkView:
    return links_for_request(request_id, bid, "1", depth=depth, user=analyst, engine=node.engine,
                             keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip


def _names(view: LinkView) -> set[str]:
    return {view.labels[p].split(",")[0] for p in view.graph.persons if p != view.graph.start}


def _tokens(node: Node, bid: str) -> int:
    with node.engine.connect() as conn:
        q = select(func.count()).select_from(search_token).where(search_token.c.booking_id == bid)
        return int(conn.execute(q).scalar_one())


def _world(node: Node) -> tuple[str, str]:
    a = node.pnr([traveller("1", "ALPHA", "A", DOB)], contacts=[Contact(kind="phone", value=PHONE)])
    b = node.pnr([traveller("1", "BRAVO", "B", dt.date(1981, 1, 1))], day=5,
                 contacts=[Contact(kind="phone", value=PHONE)],
                 payments=[Payment(form="CC", card_number="5500000000000004")])  # fmt: skip
    _mask(node, b)
    return a, b


def test_masked_person_is_shown_only_under_an_unmasking_decided_for_this_request(
    node: Node, analyst: Account
) -> None:
    a, b = _world(node)
    request_id = _request(node, analyst)
    assert _names(_view(node, analyst, request_id, a)) == set()  # masked: joins no edge
    unmasking_id = _unmask(node, analyst, [b], f"request:{request_id}")
    view = _view(node, analyst, request_id, a)
    assert _names(view) == {"BRAVO"}
    [edge] = view.graph.edges
    assert (edge.kind, edge.unmasked) == (LinkKind.PHONE, True)
    [bravo] = [r for r in view.rows if r.label.startswith("BRAVO")]
    assert bravo.unmasked
    assert not bravo.masked
    assert bravo.booking_ids == ()  # nothing masked is added to a case from the graph
    assert "unmasked" in table_csv(view).decode()
    assert _tokens(node, b) == 0  # derived in memory only: masking stays effective for all else
    # Logged: the unmasking used (its id as reference) and the names shown; ids, no content.
    with node.engine.connect() as conn:
        log = SqlAuditLog(conn, origin="test.invalid/piu")
        used = [e for e in log.entries(operation=Operation.UNMASKING) if e.counts.get("unmasking.links")]
        looked = log.entries(operation=Operation.CONSULTATION)
    shown = [e for e in looked if e.counts.get("links.names_shown")]
    assert [(e.reference, e.actor) for e in used] == [(unmasking_id, "ana-1")]
    assert b in used[0].record_ids
    assert f"request:{request_id}" in used[0].record_ids
    assert b in shown[-1].record_ids
    assert "BRAVO" not in str(used + shown)
    assert PHONE not in str(used + shown)


def test_not_under_another_request_nor_after_the_window(node: Node, analyst: Account) -> None:
    a, b = _world(node)
    request_id, other = _request(node, analyst), _request(node, analyst)
    _unmask(node, analyst, [b], request_id, days=2)  # the bare request id names the case too
    assert _names(_view(node, analyst, request_id, a)) == {"BRAVO"}
    assert _names(_view(node, analyst, other, a)) == set()  # decided for another request
    node.clock.set(T0 + dt.timedelta(days=3))
    assert _names(_view(node, analyst, request_id, a)) == set()  # the window has ended


def test_through_an_unmasked_person_at_depth_two_and_never_a_deleted_booking(
    node: Node, analyst: Account
) -> None:
    a, b = _world(node)
    node.pnr([traveller("1", "CHARLIE", "C", dt.date(1982, 1, 1))], day=6,
             payments=[Payment(form="CC", card_number="5500000000000004")])  # fmt: skip
    request_id = _request(node, analyst)
    assert _names(_view(node, analyst, request_id, a, depth=2)) == set()  # C only via the masked B
    _unmask(node, analyst, [b], f"request:{request_id}")
    view = _view(node, analyst, request_id, a, depth=2)
    assert _names(view) == {"BRAVO", "CHARLIE"}
    assert all(e.unmasked for e in view.graph.edges)  # both found through the unmasked booking
    with node.engine.begin() as conn:
        delete_bookings(conn, [b], at=T0)
    assert _names(_view(node, analyst, request_id, a, depth=2)) == set()


def test_an_unmasking_without_a_case_reference_opens_no_analysis() -> None:
    from pnrguard.service.links_unmasked import case_references

    assert case_references("request:r1") == {"request:r1", "r1"}
    assert "" not in case_references("r1")  # a blank case reference names no analysis
    assert case_references(" ") == frozenset()
