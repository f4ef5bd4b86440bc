"""The Data Protection Officer's view, as data: audit search and export, the list of
unmasking approvals and disclosures, notifications, and the Art. 20 statistics report.

Why pure data and CSV: the DPO reads these in the workspace (web/dpo.py), on the command
line (`pnrguard dpo ...`) and hands them to the supervisory authority; all three render the
same records. None of it holds PNR content: audit entries carry ids and counts, requests
carry ids, purposes and dates (the requester's and judge's free-text reasons are shown only
in the single-request view, never exported in bulk), statistics are counts.

Art. 20 statistics, as computed here for a period ``[start, end)``:

- *passengers collected*: travellers in bookings first received in the period, per source
  (PNR, API). A passenger with both a PNR and an API record counts once in each: the two
  cannot be joined without identity data, and the report says so rather than guess.
- *passengers exchanged*: distinct persons whose data ``disclosure`` audit entries in the
  period carried (every transfer to a competent authority or a peer PIU is one): each
  traveller of each booking disclosed, a traveller's linked PNR and API records counted
  once; hit, authority and message ids are not people (`people_disclosed`).
- *identified for further examination*: distinct travellers (one person on one flight,
  its PNR and API records linked, `service/traveller.py`) with a hit a person confirmed
  (Art. 6(5)) that was created in the period.
- *hits and confirmed hits per rule and per list*.
- *sensitive data deleted on arrival* (Art. 13(4), 6(4)): per day of receipt, carrier and
  category (and "elements" deleted), from `store.deletions`; a count under 5 is shown as
  "<5", so no row points at the few bookings a carrier sent that day.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.models import AuditEntry, Operation, Purpose, format_time
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import N_, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.clock import Clock
from pnrguard.service.ingest import opaque
from pnrguard.store.audit import SqlAuditLog, audit_entry
from pnrguard.store.db import chunks
from pnrguard.store.deletions import deletion_counts, shown
from pnrguard.store.lifecycle import (
    dpo_notification,
    unmasking_approval,
    unmasking_request,
    unmasking_request_booking,
)
from pnrguard.store.screening import hit, watchlist
from pnrguard.store.tables import booking
from pnrguard.store.tally import travellers_counted
from pnrguard.store.texts import TextKeys, open_text
from pnrguard.store.traveller import traveller_member

__all__ = [
    "ApprovalRecord",
    "Art20Report",
    "NotificationRecord",
    "RuleOrListCount",
    "acknowledge",
    "approvals",
    "approvals_csv",
    "audit_csv",
    "disclosures",
    "notifications",
    "request_detail",
    "search_audit",
    "statistics",
    "statistics_csv",
    "statistics_rows",
]

_BATCH = 500


# --- audit search and export -------------------------------------------------------------


def search_audit(
    engine: Engine,
    *,
    origin: str,
    actor: str | None = None,
    operation: Operation | str | None = None,
    purpose: Purpose | str | None = None,
    record_id: str | None = None,
    reference: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Audit entries matching every given filter, oldest first (`end` exclusive)."""
    with engine.connect() as conn:
        entries = SqlAuditLog(conn, origin=origin).entries(
            actor=actor,
            operation=Operation(operation) if operation else None,
            purpose=Purpose(purpose) if purpose else None,
            record_id=record_id,
            reference=reference,
            start=start,
            end=end,
        )
    return entries[:limit] if limit is not None else entries


AUDIT_COLUMNS = ("seq", "at", "actor", "role", "operation", "purpose", "record_ids", "counts", "reference")


def audit_csv(entries: Iterable[AuditEntry]) -> str:
    """Entries as CSV; ids space-separated, counts as compact JSON."""
    out = io.StringIO()
    w = safe_writer(out, lineterminator="\n")
    w.writerow(AUDIT_COLUMNS)
    for e in entries:
        w.writerow(
            [
                e.seq,
                format_time(e.at),
                e.actor,
                e.role,
                e.operation.value,
                e.purpose.value,
                " ".join(e.record_ids),
                json.dumps(dict(e.counts), sort_keys=True, separators=(",", ":")),
                e.reference or "",
            ]
        )
    return out.getvalue()


# --- approvals and disclosures -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """An unmasking request with its decision and what was done under it (no free text)."""

    request_id: str
    requested_at: dt.datetime
    requester: str
    purpose: str
    case_reference: str
    level: str
    status: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    bookings: int
    judge: str | None
    judge_role: str | None
    decided_at: dt.datetime | None
    views: int
    last_view: dt.datetime | None


