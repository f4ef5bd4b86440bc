"""Backpressure over real HTTP on SQLite and PostgreSQL: a full inbox refuses pushes with 503
`queue_full` and Retry-After, stores nothing, leaves a rejection entry, and takes pushes
again once the workers have drained it; the push path runs no depth query of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway_env import GatewayEnv, gateway_env, synthetic_pushes
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from pnrguard.service.gateway import InboxBacklog
from pnrguard.store.gateway import gateway_inbox, gateway_quarantine

pytestmark = pytest.mark.storage

PUSHES = synthetic_pushes()
BODIES = [(p.pnrgov.encode("utf-8"), p.sender, p.control_ref) for p in PUSHES]


@pytest.fixture
def tiny(engine: Engine, tmp_path: Path) -> Iterator[GatewayEnv]:
    """Room for 3 messages, workers off, the depth re-counted every 50 ms."""
    with gateway_env(engine, tmp_path, max_queue_depth=3, queue_depth_refresh_ms=50) as env:
        for _, sender, _ in BODIES:
            env.token_for(sender)
        yield env


def _inbox_count(env: GatewayEnv) -> int:
    with env.node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(gateway_inbox)).scalar_one())


def _rejections(env: GatewayEnv) -> list[tuple[str, int, str]]:
    t = gateway_quarantine.c
    with env.node.engine.connect() as conn:
        rows = conn.execute(select(t.reason_code, t.http_status, t.control_ref))
        return [(r.reason_code, r.http_status, r.control_ref) for r in rows]


def test_a_full_inbox_refuses_with_503_and_takes_pushes_again_after_the_drain(tiny: GatewayEnv) -> None:
    transient = 0  # refusals of the soft limit before the inbox is really full
    for body, sender, _ in BODIES[:3]:
        # The soft limit errs towards "full" while a count overlaps a commit (see below): a
        # push may be refused until the next count (at most 50 ms later) sees the inbox as it is.
        deadline = time.monotonic() + 10
        while (r := tiny.push(body, carrier=sender)).status_code == 503 and time.monotonic() < deadline:
            transient += 1
            time.sleep(0.05)
        assert r.status_code == 202, r.text
    tiny.gateway.backlog.refresh()  # settle: no commit is in flight, so this count is exact
    body, sender, ref = BODIES[3]
    r = tiny.push(body, carrier=sender)
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] == "30"
    ack = r.json()
    assert (ack["status"], ack["reason"], ack["receipt"]) == ("rejected", "queue_full", None)
    assert ack["control_ref"] == ref
    assert ack["detail"] == "inbox full, re-send later"
    assert ack["contrl"] == {"action": "4", "error": "18", "segment": None}
    edi = tiny.push(body, carrier=sender, json=False)  # the CONTRL form says the same
    assert edi.status_code == 503
    assert edi.headers["retry-after"] == "30"
    assert f"UCI+{ref}+{sender}+" in edi.text
    assert "+4+18" in edi.text
    # Nothing stored; a rejection entry each, as for every refusal after authentication.
    assert _inbox_count(tiny) == 3
    assert [x for x in _rejections(tiny) if x[2] == ref] == [("queue_full", 503, ref)] * 2
    assert len(_rejections(tiny)) == 2 + transient
    metric = f'pnrguard_gateway_rejections_total{{reason="queue_full"}} {2 + transient}.0'
    assert metric in tiny.client.get("/metrics").text
    health = tiny.client.get("/health/gateway").json()
    assert (health["accepting"], health["max_queue_depth"], health["queue"]["queued"]) == (False, 3, 3)

    assert tiny.gateway.workers.drain() == 3
    # The next count (at most 50 ms later; the refresher counts on its own while full)
    # sees the drained inbox: the same push is accepted.
    deadline = time.monotonic() + 10
    while (r := tiny.push(body, carrier=sender)).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.status_code == 202, r.text
    tiny.gateway.backlog.refresh()  # settle: no commit is in flight, so this count is exact
    assert tiny.client.get("/health/gateway").json()["accepting"] is True
    # The limit is soft and errs towards "full": a row committed while a count runs is
    # counted twice until the next count. So a push may briefly be refused; it is taken
    # once the next count (at most 50 ms later) has seen the inbox as it is.
    for body, sender, _ in BODIES[4:]:
        deadline = time.monotonic() + 10
        while (r := tiny.push(body, carrier=sender)).status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.status_code == 202, r.text
    assert _inbox_count(tiny) == 6


def test_pushes_read_a_cached_depth(engine: Engine, tmp_path: Path) -> None:
    """Between two counts, pushes run no depth query: the acknowledgement path compares
    with the cached depth, to which the enqueuer adds what it committed."""
    counts: list[str] = []

    def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "count(" in statement.lower() and "gateway_inbox" in statement:
            counts.append(statement)

    with gateway_env(engine, tmp_path, max_queue_depth=100, queue_depth_refresh_ms=600_000) as env:
        for _, sender, _ in BODIES:
            env.token_for(sender)
        env.gateway.backlog.refresh()  # a fresh count: the next ten minutes need none
        event.listen(engine, "before_cursor_execute", spy)
        try:
            for body, sender, _ in BODIES[:5]:
                assert env.push(body, carrier=sender).status_code == 202
        finally:
            event.remove(engine, "before_cursor_execute", spy)
        assert counts == []
        assert env.gateway.backlog.depth == 5


def test_backlog_counts_pending_rows_and_zero_means_unlimited(gw: GatewayEnv) -> None:
    for body, sender, _ in BODIES[:2]:
        gw.token_for(sender)
        assert gw.push(body, carrier=sender).status_code == 202
    backlog = InboxBacklog(gw.node.engine, max_depth=2, refresh_seconds=3600)
    try:
        backlog.refresh()
        assert (backlog.depth, backlog.at_limit) == (2, True)
        backlog.queued(1)  # what the enqueuer reports between counts
        assert backlog.depth == 3
        backlog.refresh()  # the count replaces what was added before it began
        assert backlog.depth == 2
        assert gw.gateway.workers.drain() == 2
        backlog.refresh()  # done rows are not the backlog
        assert (backlog.depth, backlog.full()) == (0, False)
    finally:
        backlog.close()
    unlimited = InboxBacklog(gw.node.engine, max_depth=0, refresh_seconds=0.001)
    unlimited.queued(10**6)
    assert unlimited.full() is False
    assert unlimited._thread is None  # no limit: never counts
