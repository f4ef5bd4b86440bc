"""Hits (`hit`): an automated match waiting for, or carrying, a person's decision (Art. 6(5)).

A hit holds ids, versions, a score and per-feature numbers only: no name, date of birth or
document. The explanation a reviewer reads is rendered when the hit is opened, from the
decrypted booking and the stored entry. `person_digest` is a keyed HMAC over the
traveller's normalised name, date of birth and document (never a plain hash), used only to
apply suppressions; NULL when the traveller has neither a date of birth nor a document,
because a suppression on a bare name would silence every namesake. Part of the screening
store (`store/screening.py` re-exports it).
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
    CheckConstraint,
    Column,
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
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.audit.models import Purpose
from pnrguard.errors import N_, NotFoundError
from pnrguard.store.db import IN_CHUNK, chunks, in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime, booking


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
    for chunk in chunks(sorted(set(booking_ids))):
        q = select(hit).where(hit.c.booking_id.in_(chunk))
        if keys is not None:
            if not keys:
                return out
            if len(keys) <= IN_CHUNK:
                q = q.where(hit.c.match_key.in_(keys))
        for r in conn.execute(q):
            rec = HitRecord.from_row(r)
            if keys is None or rec.match_key in keys:
                out[rec.key] = rec
    return out


def insert_hits(conn: Connection, records: Sequence[HitRecord]) -> None:
    for chunk in chunks(list(records)):
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
    for chunk in chunks(list(entity_ids)):
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
        for part in chunks(found):
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


# --- hits counted per rule ------------------------------------------------------------------


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
