"""The retention run: mask, move to dormant and crypto-shred what is due, in batches.

`run_retention` is what `pnrguard retention run` (and cron) calls. Properties it keeps:

- **Due by the profile's pure rule** (`protection.retention.due`), evaluated at one `now`
  taken at the start of the run, so the set of due bookings only shrinks while the run
  goes on and the run always ends.
- **Batches**: each batch is one transaction: claim up to `batch_size` due bookings, act,
  append the audit entries, commit. Memory is bounded by the batch, not by the number of
  bookings (see bench/retention.py); a crash loses at most the batch in flight, which the
  next run picks up.
- **Idempotent**: every action moves a booking out of the predicate that selected it
  (active -> masked, not dormant -> dormant, not deleted -> deleted), and rows are acted on
  only as claimed (locked) and re-checked by `due` in the same transaction, so a second run
  finds nothing to do and appends no booking entries.
- **Safe with several workers at once**: on PostgreSQL batches are claimed with
  ``FOR UPDATE SKIP LOCKED``, so two workers never take the same booking; on SQLite every
  transaction holds the write lock from its start. No booking is processed (or audited)
  twice; the tests run two workers and count the audit entries.
- **Audited with ids and counts only**: per batch one ``masking`` entry, or one ``erasure``
  and one ``key_destruction`` entry for deletions, naming the booking ids (opaque) and
  counts; never content. The run's own id is the entries' reference.

The quarantine (`service.ingest.expire_quarantine`, the profile's `quarantine_days`) and the
audit log itself (`AuditLog.prune` at the newest signed checkpoint older than the
profile's `audit_log_months`) have retention too, run at the end.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.protection.keystore import KeyStore
from pnrguard.protection.retention import (
    DEFAULT_PROFILE,
    Action,
    Cutoffs,
    RetentionLinks,
    RetentionProfile,
    due,
)
from pnrguard.service.clock import Clock
from pnrguard.service.ingest import AuditFactory, expire_quarantine, opaque
from pnrguard.service.retention_rules import enforce_table_rules
from pnrguard.store.audit import audit_checkpoint, audit_entry
from pnrguard.store.copies import age_copies, spent_periods
from pnrguard.store.lifecycle import (
    BookingRow,
    StoreRetentionLinks,
    claim_bookings,
    count_where,
    delete_bookings,
    make_dormant,
    mask_bookings,
    retention_run,
)
from pnrguard.store.repository import new_id
from pnrguard.store.tables import booking
from pnrguard.store.texts import forget_month_keys

__all__ = [
    "DEFAULT_BATCH",
    "Phase",
    "RetentionSummary",
    "due_counts",
    "last_runs",
    "prune_audit_log",
    "run_retention",
]

DEFAULT_BATCH = 1000
ACTOR = "system:retention"
ROLE = "system"

LinksFactory = Callable[[Connection], RetentionLinks]
#: progress(phase, done_in_this_batch): called after every committed batch.
Progress = Callable[[str, int], None]


class Phase:
    """The order of the run: the most severe action first, so nothing is masked that is
    about to be deleted."""

    DELETE = "delete"
    DORMANT = "dormant"
    MASK = "mask"
    ORDER = (DELETE, DORMANT, MASK)


def _predicates(phase: str, cut: Cutoffs) -> list[ColumnElement[bool]]:
    """The SQL form of `due` per phase (the rule is re-checked per row in Python).

    One predicate per booking state, each an equality on `state` (and `dormant_at`) plus a
    range on `first_seen`: every one is a single range of the (state, first_seen) and
    (state, dormant_at, first_seen) indexes, and a processed booking leaves the range. So a
    batch never scans past the bookings earlier batches processed, and a run over a million
    bookings costs linear time, not quadratic."""
    c = booking.c
    older = c.first_seen <= cut.delete
    younger = c.first_seen > cut.delete
    if phase == Phase.DELETE:
        return [(c.state == "masked") & older, (c.state == "active") & older]
    if phase == Phase.DORMANT:
        if cut.dormant is None:
            return []
        window = (c.first_seen <= cut.dormant) & younger
        return [(c.state == "masked") & c.dormant_at.is_(None) & window, (c.state == "active") & window]
    return [(c.state == "active") & (c.first_seen <= cut.mask) & younger]


@dataclass(slots=True)
class RetentionSummary:
    """What one run did (counts only)."""

    run_id: str
    profile: str
    now: dt.datetime
    masked: int = 0
    dormant: int = 0
    deleted: int = 0
    deleted_unlinked: int = 0
    versions_deleted: int = 0
    keys_destroyed: int = 0
    batches: int = 0
    quarantine_expired: int = 0
    audit_entries_pruned: int = 0
    skipped: int = 0
    copies_masked: int = 0
    copies_deleted: int = 0
    periods_destroyed: int = 0
    #: The other tables' rules (`service.retention_rules`): raw bytes, failed pushes, ...
    tables: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "bookings.masked": self.masked,
            "bookings.dormant": self.dormant,
            "bookings.deleted": self.deleted,
            "bookings.deleted_unlinked": self.deleted_unlinked,
            "booking_versions.deleted": self.versions_deleted,
            "keys.destroyed": self.keys_destroyed,
            "batches": self.batches,
            "quarantine.expired": self.quarantine_expired,
            "audit.entries_pruned": self.audit_entries_pruned,
            "exchange_copies.masked": self.copies_masked,
            "exchange_copies.deleted": self.copies_deleted,
            "kek.periods_destroyed": self.periods_destroyed,
            **self.tables,
        }


def _audit_for(audit: AuditLog | AuditFactory, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def _default_worker() -> str:
    return opaque(f"{socket.gethostname()}:{os.getpid()}", default="worker")


def _batch(
    conn: Connection,
    phase: str,
    rows: list[BookingRow],
    *,
    profile: RetentionProfile,
    now: dt.datetime,
    links: RetentionLinks,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    log: AuditLog,
    run_id: str,
    summary: RetentionSummary,
) -> int:
    """Act on one claimed batch; returns how many bookings changed."""
    linked: set[str] = set()
    if phase == Phase.MASK and profile.delete_unlinked_at_mask:
        linked = links.linked([r.id for r in rows], now=now)
    plan: dict[Action, list[BookingRow]] = {a: [] for a in Action}
    for r in rows:
        action = due(
            profile, first_seen=r.first_seen, state=r.state, dormant=r.dormant, linked=r.id in linked, now=now
        )
        if action is not None:
            plan[action].append(r)
    changed = 0
    if plan[Action.DORMANT]:
        # An EU-US booking found dormant-age and still active is masked straight into the
        # dormant tier; a masked one has its sealed key moved up a tier.
        rows_d = plan[Action.DORMANT]
        first = mask_bookings(
            conn,
            [r for r in rows_d if r.state == "active"],
            keystore=keystore,
            seal_keystore=seal_keystore,
            at=now,
            tier="dormant",
        )
        moved = make_dormant(
            conn, [r for r in rows_d if r.state == "masked"], seal_keystore=seal_keystore, at=now
        )
        ids = first + moved
        if ids:
            log.append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.MASKING,
                purpose=Purpose.RETENTION,
                record_ids=ids,
                counts={"bookings.dormant": len(ids)},
                reference=run_id,
            )
        summary.dormant += len(ids)
        changed += len(ids)
    if plan[Action.MASK]:
        ids = mask_bookings(conn, plan[Action.MASK], keystore=keystore, seal_keystore=seal_keystore, at=now)
        if ids:
            log.append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.MASKING,
                purpose=Purpose.RETENTION,
                record_ids=ids,
                counts={"bookings.masked": len(ids)},
                reference=run_id,
            )
        summary.masked += len(ids)
        summary.skipped += len(plan[Action.MASK]) - len(ids)
        changed += len(ids)
    if plan[Action.DELETE]:
        ids = [r.id for r in plan[Action.DELETE]]
        unlinked = sum(1 for r in plan[Action.DELETE] if r.state == "active" and phase == Phase.MASK)
        gone = delete_bookings(conn, ids, at=now)
        counts = {"bookings.deleted": gone.bookings, "booking_versions.deleted": gone.versions}
        if unlinked:
            counts["bookings.deleted_unlinked"] = unlinked
        # Keys first in the record too: the key destruction is the erasure.
        log.append(
            actor=ACTOR,
            role=ROLE,
            operation=Operation.KEY_DESTRUCTION,
            purpose=Purpose.RETENTION,
            record_ids=ids,
            counts={"keys.destroyed": gone.keys},
            reference=run_id,
        )
        log.append(
            actor=ACTOR,
            role=ROLE,
            operation=Operation.ERASURE,
            purpose=Purpose.RETENTION,
            record_ids=ids,
            counts=counts,
            reference=run_id,
        )
        summary.deleted += gone.bookings
        summary.deleted_unlinked += unlinked
        summary.versions_deleted += gone.versions
        summary.keys_destroyed += gone.keys
        changed += gone.bookings
    return changed


def due_counts(engine: Engine, *, profile: RetentionProfile, now: dt.datetime) -> dict[str, int]:
    """How many bookings each phase would take at `now` (for `retention status` and the
    progress bar). The mask count includes those the C-817/19 option will delete."""
    cut = profile.cutoffs(now)
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for phase in Phase.ORDER:
            out[phase] = sum(count_where(conn, where) for where in _predicates(phase, cut))
    return out


def prune_audit_log(
    conn: Connection, log: AuditLog, *, before: dt.datetime, actor: str = ACTOR, role: str = ROLE
) -> int:
    """Prune the audit log at the newest signed checkpoint all of whose entries are older
    than `before`. Returns the number of entries removed (0 when no checkpoint qualifies:
    checkpoints are signed by `pnrguard audit checkpoint`, which needs the node key)."""
    keep_from = conn.execute(select(func.min(audit_entry.c.seq)).where(audit_entry.c.at >= before)).scalar()
    first = conn.execute(select(func.min(audit_entry.c.seq))).scalar()
    if first is None:
        return 0
    limit = log.size() if keep_from is None else int(keep_from)
    cp = conn.execute(
        select(func.max(audit_checkpoint.c.tree_size)).where(
            audit_checkpoint.c.tree_size <= limit, audit_checkpoint.c.tree_size > int(first)
        )
    ).scalar()
    if cp is None:
        return 0
    entry = log.prune(before=int(cp), actor=actor, role=role)
    return int(entry.counts.get("audit.entries", 0))


def _age_copies(
    engine: Engine,
    cut: Cutoffs,
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    now: dt.datetime,
    summary: RetentionSummary,
) -> None:
    """Exchange copies by their own age (received copies, requests): masked at the mask
    cut-off, erased at the deletion cut-off (store/copies.py). Copies of local bookings
    were already masked or erased with their bookings in the batches above."""
    with engine.begin() as conn:
        masked, erased = age_copies(
            conn,
            mask_before=cut.mask,
            delete_before=cut.delete,
            keystore=keystore,
            seal_keystore=seal_keystore,
            at=now,
        )
        log = _audit_for(audit, conn)
        if masked:
            log.append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.MASKING,
                purpose=Purpose.RETENTION,
                record_ids=(),
                counts={"exchange_copies.masked": masked},
                reference=summary.run_id,
            )
        if erased:
            log.append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.ERASURE,
                purpose=Purpose.RETENTION,
                record_ids=(),
                counts={"exchange_copies.deleted": erased},
                reference=summary.run_id,
            )
    summary.copies_masked += masked
    summary.copies_deleted += erased


def _destroy_spent_periods(
    engine: Engine,
    *,
    keystore: KeyStore,
    seal_keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    now: dt.datetime,
    summary: RetentionSummary,
) -> None:
    """Destroy the KEK of every past month whose bookings and copies are all deleted (issue
    10, item 8): dead rows, WAL segments and backups of that month become unreadable with
    the current key file, without anyone remembering to rotate. Logged as a
    ``key_destruction`` entry naming the period, never a booking."""
    stores = [keystore] if seal_keystore is keystore else [keystore, seal_keystore]
    candidates = {p for ks in stores for p in ks.periods()}
    if not candidates:
        return
    with engine.begin() as conn:
        spent = spent_periods(conn, candidates, now=now)
        if not spent:
            return
        # Logged first, in the same transaction: if the key store fails the entry rolls
        # back; if the commit fails after the destruction the next run finds the period
        # gone from the key store and there is nothing left to log twice.
        log = _audit_for(audit, conn)
        for period in spent:
            log.append(
                actor=ACTOR,
                role=ROLE,
                operation=Operation.KEY_DESTRUCTION,
                purpose=Purpose.RETENTION,
                record_ids=(),
                counts={"kek.periods_destroyed": 1},
                reference=f"period:{period}",
            )
        forget_month_keys(conn, spent)  # the month's text keys no longer open anyway
        for period in spent:
            for ks in stores:
                ks.destroy_period(period)
    summary.periods_destroyed += len(spent)


def run_retention(
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    profile: RetentionProfile = DEFAULT_PROFILE,
    links: LinksFactory = StoreRetentionLinks,
    seal_keystore: KeyStore | None = None,
    batch_size: int = DEFAULT_BATCH,
    worker: str | None = None,
    progress: Progress | None = None,
    include_quarantine: bool = True,
    include_audit_log: bool = True,
    include_tables: bool = True,
    quarantine_raw_hours: int | None = None,
) -> RetentionSummary:
    """Apply `profile` to every booking, the quarantine and the audit log (module docstring).

    `seal_keystore` holds the KEK that sealed identity keys are wrapped under; it defaults
    to `keystore` (the sealed wrap context still keeps normal read paths out). A node whose
    judicial-key custodian is separate passes that key store here and to `unmask_view`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    seal = seal_keystore or keystore
    now = clock.now()
    cut = profile.cutoffs(now)
    run_id = new_id()
    summary = RetentionSummary(run_id=run_id, profile=profile.name, now=now)
    with engine.begin() as conn:
        conn.execute(
            insert(retention_run).values(
                id=run_id,
                worker=(worker or _default_worker())[:64],
                profile=profile.name[:32],
                started_at=now,
                finished_at=None,
                status="running",
                counts={},
            )
        )
    try:
        for phase, where in ((p, w) for p in Phase.ORDER for w in _predicates(p, cut)):
            while True:
                with engine.begin() as conn:
                    rows = claim_bookings(conn, where, limit=batch_size)
                    if not rows:
                        break
                    changed = _batch(
                        conn,
                        phase,
                        rows,
                        profile=profile,
                        now=now,
                        links=links(conn),
                        keystore=keystore,
                        seal_keystore=seal,
                        log=_audit_for(audit, conn),
                        run_id=run_id,
                        summary=summary,
                    )
                summary.batches += 1
                if progress is not None:
                    progress(phase, changed)
                if changed == 0:
                    break  # only rows we cannot act on are left: never spin on them
        _age_copies(engine, cut, keystore=keystore, seal_keystore=seal, audit=audit, now=now, summary=summary)
        _destroy_spent_periods(
            engine, keystore=keystore, seal_keystore=seal, audit=audit, now=now, summary=summary
        )
        if include_quarantine:
            summary.quarantine_expired = len(
                expire_quarantine(
                    engine=engine,
                    keystore=keystore,
                    audit=audit,
                    clock=clock,
                    retention=dt.timedelta(days=profile.quarantine_days),
                )
            )
        if include_tables:  # every other table's rule (store.inventory.TABLES)
            with engine.begin() as conn:
                summary.tables = enforce_table_rules(
                    conn, profile=profile, keystore=keystore, log=_audit_for(audit, conn), now=now,
                    run_id=run_id, quarantine_raw_hours=quarantine_raw_hours,
                )  # fmt: skip
        if include_audit_log:
            with engine.begin() as conn:
                summary.audit_entries_pruned = prune_audit_log(
                    conn, _audit_for(audit, conn), before=cut.audit_log
                )
    except BaseException:
        with engine.begin() as conn:
            conn.execute(
                update(retention_run)
                .where(retention_run.c.id == run_id)
                .values(status="failed", finished_at=clock.now(), counts=summary.counts())
            )
        raise
    with engine.begin() as conn:
        conn.execute(
            update(retention_run)
            .where(retention_run.c.id == run_id)
            .values(status="done", finished_at=clock.now(), counts=summary.counts())
        )
    return summary


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    worker: str
    profile: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    counts: dict[str, int] = field(default_factory=dict)


def last_runs(engine: Engine, *, limit: int = 10) -> list[RunRecord]:
    """The most recent retention runs, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(retention_run).order_by(retention_run.c.started_at.desc()).limit(limit))
        return [
            RunRecord(
                r.id, r.worker, r.profile, r.started_at, r.finished_at, r.status, dict(Counter(r.counts))
            )
            for r in rows
        ]
