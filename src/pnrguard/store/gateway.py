"""Carrier gateway tables and their repository: credentials, the inbox queue, rejections.

What is stored and why (docs/operations.md, "Carrier gateway"):

- `carrier_credential`: one row per token issued to a carrier. Only the SHA-256 of the
  token is kept. The token is 256 random bits, so a plain hash is enough: nobody can
  guess a preimage, and a slow password hash (argon2) would cost tens of milliseconds on
  every push for no gain. `senders` lists the UNB sender ids the carrier may use (its own
  code, a host system acting for it).
- `gateway_inbox`: the durable queue between the push handler and the workers. A row is
  committed before the carrier gets its acknowledgement. Its `payload` is the raw
  interchange, AES-GCM under a per-message data key wrapped by the key store (the raw
  bytes still hold data that must be deleted on arrival); payload and key are set to NULL
  as soon as a worker has ingested the message. The row itself (carrier, control
  reference, digest, outcome, no content) stays for the replay window: the unique
  (carrier, control_ref) key is the replay guard.
- `gateway_quarantine`: every push the gateway refused after authenticating the carrier:
  who, when, how big, which reason. Never the content: a rejected message was not
  collected, the carrier keeps it and re-sends it once fixed.

The schema is created by Alembic only (`migrations/versions/0004_gateway.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "INBOX_STATUSES",
    "Claimed",
    "Credential",
    "GatewayRepository",
    "InboxRow",
    "carrier_credential",
    "gateway_inbox",
    "gateway_quarantine",
]

INBOX_STATUSES = ("queued", "processing", "done", "failed")



carrier_credential = Table(
    "carrier_credential",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("carrier", String(8), nullable=False),
    # Comma-separated UNB sender ids this credential may push as.
    Column("senders", String(200), nullable=False),
    # Comma-separated airline designators whose bookings it may write (0014; NULL: the
    # carrier's own code only).
    Column("designators", String(200), nullable=True),
    Column("token_sha256", LargeBinary(32), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("ix_carrier_credential_carrier", "carrier"),
)

gateway_inbox = Table(
    "gateway_inbox",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("carrier", String(8), nullable=False),
    Column("control_ref", String(35), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", LargeBinary(32), nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Not before this time (retry back-off); a `processing` row whose lease ran out is
    # claimed again (its worker died).
    Column("available_at", UTCDateTime(), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=True),
    Column("claim_token", String(32), nullable=True),
    # The raw interchange, encrypted; NULL once processed.
    Column("kek_version", Integer, nullable=True),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("payload", LargeBinary, nullable=True),
    Column("processed_at", UTCDateTime(), nullable=True),
    Column("message_id", String(ID_LENGTH), ForeignKey("message.id"), nullable=True),
    Column("outcome", String(16), nullable=True),
    # An error class name or code of the last failed attempt; never a message text.
    Column("last_error", String(64), nullable=True),
    CheckConstraint(in_values("status", INBOX_STATUSES), name="status"),
    CheckConstraint(
        "(status IN ('queued', 'processing', 'failed') AND payload IS NOT NULL)"
        " OR (status = 'done' AND payload IS NULL AND wrapped_key IS NULL)",
        name="payload",
    ),
    UniqueConstraint("carrier", "control_ref", name="uq_gateway_inbox_carrier_control_ref"),
    Index("ix_gateway_inbox_status_available_at", "status", "available_at"),
    Index("ix_gateway_inbox_received_at", "received_at"),
    Index("ix_gateway_inbox_message_id", "message_id"),
)

gateway_quarantine = Table(
    "gateway_quarantine",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("carrier", String(8), nullable=False),
    Column("credential_id", String(ID_LENGTH), nullable=True),
    # As the envelope said (codes, never content), "" when it could not be read.
    Column("control_ref", String(35), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", LargeBinary(32), nullable=True),
    Column("http_status", Integer, nullable=False),
    Column("reason_code", String(32), nullable=False),
    # Positions, codes and limits only.
    Column("reason_text", String(200), nullable=False),
    Index("ix_gateway_quarantine_at", "at"),
    Index("ix_gateway_quarantine_carrier_at", "carrier", "at"),
)


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    carrier: str
    senders: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    designators: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Row[Any]) -> Credential:
        return cls(
            id=row.id,
            carrier=row.carrier,
            senders=tuple(s for s in row.senders.split(",") if s),
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            designators=tuple(d for d in (row.designators or "").split(",") if d),
        )

    @property
    def scope(self) -> frozenset[str]:
        """The airline designators whose bookings this credential may write."""
        return frozenset(self.designators or (self.carrier,))


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A queue row without its payload: what a carrier's status query or an operator sees."""

    id: str
    carrier: str
    control_ref: str
    received_at: dt.datetime
    size: int
    sha256: bytes
    status: str
    attempts: int
    processed_at: dt.datetime | None
    message_id: str | None
    outcome: str | None
    last_error: str | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> InboxRow:
        return cls(
            id=row.id,
            carrier=row.carrier,
            control_ref=row.control_ref,
            received_at=row.received_at,
            size=row.size,
            sha256=bytes(row.sha256),
            status=row.status,
            attempts=row.attempts,
            processed_at=row.processed_at,
            message_id=row.message_id,
            outcome=row.outcome,
            last_error=row.last_error,
        )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed queue row with its (still encrypted) payload."""

    id: str
    carrier: str
    sha256: bytes
    attempts: int
    claim_token: str
    kek_version: int
    wrapped_key: bytes
    payload: bytes


_INBOX_META = [c for c in gateway_inbox.c if c.name not in ("payload", "wrapped_key", "kek_version")]


class GatewayRepository:
    """The gateway tables on one connection, inside the caller's transaction (never commits)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- credentials -----------------------------------------------------------------------
    def add_credential(
        self,
        *,
        credential_id: str,
        carrier: str,
        senders: Sequence[str],
        token_sha256: bytes,
        at: dt.datetime,
        designators: Sequence[str] = (),
    ) -> None:
        self._conn.execute(
            insert(carrier_credential).values(
                id=credential_id,
                carrier=carrier,
                designators=",".join(designators) or None,
                senders=",".join(senders),
                token_sha256=token_sha256,
                created_at=at,
            )
        )

    def credentials(self, *, include_revoked: bool = True) -> list[Credential]:
        q = select(carrier_credential).order_by(carrier_credential.c.carrier, carrier_credential.c.created_at)
        if not include_revoked:
            q = q.where(carrier_credential.c.revoked_at.is_(None))
        return [Credential.from_row(r) for r in self._conn.execute(q)]

    def active_by_token_hash(self) -> dict[bytes, Credential]:
        q = select(carrier_credential).where(carrier_credential.c.revoked_at.is_(None))
        return {bytes(r.token_sha256): Credential.from_row(r) for r in self._conn.execute(q)}

    def scope_of(self, carrier: str) -> frozenset[str]:
        """The designators a carrier's active credentials may write (its own code at least)."""
        q = select(carrier_credential).where(
            carrier_credential.c.carrier == carrier, carrier_credential.c.revoked_at.is_(None)
        )
        scope = {carrier}
        for r in self._conn.execute(q):
            scope |= Credential.from_row(r).scope
        return frozenset(scope)

    def revoke(self, credential_id: str, *, at: dt.datetime) -> bool:
        done = self._conn.execute(
            update(carrier_credential)
            .where(carrier_credential.c.id == credential_id, carrier_credential.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return bool(done.rowcount)

    # -- queue: enqueue --------------------------------------------------------------------
    def enqueue(self, values: dict[str, Any]) -> bool:
        """Insert one queue row unless (carrier, control_ref) exists. True if inserted.

        A savepoint keeps a conflict from failing the batch it is part of (several pushes
        commit together, see `service.gateway.Enqueuer`).
        """
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(gateway_inbox).values(**values))
        except IntegrityError:  # the unique (carrier, control_ref) key: a replay or a re-send
            return False
        return True

    def by_control_ref(self, carrier: str, control_ref: str) -> InboxRow | None:
        row = self._conn.execute(
            select(*_INBOX_META).where(
                gateway_inbox.c.carrier == carrier, gateway_inbox.c.control_ref == control_ref
            )
        ).first()
        return InboxRow.from_row(row) if row else None

    def get(self, inbox_id: str) -> InboxRow | None:
        row = self._conn.execute(select(*_INBOX_META).where(gateway_inbox.c.id == inbox_id)).first()
        return InboxRow.from_row(row) if row else None

    def add_rejection(self, values: dict[str, Any]) -> None:
        self._conn.execute(insert(gateway_quarantine).values(**values))

    def rejections(self, *, carrier: str | None = None, limit: int = 100) -> list[Row[Any]]:
        q = select(gateway_quarantine).order_by(gateway_quarantine.c.at.desc()).limit(limit)
        if carrier is not None:
            q = q.where(gateway_quarantine.c.carrier == carrier)
        return list(self._conn.execute(q))

    # -- queue: workers --------------------------------------------------------------------
    def claim(self, *, now: dt.datetime, lease_until: dt.datetime, token: str) -> Claimed | None:
        """Claim the oldest claimable row: queued and due, or processing with a lapsed lease.

        PostgreSQL: `FOR UPDATE SKIP LOCKED` lets many workers claim at once without
        waiting on each other. SQLite: the caller's transaction holds the write lock
        (BEGIN IMMEDIATE), so the select-then-update cannot race.
        """
        t = gateway_inbox.c
        due = or_(
            and_(t.status == "queued", t.available_at <= now),
            and_(t.status == "processing", t.lease_until < now),
        )
        pick = select(t.id).where(due).order_by(t.available_at, t.id).limit(1)
        if self._conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        row_id = self._conn.execute(pick).scalar()
        if row_id is None:
            return None
        row = self._conn.execute(
            update(gateway_inbox)
            .where(t.id == row_id)
            .values(status="processing", lease_until=lease_until, claim_token=token, attempts=t.attempts + 1)
            .returning(t.id, t.carrier, t.sha256, t.attempts, t.kek_version, t.wrapped_key, t.payload)
        ).one()
        return Claimed(
            id=row.id,
            carrier=row.carrier,
            sha256=bytes(row.sha256),
            attempts=row.attempts,
            claim_token=token,
            kek_version=row.kek_version,
            wrapped_key=bytes(row.wrapped_key),
            payload=bytes(row.payload),
        )

    def complete(
        self, inbox_id: str, *, token: str, at: dt.datetime, message_id: str | None, outcome: str
    ) -> bool:
        """Mark a claimed row done and delete its payload and key. False if the claim was
        lost (the lease ran out and another worker took the row)."""
        t = gateway_inbox.c
        done = self._conn.execute(
            update(gateway_inbox)
            .where(t.id == inbox_id, t.claim_token == token, t.status == "processing")
            .values(
                status="done",
                processed_at=at,
                message_id=message_id,
                outcome=outcome,
                payload=None,
                wrapped_key=None,
                kek_version=None,
                lease_until=None,
                claim_token=None,
                last_error=None,
            )
        )
        return bool(done.rowcount)

    def release(
        self, inbox_id: str, *, token: str, available_at: dt.datetime, error: str, failed: bool
    ) -> bool:
        """Give a claimed row back after a system failure (retry later) or park it as failed."""
        t = gateway_inbox.c
        done = self._conn.execute(
            update(gateway_inbox)
            .where(t.id == inbox_id, t.claim_token == token, t.status == "processing")
            .values(
                status="failed" if failed else "queued",
                available_at=available_at,
                lease_until=None,
                claim_token=None,
                last_error=error[:64],
            )
        )
        return bool(done.rowcount)

    def retry_failed(self, *, now: dt.datetime) -> int:
        done = self._conn.execute(
            update(gateway_inbox)
            .where(gateway_inbox.c.status == "failed")
            .values(status="queued", available_at=now, attempts=0)
        )
        return int(done.rowcount or 0)

    # -- observation and housekeeping ------------------------------------------------------
    def depth(self) -> dict[str, int]:
        # IN, not `!= 'done'`: the (status, available_at) index then reads only the pending
        # rows, not the processed ones kept for the replay window (the bulk of the table).
        rows = self._conn.execute(
            select(gateway_inbox.c.status, func.count())
            .where(gateway_inbox.c.status.in_(("queued", "processing", "failed")))
            .group_by(gateway_inbox.c.status)
        )
        out = dict.fromkeys(("queued", "processing", "failed"), 0)
        out.update({str(s): int(n) for s, n in rows})
        return out

    def pending(self) -> int:
        """Rows waiting for a worker or being processed: the backlog backpressure limits."""
        return int(
            self._conn.execute(
                select(func.count())
                .select_from(gateway_inbox)
                .where(gateway_inbox.c.status.in_(("queued", "processing")))
            ).scalar_one()
        )

    def oldest_pending(self) -> dt.datetime | None:
        """Receipt time of the oldest message not yet processed (the screening lag's start)."""
        return self._conn.execute(
            select(func.min(gateway_inbox.c.received_at)).where(
                gateway_inbox.c.status.in_(("queued", "processing"))
            )
        ).scalar()

    def expire_failed(self, *, received_before: dt.datetime, at: dt.datetime) -> list[str]:
        """Failed rows received before `received_before` lose their raw bytes: they become
        ``done`` with outcome ``expired`` (kept, without payload, for the replay window like
        any processed row). A push nobody could read in that time is not read later: the
        carrier is asked to send it again. Returns the row ids."""
        ids = list(
            self._conn.execute(
                select(gateway_inbox.c.id)
                .where(gateway_inbox.c.status == "failed", gateway_inbox.c.received_at < received_before)
                .order_by(gateway_inbox.c.id)
            ).scalars()
        )
        for i in range(0, len(ids), 500):
            self._conn.execute(
                update(gateway_inbox)
                .where(gateway_inbox.c.id.in_(ids[i : i + 500]), gateway_inbox.c.status == "failed")
                .values(
                    status="done",
                    outcome="expired",
                    payload=None,
                    wrapped_key=None,
                    kek_version=None,
                    processed_at=at,
                    lease_until=None,
                    claim_token=None,
                )
            )
        return ids

    def purge(self, *, done_before: dt.datetime, rejections_before: dt.datetime) -> tuple[int, int]:
        """Delete processed rows older than the replay window, and old rejection entries."""
        a = self._conn.execute(
            delete(gateway_inbox).where(
                gateway_inbox.c.status == "done", gateway_inbox.c.received_at < done_before
            )
        )
        b = self._conn.execute(delete(gateway_quarantine).where(gateway_quarantine.c.at < rejections_before))
        return int(a.rowcount or 0), int(b.rowcount or 0)

