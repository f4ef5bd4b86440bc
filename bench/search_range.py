"""The index part of a surname search alone, old query shape against new, on a store that
bench/search.py filled (`--keep DIR`): the three commonest surname tokens, best of five.

    .venv/bin/python bench/search_range.py sqlite:///DIR/search-XXXX.db
    .venv/bin/python bench/search_range.py postgresql+psycopg://postgres@127.0.0.1:5432/test SCHEMA

New: `service.search_index.plan_count` / `plan_page` (one range of the (token, field, day,
booking, traveller) key). Old: the query before migration 0018 (every namesake joined to
`booking`, counted, and sorted for the page), as SQL. Wall and this process's CPU, in ms.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from pnrguard.service.search_index import Plan, plan_count, plan_page
from pnrguard.store.db import make_engine
from pnrguard.store.traveller import search_token

OLD_COUNT = text(
    "SELECT count(*) FROM (SELECT t.booking_id, t.traveller_ref FROM search_token t JOIN booking b "
    "ON b.id = t.booking_id WHERE t.token = :t AND t.field = 1 AND b.state != 'deleted' "
    "AND b.restricted_at IS NULL) s"
)
OLD_PAGE = text(
    "SELECT b.*, t.traveller_ref FROM search_token t JOIN booking b ON b.id = t.booking_id "
    "WHERE t.token = :t AND t.field = 1 AND b.state != 'deleted' AND b.restricted_at IS NULL "
    "ORDER BY b.flight_date IS NULL, b.flight_date, b.id, t.traveller_ref LIMIT 25 OFFSET 0"
)


def _rows(conn: Connection, q: Any, params: dict[str, Any]) -> list[Any]:
    return list(conn.execute(q, params).all())


def best(fn: Callable[[], Any]) -> tuple[float, float]:
    wall = cpu = 1e9
    for _ in range(5):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall * 1000, cpu * 1000


def main() -> int:
    opts: dict[str, Any] = {}
    if len(sys.argv) > 2:
        opts = {"connect_args": {"options": f"-csearch_path={sys.argv[2]}"}}
    engine = make_engine(sys.argv[1], **opts)
    with engine.connect() as conn:
        top = conn.execute(
            select(search_token.c.token, func.count())
            .where(search_token.c.field == 1)
            .group_by(search_token.c.token)
            .order_by(func.count().desc())
            .limit(3)
        ).all()
        for token, n in top:
            plan, t, last = Plan(person=(((1, bytes(token)),),)), {"t": bytes(token)}, max(n - 25, 0)
            runs: dict[str, Callable[[], Any]] = {
                "new count": partial(plan_count, conn, plan),
                "new page 1": partial(plan_page, conn, plan, offset=0, limit=25),
                "new last page": partial(plan_page, conn, plan, offset=last, limit=25),
                "old count": partial(_rows, conn, OLD_COUNT, t),
                "old page 1": partial(_rows, conn, OLD_PAGE, t),
            }
            for label, fn in runs.items():
                wall, cpu = best(fn)
                print(f"namesakes {n:7,d}  {label:14s} wall {wall:7.1f} ms  CPU {cpu:7.1f} ms")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