def approvals(engine: Engine, *, status: str | None = None) -> list[ApprovalRecord]:
    """Every unmasking request, newest first, with its decision and the number of unmasked
    views made under it (from the audit log: ``unmasking`` entries referencing it)."""
    with engine.connect() as conn:
        n_bookings = (
            select(unmasking_request_booking.c.request_id, func.count().label("n"))
            .group_by(unmasking_request_booking.c.request_id)
            .subquery()
        )
        q = (
            select(
                unmasking_request,
                unmasking_approval.c.judge,
                unmasking_approval.c.judge_role,
                unmasking_approval.c.decided_at,
                n_bookings.c.n,
            )
            .outerjoin(unmasking_approval, unmasking_approval.c.request_id == unmasking_request.c.id)
            .outerjoin(n_bookings, n_bookings.c.request_id == unmasking_request.c.id)
            .order_by(unmasking_request.c.requested_at.desc(), unmasking_request.c.id)
        )
        if status is not None:
            q = q.where(unmasking_request.c.status == status)
        rows = conn.execute(q).all()
        views: Counter[str] = Counter()
        last: dict[str, dt.datetime] = {}
        for r in conn.execute(
            select(audit_entry.c.reference, audit_entry.c.at, audit_entry.c.counts).where(
                audit_entry.c.operation == Operation.UNMASKING.value, audit_entry.c.reference.is_not(None)
            )
        ):
            if "unmasking.view" in json.loads(r.counts):
                views[r.reference] += 1
                at = r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)
                last[r.reference] = max(last.get(r.reference, at), at)
    return [
        ApprovalRecord(
            request_id=r.id,
            requested_at=r.requested_at,
            requester=r.requester,
            purpose=r.purpose,
            case_reference=r.case_reference,
            level=r.level,
            status=r.status,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            bookings=int(r.n or 0),
            judge=r.judge,
            judge_role=r.judge_role,
            decided_at=r.decided_at,
            views=views[r.id],
            last_view=last.get(r.id),
        )
        for r in rows
    ]


def account_names(engine: Engine) -> dict[str, str]:
    """Who an account id or username is, as the DPO reads it ("alice, Analyst"): unmasking
    requests and decisions store account ids, other records usernames (issue 15: the DPO's
    pages named people by 32-character ids)."""
    from pnrguard.service.accounts import Role
    from pnrguard.store.accounts import account

    out: dict[str, str] = {}
    with engine.connect() as conn:
        for r in conn.execute(select(account.c.id, account.c.username, account.c.role)):
            try:
                label = Role(r.role).label
            except ValueError:
                label = str(r.role)
            out[r.id] = out[r.username] = f"{r.username}, {label}"
    return out


def _t(at: dt.datetime | None) -> str:
    return format_time(at) if at is not None else ""


APPROVAL_COLUMNS = (
    "request_id",
    "requested_at",
    "requester",
    "purpose",
    "case_reference",
    "level",
    "status",
    "valid_from",
    "valid_until",
    "bookings",
    "judge",
    "judge_role",
    "decided_at",
    "views",
    "last_view",
)


def approvals_csv(records: Iterable[ApprovalRecord]) -> str:
    out = io.StringIO()
    w = safe_writer(out, lineterminator="\n")
    w.writerow(APPROVAL_COLUMNS)
    for a in records:
        w.writerow(
            [
                a.request_id,
                _t(a.requested_at),
                a.requester,
                a.purpose,
                a.case_reference,
                a.level,
                a.status,
                _t(a.valid_from),
                _t(a.valid_until),
                a.bookings,
                a.judge or "",
                a.judge_role or "",
                _t(a.decided_at),
                a.views,
                _t(a.last_view),
            ]
        )
    return out.getvalue()


