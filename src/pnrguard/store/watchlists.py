"""Watchlists, their versions and their entries (`watchlist`, `watchlist_version`,
`watchlist_entry`).

The lists a PIU is entitled to hold are reference data published by their authors, so they
are stored plain. Every import that changes a list is a new *version* (counts of the delta,
SHA-256 of the file); an entry row is one content version of a listed person, valid from
`first_version` until `removed_version` (exclusive, NULL while current). Nothing is
overwritten, so the entry a hit was produced by can always be shown to the reviewer, even
after the list moved on. Part of the screening store (`store/screening.py` re-exports it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.audit.models import Purpose
from pnrguard.screening.models import Gender, IdentityDocument, WatchlistEntry
from pnrguard.screening.watchlists import parse_partial_date
from pnrguard.store.db import chunks, metadata
from pnrguard.store.tables import UTCDateTime

# --- tables ------------------------------------------------------------------------------

watchlist = Table(
    "watchlist",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("format", String(8), nullable=False),
    # The purpose the list is held for: every combination with it is logged under it.
    Column("purpose", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

watchlist_version = Table(
    "watchlist_version",
    metadata,
    Column("watchlist_id", Integer, ForeignKey("watchlist.id"), primary_key=True, autoincrement=False),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("imported_at", UTCDateTime(), nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("sha256", LargeBinary(32), nullable=False),
    Column("added", Integer, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    # Set when every stored traveller was screened against this version's delta; NULL
    # means a rescreen was interrupted and must be resumed (`rescreen_pending`).
    Column("rescreened_at", UTCDateTime(), nullable=True),
)

watchlist_entry = Table(
    "watchlist_entry",
    metadata,
    Column("watchlist_id", Integer, ForeignKey("watchlist.id"), primary_key=True, autoincrement=False),
    Column("entity_id", String(128), primary_key=True),
    Column("first_version", Integer, primary_key=True, autoincrement=False),
    Column("removed_version", Integer, nullable=True),
    Column("fingerprint", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_watchlist_entry_current", "watchlist_id", "removed_version"),
)


# --- watchlist entries as JSON -------------------------------------------------------------


def entry_to_data(entry: WatchlistEntry) -> dict[str, Any]:
    """The entry as plain JSON values (the `data` column)."""
    return {
        "entity_id": entry.entity_id,
        "list_name": entry.list_name,
        "name": entry.name,
        "aliases": list(entry.aliases),
        "dobs": [d.isoformat() for d in entry.dobs],
        "nationalities": list(entry.nationalities),
        "documents": [[d.number, d.kind, d.country] for d in entry.documents],
        "gender": entry.gender.value if entry.gender else None,
    }


def entry_from_data(data: dict[str, Any]) -> WatchlistEntry:
    """Inverse of `entry_to_data` (exact: the fingerprint of the result is unchanged)."""
    return WatchlistEntry(
        entity_id=data["entity_id"],
        list_name=data["list_name"],
        name=data["name"],
        aliases=tuple(data.get("aliases", ())),
        dobs=tuple(parse_partial_date(d) for d in data.get("dobs", ())),
        nationalities=tuple(data.get("nationalities", ())),
        documents=tuple(IdentityDocument(n, k, c) for n, k, c in data.get("documents", ())),
        gender=Gender(data["gender"]) if data.get("gender") else None,
    )


# --- watchlists ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionRecord:
    watchlist_id: int
    version: int
    imported_at: dt.datetime
    imported_by: str
    sha256: bytes
    added: int
    removed: int
    changed: int
    total: int
    rescreened_at: dt.datetime | None

    @classmethod
    def from_row(cls, r: Row[Any]) -> VersionRecord:
        return cls(
            r.watchlist_id, r.version, r.imported_at, r.imported_by, bytes(r.sha256),
            r.added, r.removed, r.changed, r.total, r.rescreened_at,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class WatchlistRecord:
    id: int
    name: str
    format: str
    purpose: Purpose
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CurrentList:
    """A list and its current version: what a screener cache is keyed by."""

    id: int
    name: str
    purpose: Purpose
    version: int
    sha256: bytes


def _watchlist_from_row(r: Row[Any]) -> WatchlistRecord:
    return WatchlistRecord(r.id, r.name, r.format, Purpose(r.purpose), r.created_at)


def get_watchlist(conn: Connection, name: str, *, for_update: bool = False) -> WatchlistRecord | None:
    """The list called `name`. `for_update` locks its row (PostgreSQL) so that two imports
    of one list are serialised; SQLite's `BEGIN IMMEDIATE` serialises writers already."""
    q = select(watchlist).where(watchlist.c.name == name)
    if for_update:
        q = q.with_for_update()
    r = conn.execute(q).first()
    return None if r is None else _watchlist_from_row(r)


