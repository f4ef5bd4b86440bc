"""Carrier data-quality counters: numbers per carrier, day and metric, nothing else.

`carrier_quality` holds what cannot be recomputed from non-personal columns once a
message is read (travellers with API data, with each Annex I element, how early the push
came): the ingest use case adds to it in the same transaction that stores the bookings,
so the figures and the data agree. It holds no personal data by construction: a sender
id (the UNB sender, a carrier's or its host system's code), a date, a metric name from
a fixed vocabulary and a count. It is kept like other statistics (no booking key).
Messages, bookings, deviations and quarantine reasons are counted from the `message`,
`quarantine` and `gateway_quarantine` rows instead (see `service/quality.py`).

The schema is created by Alembic only (`migrations/versions/0016_formats.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from sqlalchemy import Column, Date, Integer, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.engine import Connection

from pnrguard.store.db import conflict_insert, metadata

__all__ = ["add_counts", "carrier_quality", "read_counts"]

carrier_quality = Table(
    "carrier_quality",
    metadata,
    Column("carrier", String(64), nullable=False),
    Column("day", Date, nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", Integer, nullable=False),
    PrimaryKeyConstraint("carrier", "day", "metric"),
)


def add_counts(conn: Connection, *, carrier: str, day: dt.date, counts: Mapping[str, int]) -> None:
    """Add `counts` to the carrier's day, in one statement (an upsert that adds: two
    workers counting the same day never lose an increment)."""
    rows = [{"carrier": carrier, "day": day, "metric": m, "value": v} for m, v in counts.items() if v]
    if not rows:
        return
    stmt = conflict_insert(conn.dialect.name, carrier_quality).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["carrier", "day", "metric"],
        set_={"value": carrier_quality.c.value + stmt.excluded.value},
    )
    conn.execute(stmt)


def read_counts(
    conn: Connection, *, since: dt.date, until: dt.date, carriers: Collection[str] | None = None
) -> dict[tuple[str, dt.date], dict[str, int]]:
    """(carrier, day) -> metric -> value, for days in [since, until)."""
    q = select(carrier_quality).where(carrier_quality.c.day >= since, carrier_quality.c.day < until)
    if carriers is not None:
        q = q.where(carrier_quality.c.carrier.in_(list(carriers)))
    out: dict[tuple[str, dt.date], dict[str, int]] = {}
    for row in conn.execute(q):
        out.setdefault((row.carrier, row.day), {})[row.metric] = int(row.value)
    return out
