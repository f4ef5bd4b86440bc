"""Witnessing in SQL: cosignatures this node received for its checkpoints, and, as a witness,
the last checkpoint it cosigned for each peer's log and the refused submissions it kept.

None of it is personal: checkpoints are an origin, a size and a hash; signature lines are
keys and signatures; evidence rows are signed checkpoints a peer submitted.

- `audit_cosignature` (origin side): one row per (checkpoint size, witness). A database
  administrator can delete rows (the DPO's exported file keeps them) but cannot forge one:
  each is a signature by a peer's registered key.
- `witness_state` (witness side): per origin, the checkpoint last cosigned. The check of a
  submission against it and its update happen in one transaction with the row locked
  (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write lock is taken at ``BEGIN``), so
  two concurrent submissions cannot roll the state back (tlog-witness, the race it names).
- `witness_evidence` (witness side): a validly signed checkpoint that was refused as a fork
  or as an inconsistent extension: proof of the peer's misbehaviour, kept for its operator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from pnrguard.audit.checkpoint import Verifier, open_checkpoint
from pnrguard.audit.cosignature import CosignerKey, valid_cosignatures
from pnrguard.audit.export import CheckpointFile
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import metadata
from pnrguard.store.tables import ID_LENGTH

__all__ = [
    "Cosignature",
    "audit_cosignature",
    "cosignatures_for",
    "count_witnesses",
    "export_file",
    "last_cosigned_sizes",
    "lock_witness_state",
    "record_cosignature",
    "record_evidence",
    "save_witness_state",
    "witness_evidence",
    "witness_state",
]

audit_cosignature = Table(
    "audit_cosignature",
    metadata,
    Column("tree_size", BigInteger, nullable=False, autoincrement=False),
    Column("witness", String(128), nullable=False),
    Column("line", Text, nullable=False),
    Column("cosigned_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tree_size", "witness", name="pk_audit_cosignature"),
)

witness_state = Table(
    "witness_state",
    metadata,
    Column("origin", String(128), primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

witness_evidence = Table(
    "witness_evidence",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("origin", String(128), nullable=False, index=True),
    Column("old_size", BigInteger, nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def _utc(at: dt.datetime) -> dt.datetime:
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Cosignature:
    tree_size: int
    witness: str
    line: str
    cosigned_at: dt.datetime


def record_cosignature(
    conn: Connection, *, tree_size: int, witness: str, line: str, cosigned_at: dt.datetime, now: dt.datetime
) -> None:
    """Keep a cosignature received for our checkpoint of `tree_size` (the newest per witness
    and size wins: a witness re-cosigning the same size only refreshes its timestamp)."""
    done = conn.execute(
        update(audit_cosignature)
        .where(audit_cosignature.c.tree_size == tree_size, audit_cosignature.c.witness == witness)
        .values(line=line, cosigned_at=cosigned_at, received_at=now)
    ).rowcount
    if not done:
        conn.execute(
            insert(audit_cosignature).values(
                tree_size=tree_size, witness=witness, line=line, cosigned_at=cosigned_at, received_at=now
            )
        )


def cosignatures_for(conn: Connection, tree_size: int | None = None) -> list[Cosignature]:
    """Stored cosignatures, of one checkpoint size or all, by size then witness."""
    q = select(audit_cosignature).order_by(audit_cosignature.c.tree_size, audit_cosignature.c.witness)
    if tree_size is not None:
        q = q.where(audit_cosignature.c.tree_size == tree_size)
    return [Cosignature(int(r.tree_size), r.witness, r.line, _utc(r.cosigned_at)) for r in conn.execute(q)]


def last_cosigned_sizes(conn: Connection) -> dict[str, int]:
    """Witness name -> the largest of our checkpoints it cosigned (what it will ask as `old`)."""
    from sqlalchemy import func

    q = select(audit_cosignature.c.witness, func.max(audit_cosignature.c.tree_size)).group_by(
        audit_cosignature.c.witness
    )
    return {w: int(s) for w, s in conn.execute(q)}


def lock_witness_state(conn: Connection, origin: str) -> tuple[int, bytes] | None:
    """(size, root) last cosigned for `origin`, the row locked until the transaction ends."""
    q = select(witness_state.c.tree_size, witness_state.c.root).where(witness_state.c.origin == origin)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    return (int(row.tree_size), bytes(row.root)) if row is not None else None


def save_witness_state(
    conn: Connection, *, origin: str, tree_size: int, root: bytes, note: str, now: dt.datetime, existed: bool
) -> None:
    """Store the checkpoint just cosigned for `origin` (inside the checking transaction)."""
    values = {"tree_size": tree_size, "root": root, "note": note, "updated_at": now}
    if existed:
        conn.execute(update(witness_state).where(witness_state.c.origin == origin).values(**values))
    else:
        conn.execute(insert(witness_state).values(origin=origin, **values))


def record_evidence(
    conn: Connection,
    *,
    id: str,
    origin: str,
    old_size: int,
    tree_size: int,
    reason: str,
    note: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(witness_evidence).values(
            id=id,
            origin=origin,
            old_size=old_size,
            tree_size=tree_size,
            reason=reason,
            note=note,
            received_at=now,
        )
    )


def export_file(log: SqlAuditLog, verifier: Verifier, *, latest: int | None = None) -> CheckpointFile:
    """The stored checkpoints (all, or the `latest` N) with the cosignatures received for
    them, as the file a DPO keeps. Only notes that verify with `verifier` go in (the file is
    evidence); a stored one that does not raises `AuditVerificationError`."""
    cosigs: dict[int, str] = {}
    for c in cosignatures_for(log.connection):
        cosigs[c.tree_size] = cosigs.get(c.tree_size, "") + c.line
    stored = log.stored_checkpoints()
    if latest is not None:
        stored = stored[-latest:]
    notes = [c.note + cosigs.get(c.tree_size, "") for c in stored]
    for n in notes:
        open_checkpoint(n, verifier, origin=log.origin)
    return CheckpointFile(origin=log.origin, vkey=verifier.vkey, notes=notes)


def count_witnesses(
    log: SqlAuditLog, verifier: Verifier, keys: list[CosignerKey] | None = None
) -> tuple[int, int, int]:
    """(valid cosignatures, size, witness keys known) of the latest stored checkpoint.

    Witness keys are `keys` (what an auditor who does not trust the database passes), else
    those of the registered, non-revoked peers (each peer's identity key under its name)."""
    from pnrguard.exchange.identity import public_key_from_raw
    from pnrguard.store.exchange import SqlPeerDirectory

    conn = log.connection
    if keys is None:
        keys = [
            CosignerKey(name=p.name, public_key=public_key_from_raw(p.signing_key))
            for p in SqlPeerDirectory(conn).all()
            if not p.revoked
        ]
    stored = log.stored_checkpoints()
    if not stored:
        return 0, 0, len(keys)
    last = stored[-1]
    open_checkpoint(last.note, verifier, origin=log.origin)
    note = last.note + "".join(c.line for c in cosignatures_for(conn, last.tree_size))
    return len(valid_cosignatures(note, keys)), last.tree_size, len(keys)
