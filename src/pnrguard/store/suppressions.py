"""Suppressions (`suppression`): a negative review kept so the same false match does not
come back (Art. 12(5)).

(person digest, match key), for list matches bound to the entry's fingerprint at the time,
so a changed entry is looked at again. Part of the screening store (`store/screening.py`
re-exports it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, Table, Text, insert, select
from sqlalchemy.engine import Connection

from pnrguard.store.db import chunks, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

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
    for chunk in chunks(sorted(set(digests))):
        rows = conn.execute(
            select(suppression.c.person_digest, suppression.c.match_key, suppression.c.fingerprint).where(
                suppression.c.person_digest.in_(chunk)
            )
        )
        for r in rows:
            out.setdefault((bytes(r.person_digest), r.match_key), set()).add(r.fingerprint)
    return out
