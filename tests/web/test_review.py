"""Hit review, decisions, four-eyes transmission, disclosure packages and masking."""

from __future__ import annotations

import hashlib
import json

import pytest
from workspace_env import Env, csrf_from, pdf_text

from pnrguard.audit.models import Operation, Purpose
from pnrguard.service.accounts import Role
from pnrguard.service.review import PAGE_SIZE, hit_queue
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import HitStatus, entries_at, get_hit

pytestmark = pytest.mark.storage


def _decide(c, hit_id: str, decision: str, reason: str):  # type: ignore[no-untyped-def]
    token = csrf_from(c.get(f"/hits/{hit_id}").text)
    return c.post(
        f"/hits/{hit_id}/decision", data={"decision": decision, "reason": reason, "csrf_token": token}
    )


def _names(env: Env, hit_id: str) -> list[str]:
    with env.node.engine.connect() as conn:
        h = get_hit(conn, hit_id)
        b = BookingRepository(conn, env.node.keystore).get(h.booking_id)
    return [n for t in b.travellers for n in (t.surname, t.given_names) if len(n) > 2]


def _identity(env: Env, hit_id: str) -> set[str]:
    """Names, document numbers and contacts of the hit's booking, minus what the watchlist
    entry itself says (list data is shown whatever the booking's state)."""
    with env.node.engine.connect() as conn:
        h = get_hit(conn, hit_id)
        b = BookingRepository(conn, env.node.keystore).get(h.booking_id)
        listed = str(entries_at(conn, h.watchlist_id or 0, [h.entity_id or ""], h.list_version or 0))
    values = {n for t in b.travellers for n in (t.surname, t.given_names)}
    values |= {d.number for t in b.travellers for d in t.documents}
    values |= {c.value for c in b.contacts}
    return {v for v in values if len(v) > 3 and v not in listed}


def test_opening_a_hit_shows_traveller_entry_and_features_and_logs_a_consultation(db_env: Env) -> None:
    env = db_env
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        page = c.get(f"/hits/{hit_id}")
        api = c.get(f"/api/hits/{hit_id}").json()
    assert page.status_code == 200
    for section in ("Traveller", "Watchlist entry", "Why it matched", "Itinerary"):
        assert section in page.text
    assert any(n in page.text for n in _names(env, hit_id))
    assert api["traveller"] != "masked"
    assert api["features"]
    assert all("explanation" in f for f in api["features"])
    entries = env.audit(operation=Operation.CONSULTATION, reference=hit_id)
    assert len(entries) == 2  # the page and the API each log their look
    assert all(e.purpose is Purpose.TERRORIST_OFFENCES and e.actor == "u-analyst" for e in entries)
    assert hit_id in entries[0].record_ids


