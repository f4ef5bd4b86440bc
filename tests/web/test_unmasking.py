"""Judicial unmasking through the workspace (web/unmasking.py), over real HTTP.

An analyst asks from a masked booking, a judge decides on the reasoning alone (the judge's
pages never hold a traveller's name), and the analyst then sees the identity data on the
hit page within the window, logged with the request's id; outside the approval's window,
user or purpose, or after a rejection, the booking stays masked.

Bookings are masked the way production masks them: a retention run whose clock is seven
months ahead. The approval's window is in real time, because the workspace's identity
check (`service.review.can_see_identity`) reads the system clock.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import func, select
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation, Purpose
from pnrguard.protection.retention import EU_2016_681, EU_US_2012
from pnrguard.service.accounts import Role
from pnrguard.service.clock import FixedClock
from pnrguard.service.dpo import notifications
from pnrguard.service.ingest import opaque
from pnrguard.service.retention import run_retention
from pnrguard.service.review import booking_view, investigative_purposes
from pnrguard.service.unmasking import request_unmasking
from pnrguard.store.lifecycle import unmasking_request
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import entries_at, get_hit, hit
from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage

PURPOSE = "terrorist_offences"
REASON = "Travel pattern matches the cell in case file 2026/118; identities needed to link them."
CASE = "CASE-2026/118"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _hits_by_booking(env: Env, n: int) -> list[tuple[str, str]]:
    """(hit id, booking id) for `n` different bookings with a hit."""
    out: dict[str, str] = {}
    with env.node.engine.connect() as conn:
        for hid, bid in conn.execute(select(hit.c.id, hit.c.booking_id).order_by(hit.c.id)):
            out.setdefault(bid, hid)
    assert len(out) >= n, "the synthetic traffic has too few hits"
    return [(h, b) for b, h in list(out.items())[:n]]


def _names(env: Env, hit_id: str) -> tuple[set[str], set[str]]:
    """(every name and document number of the hit's booking, those the watchlist entry does
    not also show: list data is on the hit page whatever the booking's state). Read before
    masking: afterwards the normal read path cannot open them."""
    with env.node.engine.connect() as conn:
        h = get_hit(conn, hit_id)
        b = BookingRepository(conn, env.node.keystore).get(h.booking_id)
        listed = str(entries_at(conn, h.watchlist_id or 0, [h.entity_id or ""], h.list_version or 0))
    values = {n for t in b.travellers for n in (t.surname, t.given_names)}
    values |= {d.number for t in b.travellers for d in t.documents}
    values = {v for v in values if v and len(v) > 3}
    return values, {v for v in values if v not in listed}


def _mask_all(env: Env) -> None:
    later = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=214))
    summary = run_retention(
        engine=env.node.engine,
        keystore=env.node.keystore,
        audit=env.node.audit,
        clock=later,
        profile=EU_2016_681,  # mask everyone, linked or not
        include_quarantine=False,
        include_audit_log=False,
    )
    assert summary.masked > 0


def _make_dormant(env: Env) -> None:
    """The EU-US 2012 profile, 61 months on: every booking goes to the dormant store (masked
    straight into the dormant tier), none is old enough (10 years) to be deleted."""
    later = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(days=61 * 31))
    summary = run_retention(
        engine=env.node.engine,
        keystore=env.node.keystore,
        audit=env.node.audit,
        clock=later,
        profile=EU_US_2012,
        include_quarantine=False,
        include_audit_log=False,
    )
    assert summary.dormant > 0
    assert summary.deleted == 0


def _ask(
    c: httpx.Client,
    booking_id: str,
    *,
    reason: str = REASON,
    start: dt.date | None = None,
    days: int = 30,
    purpose: str = PURPOSE,
) -> httpx.Response:
    form = c.get(f"/unmasking/new?booking={booking_id}&purpose={purpose}")
    assert form.status_code == 200, form.text
    start = start or _today()
    return c.post(
        "/unmasking",
        data={
            "csrf_token": csrf_from(form.text),
            "booking": booking_id,
            "purpose": purpose,
            "case_reference": CASE,
            "reason": reason,
            "valid_from": start.isoformat(),
            "valid_until": (start + dt.timedelta(days=days - 1)).isoformat(),
        },
    )


def _asked(c: httpx.Client, booking_id: str, **kw: object) -> str:
    r = _ask(c, booking_id, **kw)  # type: ignore[arg-type]
    assert r.status_code == 303, r.text
    m = re.fullmatch(r"/unmasking/([0-9a-zA-Z_-]+)\?done=requested", r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def _decide(
    c: httpx.Client, rid: str, decision: str, reason: str, token: str | None = None
) -> httpx.Response:
    page = c.get(f"/unmasking/{rid}")
    return c.post(
        f"/unmasking/{rid}/decision",
        data={"decision": decision, "reason": reason, "csrf_token": token or csrf_from(page.text)},
    )


def _requests(env: Env) -> int:
    with env.node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(unmasking_request)).scalar_one())


def test_request_approve_then_the_requester_sees_names_within_scope(db_env: Env) -> None:
    env = db_env
    [(hit_id, bid)] = _hits_by_booking(env, 1)
    every, unlisted = _names(env, hit_id)
    assert unlisted
    _mask_all(env)
    with env.client(Role.ANALYST) as analyst:
        page = analyst.get(f"/hits/{hit_id}").text
        assert f'href="/unmasking/new?booking={bid}&amp;purpose={PURPOSE}"' in page
        assert not [v for v in unlisted if v in page]
        rid = _asked(analyst, bid)
        status = analyst.get(f"/unmasking/{rid}?done=requested").text
        assert "waits for a judicial authority" in status
        assert "pending" in status
        assert rid in analyst.get("/unmasking").text

    with env.client(Role.JUDICIAL) as judge:
        queue = judge.get("/unmasking")
        detail = judge.get(f"/unmasking/{rid}")
        assert rid in queue.text
        assert "Decide" in queue.text
        assert detail.status_code == 200
        for shown in (CASE, REASON, bid, "Terrorist offences"):
            assert shown in detail.text, shown
        for html in (queue.text, detail.text):  # the judge never sees a traveller
            assert not [v for v in every if v in html]
        r = _decide(judge, rid, "approved", "Necessary and proportionate for the stated case.")
        assert r.status_code == 303
        after = judge.get(r.headers["location"]).text
        assert "Approved." in after
        assert "Record decision" not in after
        assert not [v for v in every if v in after]
        assert rid not in judge.get("/unmasking").text  # no longer in the pending queue

    assert ("unmasking_approved", rid) in [(n.kind, n.reference) for n in notifications(env.node.engine)]
    with env.client(Role.DPO) as dpo:
        assert rid in dpo.get("/dpo/approvals").text
        assert "/dpo/approvals" in dpo.get(f"/unmasking/{rid}").text

    with env.client(Role.ANALYST) as analyst:
        page = analyst.get(f"/hits/{hit_id}").text
    assert [v for v in unlisted if v in page], "the approved requester sees the identity data"
    assert f"/unmasking/{rid}" in page
    views = [
        e for e in env.audit(operation=Operation.UNMASKING, reference=rid) if "unmasking.view" in e.counts
    ]
    assert [(e.actor, e.record_ids, e.purpose) for e in views] == [
        ("u-analyst", (bid,), Purpose.TERRORIST_OFFENCES)
    ]

    # Another user, or the requester for another purpose: still masked.
    with env.client(Role.SUPERVISOR) as other:
        page = other.get(f"/hits/{hit_id}").text
    assert not [v for v in unlisted if v in page]
    other_purpose = next(p for p in investigative_purposes() if p is not Purpose.TERRORIST_OFFENCES)
    with env.node.engine.connect() as conn:
        view = booking_view(conn, env.node.keystore, bid, user=env.users[Role.ANALYST], purpose=other_purpose)
    assert not view.identity_visible
    assert len([e for e in env.audit(operation=Operation.UNMASKING) if "unmasking.view" in e.counts]) == 1


def test_dormant_request_is_decided_by_a_senior_judge_only(db_env: Env) -> None:
    """EU-US 2012 data between 5 and 10 years: the higher approval level. A judicial
    authority sees the request but cannot decide it (notice, and 403 if posted anyway); a
    senior judicial authority decides it in the workspace, and the requester then sees the
    identity data within the window, opened at the dormant tier."""
    env = db_env
    [(hit_id, bid)] = _hits_by_booking(env, 1)
    every, unlisted = _names(env, hit_id)
    assert unlisted
    _make_dormant(env)
    with env.node.engine.connect() as conn:
        assert conn.execute(select(booking.c.dormant_at).where(booking.c.id == bid)).scalar() is not None
    with env.client(Role.ANALYST) as analyst:
        page = analyst.get(f"/hits/{hit_id}").text
        assert not [v for v in unlisted if v in page]
        assert "Request unmasking" in page
        rid = _asked(analyst, bid)
    with env.node.engine.connect() as conn:
        level = conn.execute(select(unmasking_request.c.level).where(unmasking_request.c.id == rid))
        assert level.scalar_one() == "dormant"

    with env.client(Role.JUDICIAL) as judge:
        assert rid in judge.get("/unmasking").text  # in the queue: the judge knows it waits
        detail = judge.get(f"/unmasking/{rid}").text
        assert "only a senior judicial authority may decide this request" in detail
        assert "Record decision" not in detail
        refused = _decide(judge, rid, "approved", "Necessary and proportionate for the stated case.")
        assert refused.status_code == 403
        assert "only a senior judicial authority may decide it" in refused.text
    with env.node.engine.connect() as conn:
        status = conn.execute(select(unmasking_request.c.status).where(unmasking_request.c.id == rid))
        assert status.scalar_one() == "pending"
    assert notifications(env.node.engine) == []

    with env.client(Role.JUDICIAL_SENIOR) as senior:
        queue = senior.get("/unmasking").text
        assert rid in queue
        assert "Decide" in queue
        detail = senior.get(f"/unmasking/{rid}").text
        assert "Record decision" in detail
        assert "only a senior judicial authority" not in detail
        assert "Senior judicial authority" in detail  # the role's label in the header
        for html in (queue, detail):  # a senior judge never sees a traveller either
            assert not [v for v in every if v in html]
        r = _decide(senior, rid, "approved", "Exceptional necessity shown for the dormant data.")
        assert r.status_code == 303
        after = senior.get(r.headers["location"]).text
        assert "Approved." in after
        assert not [v for v in every if v in after]
    [approval] = [
        e for e in env.audit(operation=Operation.UNMASKING, reference=rid) if "unmasking.approved" in e.counts
    ]
    assert (approval.actor, approval.role) == (opaque(env.users[Role.JUDICIAL_SENIOR].id), "judicial_senior")
    assert ("unmasking_approved", rid) in [(n.kind, n.reference) for n in notifications(env.node.engine)]

    with env.client(Role.ANALYST) as analyst:
        page = analyst.get(f"/hits/{hit_id}").text
    assert [v for v in unlisted if v in page], "the approved requester sees the dormant identity data"
    assert f"/unmasking/{rid}" in page
    views = [
        e for e in env.audit(operation=Operation.UNMASKING, reference=rid) if "unmasking.view" in e.counts
    ]
    assert [(e.actor, e.record_ids) for e in views] == [("u-analyst", (bid,))]
    with env.client(Role.SUPERVISOR) as other:  # only the requester
        assert not [v for v in unlisted if v in other.get(f"/hits/{hit_id}").text]


def test_a_senior_judge_also_decides_masked_requests(env: Env) -> None:
    [(hit_id, bid)] = _hits_by_booking(env, 1)
    _, unlisted = _names(env, hit_id)
    _mask_all(env)
    with env.client(Role.ANALYST) as analyst:
        rid = _asked(analyst, bid)
    with env.client(Role.JUDICIAL_SENIOR) as senior:
        assert "nothing waits" not in senior.get("/unmasking").text
        assert "Record decision" in senior.get(f"/unmasking/{rid}").text
        assert _decide(senior, rid, "rejected", "The reasoning does not show necessity.").status_code == 303
        assert _decide(senior, rid, "approved", "Changed my mind.").status_code == 409
        assert senior.get(f"/unmasking/new?booking={bid}").status_code == 403  # judges do not ask
    with env.client(Role.ANALYST) as analyst:
        assert not [v for v in unlisted if v in analyst.get(f"/hits/{hit_id}").text]


def test_outside_the_window_or_rejected_stays_masked(env: Env) -> None:
    (hit_a, a), (hit_b, b) = _hits_by_booking(env, 2)
    _, unlisted_a = _names(env, hit_a)
    _, unlisted_b = _names(env, hit_b)
    assert unlisted_a
    assert unlisted_b
    _mask_all(env)
    with env.client(Role.ANALYST) as analyst:
        too_long = _ask(analyst, a, days=91)
        assert too_long.status_code == 400
        assert "at most 90 days" in too_long.text
        later = _asked(analyst, a, start=_today() + dt.timedelta(days=1))
        refused = _asked(analyst, b)
    with env.client(Role.JUDICIAL) as judge:
        assert _decide(judge, later, "approved", "Proportionate from tomorrow on.").status_code == 303
        assert (
            _decide(judge, refused, "rejected", "The reasoning does not show necessity.").status_code == 303
        )
        shown = judge.get(f"/unmasking/{refused}").text
        assert "rejected" in shown
        assert "does not show necessity" in shown
        again = _decide(judge, refused, "approved", "Changed my mind.")
        assert again.status_code == 409  # decided once
    kinds = {(n.kind, n.reference) for n in notifications(env.node.engine)}
    assert {("unmasking_approved", later), ("unmasking_rejected", refused)} <= kinds
    with env.client(Role.ANALYST) as analyst:
        page_a = analyst.get(f"/hits/{hit_a}").text
        page_b = analyst.get(f"/hits/{hit_b}").text
        mine = analyst.get("/unmasking?status=rejected").text
    assert not [v for v in unlisted_a if v in page_a]  # approved, but the window starts tomorrow
    assert not [v for v in unlisted_b if v in page_b]  # rejected
    assert "Request unmasking" in page_a
    assert "Request unmasking" in page_b
    assert refused in mine
    assert later not in mine
    assert not [e for e in env.audit(operation=Operation.UNMASKING) if "unmasking.view" in e.counts]


def test_refusals_reason_csrf_own_approval_and_roles(env: Env) -> None:
    [(_, bid)] = _hits_by_booking(env, 1)
    with env.client(Role.ANALYST) as analyst:
        active = analyst.get(f"/unmasking/new?booking={bid}")
        assert active.status_code == 400
        assert "only masked bookings need unmasking" in active.text
    _mask_all(env)
    with env.client(Role.ANALYST) as analyst:
        short = _ask(analyst, bid, reason="needed for case")
        assert short.status_code == 400
        assert "A duly reasoned request needs a reason of at least 20 characters." in short.text
        assert "needed for case" in short.text  # the form keeps what was typed
        no_csrf = analyst.post(
            "/unmasking",
            data={"booking": bid, "purpose": PURPOSE, "case_reference": CASE, "reason": REASON,
                  "valid_from": _today().isoformat(), "valid_until": _today().isoformat()},
            headers={"accept": "application/json"},
        )  # fmt: skip
        assert no_csrf.status_code == 403
        assert no_csrf.json()["error"] == "csrf"
        assert _requests(env) == 0
        rid = _asked(analyst, bid)

    judge_account = env.users[Role.JUDICIAL]
    own = request_unmasking(
        requester=judge_account,
        purpose=PURPOSE,
        case_reference="CASE-OWN",
        reason=REASON,
        booking_ids=[bid],
        valid_from=dt.datetime.now(dt.UTC),
        valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
        engine=env.node.engine, keystore=env.node.keystore,
        clock=env.node.clock,
    )
    with env.client(Role.JUDICIAL) as judge:
        forged = _decide(judge, rid, "approved", "Looks fine to me, approved.", token="forged")
        assert forged.status_code == 403
        no_reason = _decide(judge, rid, "approved", "   ")
        assert no_reason.status_code == 400
        assert "A decision needs a reason" in no_reason.text
        page = judge.get(f"/unmasking/{own}").text
        assert "You made this request" in page
        assert "Record decision" not in page
        token = csrf_from(page)
        mine = judge.post(
            f"/unmasking/{own}/decision",
            data={"decision": "approved", "reason": "approving my own", "csrf_token": token},
        )
        assert mine.status_code == 403
        assert "nobody approves their own unmasking request" in mine.text
        assert judge.get("/unmasking/new?booking=" + bid).status_code == 403  # judges do not ask

    with env.client(Role.SUPERVISOR) as supervisor:
        r = _decide(supervisor, rid, "approved", "A supervisor is not a court.")
        assert r.status_code == 403
        sup_rid = _asked(supervisor, bid)
        listed = supervisor.get("/unmasking").text
        assert rid in listed  # a supervisor sees every request
        assert sup_rid in listed
    with env.client(Role.ANALYST) as analyst:
        assert analyst.get(f"/unmasking/{sup_rid}").status_code == 403  # not theirs
        assert sup_rid not in analyst.get("/unmasking").text
    with env.node.engine.connect() as conn:
        statuses = set(conn.execute(select(unmasking_request.c.status)).scalars())
    assert statuses == {"pending"}
    assert notifications(env.node.engine) == []
    assert not [e for e in env.audit(operation=Operation.UNMASKING)]


def test_lists_empty_states_pagination_and_the_dpo(env: Env) -> None:
    with env.client(Role.ANALYST) as analyst:
        empty = analyst.get("/unmasking").text
        assert "No unmasking requests." in empty
        assert 'href="/unmasking"' in empty  # the navigation link
    with env.client(Role.JUDICIAL) as judge:
        assert "nothing waits for a decision" in judge.get("/unmasking").text
    hits = _hits_by_booking(env, 1)
    _mask_all(env)
    now = dt.datetime.now(dt.UTC)
    account = env.users[Role.ANALYST]
    for i in range(26):
        request_unmasking(
            requester=account,
            purpose=PURPOSE,
            case_reference=f"CASE-{i:03d}",
            reason=REASON,
            booking_ids=[hits[0][1]],
            valid_from=now,
            valid_until=now + dt.timedelta(days=10),
            engine=env.node.engine, keystore=env.node.keystore,
            clock=env.node.clock,
        )
    with env.client(Role.JUDICIAL) as judge:
        first = judge.get("/unmasking").text
        second = judge.get("/unmasking?status=pending&page=2").text
    assert "Page 1 of 2 (26 in all)" in first
    assert first.count("Decide") == 25
    assert second.count("Decide") == 1
    assert 'rel="prev"' in second
    assert "CASE-000" in first  # the judge's queue: oldest first
    assert "CASE-025" in second
    with env.client(Role.DPO) as dpo:
        listed = dpo.get("/unmasking").text
        assert "26 requests" in listed
        assert "/dpo/approvals" in listed
        rid = re.search(r'href="/unmasking/([0-9a-zA-Z_-]+)"', listed)
        assert rid
        detail = dpo.get(f"/unmasking/{rid.group(1)}").text
        assert "Record decision" not in detail
        assert REASON in detail
        token = csrf_from(detail)
        r = dpo.post(f"/unmasking/{rid.group(1)}/decision",
                     data={"decision": "approved", "reason": "x", "csrf_token": token})  # fmt: skip
        assert r.status_code == 403
