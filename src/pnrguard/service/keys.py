"""Master-key (KEK) rotation: re-wrap every stored data key under the current KEK, then
retire the KEK versions nothing uses any more.

Where wrapped keys are stored (each with its `kek_version` and its wrap context, built
exactly as the code that wrapped it builds it):

============== ================================ ==========================================
table          blob column                      wrap context
============== ================================ ==========================================
booking_key    wrapped                          `crypto.key_context(booking_id, kind, key_version)`
node_secret    wrapped                          `node_secrets._SECRET_CONTEXT` + name
quarantine     wrapped_key                      `messages._QUARANTINE_CONTEXT` + message_id
gateway_inbox  wrapped_key (NULL once done)     `service.gateway._PAYLOAD_CONTEXT` + id
exchange_msg   wrapped_key (active copies)      `store.copies.PAYLOAD_CONTEXT` + id
exchange_msg   wrapped_key (masked copies;      `store.copies.SEALED_PAYLOAD_CONTEXT` + id
               the *seal* key store)
sealed_key     wrapped (the *seal* key store)   `lifecycle.sealed_context(booking_id, key_version, tier)`
text_key       wrapped (a month's text key)     `store.texts.TEXT_KEY_CONTEXT` + period
============== ================================ ==========================================

Properties of `rewrap_all`:

- **Only the wrapping changes.** Each key is unwrapped and wrapped again (`KeyStore.rewrap`,
  which authenticates the old wrapping on the way); the 32-byte data key stays the same, so
  no ciphertext is read or written.
- **Batches**, one transaction each, walked in primary-key order from where the previous
  batch ended (so a run always ends, even past rows it cannot re-wrap). On PostgreSQL the
  batch is taken ``FOR UPDATE SKIP LOCKED``; on SQLite the transaction holds the write
  lock. Every update is also a compare-and-set on the old (kek_version, blob), so a row
  changed meanwhile (a gateway row processed, a key sealed or shredded) is left alone.
- **Idempotent**: a rerun finds no row under an old version and appends nothing.
- **Audited with counts only**: one ``alteration`` entry (purpose ``system_security``) per
  table that had keys re-wrapped, naming no record.

A row whose key does not unwrap (tampered, or its KEK already gone) is counted as failed
and stays under its old version; `retire_old` then refuses to retire that version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, and_, func, select, tuple_, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, CryptoError
from pnrguard.protection.crypto import KeyKind, key_context
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.service.gateway import _PAYLOAD_CONTEXT as _GATEWAY_CONTEXT
from pnrguard.service.ingest import AuditFactory
from pnrguard.store.copies import PAYLOAD_CONTEXT as _EXCHANGE_CONTEXT
from pnrguard.store.copies import SEALED_PAYLOAD_CONTEXT as _EXCHANGE_SEALED_CONTEXT
from pnrguard.store.exchange import exchange_message
from pnrguard.store.gateway import gateway_inbox
from pnrguard.store.lifecycle import sealed_context, sealed_key
from pnrguard.store.messages import _QUARANTINE_CONTEXT
from pnrguard.store.node_secrets import _SECRET_CONTEXT
from pnrguard.store.repository import new_id
from pnrguard.store.tables import booking_key, node_secret, quarantine
from pnrguard.store.texts import TEXT_KEY_CONTEXT, text_key

__all__ = [
    "ACTOR",
    "DEFAULT_BATCH",
    "KEY_TABLES",
    "KeyTable",
    "RewrapResult",
    "key_usage",
    "retire_old",
    "rewrap_all",
]

DEFAULT_BATCH = 1000
ACTOR = "system:keys"
ROLE = "system"

#: progress(table name, keys re-wrapped in the batch just committed)
Progress = Callable[[str, int], None]


@dataclass(frozen=True, slots=True)
class KeyTable:
    """One table holding wrapped keys: its key columns and how its wrap context is built."""

    table: Table
    pk: tuple[str, ...]
    blob: str
    context: Callable[[Row[Any]], bytes]
    #: extra columns the context needs
    extra: tuple[str, ...] = ()
    #: wrapped by the seal key store (sealed identity keys), not the main one
    sealed: bool = False
    #: only these rows hold a key of this kind (a table may hold keys under two contexts)
    where: ColumnElement[bool] | None = None
    #: the name in results and audit counts when a table appears twice
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or self.table.name

    def rows(self) -> list[ColumnElement[bool]]:
        kek = self.col("kek_version")
        return [kek.is_not(None), *([] if self.where is None else [self.where])]

    def col(self, name: str) -> Column[Any]:
        return self.table.c[name]


def _ascii(prefix: bytes, column: str) -> Callable[[Row[Any]], bytes]:
    return lambda r: prefix + str(r._mapping[column]).encode("ascii")


KEY_TABLES: tuple[KeyTable, ...] = (
    KeyTable(
        booking_key,
        ("booking_id", "kind"),
        "wrapped",
        lambda r: key_context(r.booking_id, KeyKind(r.kind), r.key_version),
        extra=("key_version",),
    ),
    KeyTable(node_secret, ("name",), "wrapped", _ascii(_SECRET_CONTEXT, "name")),
    KeyTable(quarantine, ("message_id",), "wrapped_key", _ascii(_QUARANTINE_CONTEXT, "message_id")),
    KeyTable(gateway_inbox, ("id",), "wrapped_key", _ascii(_GATEWAY_CONTEXT, "id")),
    KeyTable(
        exchange_message,
        ("id",),
        "wrapped_key",
        _ascii(_EXCHANGE_CONTEXT, "id"),
        where=exchange_message.c.lifecycle == "active",
    ),
    KeyTable(
        exchange_message,
        ("id",),
        "wrapped_key",
        _ascii(_EXCHANGE_SEALED_CONTEXT, "id"),
        sealed=True,
        where=exchange_message.c.lifecycle == "masked",
        label="exchange_message_sealed",
    ),
    KeyTable(
        sealed_key,
        ("booking_id",),
        "wrapped",
        lambda r: sealed_context(r.booking_id, r.key_version, r.tier),
        extra=("key_version", "tier"),
        sealed=True,
    ),
    KeyTable(text_key, ("period",), "wrapped", _ascii(TEXT_KEY_CONTEXT, "period")),
)


@dataclass(slots=True)
class RewrapResult:
    """What a run did. `rewrapped`/`failed` per table; `remaining_old` per table: keys still
    under a version other than their key store's current one after the run (failed rows,
    rows locked by another worker, rows written meanwhile by a process with an old ring)."""

    run_id: str
    current_version: int
    rewrapped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    remaining_old: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.rewrapped.values())

    @property
    def total_remaining(self) -> int:
        return sum(self.remaining_old.values())


def _tables_of(keystore: KeyStore, seal_keystore: KeyStore) -> list[tuple[KeyTable, KeyStore]]:
    return [(t, seal_keystore if t.sealed else keystore) for t in KEY_TABLES]


def _audit_for(audit: AuditLog | AuditFactory, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def _batch(
    conn: Connection, kt: KeyTable, ks: KeyStore, *, after: tuple[Any, ...] | None, limit: int
) -> tuple[int, int, int, tuple[Any, ...] | None]:
    """One batch of `kt`: (rewrapped, failed, rows seen, last primary key)."""
    current = ks.current_version
    pk_cols = [kt.col(c) for c in kt.pk]
    kek, blob = kt.col("kek_version"), kt.col(kt.blob)
    cols = [*pk_cols, kek, blob, *(kt.col(c) for c in kt.extra)]
    where = [*kt.rows(), kek != current]
    if after is not None:
        where.append(tuple_(*pk_cols) > tuple_(*after) if len(pk_cols) > 1 else pk_cols[0] > after[0])
    q = select(*cols).where(and_(*where)).order_by(*pk_cols).limit(limit)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = list(conn.execute(q))
    done = failed = 0
    for r in rows:
        m = r._mapping
        old = WrappedKey(int(m["kek_version"]), bytes(m[kt.blob]))
        try:
            new = ks.rewrap(old, context=kt.context(r))
        except CryptoError:
            failed += 1
            continue
        res = conn.execute(
            update(kt.table)
            .where(*(c == m[c.name] for c in pk_cols), kek == old.kek_version, blob == old.blob)
            .values({"kek_version": new.kek_version, kt.blob: new.blob})
        )
        done += int(res.rowcount or 0)
    last = tuple(rows[-1]._mapping[c] for c in kt.pk) if rows else None
    return done, failed, len(rows), last


def _count_old(conn: Connection, kt: KeyTable, ks: KeyStore) -> int:
    kek = kt.col("kek_version")
    q = select(func.count()).select_from(kt.table).where(*kt.rows(), kek != ks.current_version)
    return int(conn.execute(q).scalar_one())


def rewrap_all(
    *,
    engine: Engine,
    keystore: KeyStore,
    seal_keystore: KeyStore | None = None,
    audit: AuditLog | AuditFactory,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> RewrapResult:
    """Re-wrap every stored wrapped key whose KEK version is not its key store's current one
    (module docstring). `seal_keystore` (default: `keystore`) holds the KEK of sealed
    identity keys; `audit` is the node's audit log factory (`Node.audit`)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    seal = seal_keystore or keystore
    result = RewrapResult(run_id=new_id(), current_version=keystore.current_version)
    for kt, ks in _tables_of(keystore, seal):
        done = failed = 0
        after: tuple[Any, ...] | None = None
        while True:
            with engine.begin() as conn:
                n, f, seen, last = _batch(conn, kt, ks, after=after, limit=batch_size)
                done, failed = done + n, failed + f
                if seen == 0 and done:
                    # The table is finished: its one entry commits with the empty batch.
                    counts = {f"{kt.name}.rewrapped": done, "kek.version": ks.current_version}
                    if failed:
                        counts[f"{kt.name}.failed"] = failed
                    _audit_for(audit, conn).append(
                        actor=ACTOR,
                        role=ROLE,
                        operation=Operation.ALTERATION,
                        purpose=Purpose.SYSTEM_SECURITY,
                        record_ids=(),
                        counts=counts,
                        reference=result.run_id,
                    )
            if seen == 0:
                break
            result.batches += 1
            after = last
            if progress is not None:
                progress(kt.name, n)
        result.rewrapped[kt.name] = done
        result.failed[kt.name] = failed
    with engine.connect() as conn:
        for kt, ks in _tables_of(keystore, seal):
            result.remaining_old[kt.name] = _count_old(conn, kt, ks)
    return result


