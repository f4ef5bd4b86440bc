"""Financing leads and link exports in the workspace: the queue, review, the FIU disclosure
under four eyes, the CSV the unit loads, and the link graph's exports. Real HTTP, real
database; the lead is filed through the store (detection has its own tests in
tests/storage/test_financing_leads.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select
from workspace_env import PASSWORD, Env, csrf_from

from pnrguard.audit.models import Operation
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.disclosure import add_authority
from pnrguard.store import leads as leads_store
from pnrguard.store.repository import new_id
from pnrguard.store.tables import booking
from pnrguard.store.traveller import traveller_member

pytestmark = pytest.mark.storage


def _file_lead(env: Env) -> str:
    with env.node.engine.begin() as conn:
        rows = conn.execute(
            select(traveller_member.c.booking_id, traveller_member.c.traveller_ref)
            .join(booking, booking.c.id == traveller_member.c.booking_id)
            .where(booking.c.state == "active")
            .order_by(traveller_member.c.booking_id)
            .limit(3)
        ).all()
        lead_id = new_id()
        rec = leads_store.LeadRecord(
            id=lead_id,
            kind="card_many_unrelated",
            fingerprint=lead_id,
            card_token=b"\x01" * 16,
            origin=None,
            destination=None,
            first_day=dt.date(2025, 6, 1),
            last_day=dt.date(2025, 6, 3),
            persons=3,
            bookings=3,
            hit_id=None,
            rule_id=None,
            purpose="terrorist_offences",
            status="open",
            found_at=env.node.clock(),
        )
        leads_store.insert_lead(
            conn, rec, [(r.booking_id, r.traveller_ref, f"p{i}") for i, r in enumerate(rows)]
        )
    return lead_id


def test_a_lead_is_reviewed_and_disclosed_to_the_fiu_under_four_eyes(env: Env) -> None:
    lead_id = _file_lead(env)
    fiu = add_authority(
        env.node.engine, code="FIU", name="Financial intelligence unit", kind="national", now=env.node.clock()
    )
    second = accounts.create_account(
        env.node.engine, username="u-sup-2", role=Role.SUPERVISOR, password=PASSWORD, now=env.node.clock()
    )
    with env.client(Role.DPO) as c:
        assert c.get("/leads").status_code == 403
        assert c.get(f"/leads/{lead_id}").status_code == 403
    with env.client(Role.ANALYST) as c:
        queue = c.get("/leads")
        assert queue.status_code == 200
        assert lead_id[-8:] in queue.text
        page = c.get(f"/leads/{lead_id}")
        assert page.status_code == 200
        token = csrf_from(page.text)
        r = c.post(
            f"/leads/{lead_id}/review",
            data={"decision": "confirm", "code": "pattern_unexplained", "csrf_token": token},
        )
        assert r.status_code == 303
        page = c.get(f"/leads/{lead_id}")
        assert "Propose disclosure" in page.text
        r = c.post(
            f"/leads/{lead_id}/disclosures", data={"authority_id": fiu.id, "csrf_token": csrf_from(page.text)}
        )
        assert r.status_code == 303
        with env.node.engine.connect() as conn:
            [d] = leads_store.disclosures_of(conn, lead_id)
        assert d.status == "pending"
    with env.client(username=second.username, role=Role.SUPERVISOR) as c:
        page = c.get(f"/leads/{lead_id}")
        assert "Approve and release" in page.text
        r = c.post(
            f"/lead-disclosures/{d.id}/decision",
            data={"decision": "approve", "csrf_token": csrf_from(page.text)},
        )
        assert r.status_code == 303
        got = c.get(f"/lead-disclosures/{d.id}/package.csv")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][:3] == ["booking_id", "carrier", "record_locator"]
    disclosed = [e for e in env.audit(operation=Operation.DISCLOSURE) if e.reference == d.id]
    assert len(disclosed) == 1
    assert f"lead:{lead_id}" in disclosed[0].record_ids


def test_the_link_graph_is_exported_as_svg_and_csv_and_logged(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        c.post(
            f"/hits/{hit_id}/decision",
            data={"decision": "confirm", "reason": "documents agree", "csrf_token": token},
        )
        page = c.get(f"/hits/{hit_id}/links")
        assert f"/hits/{hit_id}/links.svg" in page.text
        svg = c.get(f"/hits/{hit_id}/links.svg?depth=2")
        table = c.get(f"/hits/{hit_id}/links.csv")
        assert c.get(f"/hits/{hit_id}/links.exe").status_code == 404
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")
    assert table.status_code == 200
    assert next(csv.reader(io.StringIO(table.text)))[:4] == ["traveller", "step", "linked_to", "link"]
    logged = [e for e in env.audit(operation=Operation.CONSULTATION) if e.reference == f"hit:{hit_id}"]
    assert sum(1 for e in logged if e.counts.get("links.expanded")) >= 3  # the page and both exports
