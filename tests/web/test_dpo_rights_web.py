"""The DPO's rights pages through the real login, on a node with synthetic traffic: find a
traveller by name and date of birth (in the POST body, never the URL), answer access,
restriction and erasure, and see the register (issue 10, item 9)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation, Purpose
from pnrguard.service.accounts import Role
from pnrguard.service.requests import SearchCriteria, register_request, search
from pnrguard.service.subject_rights import Person, restrict
from pnrguard.store.repository import BookingRepository
from pnrguard.store.rights import subject_request
from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage


def _someone(env: Env) -> tuple[str, str, str]:
    """A traveller of the synthetic traffic with a birth date: (booking id, surname, dob)."""
    with env.node.engine.connect() as conn:
        repo = BookingRepository(conn, env.node.keystore)
        ids = conn.execute(select(booking.c.id).where(booking.c.state == "active").order_by(booking.c.id))
        for bid in ids.scalars():
            for t in repo.get(bid).travellers:
                if t.date_of_birth and len(t.surname) >= 4 and t.surname.isalpha():
                    return bid, t.surname, t.date_of_birth.isoformat()
    raise AssertionError("no traveller with a birth date")


def test_dpo_answers_requests_found_by_name_and_birth_date(env: Env) -> None:
    bid, surname, dob = _someone(env)
    person = {"surname": surname.title(), "date_of_birth": dob, "given_names": ""}
    with env.client(Role.ANALYST) as analyst:
        token = csrf_from(analyst.get("/").text)
        refused = analyst.post("/dpo/rights/find", data={**person, "csrf_token": token})
        assert refused.status_code == 403
    with env.client(Role.DPO) as c:
        page = c.get("/dpo/rights")
        assert page.status_code == 200
        token = csrf_from(page.text)
        found = c.post("/dpo/rights/find", data={**person, "csrf_token": token})
        assert found.status_code == 200, found.text
        assert bid in found.text
        assert surname.title() not in str(found.url)  # never in a URL
        ids = [p.split('"', 1)[0] for p in found.text.split('name="booking" value="')[1:]]
        assert bid in ids

        report = c.post(
            "/dpo/rights/act", data={**person, "booking": ids, "action": "access", "csrf_token": token}
        )
        assert report.status_code == 200, report.text
        assert surname in report.text  # the traveller's own copy
        restricted = c.post(
            "/dpo/rights/act", data={**person, "booking": [bid], "action": "restrict", "csrf_token": token}
        )
        assert "restricted" in restricted.text
        erased = c.post(
            "/dpo/rights/act", data={**person, "booking": [bid], "action": "erase", "csrf_token": token}
        )
        assert erased.status_code == 200, erased.text
        assert "Register of requests" in erased.text
        bad = c.post("/dpo/rights/find", data={**person, "date_of_birth": "soon", "csrf_token": token})
        assert bad.status_code == 400
    with env.node.engine.connect() as conn:
        rows = conn.execute(select(subject_request).order_by(subject_request.c.received_at))
        kinds = [r.kind for r in rows]
        state = conn.execute(select(booking.c.state).where(booking.c.id == bid)).scalar_one()
    assert sorted(kinds) == ["access", "erasure", "restriction"]
    assert state in ("deleted", "active")  # shredded, or (shared) the traveller removed
    with env.node.engine.connect() as conn:
        repo = BookingRepository(conn, env.node.keystore)
        if state == "active":
            left = repo.get(bid).travellers  # a relative of the same surname may stay
            assert all((t.surname, str(t.date_of_birth)) != (surname, dob) for t in left)
    dsr = env.audit(purpose=Purpose.DATA_SUBJECT_REQUEST)
    assert {Operation.CONSULTATION, Operation.ALTERATION, Operation.ERASURE} <= {e.operation for e in dsr}
    # ids, codes and counts only (all lower-case): the upper-case surname cannot hide there
    assert all(surname not in json.dumps(e.to_json_obj()) for e in dsr)


def test_a_restricted_booking_is_found_by_no_search(env: Env) -> None:
    bid, surname, dob = _someone(env)
    node = env.node
    with node.engine.connect() as conn:
        row = conn.execute(select(booking.c.carrier, booking.c.locator).where(booking.c.id == bid)).one()
    analyst = env.users[Role.ANALYST]
    req = register_request(
        user=analyst, authority_id=env.authority_id, case_reference="CASE-R1", purpose=Purpose.FRAUD,
        reason="Fraud case needs the booking's itinerary.", engine=node.engine,
        keystore=node.keystore, clock=node.clock,
    )  # fmt: skip
    crit = SearchCriteria(carrier=row.carrier, locator=row.locator)

    def found() -> list[str]:
        out = search(
            req.id, crit, user=analyst, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock,
        )  # fmt: skip
        return [r.id for r in out.results]

    assert bid in found()
    person = Person(surname=surname, date_of_birth=dt.date.fromisoformat(dob))
    restrict(
        dpo="dpo1", person=person, booking_ids=[bid], channel="letter", engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip
    assert bid not in found()  # LED Art. 16(3): kept, but out of every search