def create_watchlist(conn: Connection, *, name: str, fmt: str, purpose: Purpose, at: dt.datetime) -> int:
    result = conn.execute(
        insert(watchlist).values(name=name, format=fmt, purpose=purpose.value, created_at=at)
    )
    pk = result.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def list_watchlists(conn: Connection) -> list[WatchlistRecord]:
    return [_watchlist_from_row(r) for r in conn.execute(select(watchlist).order_by(watchlist.c.name))]


def versions(conn: Connection, watchlist_id: int) -> list[VersionRecord]:
    rows = conn.execute(
        select(watchlist_version)
        .where(watchlist_version.c.watchlist_id == watchlist_id)
        .order_by(watchlist_version.c.version)
    )
    return [VersionRecord.from_row(r) for r in rows]


def latest_version(conn: Connection, watchlist_id: int) -> VersionRecord | None:
    r = conn.execute(
        select(watchlist_version)
        .where(watchlist_version.c.watchlist_id == watchlist_id)
        .order_by(watchlist_version.c.version.desc())
        .limit(1)
    ).first()
    return None if r is None else VersionRecord.from_row(r)


def current_lists(conn: Connection) -> list[CurrentList]:
    """Every list that has a version, with its newest version (one query)."""
    newest = (
        select(watchlist_version.c.watchlist_id, func.max(watchlist_version.c.version).label("v"))
        .group_by(watchlist_version.c.watchlist_id)
        .subquery()
    )
    q = (
        select(watchlist.c.id, watchlist.c.name, watchlist.c.purpose, newest.c.v, watchlist_version.c.sha256)
        .join(newest, newest.c.watchlist_id == watchlist.c.id)
        .join(
            watchlist_version,
            and_(
                watchlist_version.c.watchlist_id == watchlist.c.id,
                watchlist_version.c.version == newest.c.v,
            ),
        )
        .order_by(watchlist.c.id)
    )
    return [CurrentList(r.id, r.name, Purpose(r.purpose), r.v, bytes(r.sha256)) for r in conn.execute(q)]


def add_version(
    conn: Connection,
    *,
    watchlist_id: int,
    version: int,
    at: dt.datetime,
    by: str,
    sha256: bytes,
    added: int,
    removed: int,
    changed: int,
    total: int,
) -> None:
    conn.execute(
        insert(watchlist_version).values(
            watchlist_id=watchlist_id,
            version=version,
            imported_at=at,
            imported_by=by,
            sha256=sha256,
            added=added,
            removed=removed,
            changed=changed,
            total=total,
            rescreened_at=None,
        )
    )


def mark_rescreened(conn: Connection, watchlist_id: int, version: int, *, at: dt.datetime) -> None:
    conn.execute(
        update(watchlist_version)
        .where(watchlist_version.c.watchlist_id == watchlist_id, watchlist_version.c.version == version)
        .values(rescreened_at=at)
    )


def current_fingerprints(conn: Connection, watchlist_id: int) -> dict[str, str]:
    """{entity_id: fingerprint} of the list's current entries."""
    rows = conn.execute(
        select(watchlist_entry.c.entity_id, watchlist_entry.c.fingerprint).where(
            watchlist_entry.c.watchlist_id == watchlist_id, watchlist_entry.c.removed_version.is_(None)
        )
    )
    return {r.entity_id: r.fingerprint for r in rows}


