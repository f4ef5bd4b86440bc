"""From a neighbourhood to the disclosure (issue 16): a person shown in a confirmed hit's
neighbourhood is added to the hit's package, which then carries the graph (SVG and table)
and no one outside the purpose's scope; a request's transmission of a booking added from
its graph carries that graph. Four eyes and the log as for every transmission. SQLite and
PostgreSQL, through the real ingest."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy.engine import Engine
from test_financing_leads import _confirmed_hit
from test_links import DOB, T0, Node, _request, traveller
from test_links_unmasked import _mask, _unmask

from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.domain.model import Contact
from pnrguard.errors import ConflictError, NotFoundError
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.disclosure import (
    add_authority,
    approve_transmission,
    package,
    preview_transmission,
    propose_transmission,
)
from pnrguard.service.links import add_linked_to_request, links_for_hit, links_for_request
from pnrguard.service.links_case import add_linked_to_hit
from pnrguard.service.review import ReviewPolicy
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.workspace import add_results, get_request

pytestmark = pytest.mark.storage

PHONE = "+491704444444"


@pytest.fixture
def node(engine: Engine) -> Node:
    return Node(engine)


@pytest.fixture
def analyst(node: Node) -> Account:
    return accounts.create_account(
        node.engine, username="ana-1", role=Role.ANALYST, password="x" * 16, now=T0
    )


def _world(node: Node) -> tuple[str, str, str]:
    """ALPHA (the suspect), BRAVO (shares a phone), CHARLIE (shares it, masked), and a
    STRANGER linked to no one."""
    a = node.pnr([traveller("1", "ALPHA", "A", DOB)], contacts=[Contact(kind="phone", value=PHONE)])
    b = node.pnr([traveller("1", "BRAVO", "B", dt.date(1981, 1, 1))], day=5,
                 contacts=[Contact(kind="phone", value=PHONE)])  # fmt: skip
    c = node.pnr([traveller("1", "CHARLIE", "C", dt.date(1982, 1, 1))], day=6,
                 contacts=[Contact(kind="phone", value=PHONE)])  # fmt: skip
    node.pnr([traveller("1", "STRANGER", "S", dt.date(1983, 1, 1))], day=7,
             contacts=[Contact(kind="phone", value="+491709999999")])  # fmt: skip
    _mask(node, c)
    return a, b, c


def _entries(node: Node, operation: Operation) -> list[AuditEntry]:
    with node.engine.connect() as conn:
        return list(SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=operation))


def test_a_linked_person_goes_with_the_hits_package_and_the_graph(node: Node, analyst: Account) -> None:
    a, b, _c = _world(node)
    hit_id = _confirmed_hit(node, a)
    view = links_for_hit(hit_id, depth=1, user=analyst, engine=node.engine, keystore=node.keystore,
                         audit=node.audit, clock=node.clock)  # fmt: skip
    [bravo] = [r for r in view.rows if r.label.startswith("BRAVO")]
    args = {"depth": 1, "user": analyst, "engine": node.engine, "keystore": node.keystore,
            "audit": node.audit, "clock": node.clock}  # fmt: skip
    with pytest.raises(NotFoundError):  # only someone the neighbourhood shows
        add_linked_to_hit(hit_id, "p" + "0" * 24, **args)  # type: ignore[arg-type]
    assert add_linked_to_hit(hit_id, bravo.id, **args) == [b]  # type: ignore[arg-type]
    altered = _entries(node, Operation.ALTERATION)
    [added] = [e for e in altered if e.counts.get("links.added_to_disclosure")]
    assert added.reference == f"hit:{hit_id}"
    assert b in added.record_ids
    # Proposed as usual, with four eyes: the second person sees the added record and the graph.
    police = add_authority(node.engine, code="POLICE", name="Police", kind="national", now=T0)
    supervisor = accounts.create_account(node.engine, username="sup-1", role=Role.SUPERVISOR,
                                         password="x" * 16, now=T0)  # fmt: skip
    t = propose_transmission(
        user=analyst, authority_id=police.id, purpose=Purpose.TERRORIST_OFFENCES,
        justification="alert and the traveller sharing the suspect's phone", hit_id=hit_id,
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock, node_name="test",
        policy=ReviewPolicy(four_eyes=True),
    )  # fmt: skip
    assert t.status == "pending"
    seen = preview_transmission(t.id, user=supervisor, engine=node.engine, keystore=node.keystore,
                                audit=node.audit, clock=node.clock, node_name="test")  # fmt: skip
    assert [p["booking_id"] for p in seen.data["linked_persons"]] == [b]
    graph = seen.data["graph"]
    assert (graph["basis"], graph["depth"]) == (f"hit:{hit_id}", 1)
    assert "<svg" in graph["svg"]
    assert "BRAVO" in graph["svg"]
    assert "BRAVO" in graph["csv"]
    assert graph["csv"].startswith("traveller,step,linked_to")
    text = seen.json_bytes.decode()
    assert "STRANGER" not in text  # outside the neighbourhood: nothing of them
    assert "CHARLIE" not in text  # masked, no decided unmasking: nothing of them either
    released = approve_transmission(t.id, user=supervisor, reason="proportionate", engine=node.engine,
                                    keystore=node.keystore, audit=node.audit, clock=node.clock,
                                    node_name="test")  # fmt: skip
    [disclosed] = [e for e in _entries(node, Operation.DISCLOSURE) if e.reference == t.id]
    assert {a, b} <= set(disclosed.record_ids)
    assert disclosed.counts["bookings.disclosed"] == 2
    again = package(t.id, user=supervisor, engine=node.engine, keystore=node.keystore, audit=node.audit,
                    node_name="test")  # fmt: skip
    assert json.loads(again.json_bytes)["graph"]["csv"] == graph["csv"]
    assert released.package_sha256 is not None


def test_a_masked_person_is_never_added_even_when_shown_under_an_unmasking(
    node: Node, analyst: Account
) -> None:
    a, _b, c = _world(node)
    hit_id = _confirmed_hit(node, a)
    _unmask(node, analyst, [c], f"hit:{hit_id}")
    view = links_for_hit(hit_id, depth=1, user=analyst, engine=node.engine, keystore=node.keystore,
                         audit=node.audit, clock=node.clock)  # fmt: skip
    [charlie] = [r for r in view.rows if r.label.startswith("CHARLIE")]
    assert charlie.unmasked
    with pytest.raises(ConflictError):
        add_linked_to_hit(hit_id, charlie.id, depth=1, user=analyst, engine=node.engine,
                          keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip


def test_a_requests_transmission_of_a_booking_added_from_its_graph_carries_the_graph(
    node: Node, analyst: Account
) -> None:
    a, b, _c = _world(node)
    request_id = _request(node, analyst)
    with node.engine.begin() as conn:
        add_results(conn, request_id, [a], at=T0)  # the request's search found the suspect
    view = links_for_request(request_id, a, "1", depth=1, user=analyst, engine=node.engine,
                             keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip
    [bravo] = [r for r in view.rows if r.label.startswith("BRAVO")]
    add_linked_to_request(request_id, a, "1", bravo.id, depth=1, user=analyst, engine=node.engine,
                          keystore=node.keystore, audit=node.audit, clock=node.clock)  # fmt: skip
    with node.engine.connect() as conn:
        req = get_request(conn, request_id)
    assert req is not None
    sent = {}
    for bid in (a, b):
        t = propose_transmission(
            user=analyst, authority_id=req.authority_id, purpose=Purpose.TERRORIST_OFFENCES,
            justification="answer to the request, with the linked traveller", request_id=request_id,
            booking_id=bid, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
            node_name="test", policy=ReviewPolicy(four_eyes=False),
        )  # fmt: skip
        sent[bid] = package(t.id, user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit,
                            node_name="test").data  # fmt: skip
    assert "graph" not in sent[a]  # found by the request's own search: no graph to carry
    graph = sent[b]["graph"]
    assert graph["basis"] == f"request:{request_id}"
    assert "ALPHA" in graph["csv"]
    assert "BRAVO" in graph["csv"]
    assert "STRANGER" not in json.dumps(sent[b])
    assert "linked_persons" not in sent[b]  # a request's transmission names its one booking