def disclosures(
    engine: Engine, *, origin: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[AuditEntry]:
    """Every disclosure and every unmasked view in the period (from the audit log)."""
    out = search_audit(engine, origin=origin, operation=Operation.DISCLOSURE, start=start, end=end)
    out += [
        e
        for e in search_audit(engine, origin=origin, operation=Operation.UNMASKING, start=start, end=end)
        if "unmasking.view" in e.counts
    ]
    return sorted(out, key=lambda e: e.seq)


# --- notifications -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: str
    created_at: dt.datetime
    kind: str
    reference: str
    counts: dict[str, int]
    acknowledged_by: str | None
    acknowledged_at: dt.datetime | None


def notifications(engine: Engine, *, pending_only: bool = False) -> list[NotificationRecord]:
    """Notifications to the DPO, newest first."""
    with engine.connect() as conn:
        q = select(dpo_notification).order_by(dpo_notification.c.created_at.desc(), dpo_notification.c.id)
        if pending_only:
            q = q.where(dpo_notification.c.acknowledged_at.is_(None))
        return [
            NotificationRecord(
                r.id, r.created_at, r.kind, r.reference, dict(r.counts), r.acknowledged_by, r.acknowledged_at
            )
            for r in conn.execute(q)
        ]


def acknowledge(notification_id: str, *, dpo: str, engine: Engine, clock: Clock) -> bool:
    """Mark a notification as read by the DPO; False if unknown or already acknowledged."""
    with engine.begin() as conn:
        done = conn.execute(
            update(dpo_notification)
            .where(dpo_notification.c.id == notification_id, dpo_notification.c.acknowledged_at.is_(None))
            .values(acknowledged_by=opaque(dpo), acknowledged_at=clock.now())
        )
    return bool(done.rowcount)


# --- Art. 20 statistics ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleOrListCount:
    kind: str  # "rule" or "list"
    name: str  # rule id or watchlist name
    hits: int
    confirmed: int


@dataclass(frozen=True, slots=True)
class Art20Report:
    start: dt.datetime
    end: dt.datetime
    bookings: dict[str, int]  # per source
    passengers_collected: dict[str, int]  # per source
    bookings_without_count: int
    passengers_exchanged: int
    identified_for_further_examination: int
    hits: int
    confirmed_hits: int
    per_rule_or_list: list[RuleOrListCount] = field(default_factory=list)
    #: (day, carrier, category, count as shown: "<5" below 5) of sensitive-data deletions.
    sensitive_deleted: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def passengers_collected_total(self) -> int:
        return sum(self.passengers_collected.values())


def people_disclosed(conn: Connection, entries: Sequence[Sequence[str]]) -> set[str]:
    """The distinct persons whose data the disclosure entries carried (issue 15: one
    traveller counted once, not once per id in the entry).

    An entry names booking ids, and also a hit id, ``authority:``, ``peer:``, ``msg:`` ...
    ids, which are not people. A disclosed booking carries each of its travellers (the
    package holds the whole booking); a traveller's PNR and API records are one person
    (linked at ingest, `service/traveller.py`), so a transmission with the linked API record
    counts the person once. A booking stored before linking (no member rows) counts as one
    person: its traveller count is not kept per booking (Art. 12(2)(a), `store.tally`)."""
    plain = sorted({i for ids in entries for i in ids if ":" not in i})
    found: set[str] = set()
    members: dict[str, set[str]] = {}
    for chunk in chunks(plain):
        found.update(conn.execute(select(booking.c.id).where(booking.c.id.in_(chunk))).scalars())
        for t in conn.execute(
            select(traveller_member.c.booking_id, traveller_member.c.traveller_id).where(
                traveller_member.c.booking_id.in_(chunk)
            )
        ):
            members.setdefault(t.booking_id, set()).add(t.traveller_id)
    people: set[str] = set()
    for bid in found:
        linked = members.get(bid, set())
        people |= linked or {f"{bid}/#0"}
    return people


def statistics(engine: Engine, *, start: dt.datetime, end: dt.datetime) -> Art20Report:
    """The Art. 20 report for ``[start, end)`` (see the module docstring). Read-only.

    Travellers come from the per-day tally (`store.tally`, whole UTC days from the day of
    `start`), never from a booking: Art. 12(2)(a) masks the number of travellers of one
    booking. Bookings stored before any count was kept (before 0006) are reported as
    without a count."""
    with engine.connect() as conn:
        in_period = and_(booking.c.first_seen >= start, booking.c.first_seen < end)
        per_source = conn.execute(
            select(booking.c.source, func.count()).where(in_period).group_by(booking.c.source)
        ).all()
        disclosed: list[list[str]] = [
            [str(i) for i in json.loads(ids)]
            for (ids,) in conn.execute(
                select(audit_entry.c.record_ids).where(
                    audit_entry.c.operation == Operation.DISCLOSURE.value,
                    audit_entry.c.at >= start,
                    audit_entry.c.at < end,
                )
            )
        ]
        exchanged = people_disclosed(conn, disclosed)
        hit_period = and_(hit.c.created_at >= start, hit.c.created_at < end)
        identified = conn.execute(
            select(func.count()).select_from(
                # One person on one flight, across PNR and API (0015_traveller); a hit
                # stored before linking is its own traveller.
                select(func.coalesce(hit.c.traveller_id, hit.c.booking_id.concat(hit.c.traveller_ref)))
                .where(hit_period, hit.c.status == "confirmed")
                .distinct()
                .subquery()
            )
        ).scalar_one()
        confirmed = case((hit.c.status == "confirmed", 1), else_=0)
        by_rule = conn.execute(
            select(hit.c.rule_id, func.count(), func.sum(confirmed))
            .where(hit_period, hit.c.kind == "rule")
            .group_by(hit.c.rule_id)
            .order_by(hit.c.rule_id)
        ).all()
        by_list = conn.execute(
            select(watchlist.c.name, func.count(), func.sum(confirmed))
            .select_from(hit.join(watchlist, watchlist.c.id == hit.c.watchlist_id))
            .where(hit_period, hit.c.kind == "watchlist")
            .group_by(watchlist.c.name)
            .order_by(watchlist.c.name)
        ).all()
        first_day = start.astimezone(dt.UTC).date()
        last_day = end.astimezone(dt.UTC).date() + (
            dt.timedelta(days=1) if end.astimezone(dt.UTC).time() else dt.timedelta()
        )
        deleted = [
            (day.isoformat(), carrier, category, shown(n))
            for day, carrier, category, n in deletion_counts(conn, start=first_day, end=last_day)
        ]
        counted = travellers_counted(conn, start=first_day, end=last_day)
    per = [RuleOrListCount("rule", str(r[0]), int(r[1]), int(r[2] or 0)) for r in by_rule]
    per += [RuleOrListCount("list", str(r[0]), int(r[1]), int(r[2] or 0)) for r in by_list]
    return Art20Report(
        start=start,
        end=end,
        bookings={str(r[0]): int(r[1]) for r in per_source},
        passengers_collected={str(r[0]): counted.get(str(r[0]), (0, 0))[1] for r in per_source},
        bookings_without_count=sum(max(int(r[1]) - counted.get(str(r[0]), (0, 0))[0], 0) for r in per_source),
        passengers_exchanged=len(exchanged),
        identified_for_further_examination=int(identified),
        hits=sum(p.hits for p in per),
        confirmed_hits=sum(p.confirmed for p in per),
        per_rule_or_list=per,
        sensitive_deleted=deleted,
    )


def statistics_rows(report: Art20Report) -> list[tuple[str, str, int | str]]:
    """The report as (section, key, value) rows: the CSV and the web table. Deletion
    counts are strings ("<5" for small counts); every other value is a number."""
    rows: list[tuple[str, str, int | str]] = []
    for source, n in sorted(report.bookings.items()):
        rows.append(("bookings_collected", source, n))
    for source, n in sorted(report.passengers_collected.items()):
        rows.append(("passengers_collected", source, n))
    rows += [
        ("passengers_collected", "total", report.passengers_collected_total),
        ("bookings_without_traveller_count", "total", report.bookings_without_count),
        ("passengers_exchanged", "total", report.passengers_exchanged),
        ("identified_for_further_examination", "total", report.identified_for_further_examination),
        ("hits", "total", report.hits),
        ("confirmed_hits", "total", report.confirmed_hits),
    ]
    for p in report.per_rule_or_list:
        rows.append((f"hits_per_{p.kind}", p.name, p.hits))
        rows.append((f"confirmed_hits_per_{p.kind}", p.name, p.confirmed))
    for day, carrier, category, count in report.sensitive_deleted:
        rows.append(("sensitive_deleted", f"{day} {carrier} {category}", count))
    return rows


def statistics_csv(report: Art20Report) -> str:
    out = io.StringIO()
    w = safe_writer(out, lineterminator="\n")
    w.writerow(["period_start", "period_end", "section", "key", "value"])
    for section, key, value in statistics_rows(report):
        w.writerow([format_time(report.start), format_time(report.end), section, key, value])
    return out.getvalue()


def request_detail(engine: Engine, request_id: str, *, keystore: KeyStore) -> dict[str, Any]:
    """One request in full, reasons opened (`store.texts`): for the DPO's review of a single
    approval."""
    with engine.connect() as conn:
        r = conn.execute(select(unmasking_request).where(unmasking_request.c.id == request_id)).first()
        if r is None:
            raise NotFoundError(N_("unmasking request %(request_id)s not found"), request_id=request_id)
        a = conn.execute(
            select(unmasking_approval).where(unmasking_approval.c.request_id == request_id)
        ).first()
        ids: Sequence[str] = list(
            conn.execute(
                select(unmasking_request_booking.c.booking_id)
                .where(unmasking_request_booking.c.request_id == request_id)
                .order_by(unmasking_request_booking.c.booking_id)
            ).scalars()
        )
        keys = TextKeys(conn, keystore)
        request = dict(r._mapping)
        request["reason"] = open_text(keys, r.reason, table="unmasking_request", column="reason", row_id=r.id)
        approval = dict(a._mapping) if a is not None else None
        if approval is not None:
            approval["reason"] = open_text(
                keys, approval["reason"], table="unmasking_approval", column="reason", row_id=r.id
            )
    return {"request": request, "approval": approval, "booking_ids": list(ids)}
