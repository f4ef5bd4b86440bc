"""Notes on a hit: what analysts write while they work on it, and the history of its decisions.

Why a table of its own (migration ``0021_triage``): a hit collects several texts over its
life (working notes, the reason a supervisor reopened it, the decision the reopening set
aside), each by a named person at a time; the `hit` row keeps only the current decision.

A note's text may name or describe the traveller, so it is encrypted at its first write
exactly like a hit's review reason (`store/texts.py`: under the booking's identity key, which
masking seals and deletion destroys); `copies.delete_copies` also erases it with the booking.

Every write of note text goes through `stored_note_text` and every read through
`read_note_text`.

Functions here run on the caller's `Connection` and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, insert, select
from sqlalchemy.engine import Connection

from pnrguard.protection.keystore import KeyStore
from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime
from pnrguard.store.texts import TextKeys, open_text, seal_text

__all__ = [
    "HitNote",
    "NoteKind",
    "add_note",
    "hit_note",
    "notes_of",
    "read_note_text",
    "stored_note_text",
]


class NoteKind(StrEnum):
    NOTE = "note"  # an analyst's working note
    REOPEN = "reopen"  # a supervisor's reason for reopening a decided hit
    DECISION = "decision"  # the decision a reopening set aside (its reason, by, at)


hit_note = Table(
    "hit_note",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("hit_id", String(ID_LENGTH), ForeignKey("hit.id"), nullable=False),
    # The booking the hit concerns: masking seals and deletion erases the text with it.
    Column("booking_id", String(ID_LENGTH), ForeignKey("booking.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    # What the decision set aside was ("confirmed", "dismissed"); NULL for other kinds.
    Column("status", String(10), nullable=True),
    Column("text", Text, nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint(in_values("kind", tuple(k.value for k in NoteKind)), name="kind"),
    Index("ix_hit_note_hit_id", "hit_id", "created_at"),
    Index("ix_hit_note_booking_id", "booking_id"),
)


@dataclass(frozen=True, slots=True)
class HitNote:
    id: str
    hit_id: str
    kind: NoteKind
    status: str | None
    text: str | None  # as `read_note_text` returns it: never a sealed blob
    created_by: str
    created_at: dt.datetime


def stored_note_text(keys: TextKeys, text: str, *, note_id: str, booking_id: str) -> str:
    """The value written to ``hit_note.text`` for `text` (the one write path): encrypted under
    the booking's identity key, bound to this row."""
    return seal_text(keys.for_booking(booking_id), text, table="hit_note", column="text", row_id=note_id)


def read_note_text(
    conn: Connection,
    stored: str | None,
    *,
    note_id: str,
    booking_id: str,
    keystore: KeyStore,
    unseal: KeyStore | None = None,
) -> str | None:
    """``hit_note.text`` as a page may show it (the one read path): a masked booking's note
    shows as masked, unless `unseal` (the key store of a caller that checked and logged a
    decided judicial unmasking of this booking) opens it."""
    unsealed = (booking_id,) if unseal is not None else ()
    keys = TextKeys(conn, keystore, seal_keystore=unseal, unsealed=unsealed)
    return open_text(keys, stored, table="hit_note", column="text", row_id=note_id, booking_id=booking_id)


def add_note(
    conn: Connection,
    *,
    keystore: KeyStore,
    note_id: str,
    hit_id: str,
    booking_id: str,
    kind: NoteKind,
    text: str | None,
    by: str,
    at: dt.datetime,
    status: str | None = None,
) -> None:
    conn.execute(
        insert(hit_note).values(
            id=note_id,
            hit_id=hit_id,
            booking_id=booking_id,
            kind=kind.value,
            status=status,
            text=None
            if text is None
            else stored_note_text(TextKeys(conn, keystore), text, note_id=note_id, booking_id=booking_id),
            created_by=by,
            created_at=at,
        )
    )


def notes_of(
    conn: Connection, hit_id: str, *, keystore: KeyStore, unseal: KeyStore | None = None
) -> list[HitNote]:
    """A hit's notes, oldest first."""
    rows = conn.execute(
        select(hit_note).where(hit_note.c.hit_id == hit_id).order_by(hit_note.c.created_at, hit_note.c.id)
    ).all()
    return [
        HitNote(
            r.id,
            r.hit_id,
            NoteKind(r.kind),
            r.status,
            read_note_text(
                conn, r.text, note_id=r.id, booking_id=r.booking_id, keystore=keystore, unseal=unseal
            ),
            r.created_by,
            r.created_at,
        )
        for r in rows
    ]
