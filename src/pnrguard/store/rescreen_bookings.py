"""The bookings a rescreen walks: active, not restricted, page by page. Part of the
screening store (`store/screening.py` re-exports it).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.store.tables import booking, not_restricted


def active_booking_page(conn: Connection, *, after: str, limit: int) -> list[tuple[str, int]]:
    """(id, latest version) of active bookings after `after`, in id order (keyset
    pagination: each page is one short query, so a rescreen over millions of bookings holds
    no cursor and no list of every id)."""
    rows = conn.execute(
        select(booking.c.id, booking.c.latest_version)
        .where(booking.c.state == "active", not_restricted(), booking.c.id > after)
        .order_by(booking.c.id)
        .limit(limit)
    )
    return [(r.id, int(r.latest_version)) for r in rows]


def restricted_among(conn: Connection, booking_ids: Sequence[str]) -> set[str]:
    """The ids among `booking_ids` whose processing is restricted (LED Art. 16(3)):
    screening skips them, whichever path brought them (ingest, a rescreen)."""
    out: set[str] = set()
    ids = list(dict.fromkeys(booking_ids))
    for i in range(0, len(ids), 500):
        out.update(
            conn.execute(
                select(booking.c.id).where(booking.c.id.in_(ids[i : i + 500]), ~not_restricted())
            ).scalars()
        )
    return out
