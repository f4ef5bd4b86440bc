"""Counts of what the sensitive-data filter deleted, per carrier, day and category.

The only place those counts are kept (issue 10, item 3; Directive 2016/681 Art. 13(4)):
an inbox row or audit entry tied to one message would tell which categories its
passengers had. Counts are added inside the ingest transaction, so they commit with the
bookings they describe; the DPO's statistics read them with small counts suppressed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.store.db import conflict_insert
from pnrguard.store.tables import sensitive_deletion

__all__ = ["SUPPRESS_BELOW", "DeletionCount", "add_deletions", "deletion_counts", "shown"]

#: Counts below this are shown as "<5": a small count on a quiet carrier's day could point
#: at the few bookings received then.
SUPPRESS_BELOW = 5
_CARRIER = re.compile(r"[A-Z0-9]{2,3}")


def _carrier(code: str) -> str:
    code = code.strip().upper()
    return code if _CARRIER.fullmatch(code) else "other"


def add_deletions(conn: Connection, *, day: dt.date, counts: Mapping[tuple[str, str], int]) -> None:
    """Add ``{(carrier, category): n}`` to `day`'s counts (an upsert per key)."""
    merged: dict[tuple[str, str], int] = {}
    for (carrier, category), n in counts.items():
        if n > 0:
            key = (_carrier(carrier), category[:40])
            merged[key] = merged.get(key, 0) + n
    if not merged:
        return
    for (carrier, category), n in sorted(merged.items()):
        stmt = conflict_insert(conn.dialect.name, sensitive_deletion).values(
            day=day, carrier=carrier, category=category, deleted=n
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "carrier", "category"],
                set_={"deleted": sensitive_deletion.c.deleted + stmt.excluded.deleted},
            )
        )


DeletionCount = tuple[dt.date, str, str, int]


def deletion_counts(conn: Connection, *, start: dt.date, end: dt.date) -> list[DeletionCount]:
    """(day, carrier, category, count) for days in ``[start, end)``, raw (not suppressed)."""
    rows = conn.execute(
        select(
            sensitive_deletion.c.day,
            sensitive_deletion.c.carrier,
            sensitive_deletion.c.category,
            sensitive_deletion.c.deleted,
        )
        .where(sensitive_deletion.c.day >= start, sensitive_deletion.c.day < end)
        .order_by(sensitive_deletion.c.day, sensitive_deletion.c.carrier, sensitive_deletion.c.category)
    ).all()
    return [(r[0], str(r[1]), str(r[2]), int(r[3])) for r in rows]


def shown(n: int) -> str:
    """A count as the DPO sees it: "<5" below `SUPPRESS_BELOW`."""
    return f"<{SUPPRESS_BELOW}" if 0 < n < SUPPRESS_BELOW else str(n)
