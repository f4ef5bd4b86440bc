"""The quality counters add up on SQLite and PostgreSQL, also from concurrent writers."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy.engine import Engine

from pnrguard.store.quality import add_counts, read_counts

pytestmark = pytest.mark.storage

DAY = dt.date(2026, 3, 1)


def test_counts_add_and_filter(engine: Engine) -> None:
    with engine.begin() as conn:
        add_counts(conn, carrier="LH", day=DAY, counts={"travellers": 3, "push.closure": 1, "zero": 0})
        add_counts(conn, carrier="LH", day=DAY, counts={"travellers": 2})
        add_counts(conn, carrier="UA", day=DAY + dt.timedelta(days=1), counts={"travellers": 7})
    with engine.connect() as conn:
        all_ = read_counts(conn, since=DAY, until=DAY + dt.timedelta(days=2))
        lh = read_counts(conn, since=DAY, until=DAY + dt.timedelta(days=2), carriers=["LH"])
        first_day = read_counts(conn, since=DAY, until=DAY + dt.timedelta(days=1))
    assert all_[("LH", DAY)] == {"travellers": 5, "push.closure": 1}
    assert set(lh) == {("LH", DAY)}
    assert set(first_day) == {("LH", DAY)}


def test_concurrent_writers_lose_no_increment(engine: Engine) -> None:
    def work() -> None:
        for _ in range(10):
            with engine.begin() as conn:
                add_counts(conn, carrier="LH", day=DAY, counts={"travellers": 1})

    if engine.dialect.name == "sqlite":
        work()
        work()
    else:
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with engine.connect() as conn:
        got = read_counts(conn, since=DAY, until=DAY + dt.timedelta(days=1))[("LH", DAY)]["travellers"]
    assert got == (20 if engine.dialect.name == "sqlite" else 40)
