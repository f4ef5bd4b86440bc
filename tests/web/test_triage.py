"""Triage and corrections (issue 15): the queue by time to departure with its filters,
assignment, priority, notes (audited, through the sensitive-data filter, sealed with the
booking), reopening, suppressions, withdrawal and duplicate transmissions, the flight page,
each role's landing page, the DPO's paged audit view and the Art. 20 count per person.

Real HTTP against a node on SQLite and PostgreSQL where storage is involved."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy import func, select
from triage_env import triage_env
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation
from pnrguard.service import dpo
from pnrguard.service.accounts import Role
from pnrguard.service.hit_queue import QueueFilter, hit_queue
from pnrguard.store import hit_notes
from pnrguard.store.copies import MASKED_TEXT, is_sealed
from pnrguard.store.hit_notes import hit_note
from pnrguard.store.screening import HitStatus, hit, suppression
from pnrguard.store.tables import booking
from pnrguard.store.texts import is_sealed as is_text_sealed
from pnrguard.store.traveller import traveller_member
from pnrguard.store.workspace import transmission

__all__ = ["triage_env"]

REASON = "Same name, date of birth and nationality as the entry."
NOTE = "Called the liaison officer; waiting for the document copy."


def _post(c: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    token = csrf_from(c.get(page).text)
    return c.post(action, data={**data, "csrf_token": token})


def _decide(c: httpx.Client, hit_id: str, decision: str) -> httpx.Response:
    page = f"/hits/{hit_id}"
    return _post(c, page, f"{page}/decision", {"decision": decision, "reason": REASON})


def _queue(env: Env, **f: object) -> list:  # type: ignore[type-arg]
    page = hit_queue(env.node.engine, env.node.keystore, page_size=500, filters=QueueFilter(**f))  # type: ignore[arg-type]
    return list(page.items)


def test_queue_starts_with_departing_flights_and_filters(triage_env: Env) -> None:
    env = triage_env
    rows = _queue(env, status=HitStatus.OPEN)
    departing = [r for r in rows if not r.departed]
    departed = [r for r in rows if r.departed]
    assert departing, "the fixture has hits on departing flights"
    assert departed, "the fixture has hits on departed flights"
    # Departing first, nearest first, each with a positive time to departure.
    assert rows[: len(departing)] == departing
    times = [r.departs_in for r in departing]
    assert all(t is not None and t > dt.timedelta(0) for t in times)
    assert times == sorted(times)  # type: ignore[type-var]
    # Across pages too: a page of 3 never puts a departed flight before a departing one.
    small = [
        i
        for n in range(1, 4)
        for i in hit_queue(env.node.engine, env.node.keystore, page=n, page_size=3).items
    ]
    flags = [i.departed for i in small]
    assert flags == sorted(flags)

    with env.client(Role.ANALYST) as c:
        page = c.get("/hits")
        assert page.status_code == 200
        html = page.text
        assert html.index('id="departing"') < html.index('id="departed"')
        assert re.search(r"in \d+ (d|h|min)", html)
        # Filters: a flight, the departed part, a score, nobody assigned; a bad flight is refused.
        one = departing[0]
        by_flight = c.get("/hits", params={"flight": one.flight, "when": "departing"}).text
        assert f'href="/hits/{one.hit_id}"' in by_flight
        assert all(r.flight == one.flight for r in _queue(env, flight=one.flight, when="departing"))
        gone = c.get("/hits", params={"when": "departed"}).text
        assert f'href="/hits/{one.hit_id}"' not in gone
        high = _queue(env, min_score=0.99)
        assert all(r.score >= 0.99 for r in high)
        assert c.get("/hits", params={"flight": "not a flight"}).status_code == 400
        api = c.get("/api/hits", params={"when": "departing"}).json()
        assert api["items"][0]["departs_in_minutes"] > 0
        assert {"list", "rule"} >= {r.match.split()[0] for r in rows}
        listed = [r.hit_id for r in rows if r.match == "list test-list"]
        assert [r.hit_id for r in _queue(env, watchlist="test-list")] == listed
        assert _queue(env, rule="no-such-rule") == []


def test_assign_priority_notes_reopen_and_suppressions(triage_env: Env) -> None:
    env = triage_env
    hit_id = _queue(env, status=HitStatus.OPEN, when="departing")[0].hit_id
    page = f"/hits/{hit_id}"
    with env.client(Role.ANALYST) as analyst, env.client(Role.SUPERVISOR) as supervisor:
        # Assignment and priority, shown in the queue and filterable.
        assert _post(analyst, page, f"/hits/{hit_id}/assign", {"assignee": "u-analyst2"}).status_code == 303
        assert _post(analyst, page, f"/hits/{hit_id}/priority", {"priority": "2"}).status_code == 303
        assert [r.hit_id for r in _queue(env, assignee="u-analyst2")] == [hit_id]
        assert hit_id not in [r.hit_id for r in _queue(env, assignee="-")]
        assert [r.hit_id for r in _queue(env, priority=2)] == [hit_id]
        refused = _post(analyst, page, f"/hits/{hit_id}/assign", {"assignee": "u-judicial"})
        assert refused.status_code == 400  # only analysts and supervisors work on hits
        assert "u-analyst2" in analyst.get("/hits?assignee=u-analyst2").text

        # A note is stored, shown and audited without its text.
        assert _post(analyst, page, f"/hits/{hit_id}/notes", {"text": NOTE}).status_code == 303
        assert NOTE in analyst.get(page).text
        entries = env.audit(operation=Operation.ALTERATION, reference=hit_id)
        assert [e.counts.get("hits.note") for e in entries if "hits.note" in e.counts] == [1]
        assert all(NOTE not in str(e.to_json() if hasattr(e, "to_json") else e) for e in env.audit())
        # A note revealing health data is refused, stored nowhere, and the form keeps it.
        sensitive = "Passenger on dialysis, check medical certificate"
        r = _post(analyst, page, f"/hits/{hit_id}/notes", {"text": sensitive})
        assert r.status_code == 400
        assert "health" in r.text
        assert f">{sensitive}</textarea>" in r.text
        with env.node.engine.connect() as conn:
            texts = list(conn.execute(select(hit_note.c.text).where(hit_note.c.hit_id == hit_id)).scalars())
        # One note stored, encrypted at write under the booking's key (store/texts.py).
        assert len(texts) == 1
        assert is_sealed(texts[0])
        assert NOTE not in texts[0]

        # Dismissed: the suppression is listed with its end; a refused reopening keeps the text.
        r = _post(analyst, page, f"/hits/{hit_id}/decision", {"decision": "dismiss", "reason": REASON})
        assert r.status_code == 303
        listed = supervisor.get("/suppressions").text
        assert f'href="/hits/{hit_id}"' in listed
        with env.node.engine.connect() as conn:
            first_seen = conn.execute(
                select(booking.c.first_seen)
                .join(hit, hit.c.booking_id == booking.c.id)
                .where(hit.c.id == hit_id)
            ).scalar_one()
        ends = (first_seen + dt.timedelta(days=183)).date()
        assert any(f"{ends + dt.timedelta(days=d):%Y-%m-%d}" in listed for d in range(-4, 2))
        assert _post(analyst, page, f"/hits/{hit_id}/reopen", {"reason": "x" * 30}).status_code == 403
        short = _post(supervisor, page, f"/hits/{hit_id}/reopen", {"reason": "wrong"})
        assert short.status_code == 400
        assert ">wrong</textarea>" in short.text
        reopen = "The list entry was corrected: the birth dates now agree."
        assert _post(supervisor, page, f"/hits/{hit_id}/reopen", {"reason": reopen}).status_code == 303

    # Open again, the dismissal set aside and kept as history, the suppression lifted.
    with env.node.engine.connect() as conn:
        h = conn.execute(select(hit).where(hit.c.id == hit_id)).one()
        # Read through the one read path: the texts are encrypted at write.
        notes = [
            (n.kind.value, n.status, n.text, n.created_by)
            for n in hit_notes.notes_of(conn, hit_id, keystore=env.node.keystore)
        ]
        suppressed = conn.execute(select(suppression).where(suppression.c.hit_id == hit_id)).first()
    assert h.status == "open"
    assert h.review_reason is None
    assert h.reviewed_by is None
    assert suppressed is None
    assert ("decision", "dismissed", REASON, "u-analyst") in [tuple(n) for n in notes]
    assert ("reopen", "dismissed", reopen, "u-supervisor") in [tuple(n) for n in notes]
    [entry] = [
        e for e in env.audit(operation=Operation.ALTERATION, reference=hit_id) if "hits.reopened" in e.counts
    ]
    assert entry.actor == "u-supervisor"
    assert entry.counts["suppressions.lifted"] == 1

    # Dismissed again, then the suppression lifted by a supervisor (audited).
    with env.client(Role.ANALYST) as analyst, env.client(Role.SUPERVISOR) as supervisor:
        assert (
            _post(
                analyst, page, f"/hits/{hit_id}/decision", {"decision": "dismiss", "reason": REASON}
            ).status_code
            == 303
        )
        r = _post(supervisor, "/suppressions", f"/suppressions/{hit_id}/lift", {"reason": "too short"})
        assert r.status_code == 400
        assert 'value="too short"' in r.text
        lift = "The entry holder asked for review through counsel."
        assert (
            _post(supervisor, "/suppressions", f"/suppressions/{hit_id}/lift", {"reason": lift}).status_code
            == 303
        )
        assert f'href="/hits/{hit_id}"' not in supervisor.get("/suppressions").text
    assert any(
        "suppressions.lifted" in e.counts and e.actor == "u-supervisor"
        for e in env.audit(operation=Operation.ALTERATION, reference=hit_id)
    )


def test_transmissions_cannot_repeat_and_can_be_withdrawn(triage_env: Env) -> None:
    env = triage_env
    hit_id = _queue(env, status=HitStatus.OPEN)[0].hit_id
    page = f"/hits/{hit_id}"
    form = {"authority_id": env.authority_id, "purpose": "terrorist_offences"}
    with env.client(Role.ANALYST) as analyst, env.client(Role.SUPERVISOR) as supervisor:
        assert (
            _post(analyst, page, f"{page}/decision", {"decision": "confirm", "reason": REASON}).status_code
            == 303
        )
        # Too short a justification: refused, and the page keeps what was typed.
        r = _post(analyst, page, f"{page}/transmissions", {**form, "justification": "urgent"})
        assert r.status_code == 400
        assert "at least 20 characters" in r.text
        assert ">urgent</textarea>" in r.text
        why = "Alert for the national counter-terrorism case 2026/41."
        r = _post(analyst, page, f"{page}/transmissions", {**form, "justification": why})
        assert r.status_code == 303
        tid = r.headers["location"].split("/")[2].split("?")[0]
        again = _post(analyst, page, f"{page}/transmissions", {**form, "justification": why})
        assert again.status_code == 409
        assert tid in again.text
        # Only the proposer withdraws; the supervisor sees it on their landing page first.
        assert "Transmissions to approve" in supervisor.get("/").text
        r = _post(
            supervisor, f"/transmissions/{tid}", f"/transmissions/{tid}/withdraw", {"reason": "not mine"}
        )
        assert r.status_code == 403
        r = _post(
            analyst, f"/transmissions/{tid}", f"/transmissions/{tid}/withdraw", {"reason": "wrong authority"}
        )
        assert r.status_code == 303
        assert "withdrawn" in analyst.get(f"/transmissions/{tid}").text
        # Withdrawn: it may be proposed again, and nothing was disclosed.
        assert (
            _post(analyst, page, f"{page}/transmissions", {**form, "justification": why}).status_code == 303
        )
        # A refused approval keeps the typed reason.
        t2 = next(iter(analyst.get("/transmissions?status=pending").text.split('href="/transmissions/')[1:]))[
            :32
        ]
        r = _post(
            supervisor,
            f"/transmissions/{t2}",
            f"/transmissions/{t2}/decision",
            {"decision": "maybe", "reason": "half a thought"},
        )
        assert r.status_code == 400
        assert "half a thought</textarea>" in r.text
        # Reopening the hit withdraws what still waits (nobody rejected it on its merits).
        reopen = "The confirmation rested on a misread document number."
        assert _post(supervisor, page, f"{page}/reopen", {"reason": reopen}).status_code == 303
        with env.node.engine.connect() as conn:
            stopped = conn.execute(select(transmission).where(transmission.c.id == t2)).one()
        assert stopped.status == "withdrawn"
        assert stopped.decided_by == "u-supervisor"
        assert is_text_sealed(stopped.decision_reason)
        assert t2 in supervisor.get("/transmissions?status=withdrawn").text
        assert t2 not in supervisor.get("/transmissions?status=rejected").text
    assert env.audit(operation=Operation.DISCLOSURE) == []
    assert any("transmissions.withdrawn" in e.counts for e in env.audit(operation=Operation.ALTERATION))


def test_notes_are_sealed_with_the_booking(triage_env: Env) -> None:
    from test_unmasking import _mask_all

    env = triage_env
    hit_id = _queue(env, status=HitStatus.OPEN)[0].hit_id
    with env.client(Role.ANALYST) as analyst:
        assert _post(analyst, f"/hits/{hit_id}", f"/hits/{hit_id}/notes", {"text": NOTE}).status_code == 303
    _mask_all(env)
    with env.node.engine.connect() as conn:
        stored = conn.execute(select(hit_note.c.text).where(hit_note.c.hit_id == hit_id)).scalar_one()
    assert is_sealed(stored)
    assert NOTE not in stored
    with env.client(Role.ANALYST) as analyst:
        html = analyst.get(f"/hits/{hit_id}").text
    assert NOTE not in html
    assert MASKED_TEXT in html


def test_flight_page_landing_pages_and_dpo(triage_env: Env) -> None:
    env = triage_env
    row = _queue(env, status=HitStatus.OPEN, when="departing")[0]
    url = f"/flights/{row.flight}/{row.flight_date.isoformat()}"
    with env.node.engine.connect() as conn:
        from pnrguard.store.repository import BookingRepository

        bid = conn.execute(select(hit.c.booking_id).where(hit.c.id == row.hit_id)).scalar_one()
        names = [
            t.surname for t in BookingRepository(conn, env.node.keystore).get(bid).travellers if t.surname
        ]
    before = len(env.audit(operation=Operation.CONSULTATION))
    with env.client(Role.ANALYST) as analyst:
        html = analyst.get(url).text
        assert re.search(r"in \d+ (d|h|min)", html)
        assert f'href="/hits/{row.hit_id}"' in html
        assert "opens only under a purpose" in html
        assert all(n not in html for n in names)  # no traveller without a purpose
        assert analyst.get("/flights/MU103/2020-01-01").status_code == 404
        landing = analyst.get("/").text
        assert "Open hits on flights departing" in landing
        assert "Assigned to you" in landing
        assert len(env.audit(operation=Operation.CONSULTATION)) == before  # counts only: nothing consulted
        # Under a request, the flight's travellers are listed (a logged consultation).
        token = csrf_from(analyst.get("/requests/new").text)
        case = {"authority_id": env.authority_id, "case_reference": "CASE-2026/9", "csrf_token": token,
                "purpose": "terrorist_offences", "reason": "Travel of the cell's members on this flight."}
        assert analyst.post("/requests", data=case).status_code == 303
        flight_page = analyst.get(url).text
        assert "CASE-2026/9" in flight_page
        action = re.search(r'formaction="(/requests/[0-9a-f]{32}/search)"', flight_page)
        assert action
        hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', flight_page))
        found = analyst.post(action.group(1), data=hidden)
        assert found.status_code == 200
    # The page shown under the request is a consultation naming the flight's bookings.
    shown = env.audit(operation=Operation.CONSULTATION)[before:]
    assert shown
    assert any(e.record_ids for e in shown)
    assert {e.purpose.value for e in shown} == {"terrorist_offences"}
    with env.client(Role.JUDICIAL) as judge:
        assert "Unmasking decisions pending" in judge.get("/").text
    with env.client(Role.DPO) as officer:
        home = officer.get("/").text
        for label in (
            "Account changes to approve",
            "Unmasking decisions to review",
            "Rectification requests open",
            "Refused accesses",
        ):
            assert label in home
        for href in ("/dpo/audit", "/dpo/approvals", "/dpo/rights", "/dpo/statistics"):
            assert f'href="{href}"' in home  # every DPO page is in the menu
        audit = officer.get("/dpo/audit").text
        assert audit.count("<tr>") <= 51  # 50 entries a page (and the header)
        total = len(env.audit())
        if total > 50:
            assert 'rel="next"' in audit
            assert officer.get("/dpo/audit?page=2").status_code == 200


def test_art20_counts_one_person_once(triage_env: Env) -> None:
    """A transmitted traveller travelling alone is one passenger exchanged, not one per id in
    the disclosure entry (booking, linked API record, hit, authority)."""
    env = triage_env
    env.set_policy(four_eyes=False)
    with env.node.engine.connect() as conn:
        # Bookings of one traveller: one traveller link each (the count is not kept per booking).
        alone = set(
            conn.execute(
                select(traveller_member.c.booking_id)
                .group_by(traveller_member.c.booking_id)
                .having(func.count() == 1)
            ).scalars()
        )
    hit_id = next(r.hit_id for r in _queue(env, status=HitStatus.OPEN) if _booking_of(env, r.hit_id) in alone)
    page = f"/hits/{hit_id}"
    form = {"authority_id": env.authority_id, "purpose": "terrorist_offences"}
    with env.client(Role.ANALYST) as analyst:
        assert _decide(analyst, hit_id, "confirm").status_code == 303
        why = "Alert for the national case 2026/41."
        r = _post(analyst, page, f"{page}/transmissions", {**form, "justification": why})
        assert r.status_code == 303
    [entry] = env.audit(operation=Operation.DISCLOSURE)
    assert len(entry.record_ids) >= 3  # booking, hit, authority: three ids, one person
    now = dt.datetime.now(dt.UTC)
    report = dpo.statistics(env.node.engine, start=now - dt.timedelta(days=1), end=now + dt.timedelta(days=1))
    assert report.passengers_exchanged == 1


def _booking_of(env: Env, hit_id: str) -> str:
    with env.node.engine.connect() as conn:
        return str(conn.execute(select(hit.c.booking_id).where(hit.c.id == hit_id)).scalar_one())
