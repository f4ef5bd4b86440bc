"""The link analysis page: opened from a confirmed hit only, picture and table, logged."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from workspace_env import Env, csrf_from

from pnrguard.audit.models import Operation
from pnrguard.service.accounts import Role
from pnrguard.store.screening import hit
from pnrguard.store.traveller import traveller_member

pytestmark = pytest.mark.storage


def test_links_of_a_confirmed_hit_are_drawn_and_logged(env: Env) -> None:
    hit_id = env.hit_ids()[0]
    with env.client(Role.ANALYST) as c:
        assert c.get(f"/hits/{hit_id}/links").status_code == 409  # not confirmed: no case, no analysis
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        form = {"decision": "confirm", "reason": "documents agree", "csrf_token": token}
        decided = c.post(f"/hits/{hit_id}/decision", data=form)
        assert decided.status_code == 303
        page = c.get(f"/hits/{hit_id}/links?depth=2")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'role="img"' in page.text
    assert "linked traveller" in page.text
    assert "script" not in page.text.lower()
    logged = [e for e in env.audit(operation=Operation.CONSULTATION) if e.reference == f"hit:{hit_id}"]
    assert any(e.counts.get("links.expanded") for e in logged)
    with env.client(Role.DPO) as c:
        assert c.get(f"/hits/{hit_id}/links").status_code == 403


def _hit_with_co_travellers(env: Env) -> str:
    """A hit whose booking has other travellers (the synthetic traffic has families)."""
    with env.node.engine.connect() as conn:
        sizes = dict(conn.execute(
            select(traveller_member.c.booking_id, func.count()).group_by(traveller_member.c.booking_id)
        ).all())  # fmt: skip
        hits = conn.execute(select(hit.c.id, hit.c.booking_id).where(hit.c.status == "open")).all()
    return min(h.id for h in hits if sizes.get(h.booking_id, 0) > 1)


def test_a_linked_person_is_added_to_a_confirmed_hits_disclosure(env: Env) -> None:
    hit_id = _hit_with_co_travellers(env)
    here = f"/hits/{hit_id}/links"
    with env.client(Role.ANALYST) as c:
        token = csrf_from(c.get(f"/hits/{hit_id}").text)
        c.post(f"/hits/{hit_id}/decision", data={"decision": "confirm", "reason": "documents agree",
                                                 "csrf_token": token})  # fmt: skip
        page = c.get(here).text
        people = re.findall(r'name="person" value="([^"]+)"', page)
        assert f'action="{here}/disclosure"' in page
        assert people  # the hit's co-travellers at least
        token = csrf_from(page)
        nobody = {"person": "p" + "0" * 24, "depth": "1", "csrf_token": token}
        refused = c.post(f"{here}/disclosure", data=nobody)
        assert refused.status_code == 404  # only someone the neighbourhood shows
        added = c.post(f"{here}/disclosure", data={"person": people[0], "depth": "1", "csrf_token": token})
    assert added.status_code == 303
    assert added.headers["location"] == f"/hits/{hit_id}"
    altered = env.audit(operation=Operation.ALTERATION)
    [entry] = [e for e in altered if e.counts.get("links.added_to_disclosure")]
    assert entry.reference == f"hit:{hit_id}"
