"""Travellers counted per day of first receipt and source, never per booking.

Issue 10, item 4 (Directive (EU) 2016/681 Art. 12(2)(a) masks the number of travellers;
Art. 20 asks for the number of passengers whose data were collected): a count on the
booking row told, for every masked booking, how many people it held. The Art. 20 figure
only needs the sum over a period, so ingest adds each new booking to its day's row here and
nothing per booking is kept. Counted at first receipt: a later version of the same booking
does not change the figure (the passengers were collected once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Column, Date, Integer, String, Table, func, select
from sqlalchemy.engine import Connection

from pnrguard.store.db import conflict_insert, metadata

__all__ = ["add_travellers", "traveller_tally", "travellers_counted"]

traveller_tally = Table(
    "traveller_tally",
    metadata,
    Column("day", Date, primary_key=True),
    Column("source", String(8), primary_key=True),
    Column("bookings", Integer, nullable=False),
    Column("travellers", Integer, nullable=False),
)


def add_travellers(conn: Connection, new: Iterable[tuple[dt.datetime, str, int]]) -> None:
    """Add new bookings, as (first receipt, source, travellers), to their day's counts."""
    merged: dict[tuple[dt.date, str], list[int]] = {}
    for at, source, n in new:
        row = merged.setdefault((at.astimezone(dt.UTC).date(), source), [0, 0])
        row[0] += 1
        row[1] += n
    if not merged:
        return
    for (day, source), (bookings, travellers) in sorted(merged.items()):
        stmt = conflict_insert(conn.dialect.name, traveller_tally).values(
            day=day, source=source, bookings=bookings, travellers=travellers
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "source"],
                set_={
                    "bookings": traveller_tally.c.bookings + stmt.excluded.bookings,
                    "travellers": traveller_tally.c.travellers + stmt.excluded.travellers,
                },
            )
        )


def travellers_counted(conn: Connection, *, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
    """{source: (bookings counted, travellers)} for days in ``[start, end)``."""
    t = traveller_tally.c
    rows = conn.execute(
        select(t.source, func.sum(t.bookings), func.sum(t.travellers))
        .where(t.day >= start, t.day < end)
        .group_by(t.source)
    )
    return {str(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows}
