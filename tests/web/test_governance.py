"""Criteria and watchlists on the web: write, back-test and save a criterion; import a list."""

from __future__ import annotations

import html

import pytest
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation
from pnrguard.service.accounts import Role
from pnrguard.service.screening import list_rules, list_watchlists

pytestmark = pytest.mark.storage

FORM = {
    "rule_id": "cash-oneway", "name": "Cash, one way", "purpose": "illicit_trafficking_in_drugs",
    "owner": "unit-drugs", "description": "", "review_date": "2027-03-01", "expires": "2027-12-31",
    "days": "30", "enabled": "on",
}  # fmt: skip


def test_a_refused_criterion_names_the_field_and_keeps_what_was_typed(env: Env) -> None:
    with env.client(Role.SUPERVISOR) as c:
        token = csrf_from(c.get("/criteria/new").text)
        expression = 'booking.one_way && traveller.nationality == "SY"'
        r = c.post("/criteria", data={**FORM, "expression": expression, "action": "backtest",
                                      "csrf_token": token})  # fmt: skip
    assert r.status_code == 400
    page = html.unescape(r.text)
    assert "traveller.nationality" in page
    assert expression in page  # the form comes back as typed
    with env.node.engine.connect() as conn:
        runs = env.node.audit(conn).entries(operation=Operation.COMBINATION)
    assert not [e for e in runs if (e.reference or "").startswith("backtest:")]  # refused before it ran


def test_backtest_then_save_then_listed_with_its_review_date(env: Env) -> None:
    expression = 'traveller.type == "A"'
    with env.client(Role.SUPERVISOR) as c:
        token = csrf_from(c.get("/criteria/new").text)
        tested = c.post("/criteria", data={**FORM, "expression": expression, "action": "backtest",
                                           "days": "183", "csrf_token": token})  # fmt: skip
        assert tested.status_code == 200
        assert "Back-test" in tested.text
        assert "travellers" in tested.text
        assert not list_rules(engine=env.node.engine)  # a back-test saves nothing
        saved = c.post("/criteria", data={**FORM, "expression": expression, "action": "save",
                                          "csrf_token": token})  # fmt: skip
        assert saved.status_code == 303
        listing = c.get(saved.headers["location"]).text
    [rule] = list_rules(engine=env.node.engine)
    assert (rule.rule_id, rule.version, rule.expression, rule.enabled) == ("cash-oneway", 1, expression, True)
    assert "Cash, one way" in listing
    assert "Mar 1, 2027" in listing  # the review date, in the reader's language (docs/workspace.md)
    with env.client(Role.ANALYST) as c:
        seen = c.get("/criteria")
        assert seen.status_code == 200
        assert "Cash, one way" in seen.text
        assert c.get("/criteria/cash-oneway").status_code == 403


def test_import_a_list_file_from_the_browser(env: Env) -> None:
    csv = b"entity_id,name,aliases,dob,nationality,documents\nW-1,Jan KOWALSKY,,1970-01-01,PL,\n"
    with env.client(Role.SUPERVISOR) as c:
        token = csrf_from(c.get("/watchlists").text)

        def post(data: bytes, **form: str):  # type: ignore[no-untyped-def]
            return c.post("/watchlists/import", data={"csrf_token": token, "fmt": "auto", **form},
                          files={"file": ("list.csv", data, "text/csv")})  # fmt: skip

        first = post(csv, name="web-list", purpose="terrorist_offences")
        again = post(csv, name="web-list")
        broken = post(b"\x00\x01 not a list", name="web-list")
        no_purpose = post(csv, name="other-list")
    assert first.status_code == 200
    assert "version 1 imported" in first.text
    assert again.status_code == 200
    assert "holds nothing new" in again.text
    assert broken.status_code == 400
    assert no_purpose.status_code == 400
    assert "purpose" in no_purpose.text
    [(_wl, versions)] = [(w, v) for w, v in list_watchlists(engine=env.node.engine) if w.name == "web-list"]
    assert [v.version for v in versions] == [1]
    assert versions[0].imported_by == "u-supervisor"
    assert versions[0].rescreened_at is not None
    with env.client(Role.DPO) as c:
        page = c.get("/watchlists").text
    assert "web-list" in page
    assert "KOWALSKY" not in page  # versions and counts, never entries


def test_a_rule_hit_shows_which_conditions_held_with_the_values_seen(env: Env) -> None:
    import datetime as dt

    from sqlalchemy import select

    from pnrguard.formats.synth import generate
    from pnrguard.store.screening import hit

    with env.client(Role.SUPERVISOR) as c:
        token = csrf_from(c.get("/criteria/new").text)
        expression = 'traveller.type == "A" && booking.leg_count >= 1'
        saved = c.post("/criteria", data={**FORM, "rule_id": "adults", "expression": expression,
                                          "action": "save", "csrf_token": token})  # fmt: skip
        assert saved.status_code == 303
    soon = env.node.clock().date() + dt.timedelta(days=2)
    for push in generate(21, flights=1, passengers_per_flight=(3, 5), base_date=soon):
        env.node.ingest(push.pnrgov.encode("utf-8"))  # screened at ingest by the new rule
    with env.node.engine.connect() as conn:
        rule_hit = conn.execute(select(hit.c.id).where(hit.c.rule_id == "adults").limit(1)).scalar_one()
    with env.client(Role.ANALYST) as c:
        page = html.unescape(c.get(f"/hits/{rule_hit}").text)
    assert 'id="conditions"' in page
    assert 'traveller.type == "A"' in page
    assert "traveller.type</span> = A" in page
    assert "booking.leg_count</span> = " in page
    assert page.count("<td>yes</td>") == 2
