"""The inbox and the quarantine: facts about every message received, and the unreadable
ones kept whole, encrypted, with their reason.

Like the booking repository (`store.repository`), `MessageRepository` works on a SQLAlchemy
`Connection` inside the caller's transaction and never commits: a message's inbox row, its
bookings and its audit entry commit together or not at all (`service/ingest.py`).

A quarantined message's raw bytes are AES-GCM under their own data key, wrapped by the key
store with `_QUARANTINE_CONTEXT` + the message id (rewrapped by `service.keys`); they are
dropped at the end of their retention (`purge_raw`), the reason and digest kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Row

from pnrguard.errors import N_, NotFoundError
from pnrguard.protection.crypto import AssociatedData, decrypt_field, encrypt_field, new_data_key
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.store.db import chunks
from pnrguard.store.tables import message, quarantine

__all__ = ["MessageRecord", "MessageRepository", "MessageStatus", "QuarantineRecord"]

_QUARANTINE_CONTEXT = b"pnrguard/quarantine-key/v1\x00"


class MessageStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    DISCARDED = "discarded"


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """An inbox row: facts about a message, no content."""

    id: str
    received_at: dt.datetime
    sha256: bytes | None
    size: int
    message_type: str
    sender: str
    channel: str
    status: MessageStatus
    duplicate_of: str | None
    bookings_new: int
    bookings_new_version: int
    bookings_duplicate: int
    deviations: dict[str, int]
    minimisation: dict[str, int]

    @classmethod
    def from_row(cls, r: Row[Any]) -> MessageRecord:
        return cls(
            id=r.id,
            received_at=r.received_at,
            sha256=bytes(r.sha256) if r.sha256 is not None else None,
            size=r.size,
            message_type=r.message_type,
            sender=r.sender,
            channel=r.channel,
            status=MessageStatus(r.status),
            duplicate_of=r.duplicate_of,
            bookings_new=r.bookings_new,
            bookings_new_version=r.bookings_new_version,
            bookings_duplicate=r.bookings_duplicate,
            deviations=dict(r.deviations),
            minimisation=dict(r.minimisation),
        )


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    message_id: str
    quarantined_at: dt.datetime
    reason_code: str
    reason_text: str
    attempts: int
    size: int


class MessageRepository:
    """The inbox and the quarantine, on one connection, inside the caller's transaction."""

    def __init__(self, conn: Connection, keystore: KeyStore) -> None:
        self._conn = conn
        self._keystore = keystore

    def by_sha256(self, digest: bytes) -> MessageRecord | None:
        row = self._conn.execute(select(message).where(message.c.sha256 == digest)).first()
        return MessageRecord.from_row(row) if row else None

    def get(self, message_id: str) -> MessageRecord:
        row = self._conn.execute(select(message).where(message.c.id == message_id)).first()
        if row is None:
            raise NotFoundError(N_("message %(message_id)s not found"), message_id=message_id)
        return MessageRecord.from_row(row)

    def add(
        self,
        *,
        message_id: str,
        received_at: dt.datetime,
        sha256: bytes | None,
        size: int,
        channel: str,
        status: MessageStatus,
        duplicate_of: str | None = None,
        message_type: str = "",
        sender: str = "",
    ) -> None:
        self._conn.execute(
            insert(message).values(
                id=message_id,
                received_at=received_at,
                sha256=sha256,
                size=size,
                message_type=message_type[:16],
                sender=sender[:64],
                channel=channel[:16],
                status=status.value,
                duplicate_of=duplicate_of,
                deviations={},
                minimisation={},
                sensitive={},
            )
        )

    def set_outcome(
        self,
        message_id: str,
        *,
        status: MessageStatus,
        message_type: str,
        sender: str,
        bookings_new: int,
        bookings_new_version: int,
        bookings_duplicate: int,
        deviations: dict[str, int],
        minimisation: dict[str, int],
    ) -> None:
        self._conn.execute(
            update(message)
            .where(message.c.id == message_id)
            .values(
                status=status.value,
                message_type=message_type[:16],
                sender=sender[:64],
                bookings_new=bookings_new,
                bookings_new_version=bookings_new_version,
                bookings_duplicate=bookings_duplicate,
                deviations=deviations,
                minimisation=minimisation,
            )
        )

    # -- quarantine ----------------------------------------------------------------------
    def quarantine(
        self, message_id: str, raw: bytes, *, reason_code: str, reason_text: str, at: dt.datetime
    ) -> None:
        """Keep an unreadable message whole, encrypted under its own data key."""
        key = new_data_key()
        wrapped = self._keystore.wrap(key, context=_QUARANTINE_CONTEXT + message_id.encode("ascii"))
        blob = encrypt_field(key, raw, aad=AssociatedData("quarantine", "raw_blob", message_id, 1))
        existing = self._conn.execute(
            select(quarantine.c.attempts).where(quarantine.c.message_id == message_id)
        ).first()
        values = {
            "quarantined_at": at,
            "reason_code": reason_code[:32],
            "reason_text": reason_text[:200],
            "kek_version": wrapped.kek_version,
            "wrapped_key": wrapped.blob,
            "raw_blob": blob,
        }
        if existing is None:
            self._conn.execute(insert(quarantine).values(message_id=message_id, attempts=1, **values))
        else:
            self._conn.execute(
                update(quarantine)
                .where(quarantine.c.message_id == message_id)
                .values(attempts=existing.attempts + 1, **values)
            )

    def quarantined(self, *, before: dt.datetime | None = None) -> list[QuarantineRecord]:
        """Quarantined messages, oldest first (no content)."""
        q = select(
            quarantine.c.message_id,
            quarantine.c.quarantined_at,
            quarantine.c.reason_code,
            quarantine.c.reason_text,
            quarantine.c.attempts,
            message.c.size,
        ).select_from(quarantine.join(message, message.c.id == quarantine.c.message_id))
        if before is not None:
            q = q.where(quarantine.c.quarantined_at < before)
        rows = self._conn.execute(q.order_by(quarantine.c.quarantined_at, quarantine.c.message_id))
        return [
            QuarantineRecord(r.message_id, r.quarantined_at, r.reason_code, r.reason_text, r.attempts, r.size)
            for r in rows
        ]

    def raw(self, message_id: str) -> bytes:
        """Decrypt a quarantined message's raw bytes (for reprocessing or a DPO's export).
        `NotFoundError` once they expired (`purge_raw`): only the reason and digest are left."""
        r = self._conn.execute(select(quarantine).where(quarantine.c.message_id == message_id)).first()
        if r is None:
            raise NotFoundError(N_("message %(message_id)s is not in quarantine"), message_id=message_id)
        if r.raw_blob is None:
            raise NotFoundError(
                N_("message %(message_id)s: its raw bytes expired; only the reason is kept"),
                message_id=message_id,
            )
        key = self._keystore.unwrap(
            WrappedKey(r.kek_version, bytes(r.wrapped_key)),
            context=_QUARANTINE_CONTEXT + message_id.encode("ascii"),
        )
        return decrypt_field(
            key, bytes(r.raw_blob), aad=AssociatedData("quarantine", "raw_blob", message_id, 1)
        )

    def purge_raw(self, *, received_before: dt.datetime) -> list[str]:
        """Drop the raw bytes (and their wrapped key) of every quarantined message received
        before `received_before`; the entry keeps its reason, and the message row its
        digest. Counted from receipt, not from the last quarantining, so reprocessing can
        never extend how long the bytes live. Returns the message ids."""
        ids = list(
            self._conn.execute(
                select(quarantine.c.message_id)
                .select_from(quarantine.join(message, message.c.id == quarantine.c.message_id))
                .where(quarantine.c.raw_blob.is_not(None), message.c.received_at < received_before)
                .order_by(quarantine.c.message_id)
            ).scalars()
        )
        for chunk in chunks(ids):
            self._conn.execute(
                update(quarantine)
                .where(quarantine.c.message_id.in_(chunk))
                .values(raw_blob=None, wrapped_key=None, kek_version=None)
            )
        return ids

    def release(self, message_id: str) -> None:
        """Remove a message from quarantine after it was reprocessed (the caller sets the
        message's new outcome). Deleting the row destroys the wrapped key with it."""
        self._conn.execute(delete(quarantine).where(quarantine.c.message_id == message_id))

    def discard(self, message_id: str) -> bool:
        """Delete a quarantined message for good: its raw bytes and key go; the inbox row
        stays as `discarded` without its digest, so a re-send is read afresh."""
        gone = self._conn.execute(delete(quarantine).where(quarantine.c.message_id == message_id))
        if not gone.rowcount:
            return False
        self._conn.execute(
            update(message)
            .where(message.c.id == message_id)
            .values(status=MessageStatus.DISCARDED.value, sha256=None)
        )
        # Duplicate receipts of it point to a message that no longer holds anything.
        return True

    def many(self, ids: Iterable[str]) -> list[MessageRecord]:
        """Inbox rows by id (unknown ids are skipped)."""
        out: list[MessageRecord] = []
        for chunk in chunks(list(ids)):
            rows = self._conn.execute(select(message).where(message.c.id.in_(chunk)))
            out += [MessageRecord.from_row(r) for r in rows]
        return out
