"""Inbox queries over `exchange_message`'s clear columns: folders, counts, read marks.

No payload is read here: folders and counts are metadata (kind, status, peer, dates), so
listing and counting decrypt nothing and need no audit entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from pnrguard.store.exchange import META_COLUMNS, ExchangeRecord, exchange_message

__all__ = ["FOLDERS", "counts", "folder", "mark_read", "replies"]

m = exchange_message.c
_REQUEST_KINDS = ("request", "europol_request")
#: Each folder's condition on the clear columns.
FOLDERS: dict[str, Any] = {
    "requests": and_(m.direction == "in", m.kind.in_(_REQUEST_KINDS)),
    "answers": and_(m.direction == "in", m.kind == "answer"),
    "transfers": and_(m.direction == "in", m.kind == "transfer"),
    "sent": m.direction == "out",
}


def folder(conn: Connection, name: str, *, offset: int, limit: int) -> tuple[list[ExchangeRecord], int]:
    """One page of a folder, newest first, and the folder's size."""
    cond = FOLDERS[name]
    total = int(conn.execute(select(func.count()).select_from(exchange_message).where(cond)).scalar_one())
    rows = conn.execute(
        select(*META_COLUMNS)
        .where(cond)
        .order_by(m.created_at.desc(), m.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [ExchangeRecord.from_row(r) for r in rows], total


def counts(conn: Connection) -> dict[str, int]:
    """What waits for a person: two index range scans (the waiting statuses are rare; the
    unread ones are found by (status, decided_by)), never a pass over the whole table."""
    waiting = conn.execute(
        select(m.status, m.direction, m.kind, func.count())
        .where(m.status.in_(("awaiting_approval", "awaiting_second", "failed")))
        .group_by(m.status, m.direction, m.kind)
    ).all()
    out = {"requests": 0, "second": 0, "answers": 0, "transfers": 0, "failed": 0}
    for status, direction, kind, n in waiting:
        if status == "awaiting_approval" and direction == "in" and kind in _REQUEST_KINDS:
            out["requests"] += int(n)
        elif status == "awaiting_second" and direction == "out":
            out["second"] += int(n)
        elif status == "failed" and direction == "out":
            out["failed"] += int(n)
    unread = conn.execute(
        select(m.kind, func.count())
        # "received" is an incoming answer's or transfer's status only; naming the direction
        # would tempt the planner onto the folder index (a scan of every incoming row).
        .where(m.status == "received", m.decided_by.is_(None))
        .group_by(m.kind)
    ).all()
    for kind, n in unread:
        if kind in ("answer", "transfer"):
            out[f"{kind}s"] += int(n)
    return out


def mark_read(conn: Connection, local_id: str, *, by: str, at: dt.datetime) -> bool:
    """Record the first person who opened a received answer or transfer (once)."""
    done = conn.execute(
        update(exchange_message)
        .where(m.id == local_id, m.direction == "in", m.status == "received", m.decided_by.is_(None))
        .values(decided_by=by, decided_at=at)
    )
    return done.rowcount == 1


def replies(conn: Connection, request_id: str) -> list[ExchangeRecord]:
    """The answers a peer sent to one of our requests, oldest first."""
    rows = conn.execute(
        select(*META_COLUMNS)
        .where(m.in_reply_to == request_id, m.direction == "in")
        .order_by(m.created_at, m.id)
    )
    return [ExchangeRecord.from_row(r) for r in rows]
