"""Blind index, traveller links and the sources of a hit: tables and queries.

What is stored and why (docs/data-protection.md, "Blind index and linked travellers"):

- `search_token`: the blind index. One row per (keyed token, field, booking, traveller):
  a 16-byte HMAC-SHA256 (under the node secret "blind-index", wrapped by the key store) of
  one normalised value: a name part, its phonetic key, a date of birth, a document
  number, a contact, a card, a seat. Nobody without the key store can compute a token, so
  the database alone confirms no guess. Search, the access report and linking resolve
  candidates here and decrypt only what they show. All tokens of a booking go at masking
  (names cannot be searched once masked, Art. 12(2)) and at deletion.
- `traveller_member`: which (booking, traveller ref) belong to which *traveller* (one
  person on one flight, across the PNR and the API record). Ids only, plus how the link
  was made and which fields the sources disagree on (field names, never values).
- `hit_source`: a second source of the same person matching the same entry or rule
  attaches to the open hit here instead of opening another one. Ids and a score.

Functions work on the caller's `Connection` and never commit. Schema only via Alembic
(`migrations/versions/0015_traveller.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    bindparam,
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from pnrguard.store.db import bulk_insert, chunks, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "NO_DAY",
    "Member",
    "TokenRow",
    "day_of",
    "delete_members",
    "delete_tokens",
    "forget_bookings",
    "hit_source",
    "insert_members",
    "insert_tokens",
    "members_of_bookings",
    "members_of_travellers",
    "search_token",
    "traveller_member",
]

#: Bytes of a token: 128 bits make a collision between two values negligible.
TOKEN_BYTES = 16
_EPOCH = dt.date(1970, 1, 1)
#: The day of a booking without a flight date (9999-12-31): it sorts after every flight.
NO_DAY = (dt.date(9999, 12, 31) - _EPOCH).days
#: A stored row: (token, field, day, booking id, traveller ref).
TokenRow = tuple[bytes, int, int, str, str]


def day_of(date: dt.date | None) -> int:
    """`search_token.day` of a flight date (days since 1970-01-01; `NO_DAY` for none)."""
    return (date - _EPOCH).days if date is not None else NO_DAY


search_token = Table(
    "search_token",
    metadata,
    Column("token", LargeBinary(TOKEN_BYTES), primary_key=True),
    Column("field", SmallInteger, primary_key=True, autoincrement=False),
    # The booking's flight day (`day_of`): a token's rows are kept in flight-date order, so a
    # page of a search is one range of this key (0018_search_scale), whatever the namesakes.
    Column("day", Integer, primary_key=True, autoincrement=False),
    # No foreign key to `booking` (0029_token_no_fk): on PostgreSQL it was a trigger per row,
    # ~45% of writing the index; booking rows are never deleted (tombstones), and a test
    # holds that every token row names a stored booking.
    Column("booking_id", String(ID_LENGTH), primary_key=True),
    # The screening ref of the traveller ("" for booking-wide values: contacts, cards).
    Column("traveller_ref", String(32), primary_key=True),
    # A booking's tokens of a few fields (link analysis: who a record is; masking and
    # deletion by booking use its prefix), 0026_links_speed.
    Index("ix_search_token_booking_field", "booking_id", "field"),
    # On SQLite the rows live in the primary-key tree itself: one B-tree less to write.
    sqlite_with_rowid=False,
)

traveller_member = Table(
    "traveller_member",
    metadata,
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("traveller_ref", String(32), primary_key=True),
    Column("traveller_id", String(ID_LENGTH), nullable=False),
    Column("source", String(3), nullable=False),
    # new | document | name_dob | seat: how this record joined its traveller.
    Column("linked_by", String(8), nullable=False),
    # Comma-separated field names the linked sources disagree on ("date_of_birth"), or "".
    Column("conflicts", String(64), nullable=False),
    Index("ix_traveller_member_traveller_id", "traveller_id"),
)

hit_source = Table(
    "hit_source",
    metadata,
    Column("hit_id", String(ID_LENGTH), ForeignKey("hit.id"), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    Column("traveller_ref", String(32), primary_key=True),
    Column("booking_version", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("attached_at", UTCDateTime(), nullable=False),
)


# --- blind index -----------------------------------------------------------------------------


_TOKEN_COLUMNS = ("token", "field", "day", "booking_id", "traveller_ref")
_TOKEN_TYPES = ("bytea", "int2", "int4", "varchar", "varchar")


def insert_tokens(conn: Connection, rows: Iterable[TokenRow]) -> None:
    """Add (token, field, day, booking id, traveller ref) rows; duplicates are dropped first.

    Through the driver, not the SQL expression layer: an ingest writes about 30 rows per
    booking, and SQLAlchemy's per-row parameter processing cost more than the rest of the
    index upkeep together (bench/search.py). PostgreSQL gets COPY, SQLite `executemany`.
    Same transaction as the caller's (the connection's own DBAPI connection).
    """
    # Sorted: neighbouring keys land on the same pages of the primary-key tree.
    bulk_insert(conn, search_token, _TOKEN_COLUMNS, sorted(set(rows)), copy_types=_TOKEN_TYPES)


_EXISTING = "SELECT token, field, day, booking_id, traveller_ref FROM search_token WHERE booking_id IN "


def existing_tokens(
    conn: Connection, booking_ids: Sequence[str], fields: Sequence[int] | None = None
) -> set[TokenRow]:
    """The stored (token, field, day, booking id, traveller ref) rows of these bookings
    (only of `fields` when given)."""
    out: set[TokenRow] = set()
    mark = {"sqlite": "?", "postgresql": "%s"}.get(conn.dialect.name)
    only = sorted({int(f) for f in fields}) if fields is not None else None
    for chunk in chunks(list(booking_ids)):
        if mark is None:  # any other database: the portable path
            q = select(search_token).where(search_token.c.booking_id.in_(chunk))
            if only is not None:
                q = q.where(search_token.c.field.in_(only))
            out |= {(bytes(r.token), r.field, r.day, r.booking_id, r.traveller_ref) for r in conn.execute(q)}
            continue
        # Through the driver: result-row processing was most of a new version's upkeep.
        sql = _EXISTING + "(" + ", ".join([mark] * len(chunk)) + ")"
        params = list(chunk)
        if only is not None:
            sql += " AND field IN (" + ", ".join([mark] * len(only)) + ")"
            params += only
        raw: Any = conn.connection.dbapi_connection
        cur = raw.cursor()
        try:
            cur.execute(sql, params)
            # Both drivers give bytes for the token: the rows are the stored tuples as they
            # come (a second tuple per row was most of this read's allocations).
            out.update(cur.fetchall())
        finally:
            cur.close()
    return out


def delete_token_rows(conn: Connection, rows: Sequence[TokenRow]) -> None:
    """Remove these exact rows (the tokens a new version no longer has)."""
    if rows:
        conn.execute(
            delete(search_token).where(
                search_token.c.token == bindparam("t"),
                search_token.c.field == bindparam("f"),
                search_token.c.day == bindparam("d"),
                search_token.c.booking_id == bindparam("b"),
                search_token.c.traveller_ref == bindparam("r"),
            ),
            [{"t": t, "f": f, "d": d, "b": b, "r": r} for t, f, d, b, r in rows],
        )


def delete_tokens(conn: Connection, booking_ids: Sequence[str]) -> int:
    """Remove every token of these bookings: the lifecycle hook of masking and deletion.
    Returns the rows removed."""
    n = 0
    for chunk in chunks(list(booking_ids)):
        n += conn.execute(delete(search_token).where(search_token.c.booking_id.in_(chunk))).rowcount or 0
    return n


def forget_bookings(conn: Connection, booking_ids: Sequence[str], *, deleted: bool = False) -> int:
    """The lifecycle hook (masking and deletion runs call it): drop every token of these
    bookings and, at deletion, their traveller links and hit sources. Returns the token
    rows removed."""
    n = delete_tokens(conn, booking_ids)
    if deleted:
        delete_members(conn, booking_ids)
        for chunk in chunks(list(booking_ids)):
            conn.execute(delete(hit_source).where(hit_source.c.booking_id.in_(chunk)))
    return n


# --- traveller links -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    booking_id: str
    traveller_ref: str
    traveller_id: str
    source: str
    linked_by: str
    conflicts: str = ""


_MEMBER_COLUMNS = ("booking_id", "traveller_ref", "traveller_id", "source", "linked_by", "conflicts")


def insert_members(conn: Connection, members: Sequence[Member]) -> None:
    """Through the driver, like `insert_tokens` (`db.bulk_insert`: SQLAlchemy's per-row
    processing was a tenth of the index upkeep at ingest)."""
    rows = [
        (m.booking_id, m.traveller_ref, m.traveller_id, m.source, m.linked_by, m.conflicts) for m in members
    ]
    bulk_insert(conn, traveller_member, _MEMBER_COLUMNS, rows)


def delete_members(conn: Connection, booking_ids: Sequence[str]) -> None:
    """Forget links of deleted bookings (the traveller id left on a hit stays an opaque id)."""
    for chunk in chunks(list(booking_ids)):
        conn.execute(delete(traveller_member).where(traveller_member.c.booking_id.in_(chunk)))


def _member(r: Any) -> Member:
    return Member(r.booking_id, r.traveller_ref, r.traveller_id, r.source, r.linked_by, r.conflicts)


_MEMBERS = (
    "SELECT booking_id, traveller_ref, traveller_id, source, linked_by, conflicts FROM traveller_member "
    "WHERE booking_id IN "
)


def members_of_bookings(conn: Connection, booking_ids: Iterable[str]) -> dict[tuple[str, str], Member]:
    """The links of these bookings' travellers (through the driver, like `existing_tokens`:
    ingest asks for every booking of a message)."""
    out: dict[tuple[str, str], Member] = {}
    mark = {"sqlite": "?", "postgresql": "%s"}.get(conn.dialect.name)
    for chunk in chunks(sorted(set(booking_ids))):
        if mark is not None:
            raw: Any = conn.connection.dbapi_connection
            cur = raw.cursor()
            try:
                cur.execute(_MEMBERS + "(" + ", ".join([mark] * len(chunk)) + ")", list(chunk))
                for row in cur.fetchall():
                    m = Member(*row)
                    out[(m.booking_id, m.traveller_ref)] = m
            finally:
                cur.close()
            continue
        for r in conn.execute(select(traveller_member).where(traveller_member.c.booking_id.in_(chunk))):
            out[(r.booking_id, r.traveller_ref)] = _member(r)
    return out


def members_of_travellers(conn: Connection, traveller_ids: Iterable[str]) -> dict[str, list[Member]]:
    out: dict[str, list[Member]] = {}
    for chunk in chunks(sorted(set(traveller_ids))):
        q = (
            select(traveller_member)
            .where(traveller_member.c.traveller_id.in_(chunk))
            .order_by(traveller_member.c.source.desc(), traveller_member.c.booking_id)
        )
        for r in conn.execute(q):
            out.setdefault(r.traveller_id, []).append(_member(r))
    return out


def attach_source(
    conn: Connection,
    *,
    hit_id: str,
    booking_id: str,
    traveller_ref: str,
    booking_version: int,
    score: float,
    at: dt.datetime,
) -> bool:
    """Attach a second source to a hit; False if it was attached already."""
    found = conn.execute(
        select(hit_source.c.hit_id).where(
            hit_source.c.hit_id == hit_id,
            hit_source.c.booking_id == booking_id,
            hit_source.c.traveller_ref == traveller_ref,
        )
    ).first()
    if found is not None:
        return False
    conn.execute(
        insert(hit_source).values(
            hit_id=hit_id, booking_id=booking_id, traveller_ref=traveller_ref,
            booking_version=booking_version, score=score, attached_at=at,
        )
    )  # fmt: skip
    return True


def sources_of_hit(conn: Connection, hit_id: str) -> list[tuple[str, str, float]]:
    """(booking id, traveller ref, score) of the sources attached to a hit."""
    q = select(hit_source).where(hit_source.c.hit_id == hit_id).order_by(hit_source.c.attached_at)
    return [(r.booking_id, r.traveller_ref, float(r.score)) for r in conn.execute(q)]