def key_usage(engine: Engine, *, sealed: bool | None = None) -> dict[int, dict[str, int]]:
    """How many stored keys each KEK version wraps: {version: {table: count}}.
    `sealed` True/False restricts to the seal key store's / the main one's tables."""
    out: dict[int, dict[str, int]] = {}
    with engine.connect() as conn:
        for kt in KEY_TABLES:
            if sealed is not None and kt.sealed != sealed:
                continue
            kek = kt.col("kek_version")
            q = select(kek, func.count()).where(*kt.rows()).group_by(kek)
            for version, n in conn.execute(q):
                slot = out.setdefault(int(version), {})
                slot[kt.table.name] = slot.get(kt.table.name, 0) + int(n)
    return out


def retire_old(*, engine: Engine, keystore: KeyStore, seal_keystore: KeyStore | None = None) -> list[int]:
    """Retire every old KEK version of `keystore` (and of a separate `seal_keystore`) that no
    stored key uses any more; returns the versions retired (of `keystore`, then of the seal
    store). Refuses (`ConflictError`, nothing retired) while any stored key still uses an old
    version: run `rewrap_all` first (and look at its failed rows if it keeps happening)."""
    stores: list[tuple[KeyStore, dict[int, dict[str, int]]]]
    if seal_keystore is None or seal_keystore is keystore:
        stores = [(keystore, key_usage(engine))]
    else:
        stores = [
            (keystore, key_usage(engine, sealed=False)),
            (seal_keystore, key_usage(engine, sealed=True)),
        ]
    plan: list[tuple[KeyStore, list[int]]] = []
    in_use: list[str] = []
    for ks, usage in stores:
        old = [v for v in ks.versions() if v != ks.current_version]
        for v in old:
            if usage.get(v):
                detail = ", ".join(f"{t}: {n}" for t, n in sorted(usage[v].items()))
                in_use.append(f"KEK version {v} still wraps stored keys ({detail})")
        plan.append((ks, old))
    if in_use:
        raise ConflictError(
            N_("refusing to retire: %(in_use)s; run `pnrguard keys rewrap` first"), in_use="; ".join(in_use)
        )
    retired: list[int] = []
    for ks, old in plan:
        for v in old:
            ks.retire(v)
            retired.append(v)
    return retired
