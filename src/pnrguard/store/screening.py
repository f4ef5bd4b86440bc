"""Screening storage: watchlists and their versions, criteria rules, hits and suppressions.

What is stored and why (docs/watchlists.md, "Hits, versions and rescreening"):

- `watchlist`, `watchlist_version`, `watchlist_entry`: the lists a PIU is entitled to hold
  are reference data published by their authors, so they are stored plain. Every import
  that changes a list is a new *version* (counts of the delta, SHA-256 of the file); an
  entry row is one content version of a listed person, valid from `first_version` until
  `removed_version` (exclusive, NULL while current). Nothing is overwritten, so the entry a
  hit was produced by can always be shown to the reviewer, even after the list moved on.
- `criteria_rule`: one row per rule *version*; a change is a new version, never an update,
  so every hit names the exact expression that produced it (C-817/19: transparency).
- `hit`: an automated match waiting for, or carrying, a person's decision (Art. 6(5)). It
  holds ids, versions, a score and per-feature numbers only: no name, date of birth or
  document. The explanation a reviewer reads is rendered when the hit is opened, from the
  decrypted booking and the stored entry. `person_digest` is a keyed HMAC over the
  traveller's normalised name, date of birth and document (never a plain hash), used only
  to apply suppressions; NULL when the traveller has neither a date of birth nor a
  document, because a suppression on a bare name would silence every namesake.
- `suppression`: a negative review kept so the same false match does not come back
  (Art. 12(5)): (person digest, match key), for list matches bound to the entry's
  fingerprint at the time, so a changed entry is looked at again.

Functions here work on the caller's `Connection` and never commit; the use cases in
`service/screening.py` own the transactions. Schema only via Alembic
(`migrations/versions/0003_screening.py`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.audit.models import Purpose
from pnrguard.errors import N_, NotFoundError
from pnrguard.screening.criteria import Rule
from pnrguard.screening.models import Gender, IdentityDocument, WatchlistEntry
from pnrguard.screening.watchlists import parse_partial_date
from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime, booking, not_restricted

__all__ = [
    "CurrentList",
    "HitKind",
    "HitRecord",
    "HitStatus",
    "VersionRecord",
    "WatchlistRecord",
    "criteria_rule",
    "entry_from_data",
    "entry_to_data",
    "hit",
    "suppression",
    "watchlist",
    "watchlist_entry",
    "watchlist_version",
]

#: Rows per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits.
_IN_CHUNK = 500


class HitKind(StrEnum):
    WATCHLIST = "watchlist"
    RULE = "rule"


class HitStatus(StrEnum):
    """`open` waits for a person; `confirmed` / `dismissed` are a person's decision;
    `withdrawn` is the system's: the list entry that produced an unreviewed hit was removed
    (or changed so that it no longer matches)."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    WITHDRAWN = "withdrawn"



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

