"""What waits for each role: the counts and links of the page a person lands on.

Why (issue 15): a judge should see the unmasking decisions pending, a DPO the approvals,
rights requests and anomalies, a supervisor the transmissions to approve, an analyst the open
hits by departure, without walking the menu. Counts only, from clear columns and the audit
log's operation codes: nothing here decrypts anything or names a traveller, so the page is
not a consultation and is not logged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.models import Operation
from pnrguard.service.accounts import Account, Role
from pnrguard.store.accounts import account_change
from pnrguard.store.audit import audit_entry
from pnrguard.store.exchange import exchange_message
from pnrguard.store.lifecycle import dpo_notification, rectification_request, unmasking_request
from pnrguard.store.screening import hit, suppression
from pnrguard.store.tables import booking
from pnrguard.store.workspace import authority_request, transmission

__all__ = ["Waiting", "waiting_for"]

#: How far back the DPO's anomaly counts look.
ANOMALY_DAYS = 7


@dataclass(frozen=True, slots=True)
class Waiting:
    """One line of "what waits for you": a label, a count, where to act, and whether the
    count is work (highlighted) or context."""

    label: str
    count: int
    href: str
    work: bool = True


def _n(conn: Connection, q: object) -> int:
    return int(conn.execute(q).scalar_one())  # type: ignore[call-overload]


def _count(conn: Connection, table: Table, *where: ColumnElement[bool]) -> int:
    return _n(conn, select(func.count()).select_from(table).where(*where))


def _open_hits(conn: Connection, *, now: dt.datetime, assignee: str | None = None) -> int:
    cut = now.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    q = (
        select(func.count())
        .select_from(hit.join(booking, booking.c.id == hit.c.booking_id))
        .where(hit.c.status == "open", booking.c.flight_date >= cut)
    )
    if assignee is not None:
        q = q.where(hit.c.assignee == assignee)
    return _n(conn, q)


def _pending_transmissions(conn: Connection, *, not_by: str | None = None, by: str | None = None) -> int:
    q = select(func.count()).select_from(transmission).where(transmission.c.status == "pending")
    if not_by is not None:
        q = q.where(transmission.c.proposed_by != not_by)
    if by is not None:
        q = q.where(transmission.c.proposed_by == by)
    return _n(conn, q)


def _worker(conn: Connection, user: Account, now: dt.datetime) -> list[Waiting]:
    me = user.username
    out = [
        Waiting("Open hits on flights departing", _open_hits(conn, now=now), "/hits?when=departing"),
        Waiting("Assigned to you", _open_hits(conn, now=now, assignee=me), f"/hits?assignee={me}"),
        Waiting(
            "Unassigned",
            _count(conn, hit, hit.c.status == "open", hit.c.assignee.is_(None)),
            "/hits?assignee=-",
        ),
        Waiting("Your transmissions waiting for approval", _pending_transmissions(conn, by=me),
                "/transmissions?status=pending", work=False),
        Waiting(
            "Open requests from authorities",
            _count(conn, authority_request, authority_request.c.status == "open"),
            "/requests?status=open",
        ),
    ]  # fmt: skip
    if user.role is Role.SUPERVISOR:
        out.insert(0, Waiting("Transmissions to approve", _pending_transmissions(conn, not_by=me),
                              "/transmissions?status=pending"))  # fmt: skip
        out.insert(
            1,
            Waiting(
                "Transfers to peers to approve",
                _count(
                    conn,
                    exchange_message,
                    exchange_message.c.status == "awaiting_second",
                    exchange_message.c.decided_by != me,
                ),
                "/exchange",
            ),
        )
        out.append(
            Waiting("Dismissals suppressing matches", _count(conn, suppression), "/suppressions", work=False)
        )  # fmt: skip
    return out


def _judge(conn: Connection, user: Account) -> list[Waiting]:
    q = select(func.count()).select_from(unmasking_request).where(unmasking_request.c.status == "pending")
    out = [Waiting("Unmasking decisions pending", _n(conn, q.where(unmasking_request.c.level == "masked")),
                   "/unmasking?status=pending")]  # fmt: skip
    dormant = _n(conn, q.where(unmasking_request.c.level == "dormant"))
    if user.role is Role.JUDICIAL_SENIOR:
        out.append(Waiting("Dormant-data decisions pending (senior)", dormant, "/unmasking?status=pending"))
    else:
        out.append(Waiting("Dormant-data requests (for a senior judge)", dormant, "/unmasking?status=pending",
                           work=False))  # fmt: skip
    return out


def _dpo(conn: Connection, now: dt.datetime) -> list[Waiting]:
    since = now - dt.timedelta(days=ANOMALY_DAYS)
    refusals = _count(
        conn, audit_entry, audit_entry.c.operation == Operation.REFUSAL.value, audit_entry.c.at >= since
    )
    return [
        Waiting("Account changes to approve",
                _count(conn, account_change, account_change.c.status == "pending"),
                "/admin/approvals"),
        Waiting("Unmasking decisions to review",
                _count(conn, dpo_notification, dpo_notification.c.acknowledged_at.is_(None)),
                "/dpo/approvals"),
        Waiting("Rectification requests open",
                _count(conn, rectification_request, rectification_request.c.status == "open"),
                "/dpo/rights"),
        Waiting(f"Refused accesses, last {ANOMALY_DAYS} days", refusals,
                f"/dpo/audit?operation=refusal&from={since.date().isoformat()}"),
        Waiting("Unmasking requests pending with a judge",
                _count(conn, unmasking_request, unmasking_request.c.status == "pending"),
                "/unmasking?status=pending", work=False),
    ]  # fmt: skip


def _admin(conn: Connection) -> list[Waiting]:
    return [
        Waiting("Account changes to approve",
                _count(conn, account_change, account_change.c.status == "pending"),
                "/admin/approvals"),
    ]  # fmt: skip


def waiting_for(engine: Engine, user: Account, *, now: dt.datetime) -> list[Waiting]:
    """The lines of `user`'s landing page, in the order they are shown."""
    with engine.connect() as conn:
        if user.role in (Role.ANALYST, Role.SUPERVISOR):
            return _worker(conn, user, now)
        if user.role in (Role.JUDICIAL, Role.JUDICIAL_SENIOR):
            return _judge(conn, user)
        if user.role is Role.DPO:
            return _dpo(conn, now)
        if user.role is Role.ADMIN:
            return _admin(conn)
    return []
