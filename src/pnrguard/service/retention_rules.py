"""The retention run's table rules beyond bookings (`store.inventory.TABLES`): raw bytes
of quarantined messages, failed pushes, rectification requests of deleted bookings, the
travellers' request register, finished runs and expired staff sessions.

Called by `service.retention.run_retention` after the booking phases, in one transaction,
audited as ``erasure`` with counts (and message or inbox ids, which are opaque). Each step
is idempotent: what it removes no longer matches its predicate.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.protection.keystore import KeyStore
from pnrguard.protection.retention import RetentionProfile, months_before
from pnrguard.store.accounts import delete_expired_sessions
from pnrguard.store.gateway import GatewayRepository
from pnrguard.store.lifecycle import rectification_request, retention_run
from pnrguard.store.messages import MessageRepository
from pnrguard.store.rights import subject_request
from pnrguard.store.tables import booking

__all__ = ["enforce_table_rules"]

_IDS_PER_ENTRY = 500
ACTOR = "system:retention"


def _log_ids(log: AuditLog, ids: list[str], key: str, reference: str | None) -> None:
    for i in range(0, len(ids), _IDS_PER_ENTRY):
        chunk = ids[i : i + _IDS_PER_ENTRY]
        log.append(
            actor=ACTOR,
            role="system",
            operation=Operation.ERASURE,
            purpose=Purpose.RETENTION,
            record_ids=chunk,
            counts={key: len(chunk)},
            reference=reference,
        )


def enforce_table_rules(
    conn: Connection,
    *,
    profile: RetentionProfile,
    keystore: KeyStore,
    log: AuditLog,
    now: dt.datetime,
    run_id: str | None = None,
    quarantine_raw_hours: int | None = None,
) -> dict[str, int]:
    """Apply every non-booking table rule on `conn` (the caller's transaction); returns counts.

    `quarantine_raw_hours` overrides the profile's (the node's setting)."""
    raw_hours = quarantine_raw_hours or profile.quarantine_raw_hours
    raw = MessageRepository(conn, keystore).purge_raw(received_before=now - dt.timedelta(hours=raw_hours))
    _log_ids(log, raw, "quarantine.raw_expired", run_id)
    failed = GatewayRepository(conn).expire_failed(
        received_before=now - dt.timedelta(hours=profile.failed_push_hours), at=now
    )
    _log_ids(log, failed, "gateway.failed_expired", run_id)
    rect = int(
        conn.execute(
            delete(rectification_request).where(
                rectification_request.c.booking_id.in_(
                    select(booking.c.id).where(booking.c.state == "deleted")
                )
            )
        ).rowcount
        or 0
    )
    keep_from = months_before(now, profile.audit_log_months)
    subjects = int(
        conn.execute(delete(subject_request).where(subject_request.c.received_at < keep_from)).rowcount or 0
    )
    runs = int(
        conn.execute(
            delete(retention_run).where(
                retention_run.c.started_at < keep_from, retention_run.c.status != "running"
            )
        ).rowcount
        or 0
    )
    sessions = delete_expired_sessions(conn, now=now)
    counts = {
        "quarantine.raw_expired": len(raw),
        "gateway.failed_expired": len(failed),
        "rectification_requests.deleted": rect,
        "subject_requests.deleted": subjects,
        "retention_runs.deleted": runs,
        "sessions.expired": sessions,
    }
    rest = {k: v for k, v in counts.items() if v and k in (
        "rectification_requests.deleted", "subject_requests.deleted", "retention_runs.deleted",
        "sessions.expired",
    )}  # fmt: skip
    if rest:
        log.append(
            actor=ACTOR,
            role="system",
            operation=Operation.ERASURE,
            purpose=Purpose.RETENTION,
            record_ids=[],
            counts=rest,
            reference=run_id,
        )
    return counts