criteria_rule = Table(
    "criteria_rule",
    metadata,
    Column("rule_id", String(40), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("expression", Text, nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("review_date", Date, nullable=False),
    Column("expires", Date, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
)

HIT_KINDS = tuple(k.value for k in HitKind)
HIT_STATUSES = tuple(s.value for s in HitStatus)

hit = Table(
    "hit",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), nullable=False),
    Column("booking_version", Integer, nullable=False),
    Column("traveller_ref", String(32), nullable=False),
    Column("kind", String(9), nullable=False),
    Column("purpose", String(64), nullable=False),
    # "list:<watchlist name>:<entity_id>" or "rule:<rule_id>": what a suppression names.
    Column("match_key", String(200), nullable=False),
    Column("watchlist_id", Integer, nullable=True),
    Column("list_version", Integer, nullable=True),
    Column("entity_id", String(128), nullable=True),
    Column("fingerprint", String(64), nullable=True),  # of the list entry that matched
    Column("rule_id", String(40), nullable=True),
    Column("rule_version", Integer, nullable=True),
    Column("score", Float, nullable=False),
    # [[feature, value], ...]: numbers only; the texts are rendered on opening the hit.
    Column("features", JSON, nullable=False),
    Column("person_digest", LargeBinary(32), nullable=True),
    Column("status", String(10), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reviewed_by", String(64), nullable=True),
    Column("reviewed_at", UTCDateTime(), nullable=True),
    Column("review_reason", Text, nullable=True),
    # 0015_traveller: the linked traveller (one person on one flight, PNR and API): one hit
    # per traveller and match key; a second source attaches in `hit_source`.
    Column("traveller_id", String(ID_LENGTH), nullable=True),
    # 0021_triage: who works on the hit (a username; NULL: nobody yet) and its priority
    # (0 normal, 1 high, 2 urgent). Staff data and a number: nothing about the traveller.
    Column("assignee", String(64), nullable=True),
    Column("priority", Integer, nullable=False, server_default="0"),
    UniqueConstraint("booking_id", "traveller_ref", "match_key"),
    ForeignKeyConstraint(
        ["watchlist_id", "list_version"], ["watchlist_version.watchlist_id", "watchlist_version.version"]
    ),
    ForeignKeyConstraint(["rule_id", "rule_version"], ["criteria_rule.rule_id", "criteria_rule.version"]),
    CheckConstraint(in_values("kind", HIT_KINDS), name="kind"),
    CheckConstraint(in_values("status", HIT_STATUSES), name="status"),
    CheckConstraint(
        "(kind = 'watchlist' AND watchlist_id IS NOT NULL AND list_version IS NOT NULL"
        " AND entity_id IS NOT NULL AND rule_id IS NULL AND rule_version IS NULL)"
        " OR (kind = 'rule' AND rule_id IS NOT NULL AND rule_version IS NOT NULL"
        " AND watchlist_id IS NULL AND list_version IS NULL AND entity_id IS NULL)",
        name="source",
    ),
    Index("ix_hit_status_created_at", "status", "created_at"),
    Index("ix_hit_watchlist_entity", "watchlist_id", "entity_id"),
    Index("ix_hit_rule_id", "rule_id"),
    Index("ix_hit_traveller_id", "traveller_id", "match_key"),
    Index("ix_hit_assignee_status", "assignee", "status"),
)

suppression = Table(
    "suppression",
    metadata,
    Column("hit_id", String(ID_LENGTH), ForeignKey("hit.id"), primary_key=True),
    Column("person_digest", LargeBinary(32), nullable=False),
    Column("match_key", String(200), nullable=False),
    # The list entry's fingerprint when dismissed (NULL for rules): a changed entry says
    # something new about the person and lifts the suppression.
    Column("fingerprint", String(64), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_suppression_person_digest", "person_digest", "match_key"),
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


def _chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
    for chunk in _chunks(list(entity_ids)):
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
    for chunk in _chunks(list(entity_ids)):
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
    for chunk in _chunks(rows, 1000):
        conn.execute(insert(watchlist_entry), list(chunk))


# --- criteria rules ------------------------------------------------------------------------


def _rule_from_row(r: Row[Any]) -> Rule:
    return Rule(
        rule_id=r.rule_id,
        version=r.version,
        name=r.name,
        expression=r.expression,
        purpose=Purpose(r.purpose),
        owner=r.owner,
        review_date=r.review_date,
        expires=r.expires,
        description=r.description,
        enabled=bool(r.enabled),
    )


def insert_rule(conn: Connection, rule: Rule, *, at: dt.datetime, by: str) -> None:
    conn.execute(
        insert(criteria_rule).values(
            rule_id=rule.rule_id,
            version=rule.version,
            name=rule.name,
            description=rule.description,
            expression=rule.expression,
            purpose=rule.purpose.value,
            owner=rule.owner,
            review_date=rule.review_date,
            expires=rule.expires,
            enabled=rule.enabled,
            created_at=at,
            created_by=by,
        )
    )


def latest_rules(conn: Connection) -> list[Rule]:
    """The newest version of every rule, by rule id (active or not: callers filter)."""
    newest = (
        select(criteria_rule.c.rule_id, func.max(criteria_rule.c.version).label("v"))
        .group_by(criteria_rule.c.rule_id)
        .subquery()
    )
    q = (
        select(criteria_rule)
        .join(
            newest,
            and_(newest.c.rule_id == criteria_rule.c.rule_id, newest.c.v == criteria_rule.c.version),
        )
        .order_by(criteria_rule.c.rule_id)
    )
    return [_rule_from_row(r) for r in conn.execute(q)]


def latest_rule(conn: Connection, rule_id: str) -> Rule | None:
    r = conn.execute(
        select(criteria_rule)
        .where(criteria_rule.c.rule_id == rule_id)
        .order_by(criteria_rule.c.version.desc())
        .limit(1)
    ).first()
    return None if r is None else _rule_from_row(r)


def rule_version(conn: Connection, rule_id: str, version: int) -> Rule | None:
    r = conn.execute(
        select(criteria_rule).where(criteria_rule.c.rule_id == rule_id, criteria_rule.c.version == version)
    ).first()
    return None if r is None else _rule_from_row(r)


def rule_hit_counts(conn: Connection) -> dict[str, Counter[str]]:
    """{rule_id: Counter(status -> hits)}, over every version of each rule."""
    rows = conn.execute(
        select(hit.c.rule_id, hit.c.status, func.count().label("n"))
        .where(hit.c.kind == HitKind.RULE.value)
        .group_by(hit.c.rule_id, hit.c.status)
    )
    out: dict[str, Counter[str]] = {}
    for r in rows:
        out.setdefault(r.rule_id, Counter())[r.status] = int(r.n)
    return out


# --- hits ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HitRecord:
    """A stored hit. Ids, versions and numbers only: nothing here names the traveller."""

    id: str
    booking_id: str
    booking_version: int
    traveller_ref: str
    kind: HitKind
    purpose: Purpose
    match_key: str
    watchlist_id: int | None
    list_version: int | None
    entity_id: str | None
    fingerprint: str | None
    rule_id: str | None
    rule_version: int | None
    score: float
    features: tuple[tuple[str, float], ...]
    person_digest: bytes | None
    status: HitStatus
    created_at: dt.datetime
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    review_reason: str | None = None
    traveller_id: str | None = None
    assignee: str | None = None
    priority: int = 0

    @classmethod
    def from_row(cls, r: Row[Any]) -> HitRecord:
        return cls(
            id=r.id,
            booking_id=r.booking_id,
            booking_version=r.booking_version,
            traveller_ref=r.traveller_ref,
            kind=HitKind(r.kind),
            purpose=Purpose(r.purpose),
            match_key=r.match_key,
            watchlist_id=r.watchlist_id,
            list_version=r.list_version,
            entity_id=r.entity_id,
            fingerprint=r.fingerprint,
            rule_id=r.rule_id,
            rule_version=r.rule_version,
            score=float(r.score),
            features=tuple((str(f), float(v)) for f, v in r.features),
            person_digest=bytes(r.person_digest) if r.person_digest is not None else None,
            status=HitStatus(r.status),
            created_at=r.created_at,
            reviewed_by=r.reviewed_by,
            reviewed_at=r.reviewed_at,
            review_reason=r.review_reason,
            traveller_id=r.traveller_id,
            assignee=getattr(r, "assignee", None),
            priority=int(getattr(r, "priority", 0) or 0),
        )

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes a hit unique: (booking id, traveller ref, match key)."""
        return (self.booking_id, self.traveller_ref, self.match_key)

    def row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "booking_id": self.booking_id,
            "booking_version": self.booking_version,
            "traveller_ref": self.traveller_ref,
            "kind": self.kind.value,
            "purpose": self.purpose.value,
            "match_key": self.match_key,
            "watchlist_id": self.watchlist_id,
            "list_version": self.list_version,
            "entity_id": self.entity_id,
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "rule_version": self.rule_version,
            "score": self.score,
            "features": [[f, v] for f, v in self.features],
            "person_digest": self.person_digest,
            "status": self.status.value,
            "created_at": self.created_at,
            "reviewed_by": self.reviewed_by,
            "reviewed_at": self.reviewed_at,
            "review_reason": self.review_reason,
            "traveller_id": self.traveller_id,
        }


def get_hit(conn: Connection, hit_id: str, *, for_update: bool = False) -> HitRecord:
    q = select(hit).where(hit.c.id == hit_id)
    if for_update:
        q = q.with_for_update()
    r = conn.execute(q).first()
    if r is None:
        raise NotFoundError(N_("hit %(hit_id)s not found"), hit_id=hit_id)
    return HitRecord.from_row(r)


def hits_for(
    conn: Connection, booking_ids: Sequence[str], match_keys: Iterable[str] | None = None
) -> dict[tuple[str, str, str], HitRecord]:
    """Existing hits of these bookings (optionally only these match keys), by `HitRecord.key`."""
    keys = sorted(set(match_keys)) if match_keys is not None else None
    out: dict[tuple[str, str, str], HitRecord] = {}
    for chunk in _chunks(sorted(set(booking_ids))):
        q = select(hit).where(hit.c.booking_id.in_(chunk))
        if keys is not None:
            if not keys:
                return out
            if len(keys) <= _IN_CHUNK:
                q = q.where(hit.c.match_key.in_(keys))
        for r in conn.execute(q):
            rec = HitRecord.from_row(r)
            if keys is None or rec.match_key in keys:
                out[rec.key] = rec
    return out


def insert_hits(conn: Connection, records: Sequence[HitRecord]) -> None:
    for chunk in _chunks(list(records)):
        conn.execute(insert(hit), [r.row() for r in chunk])


_REFRESHED = (
    "booking_version", "list_version", "fingerprint", "rule_version", "score", "features",
    "person_digest", "status", "reviewed_by", "reviewed_at", "review_reason",
)  # fmt: skip


def refresh_hits(conn: Connection, records: Sequence[HitRecord]) -> None:
    """Write the producing versions, score, features and status of existing hits (an open
    hit brought up to date, or a withdrawn one reopened); ids and keys never change."""
    if not records:
        return
    stmt = (
        update(hit)
        .where(hit.c.id == bindparam("b_id"))
        .values({name: bindparam(f"b_{name}") for name in _REFRESHED})
    )
    params = []
    for r in records:
        row = r.row()
        params.append({"b_id": r.id, **{f"b_{name}": row[name] for name in _REFRESHED}})
    conn.execute(stmt, params)


def set_review(
    conn: Connection,
    hit_id: str,
    *,
    status: HitStatus,
    by: str,
    at: dt.datetime,
    reason: str,
    only_if: HitStatus = HitStatus.OPEN,
) -> bool:
    """Record a decision on a hit that is still `only_if`; False if it no longer is (another
    reviewer, or a withdrawal, came first)."""
    done = conn.execute(
        update(hit)
        .where(hit.c.id == hit_id, hit.c.status == only_if.value)
        .values(status=status.value, reviewed_by=by, reviewed_at=at, review_reason=reason)
    )
    return bool(done.rowcount)


def withdraw_open_hits(
    conn: Connection,
    *,
    watchlist_id: int,
    entity_ids: Sequence[str],
    at: dt.datetime,
    by: str,
    reason: str,
    before_version: int | None = None,
    active_bookings_only: bool = False,
) -> list[str]:
    """Close the open hits of these list entries as `withdrawn`; returns their ids.

    `before_version`: only hits produced by an older list version (a rescreen refreshed the
    others, so they still match). `active_bookings_only`: leave hits of masked or deleted
    bookings alone (they could not be rescreened, so nothing says they stopped matching).
    """
    ids: list[str] = []
    for chunk in _chunks(list(entity_ids)):
        cond = [
            hit.c.kind == HitKind.WATCHLIST.value,
            hit.c.watchlist_id == watchlist_id,
            hit.c.entity_id.in_(chunk),
            hit.c.status == HitStatus.OPEN.value,
        ]
        if before_version is not None:
            cond.append(hit.c.list_version < before_version)
        if active_bookings_only:
            cond.append(hit.c.booking_id.in_(select(booking.c.id).where(booking.c.state == "active")))
        found = [r.id for r in conn.execute(select(hit.c.id).where(*cond).order_by(hit.c.id))]
        for part in _chunks(found):
            conn.execute(
                update(hit)
                .where(hit.c.id.in_(part), hit.c.status == HitStatus.OPEN.value)
                .values(
                    status=HitStatus.WITHDRAWN.value, reviewed_by=by, reviewed_at=at, review_reason=reason
                )
            )
        ids += found
    return ids


def count_hits(conn: Connection, **where: Any) -> int:
    q = select(func.count()).select_from(hit)
    for name, value in where.items():
        q = q.where(hit.c[name] == (value.value if isinstance(value, StrEnum) else value))
    return int(conn.execute(q).scalar_one())


# --- suppressions --------------------------------------------------------------------------


def add_suppression(
    conn: Connection,
    *,
    hit_id: str,
    person_digest: bytes,
    match_key: str,
    fingerprint: str | None,
    at: dt.datetime,
    by: str,
    reason: str,
) -> None:
    conn.execute(
        insert(suppression).values(
            hit_id=hit_id,
            person_digest=person_digest,
            match_key=match_key,
            fingerprint=fingerprint,
            created_at=at,
            created_by=by,
            reason=reason,
        )
    )


def suppressions_for(conn: Connection, digests: Iterable[bytes]) -> dict[tuple[bytes, str], set[str | None]]:
    """{(person digest, match key): fingerprints suppressed (None = any)} for these people."""
    out: dict[tuple[bytes, str], set[str | None]] = {}
    for chunk in _chunks(sorted(set(digests))):
        rows = conn.execute(
            select(suppression.c.person_digest, suppression.c.match_key, suppression.c.fingerprint).where(
                suppression.c.person_digest.in_(chunk)
            )
        )
        for r in rows:
            out.setdefault((bytes(r.person_digest), r.match_key), set()).add(r.fingerprint)
    return out


# --- bookings to rescreen -------------------------------------------------------------------


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
