"""The review queue shows each matched person once, with both sources (PNR and API)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from workspace_env import Env

from pnrguard.audit.models import Operation
from pnrguard.formats.synth import generate
from pnrguard.service.accounts import Role
from pnrguard.service.review import hit_queue
from pnrguard.store.lifecycle import claim_bookings, mask_bookings
from pnrguard.store.screening import HitStatus, hit
from pnrguard.store.tables import booking
from pnrguard.store.traveller import hit_source

pytestmark = pytest.mark.storage


def _api_of_the_same_flights(env: Env) -> None:
    """The PAXLST of the flights whose PNRs the environment ingested (same generator seed)."""
    for push in generate(7, flights=2, base_date=dt.date(2025, 6, 1)):
        if push.paxlst:
            env.node.ingest(push.paxlst.encode("utf-8"))


def _count(env: Env, table: object) -> int:
    with env.node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_queue_shows_each_matched_person_once_with_both_sources(db_env: Env) -> None:
    env = db_env
    before = env.hit_ids("open")
    assert before, "the environment's watchlist matches some travellers"
    _api_of_the_same_flights(env)
    after = env.hit_ids("open")
    assert after == before  # the API records attached to the open hits: no second copy
    assert _count(env, hit_source) > 0
    queue = hit_queue(env.node.engine, env.node.keystore, status=HitStatus.OPEN, page_size=100)
    both = [row for row in queue.items if row.sources == "PNR + API"]
    assert both
    with env.client(Role.ANALYST) as c:
        page = c.get("/hits?status=open")
        opened = c.get(f"/hits/{both[0].hit_id}")
        api = c.get(f"/api/hits/{both[0].hit_id}", headers={"accept": "application/json"}).json()
    assert page.text.count(f"/hits/{both[0].hit_id}") == 1
    assert "PNR + API" in page.text
    assert "Sources of this traveller" in opened.text
    [src] = api["sources"]
    assert src["source"] == "API"
    assert src["traveller"] != "masked"
    # Opening the hit consulted both records, and says so.
    [look] = [
        e
        for e in env.audit(operation=Operation.CONSULTATION, reference=both[0].hit_id)
        if e.counts.get("hits.opened")
    ][-1:]
    assert src["booking_id"] in look.record_ids
    assert look.counts["sources.linked"] == 1


def test_a_masked_source_stays_masked_on_the_hit_page(env: Env) -> None:
    _api_of_the_same_flights(env)
    queue = hit_queue(env.node.engine, env.node.keystore, status=HitStatus.OPEN, page_size=100)
    row = next(r for r in queue.items if r.sources == "PNR + API")
    with env.client(Role.ANALYST) as c:
        src = c.get(f"/api/hits/{row.hit_id}", headers={"accept": "application/json"}).json()["sources"][0]
    with env.node.engine.begin() as conn:
        rows = claim_bookings(conn, booking.c.id == src["booking_id"], limit=1)
        mask_bookings(
            conn, rows, keystore=env.node.keystore, seal_keystore=env.node.keystore, at=env.node.clock()
        )
    with env.client(Role.ANALYST) as c:
        again = c.get(f"/api/hits/{row.hit_id}", headers={"accept": "application/json"}).json()
        html = c.get(f"/hits/{row.hit_id}").text
    assert again["sources"][0]["traveller"] == "masked"
    assert again["discrepancies"] == []
    for value in (src["traveller"]["surname"], *(d["number"] for d in src["traveller"]["documents"])):
        if value and value not in str(again["traveller"]):  # the PNR source is still active
            assert value not in html


def test_a_decision_covers_the_person(env: Env) -> None:
    with env.node.engine.connect() as conn:
        n_hits = int(conn.execute(select(func.count()).select_from(hit)).scalar_one())
    with env.client(Role.ANALYST) as c:
        from workspace_env import csrf_from

        for hid in env.hit_ids("open"):
            token = csrf_from(c.get(f"/hits/{hid}").text)
            r = c.post(
                f"/hits/{hid}/decision",
                data={"decision": "dismiss", "reason": "not the listed person, checked", "csrf_token": token},
            )
            assert r.status_code in (200, 303)
    _api_of_the_same_flights(env)  # the API records arrive after the decisions
    assert env.hit_ids("open") == []
    with env.node.engine.connect() as conn:
        assert int(conn.execute(select(func.count()).select_from(hit)).scalar_one()) == n_hits
