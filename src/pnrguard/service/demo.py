"""Keeping `pnrguard demo` on its own database (issue 10, item 7).

The demo decrypts stored bookings without a login (to build its synthetic watchlist from
them), resets the passwords of accounts named like its users and prints them, so pointed at
a real node it would copy a real traveller into a clear-text watchlist and hand out the DPO's
password. It therefore runs only on a database it created itself:

- a database that holds nothing (no booking, message, account, watchlist or audit entry)
  is claimed: the marker ``demo`` is written to `node_marker` before any data;
- a database with that marker is the demo's own, unless a message reached it by another
  channel than the demo's file ingest (a carrier's push, a peer): then it holds real data
  after all;
- anything else is refused with `ForbiddenError`, and nothing is read or written.
"""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.schema import Table

from pnrguard.errors import N_, ForbiddenError
from pnrguard.service.clock import Clock
from pnrguard.store.accounts import account
from pnrguard.store.audit import audit_entry
from pnrguard.store.screening import watchlist
from pnrguard.store.tables import booking, message, node_marker

__all__ = ["DEMO_CHANNELS", "MARKER", "claim_for_demo"]

MARKER = "demo"
#: How the demo's data arrives: `pnrguard ingest` of the synthetic files.
DEMO_CHANNELS = ("file",)
_EVIDENCE: tuple[Table, ...] = (booking, message, account, watchlist, audit_entry)


def _empty(conn: Connection) -> bool:
    return all(conn.execute(select(func.count()).select_from(t)).scalar_one() == 0 for t in _EVIDENCE)


def claim_for_demo(engine: Engine, *, clock: Clock) -> bool:
    """Check (and on a fresh database, claim) that the demo may use `engine`'s database.
    Returns True when it was claimed now; raises `ForbiddenError` when it holds other data."""
    with engine.begin() as conn:
        marked = conn.execute(select(node_marker.c.value).where(node_marker.c.name == MARKER)).first()
        if marked is None:
            if not _empty(conn):
                raise ForbiddenError(
                    N_(
                        "this database holds data the demo did not create: the demo runs only on a database "
                        "of its own (point PNRGUARD_DATABASE_URL at a new file)"
                    )
                )
            conn.execute(
                insert(node_marker).values(name=MARKER, value="created-by-demo", created_at=clock.now())
            )
            return True
        foreign = conn.execute(
            select(func.count()).select_from(message).where(message.c.channel.not_in(DEMO_CHANNELS))
        ).scalar_one()
        if foreign:
            raise ForbiddenError(
                N_(
                    "this demo database received messages from outside the demo (pushes or peers): it may "
                    "hold real data, so the demo refuses it"
                )
            )
        return False
