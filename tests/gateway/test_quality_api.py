"""`GET /carrier/v1/quality` over real HTTP: each carrier sees its own figures, and only
with its token; the figures hold numbers, never content."""

from __future__ import annotations

import datetime as dt

import pytest
from gateway_env import GatewayEnv, synthetic_pushes

from pnrguard.web.carrier_quality import MAX_DAYS, QUALITY_PATH

pytestmark = pytest.mark.storage

PUSHES = synthetic_pushes()


def _get(gw: GatewayEnv, carrier: str, **params: str) -> dict[str, object]:
    r = gw.client.get(QUALITY_PATH, params=params, headers={"Authorization": f"Bearer {gw.tokens[carrier]}"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_each_carrier_sees_its_own_figures_only(gw: GatewayEnv) -> None:
    first = PUSHES[0]
    other = next(p for p in PUSHES if p.sender != first.sender)
    for p in (first, other):
        gw.token_for(p.sender)
        assert gw.push(p.pnrgov.encode("utf-8"), carrier=p.sender).status_code == 202
    gw.push(first.pnrgov.encode("utf-8")[:300], carrier=first.sender)  # truncated: refused
    assert gw.gateway.workers.drain() == 2

    mine = _get(gw, first.sender)
    days = mine["days"]
    assert isinstance(days, list)
    assert {d["carrier"] for d in days} == {first.sender}
    (day,) = days
    assert day["messages"] == 1
    assert day["accepted"] == 1
    assert day["bookings"] == len(first.bookings)
    assert day["travellers"] == sum(len(b.travellers) for b in first.bookings)
    assert sum(day["pushes"].values()) == 1
    assert day["element_shares"]["04"] == 1.0  # every traveller has a name
    assert day["gateway_refusals"] == {"truncated": 1}
    theirs = _get(gw, other.sender)
    assert {d["carrier"] for d in theirs["days"]} == {other.sender}  # type: ignore[union-attr]
    assert theirs["days"][0]["gateway_refusals"] == {}  # type: ignore[index]
    # Numbers and codes only: no name of any traveller anywhere in the answer.
    text = str(mine) + str(theirs)
    for p in (first, other):
        for b in p.bookings:
            for t in b.travellers:
                assert len(t.surname) < 3 or t.surname not in text


def test_token_required_and_period_bounded(gw: GatewayEnv) -> None:
    assert gw.client.get(QUALITY_PATH).status_code == 401
    assert gw.client.get(QUALITY_PATH, headers={"Authorization": "Bearer nope"}).status_code == 401
    sender = PUSHES[0].sender
    gw.token_for(sender)
    auth = {"Authorization": f"Bearer {gw.tokens[sender]}"}
    today = dt.date.today()
    long_ago = (today - dt.timedelta(days=MAX_DAYS)).isoformat()
    assert gw.client.get(QUALITY_PATH, params={"since": long_ago}, headers=auth).status_code == 400
    backwards = {"since": today.isoformat(), "until": "2000-01-01"}
    bad = gw.client.get(QUALITY_PATH, params=backwards, headers=auth)
    assert bad.status_code == 400
    assert gw.client.get(QUALITY_PATH, params={"since": "yesterday"}, headers=auth).status_code == 422
    assert _get(gw, sender)["days"] == []
