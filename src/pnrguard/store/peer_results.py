"""What the searches under an incoming peer request found (`service.peer_answers`).

One row per (incoming request, booking): an answer to that request may name these
bookings and no other. Ids only, like `request_result` for authority requests; a
booking's deletion leaves its tombstone id, so the rows stay consistent. Schema via
`migrations/versions/0014_acct_power.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Column, ForeignKey, String, Table, delete, insert, select
from sqlalchemy.engine import Connection

from pnrguard.store.db import metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = ["add_found", "exchange_result", "found_for"]

exchange_result = Table(
    "exchange_result",
    metadata,
    Column("message_id", String(ID_LENGTH), ForeignKey("exchange_message.id"), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("found_at", UTCDateTime(), nullable=False),
)


def add_found(conn: Connection, message_id: str, booking_ids: list[str], *, at: dt.datetime) -> None:
    known = set(found_for(conn, message_id))
    rows = [
        {"message_id": message_id, "booking_id": b, "found_at": at}
        for b in dict.fromkeys(booking_ids)
        if b not in known
    ]
    if rows:
        conn.execute(insert(exchange_result), rows)


def found_for(conn: Connection, message_id: str) -> list[str]:
    q = select(exchange_result.c.booking_id).where(exchange_result.c.message_id == message_id)
    return list(conn.execute(q.order_by(exchange_result.c.found_at, exchange_result.c.booking_id)).scalars())


def forget_found(conn: Connection, booking_ids: Sequence[str]) -> None:
    """Deletion hook: a deleted booking is no longer "found" by any peer's request (its
    rows would say which request asked about the person)."""
    ids = list(booking_ids)
    for i in range(0, len(ids), 500):
        conn.execute(delete(exchange_result).where(exchange_result.c.booking_id.in_(ids[i : i + 500])))
