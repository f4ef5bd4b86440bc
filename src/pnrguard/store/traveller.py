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
    delete,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from pnrguard.store.db import metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "Member",
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

_IN_CHUNK = 500
#: Bytes of a token: 128 bits make a collision between two values negligible.
TOKEN_BYTES = 16

search_token = Table(
    "search_token",
    metadata,
    Column("token", LargeBinary(TOKEN_BYTES), primary_key=True),
    Column("field", SmallInteger, primary_key=True, autoincrement=False),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), primary_key=True),
    # The screening ref of the traveller ("" for booking-wide values: contacts, cards).
    Column("traveller_ref", String(32), primary_key=True),
    Index("ix_search_token_booking_id", "booking_id"),
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


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- blind index -----------------------------------------------------------------------------


def insert_tokens(conn: Connection, rows: Sequence[tuple[bytes, int, str, str]]) -> None:
    """Add (token, field, booking id, traveller ref) rows; duplicates are dropped first.

    Through the driver, not the SQL expression layer: an ingest writes about 18 rows per
    booking, and SQLAlchemy's per-row parameter processing cost more than the rest of the
    index upkeep together (bench/search.py). PostgreSQL gets COPY, SQLite `executemany`.
    Same transaction as the caller's (the connection's own DBAPI connection).
    """
    # Sorted: neighbouring keys land on the same pages of the primary-key tree.
    unique = sorted(set(rows))
    if not unique:
        return
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cur,
            cur.copy("COPY search_token (token, field, booking_id, traveller_ref) FROM STDIN") as copy,
        ):
            for row in unique:
                copy.write_row(row)
        return
    if conn.dialect.name == "sqlite":
        cur = raw.cursor()
        try:
            cur.executemany(
                "INSERT INTO search_token (token, field, booking_id, traveller_ref) VALUES (?, ?, ?, ?)",
                unique,
            )
        finally:
            cur.close()
        return
    for chunk in _chunks(unique, 2000):  # any other database: the portable path
        conn.execute(
            insert(search_token),
            [{"token": t, "field": f, "booking_id": b, "traveller_ref": r} for t, f, b, r in chunk],
        )


def delete_tokens(conn: Connection, booking_ids: Sequence[str]) -> int:
    """Remove every token of these bookings: the lifecycle hook of masking and deletion.
    Returns the rows removed."""
    n = 0
    for chunk in _chunks(list(booking_ids)):
        n += conn.execute(delete(search_token).where(search_token.c.booking_id.in_(chunk))).rowcount or 0
    return n


def forget_bookings(conn: Connection, booking_ids: Sequence[str], *, deleted: bool = False) -> int:
    """The lifecycle hook (masking and deletion runs call it): drop every token of these
    bookings and, at deletion, their traveller links and hit sources. Returns the token
    rows removed."""
    n = delete_tokens(conn, booking_ids)
    if deleted:
        delete_members(conn, booking_ids)
        for chunk in _chunks(list(booking_ids)):
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


def insert_members(conn: Connection, members: Sequence[Member]) -> None:
    if members:
        conn.execute(
            insert(traveller_member),
            [
                {
                    "booking_id": m.booking_id, "traveller_ref": m.traveller_ref,
                    "traveller_id": m.traveller_id, "source": m.source, "linked_by": m.linked_by,
                    "conflicts": m.conflicts,
                }
                for m in members
            ],
        )  # fmt: skip


def delete_members(conn: Connection, booking_ids: Sequence[str]) -> None:
    """Forget links of deleted bookings (the traveller id left on a hit stays an opaque id)."""
    for chunk in _chunks(list(booking_ids)):
        conn.execute(delete(traveller_member).where(traveller_member.c.booking_id.in_(chunk)))


def _member(r: Any) -> Member:
    return Member(r.booking_id, r.traveller_ref, r.traveller_id, r.source, r.linked_by, r.conflicts)


def members_of_bookings(conn: Connection, booking_ids: Iterable[str]) -> dict[tuple[str, str], Member]:
    out: dict[tuple[str, str], Member] = {}
    for chunk in _chunks(sorted(set(booking_ids))):
        for r in conn.execute(select(traveller_member).where(traveller_member.c.booking_id.in_(chunk))):
            out[(r.booking_id, r.traveller_ref)] = _member(r)
    return out


def members_of_travellers(conn: Connection, traveller_ids: Iterable[str]) -> dict[str, list[Member]]:
    out: dict[str, list[Member]] = {}
    for chunk in _chunks(sorted(set(traveller_ids))):
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
