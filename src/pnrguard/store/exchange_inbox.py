"""Inbox queries over `exchange_message`'s clear columns: folders, counts, read marks.

No payload is read here: folders and counts are metadata (kind, status, peer, dates), so
listing and counting decrypt nothing and need no audit entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, select, update
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
    """What waits for a person, in one query over the status index."""
    unread = and_(m.direction == "in", m.status == "received", m.decided_by.is_(None))
    row = conn.execute(
        select(
            func.count(case((and_(FOLDERS["requests"], m.status == "awaiting_approval"), 1))),
            func.count(case((and_(m.direction == "out", m.status == "awaiting_second"), 1))),
            func.count(case((and_(unread, m.kind == "answer"), 1))),
            func.count(case((and_(unread, m.kind == "transfer"), 1))),
            func.count(case((and_(m.direction == "out", m.status == "failed"), 1))),
        ).where(m.status.in_(("awaiting_approval", "awaiting_second", "received", "failed")))
    ).one()
    return dict(
        zip(("requests", "second", "answers", "transfers", "failed"), (int(x) for x in row), strict=True)
    )


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
