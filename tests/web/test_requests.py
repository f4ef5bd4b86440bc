"""Requests from competent authorities: duly reasoned, purpose-bound, every look logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation, Purpose
from pnrguard.service.accounts import Role
from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage

REASON = "Suspected courier for a trafficking network; travel dates needed for the case."


def _register(c, env: Env, **overrides: str):  # type: ignore[no-untyped-def]
    token = csrf_from(c.get("/requests/new").text)
    form = {"authority_id": env.authority_id, "case_reference": "CASE-2025/17",
            "purpose": "illicit_trafficking_in_drugs", "reason": REASON, "csrf_token": token}  # fmt: skip
    return c.post("/requests", data={**form, **overrides})


def _a_booking(env: Env) -> tuple[str, str, str]:
    with env.node.engine.connect() as conn:
        r = conn.execute(select(booking.c.id, booking.c.carrier, booking.c.locator).limit(1)).one()
    return r.id, r.carrier, r.locator


def test_a_request_must_be_duly_reasoned(env: Env) -> None:
    with env.client(Role.ANALYST) as c:
        assert _register(c, env, reason="because").status_code == 400
        assert _register(c, env, purpose="ingest").status_code == 400
        assert _register(c, env, case_reference="").status_code == 400
        r = _register(c, env)
    assert r.status_code == 303


def test_search_and_open_are_consultations_with_the_purpose(db_env: Env) -> None:
    env = db_env
    booking_id, carrier, locator = _a_booking(env)
    with env.client(Role.ANALYST) as c:
        rid = _register(c, env).headers["location"].rsplit("/", 1)[1]
        # Not found by a search yet: refused, and the refusal is logged.
        assert c.get(f"/requests/{rid}/bookings/{booking_id}").status_code == 403
        token = csrf_from(c.get(f"/requests/{rid}").text)
        found = c.post(
            f"/requests/{rid}/search", data={"carrier": carrier, "locator": locator, "csrf_token": token}
        )
        assert found.status_code == 200
        assert f"/requests/{rid}/bookings/{booking_id}" in found.text
        record = c.get(f"/requests/{rid}/bookings/{booking_id}")
        api = c.get(f"/api/requests/{rid}/bookings/{booking_id}").json()
    assert record.status_code == 200
    assert "Record opened for request" in record.text
    assert api["purpose"] == "illicit_trafficking_in_drugs"
    assert locator not in str(found.url)
    assert locator not in str(record.url)
    [refusal] = env.audit(operation=Operation.REFUSAL, reference=rid)
    assert refusal.record_ids == (booking_id,)
    looks = env.audit(operation=Operation.CONSULTATION, reference=rid)
    assert [e.counts.get("search.results") is not None for e in looks] == [True, False, False]
    assert all(e.purpose is Purpose.ILLICIT_TRAFFICKING_IN_DRUGS and e.actor == "u-analyst" for e in looks)
    assert booking_id in looks[0].record_ids


def test_a_record_never_opens_without_a_purpose(env: Env) -> None:
    booking_id, _, _ = _a_booking(env)
    with env.client(Role.SUPERVISOR) as c:
        r = c.get(f"/bookings/{booking_id}")
    assert r.status_code == 403
    assert "opens only under a purpose" in r.text
    [refusal] = env.audit(operation=Operation.REFUSAL)
    assert refusal.actor == "u-supervisor"
    assert refusal.record_ids == (booking_id,)
    assert env.audit(operation=Operation.CONSULTATION) == []


def test_a_search_needs_a_field_that_narrows_it(env: Env) -> None:
    with env.client(Role.ANALYST) as c:
        rid = _register(c, env).headers["location"].rsplit("/", 1)[1]
        token = csrf_from(c.get(f"/requests/{rid}").text)
        r = c.post(f"/requests/{rid}/search", data={"given_names": "JOHN", "csrf_token": token})
    assert r.status_code == 400
    assert "search by locator, flight, surname" in r.text
    assert "JOHN" not in str(r.url)


def test_requests_list_paginates(env: Env) -> None:
    with env.client(Role.ANALYST) as c:
        for i in range(27):
            assert _register(c, env, case_reference=f"CASE-{i:03d}").status_code == 303
        first = c.get("/requests")
        second = c.get("/requests?page=2")
    assert "Page 1 of 2 (27 in all)" in first.text
    assert 'rel="next"' in first.text
    assert "Page 2 of 2" in second.text
    assert 'rel="prev"' in second.text
    assert second.text.count("/requests/0") + second.text.count("Open <span") >= 2
