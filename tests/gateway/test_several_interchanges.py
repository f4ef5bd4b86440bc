"""A push holding several interchanges (UNB..UNZ twice) is acknowledged and every booking
of every interchange is stored: nothing after the first UNZ is dropped."""

from __future__ import annotations

import pytest
from gateway_env import GatewayEnv, synthetic_pushes, with_ref
from sqlalchemy import select

from pnrguard.store.tables import message

pytestmark = pytest.mark.storage


def test_every_interchange_of_a_push_is_ingested(gw: GatewayEnv) -> None:
    pushes = synthetic_pushes(11)
    first = pushes[0]
    second = next(p for p in pushes if p.sender == first.sender and p is not first)
    body = first.pnrgov.encode("utf-8") + b"\n" + with_ref(
        second.pnrgov.encode("utf-8"), second.control_ref, second.control_ref + "9"
    )
    gw.token_for(first.sender)
    assert gw.push(body, carrier=first.sender).status_code == 202
    assert gw.gateway.workers.drain() == 1
    with gw.node.engine.connect() as conn:
        row = conn.execute(select(message)).one()
    assert row.status == "accepted"
    assert row.bookings_new + row.bookings_new_version == len(first.bookings) + len(second.bookings)
    assert row.deviations.get("several_interchanges") == 1
