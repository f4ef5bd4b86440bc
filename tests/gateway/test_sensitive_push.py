"""The sensitive-data corpus pushed over the carrier API (real HTTP, SQLite and
PostgreSQL): the worker hands the payload to the same `service.ingest` as file ingest,
so 0 planted items survive and 0 kept items are lost on this path too (issue 10)."""

from __future__ import annotations

import datetime as dt

import pytest
from gateway_env import RECIPIENT, GatewayEnv
from sqlalchemy import select

from pnrguard.formats.reader import read_message
from pnrguard.protection.minimise import minimise
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, message
from sensitive_corpus import Item, corpus_message, load, survives, value_at

pytestmark = pytest.mark.storage

SENDER = "XX"


def test_the_corpus_pushed_over_the_api(gw: GatewayEnv) -> None:
    items = load()
    gw.token_for(SENDER)
    prepared = dt.datetime.now(dt.UTC).replace(microsecond=0)
    where: dict[str, Item] = {}
    baseline = {}
    chunks = [items[i : i + 100] for i in range(0, len(items), 100)]  # under the size limit
    for n, chunk in enumerate(chunks):
        raw, placed = corpus_message(
            chunk, prepared=prepared, sender=SENDER, recipient=RECIPIENT,
            control_ref=f"77{n:04d}", first=n * 100,
        )  # fmt: skip
        where.update(placed)
        baseline.update({b.locator: b for b in read_message(raw).bookings})
        response = gw.push(raw, carrier=SENDER)
        assert response.status_code in (200, 202), response.text
    assert gw.gateway.workers.drain() == len(chunks)
    with gw.node.engine.connect() as conn:
        outcomes = set(conn.execute(select(message.c.channel, message.c.status)).all())
        assert outcomes == {("push", "accepted")}
        repo = BookingRepository(conn, gw.node.keystore)
        stored = {r.locator: repo.get(r.id) for r in conn.execute(select(booking.c.id, booking.c.locator))}
    assert set(stored) == set(where)
    for locator, item in where.items():
        if item.expect == "delete":
            assert not survives(item.term, stored[locator]), (item.field, item.text)
        elif value_at(minimise(baseline[locator])[0], item) == item.text:  # what Annex I keeps
            assert value_at(stored[locator], item) == item.text, (item.field, item.text)
