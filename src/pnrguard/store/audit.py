"""The audit log in SQL: tables, and `SqlAuditLog`, which appends inside the caller's transaction.

Why inside the caller's transaction: an audit entry must exist exactly when the processing
it records happened. A consultation that rolls back leaves no entry; one that commits
cannot commit without its entry.

Concurrency (several `pnrguard serve` workers over one database): seqs must be dense and the
chain linear, so appends are serialised.

- PostgreSQL: `append` takes a transaction-level advisory lock (`pg_advisory_xact_lock`) on
  a key derived from the `audit_entry` table's oid (so each schema has its own lock), then
  reads ``max(seq)``. The lock is held until the caller's transaction ends, so the next
  appender reads the committed row. Consequence: transactions that audit are serialised
  from their first append to their commit; use cases should append late and commit soon.
  The primary key on `seq` is the backstop: a second writer that bypassed the lock fails
  instead of forking the log.
- SQLite: `store.db.make_engine` begins every transaction with ``BEGIN IMMEDIATE``, which
  takes the database write lock up front, so appenders are already serialised.

Beyond the columns of the brief, `audit_checkpoint` keeps the `frontier` (the compact range
of the tree at that size) and the `chain_hash` there: the next checkpoint then costs only the
entries since the last one, and retention can delete the prefix before a checkpoint while
the rest still verifies (see `pnrguard.audit.log`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from pnrguard.audit.checkpoint import Checkpoint, Signer, sign_checkpoint
from pnrguard.audit.log import (
    GENESIS_CHAIN,
    Anchor,
    AuditLog,
    Clock,
    LogRecord,
    StoredCheckpoint,
    chain_hash,
    prune_reference,
    utc_now,
)
from pnrguard.audit.merkle import (
    Frontier,
    consistency_proof_from_frontier,
    leaf_hash,
    verify_consistency,
)
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.audit.signer_state import SignerState
from pnrguard.errors import N_, AuditError, AuditVerificationError, ConflictError
from pnrguard.store.db import metadata

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("record_ids", Text, nullable=False),  # JSON list of opaque ids
    Column("counts", Text, nullable=False),  # JSON object of category -> count
    Column("reference", String(64), nullable=True),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("chain_hash", LargeBinary(32), nullable=False),
)

#: High half of the advisory lock key: "pnrA" in ASCII; the low half is the table's oid.
_LOCK_NAMESPACE = 0x706E7241
_STREAM_ROWS = 2_000

# Statements built once: building them per call cost more than the database work.
_PG_LOCK = text(
    "SELECT pg_advisory_xact_lock((CAST(:ns AS bigint) << 32)"
    " | CAST(CAST(CAST('audit_entry' AS regclass) AS oid) AS bigint))"
)
_LAST = (
    select(audit_entry.c.seq, audit_entry.c.chain_hash).order_by(audit_entry.c.seq.desc()).limit(1)
)
_INSERT = insert(audit_entry)


def _utc(at: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _record_from_row(row: Row[Any]) -> LogRecord:
    try:
        entry = AuditEntry(
            seq=row.seq,
            at=_utc(row.at),
            actor=row.actor,
            role=row.role,
            operation=row.operation,
            purpose=row.purpose,
            record_ids=tuple(json.loads(row.record_ids)),
            counts=MappingProxyType(json.loads(row.counts)),
            reference=row.reference,
        )
    except (AuditError, ValueError, TypeError) as exc:
        raise AuditVerificationError("malformed", seq=row.seq, detail="stored entry unreadable") from exc
    return LogRecord(entry=entry, leaf_hash=bytes(row.leaf_hash), chain_hash=bytes(row.chain_hash))


class SqlAuditLog(AuditLog):
    """The audit log over the `audit_entry` and `audit_checkpoint` tables.

    Bound to one `Connection` or `Session` and used inside its transaction: `append`,
    `checkpoint` and `prune` write but never commit; the caller's unit of work does.
    """

    def __init__(
        self,
        bind: Connection | Session,
        *,
        origin: str,
        clock: Clock = utc_now,
    ) -> None:
        self._bind = bind
        self.origin = origin
        self._clock = clock

    @property
    def _conn(self) -> Connection:
        return self._bind.connection() if isinstance(self._bind, Session) else self._bind

    @property
    def connection(self) -> Connection:
        """The connection (and transaction) this log works in."""
        return self._conn

    def _lock(self) -> None:
        conn = self._conn
        if conn.dialect.name == "postgresql":
            conn.execute(_PG_LOCK, {"ns": _LOCK_NAMESPACE})

    def _last(self) -> tuple[int, bytes]:
        """(next seq, chain hash of the last entry); call with the lock held."""
        row = self._conn.execute(_LAST).first()
        if row is None:
            return 0, GENESIS_CHAIN
        return row.seq + 1, bytes(row.chain_hash)

    def append(
        self,
        *,
        actor: str,
        role: str,
        operation: Operation,
        purpose: Purpose,
        record_ids: Sequence[str],
        counts: Mapping[str, int] | None = None,
        reference: str | None = None,
    ) -> AuditEntry:
        self._lock()
        seq, prev_chain = self._last()
        entry = AuditEntry(
            seq=seq,
            at=self._clock(),
            actor=actor,
            role=role,
            operation=operation,
            purpose=purpose,
            record_ids=tuple(record_ids),
            counts=MappingProxyType(dict(counts or {})),
            reference=reference,
        )
        rec = LogRecord.make(entry, prev_chain)
        self._conn.execute(
            _INSERT,
            {
                "seq": entry.seq,
                "at": entry.at,
                "actor": entry.actor,
                "role": entry.role,
                "operation": entry.operation.value,
                "purpose": entry.purpose.value,
                "record_ids": json.dumps(list(entry.record_ids), separators=(",", ":")),
                "counts": json.dumps(dict(entry.counts), separators=(",", ":"), sort_keys=True),
                "reference": entry.reference,
                "leaf_hash": rec.leaf_hash,
                "chain_hash": rec.chain_hash,
            },
        )
        return entry

    def records(self, *, since_seq: int = 0) -> Iterator[LogRecord]:
        """Stream the stored records in seq order. A row that cannot be decoded raises
        `AuditVerificationError` ("malformed") naming its seq."""
        result = self._conn.execute(
            select(audit_entry)
            .where(audit_entry.c.seq >= since_seq)
            .order_by(audit_entry.c.seq)
            .execution_options(yield_per=_STREAM_ROWS)
        )
        try:
            for row in result:
                yield _record_from_row(row)
        finally:  # a reader that stops early must not leave a server-side cursor open
            result.close()

    def size(self) -> int:
        top = self._conn.execute(select(func.max(audit_entry.c.seq))).scalar()
        if top is not None:
            return int(top) + 1
        return 0

    def stored_checkpoints(self) -> list[StoredCheckpoint]:
        rows = self._conn.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.tree_size))
        return [
            StoredCheckpoint(
                tree_size=r.tree_size,
                root=bytes(r.root),
                note=r.note,
                at=_utc(r.at),
                frontier=bytes(r.frontier),
            )
            for r in rows
        ]

    def anchor(self) -> Anchor | None:
        first = self._conn.execute(select(func.min(audit_entry.c.seq))).scalar()
        if not first:
            return None
        row = self._conn.execute(
            select(audit_checkpoint.c.frontier, audit_checkpoint.c.chain_hash).where(
                audit_checkpoint.c.tree_size == first
            )
        ).first()
        if row is None:
            return None  # a prefix is missing with no checkpoint to start from: verify reports a gap
        return Anchor(size=int(first), frontier=bytes(row.frontier), chain_hash=bytes(row.chain_hash))

    def checkpoint(self, signer: Signer) -> str:
        """Sign the current tree head. Before signing, the entries since the last checkpoint are
        re-hashed, so a log edited since then is refused rather than signed
        (`AuditVerificationError`)."""
        self._lock()
        conn = self._conn
        last = conn.execute(
            select(audit_checkpoint).order_by(audit_checkpoint.c.tree_size.desc()).limit(1)
        ).first()
        if last is None:
            anchor = self.anchor()
            if anchor is not None:  # pragma: no cover - pruning keeps its checkpoint
                raise AuditError(N_("pruned log has lost its checkpoint"))
            frontier, chain = Frontier(), GENESIS_CHAIN
        else:
            frontier = Frontier.from_bytes(last.tree_size, bytes(last.frontier))
            chain = bytes(last.chain_hash)
            if frontier.root() != bytes(last.root):
                raise AuditVerificationError(
                    "root_mismatch", detail=f"stored checkpoint {last.tree_size} is inconsistent"
                )
        for rec in self.records(since_seq=frontier.size):
            if rec.entry.seq != frontier.size:
                raise AuditVerificationError("seq_gap", seq=frontier.size, detail="refusing to sign")
            leaf = leaf_hash(rec.entry.canonical_bytes())
            chain = chain_hash(chain, leaf)
            if leaf != rec.leaf_hash or chain != rec.chain_hash:
                raise AuditVerificationError(
                    "leaf_hash_mismatch" if leaf != rec.leaf_hash else "chain_hash_mismatch",
                    seq=rec.entry.seq,
                    detail="refusing to sign",
                )
            frontier.append(leaf)
        if last is not None and frontier.size == last.tree_size:
            return str(last.note)
        if last is not None and frontier.size < last.tree_size:  # pragma: no cover - see records
            raise AuditVerificationError("truncated", seq=frontier.size, detail="refusing to sign")
        root = frontier.root()
        note = sign_checkpoint(Checkpoint(origin=self.origin, size=frontier.size, root=root), signer)
        conn.execute(
            insert(audit_checkpoint).values(
                tree_size=frontier.size,
                root=root,
                note=note,
                at=self._clock(),
                frontier=frontier.to_bytes(),
                chain_hash=chain,
            )
        )
        return note

    def sign_extension(self, signer: Signer, base: SignerState) -> tuple[SignerState, list[bytes]] | None:
        """Sign the current tree head only as a proven extension of `base`, the last
        checkpoint this signer signed (kept outside the database).

        The database row of entry ``base.size - 1`` must carry `base`'s chain hash (a
        rewritten prefix re-chains every later row), every entry after it must re-hash to
        its stored leaf and chain hash, and the RFC 6962 consistency proof from `base` to
        the new tree (built from `base`'s frontier and the new leaves) must verify. Returns
        the new state and that proof, or None when nothing was appended since `base`.
        Raises `AuditVerificationError` (refusing to sign) otherwise. Stores the checkpoint
        row; never commits."""
        self._lock()
        conn = self._conn
        m = base.size
        if m:
            row = conn.execute(
                select(audit_entry.c.chain_hash).where(audit_entry.c.seq == m - 1)
            ).first()
            if row is not None:
                stored_chain = bytes(row.chain_hash)
            else:
                anchor = self.anchor()
                if anchor is None or anchor.size != m:
                    raise AuditVerificationError(
                        "truncated",
                        seq=min(self.size(), m - 1),
                        detail=f"the log no longer holds entry {m - 1}, which this node signed",
                    )
                stored_chain = anchor.chain_hash
            if stored_chain != base.chain_hash:
                raise AuditVerificationError(
                    "chain_hash_mismatch",
                    seq=m - 1,
                    detail=f"the log up to size {m} is not the one this node signed",
                )
        frontier = base.frontier.copy()
        chain = base.chain_hash
        new_leaves: list[bytes] = []
        for rec in self.records(since_seq=m):
            if rec.entry.seq != frontier.size:
                raise AuditVerificationError("seq_gap", seq=frontier.size, detail="refusing to sign")
            leaf = leaf_hash(rec.entry.canonical_bytes())
            chain = chain_hash(chain, leaf)
            if leaf != rec.leaf_hash or chain != rec.chain_hash:
                raise AuditVerificationError(
                    "leaf_hash_mismatch" if leaf != rec.leaf_hash else "chain_hash_mismatch",
                    seq=rec.entry.seq,
                    detail="refusing to sign",
                )
            frontier.append(leaf)
            new_leaves.append(leaf)
        if not new_leaves:
            return None
        new_root = frontier.root()
        proof = consistency_proof_from_frontier(base.frontier, new_leaves)
        if not verify_consistency(
            old_size=m, new_size=frontier.size, old_root=base.checkpoint.root, new_root=new_root, proof=proof
        ):  # pragma: no cover - true by construction; the rule is checked, not assumed
            raise AuditVerificationError("checkpoint_inconsistent", detail="refusing to sign")
        stored = conn.execute(
            select(audit_checkpoint.c.root, audit_checkpoint.c.note).where(
                audit_checkpoint.c.tree_size == frontier.size
            )
        ).first()
        if stored is not None and bytes(stored.root) == new_root:
            note = str(stored.note)
        else:
            if stored is not None:  # a row of this size with another root: not what we sign
                raise AuditVerificationError(
                    "checkpoint_inconsistent",
                    detail=f"a stored checkpoint of size {frontier.size} has another root",
                )
            note = sign_checkpoint(
                Checkpoint(origin=self.origin, size=frontier.size, root=new_root), signer
            )
            conn.execute(
                insert(audit_checkpoint).values(
                    tree_size=frontier.size,
                    root=new_root,
                    note=note,
                    at=self._clock(),
                    frontier=frontier.to_bytes(),
                    chain_hash=chain,
                )
            )
        cp = Checkpoint(origin=self.origin, size=frontier.size, root=new_root)
        return SignerState(note, cp, frontier, chain), proof

    def prune(self, *, before: int, actor: str, role: str) -> AuditEntry:
        self._lock()
        conn = self._conn
        if conn.execute(
            select(audit_checkpoint.c.tree_size).where(audit_checkpoint.c.tree_size == before)
        ).first() is None:
            raise ConflictError(N_("the log can only be pruned at a stored checkpoint"))
        removed = conn.execute(delete(audit_entry).where(audit_entry.c.seq < before)).rowcount
        return self.append(
            actor=actor,
            role=role,
            operation=Operation.ERASURE,
            purpose=Purpose.RETENTION,
            record_ids=(),
            counts={"audit.entries": int(removed or 0)},
            reference=prune_reference(before),
        )