def test_a_decision_needs_a_reason(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        r = _decide(c, hit_id, "dismiss", "   ")
    assert r.status_code == 400
    assert hit_id in env.hit_ids("open")


def test_dismiss_then_no_transmission(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        r = _decide(c, hit_id, "dismiss", "date of birth and nationality differ")
        assert r.status_code == 303
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        t = c.post(
            f"/hits/{hit_id}/transmissions",
            data={"authority_id": env.authority_id, "purpose": "terrorist_offences",
                  "justification": "alert for the national case", "csrf_token": token},
        )  # fmt: skip
    assert t.status_code == 409  # only confirmed hits are transmitted
    assert hit_id in env.hit_ids("dismissed")
    [entry] = env.audit(operation=Operation.ALTERATION, reference=hit_id)
    assert entry.counts["hits.dismissed"] == 1


def test_four_eyes_transmission_with_packages(db_env: Env) -> None:
    env = db_env
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as analyst, env.client(Role.SUPERVISOR) as supervisor:
        assert _decide(analyst, hit_id, "confirm", "same name, birth date and nationality").status_code == 303
        token = csrf_from(analyst.get(f"/hits/{hit_id}").text)
        form = {"authority_id": env.authority_id, "purpose": "terrorist_offences", "csrf_token": token}
        assert (
            analyst.post(f"/hits/{hit_id}/transmissions", data={**form, "justification": " "}).status_code
            == 400
        )
        r = analyst.post(
            f"/hits/{hit_id}/transmissions", data={**form, "justification": "case 42: travel alert"}
        )
        assert r.status_code == 303
        tid = r.headers["location"].split("/")[2].split("?")[0]
        # Pending: nothing is released, nothing disclosed, and the proposer cannot approve.
        assert analyst.get(f"/transmissions/{tid}/package.json").status_code == 409
        assert env.audit(operation=Operation.DISCLOSURE) == []
        token = csrf_from(analyst.get(f"/transmissions/{tid}").text)
        refused = analyst.post(
            f"/transmissions/{tid}/decision",
            data={"decision": "approve", "reason": "ok", "csrf_token": token},
        )
        assert refused.status_code == 403
        token = csrf_from(supervisor.get(f"/transmissions/{tid}").text)
        no_reason = supervisor.post(
            f"/transmissions/{tid}/decision", data={"decision": "approve", "reason": "", "csrf_token": token}
        )
        assert no_reason.status_code == 400
        ok = supervisor.post(
            f"/transmissions/{tid}/decision",
            data={"decision": "approve", "reason": "proportionate, purpose stated", "csrf_token": token},
        )
        assert ok.status_code == 303
        pkg = analyst.get(f"/transmissions/{tid}/package.json")
        pdf = analyst.get(f"/transmissions/{tid}/package.pdf")
    assert pkg.status_code == 200
    data = json.loads(pkg.content)
    assert data["recipient"]["code"] == "POLICE"
    assert data["purpose"]["code"] == "terrorist_offences"
    assert [a["step"] for a in data["approvals"]] == ["proposed", "released"]
    assert data["approvals"][1]["by"] == "u-supervisor"
    assert data["hit"]["hit_id"] == hit_id
    assert hashlib.sha256(pkg.content).hexdigest() == pkg.headers["x-package-sha256-at-release"]
    assert pdf.headers["content-type"] == "application/pdf"
    shown = " ".join(pdf_text(pdf.content).split())
    assert "National Police" in shown
    assert "Disclosure package" in shown
    for name in _names(env, hit_id):  # the booking it discloses is in the document, in full
        assert name in shown, name
    [disclosed] = env.audit(operation=Operation.DISCLOSURE)
    assert disclosed.purpose is Purpose.TERRORIST_OFFENCES
    assert disclosed.actor == "u-supervisor"
    assert disclosed.reference == tid
    assert "authority:POLICE" in disclosed.record_ids
    assert hit_id in disclosed.record_ids


def test_without_four_eyes_the_proposal_is_the_release(env: Env) -> None:
    env.set_policy(four_eyes=False)
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        _decide(c, hit_id, "confirm", "same person")
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        r = c.post(
            f"/hits/{hit_id}/transmissions",
            data={"authority_id": env.authority_id, "purpose": "terrorist_offences",
                  "justification": "urgent: the flight leaves today", "csrf_token": token},
        )  # fmt: skip
        assert "done=released" in r.headers["location"]
    assert len(env.audit(operation=Operation.DISCLOSURE)) == 1


def test_masked_booking_never_shows_names(db_env: Env) -> None:
    env = db_env
    hit_id = env.hit_ids()[0]
    names = _identity(env, hit_id)
    assert names
    with env.client(Role.ANALYST) as c:
        _decide(c, hit_id, "confirm", "same person, checked the documents")
    with env.node.engine.begin() as conn:
        booking_id = get_hit(conn, hit_id).booking_id
        assert BookingRepository(conn, env.node.keystore).mark_masked(booking_id, at=env.node.clock())
    env.set_policy(four_eyes=False)
    with env.client(Role.ANALYST) as c:
        html = c.get(f"/hits/{hit_id}").text
        api = c.get(f"/api/hits/{hit_id}").text
        token = csrf_from(html)
        r = c.post(
            f"/hits/{hit_id}/transmissions",
            data={"authority_id": env.authority_id, "purpose": "terrorist_offences",
                  "justification": "masked data only, for the case", "csrf_token": token},
        )  # fmt: skip
    # Art. 12(3): no transmission of a masked booking without a decided judicial unmasking.
    assert r.status_code == 403
    assert "masked" in r.text
    assert "Masked: the booking is masked." in html
    assert json.loads(api)["traveller"] == "masked"
    assert json.loads(api)["score"] is None
    for name in names:
        for text in (html, api):
            assert name not in text, name


def test_queue_pagination_and_order(env: Env) -> None:
    total = len(env.hit_ids())
    size = 3
    pages = [hit_queue(env.node.engine, env.node.keystore, status=HitStatus.OPEN, page=n, page_size=size)
             for n in range(1, -(-total // size) + 1)]  # fmt: skip
    seen = [i.hit_id for p in pages for i in p.items]
    assert sorted(seen) == env.hit_ids()
    assert len(set(seen)) == total
    dates = [i.flight_date for i in seen_rows(pages)]
    assert dates == sorted(dates, reverse=True)  # all departed: the most recent first (issue 15)
    assert pages[0].pages == len(pages)
    assert not pages[0].has_previous
    assert pages[0].has_next
    with env.client(Role.ANALYST) as c:
        first = c.get("/hits?status=open")
        empty = c.get("/hits?status=confirmed")
        beyond = c.get(f"/api/hits?page={-(-total // PAGE_SIZE) + 1}").json()
    assert first.status_code == 200
    assert "Open" in first.text
    assert "No confirmed hits." in empty.text
    assert beyond["items"] == []
    assert beyond["total"] == total


def seen_rows(pages):  # type: ignore[no-untyped-def]
    return [i for p in pages for i in p.items]


def test_dpo_reads_under_supervision_purpose_and_cannot_decide(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.DPO) as c:
        page = c.get(f"/hits/{hit_id}")
        assert page.status_code == 200
        assert "Record decision" not in page.text
    [entry] = env.audit(operation=Operation.CONSULTATION, reference=hit_id)
    assert entry.purpose is Purpose.DPO_SUPERVISION
    assert entry.role == "dpo"