def current_entries(conn: Connection, watchlist_id: int) -> list[WatchlistEntry]:
    rows = conn.execute(
        select(watchlist_entry.c.data)
        .where(watchlist_entry.c.watchlist_id == watchlist_id, watchlist_entry.c.removed_version.is_(None))
        .order_by(watchlist_entry.c.entity_id)
    )
    return [entry_from_data(r.data) for r in rows]


def entries_at(
    conn: Connection, watchlist_id: int, entity_ids: Sequence[str], version: int
) -> dict[str, tuple[WatchlistEntry, str]]:
    """{entity_id: (entry, fingerprint)} as they were in list `version`."""
    out: dict[str, tuple[WatchlistEntry, str]] = {}
    for chunk in chunks(list(entity_ids)):
        rows = conn.execute(
            select(watchlist_entry.c.entity_id, watchlist_entry.c.data, watchlist_entry.c.fingerprint).where(
                watchlist_entry.c.watchlist_id == watchlist_id,
                watchlist_entry.c.entity_id.in_(chunk),
                _valid_at(version),
            )
        )
        for r in rows:
            out[r.entity_id] = (entry_from_data(r.data), r.fingerprint)
    return out


def _valid_at(version: int) -> Any:
    return and_(
        watchlist_entry.c.first_version <= version,
        or_(watchlist_entry.c.removed_version.is_(None), watchlist_entry.c.removed_version > version),
    )


def entries_at_version(conn: Connection, watchlist_id: int, version: int) -> list[tuple[WatchlistEntry, str]]:
    """(entry, fingerprint) of the whole list as it was in `version`: exact even while a
    newer version is being imported, so a hit never names a version it was not made from."""
    rows = conn.execute(
        select(watchlist_entry.c.data, watchlist_entry.c.fingerprint)
        .where(watchlist_entry.c.watchlist_id == watchlist_id, _valid_at(version))
        .order_by(watchlist_entry.c.entity_id)
    )
    return [(entry_from_data(r.data), r.fingerprint) for r in rows]


def entries_first_in(conn: Connection, watchlist_id: int, version: int) -> list[tuple[WatchlistEntry, str]]:
    """(entry, fingerprint) of the entries `version` added or changed: its delta to screen."""
    rows = conn.execute(
        select(watchlist_entry.c.data, watchlist_entry.c.fingerprint)
        .where(watchlist_entry.c.watchlist_id == watchlist_id, watchlist_entry.c.first_version == version)
        .order_by(watchlist_entry.c.entity_id)
    )
    return [(entry_from_data(r.data), r.fingerprint) for r in rows]


def entities_superseded_in(conn: Connection, watchlist_id: int, version: int) -> list[str]:
    """Entity ids whose entry `version` changed (an old row ended and a new one began)."""
    ended = select(watchlist_entry.c.entity_id).where(
        watchlist_entry.c.watchlist_id == watchlist_id, watchlist_entry.c.removed_version == version
    )
    rows = conn.execute(
        select(watchlist_entry.c.entity_id)
        .where(
            watchlist_entry.c.watchlist_id == watchlist_id,
            watchlist_entry.c.first_version == version,
            watchlist_entry.c.entity_id.in_(ended),
        )
        .order_by(watchlist_entry.c.entity_id)
    )
    return [r.entity_id for r in rows]


def retire_entries(conn: Connection, watchlist_id: int, entity_ids: Sequence[str], *, version: int) -> None:
    """End the current row of each entity at `version` (removed or superseded)."""
    for chunk in chunks(list(entity_ids)):
        conn.execute(
            update(watchlist_entry)
            .where(
                watchlist_entry.c.watchlist_id == watchlist_id,
                watchlist_entry.c.entity_id.in_(chunk),
                watchlist_entry.c.removed_version.is_(None),
            )
            .values(removed_version=version)
        )


def add_entries(
    conn: Connection, watchlist_id: int, entries: Sequence[tuple[WatchlistEntry, str]], *, version: int
) -> None:
    rows = [
        {
            "watchlist_id": watchlist_id,
            "entity_id": e.entity_id,
            "first_version": version,
            "removed_version": None,
            "fingerprint": fp,
            "data": entry_to_data(e),
        }
        for e, fp in entries
    ]
    for chunk in chunks(rows, 1000):
        conn.execute(insert(watchlist_entry), list(chunk))
