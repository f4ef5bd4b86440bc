"""Working a hit and correcting decisions: assignment, priority, notes, reopening, suppressions.

Why each rule (issue 15; docs/workspace.md, "Triage"):

- **Assignment and priority** are about the work, not the person: a username and a number
  on the hit. Analysts and supervisors assign to any active analyst or supervisor (or to
  nobody); every change is an *alteration* in the audit log under the hit's purpose.
- **Notes** are free text about a traveller, so they pass the sensitive-data filter first
  (Art. 13(4) has no exception for what staff type: a note revealing health, religion ...
  is refused, naming the category, never stored) and are stored like review reasons
  (store/hit_notes.py: sealed at masking, erased with the booking). Adding one is audited;
  the entry holds ids and counts, never the text.
- **Reopening** (a supervisor, with a reason of at least `MIN_REASON` characters): a
  confirmed or dismissed hit goes back to open. The decision set aside is kept as a note
  (its reason, who, when), the dismissal's suppression is lifted (the same match may come
  back), and transmissions of the hit still pending are *withdrawn* (nothing leaves for a
  decision that no longer stands; no supervisor rejected them, so they are not "rejected").
  A released disclosure cannot be recalled; the page says so. Only for an active booking:
  a masked one's reasons are sealed (Art. 12(3)).
- **Suppressions** (Art. 12(5)): each dismissal that silences a future match is listed with
  when it ends: when the booking is masked (its identity digest is retired then) or, for a
  list match, as soon as the entry changes. A supervisor can lift one with a reason.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.protection.retention import RetentionProfile
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.accounts import Account, Role
from pnrguard.service.hit_queue import PRIORITIES
from pnrguard.service.hit_recording import AuditPort, Clock, _audit_for
from pnrguard.store import accounts as accounts_store
from pnrguard.store import hit_notes
from pnrguard.store import screening as hits_store
from pnrguard.store.hit_notes import NoteKind
from pnrguard.store.repository import new_id
from pnrguard.store.screening import HitStatus, hit, suppression
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys, open_text, seal_text
from pnrguard.store.workspace import transmission

__all__ = [
    "MAX_NOTE",
    "MIN_REASON",
    "SuppressionRow",
    "add_note",
    "assign",
    "assignable",
    "lift_suppression",
    "reopen",
    "set_priority",
    "suppressions",
]

MIN_REASON = 20
#: The decision reason of a pending transmission withdrawn because its hit was reopened.
WITHDRAWN_ON_REOPEN = "withdrawn: the hit was reopened"
MAX_NOTE = 2000
WORKERS = frozenset({Role.ANALYST, Role.SUPERVISOR})
SENSITIVE_REFUSED = N_(
    "the note reveals data of a special category (%(categories)s); such data is never stored "
    "(Art. 13(4) of Directive 2016/681): rephrase it without that"
)


def _worker(user: Account) -> None:
    if not user.is_human or user.role not in WORKERS:
        raise ForbiddenError(N_("only analysts and supervisors work on hits"))


def _supervisor(user: Account) -> None:
    if not user.is_human or user.role is not Role.SUPERVISOR:
        raise ForbiddenError(N_("only a supervisor corrects a decision"))


def _reason(text: str, what: str, sensitive_filter: SensitiveFilter, *, minimum: int = MIN_REASON) -> str:
    """A free text about a traveller that may be stored: long enough, not too long, and
    revealing no special category of data (the filter ingest applies)."""
    text = text.strip()
    if not text:
        raise InputError(N_("%(what)s is empty"), what=what)
    if len(text) < minimum:
        raise InputError(N_(
            "%(what)s states why (at least %(minimum)s characters)"
        ), what=what, minimum=minimum)
    if len(text) > MAX_NOTE:
        raise InputError(N_("%(what)s has at most %(MAX_NOTE)s characters"), what=what, MAX_NOTE=MAX_NOTE)
    found = sensitive_filter.categories(text)
    if found:
        raise InputError(SENSITIVE_REFUSED, categories=", ".join(sorted(found)))
    return text


def assignable(engine: Engine) -> list[str]:
    """Usernames a hit can be assigned to: active, approved analysts and supervisors."""
    with engine.connect() as conn:
        return [
            a.username
            for a in accounts_store.list_accounts(conn)
            if a.role in {r.value for r in WORKERS} and not a.disabled and a.approved
        ]


def _log(
    audit: AuditPort,
    conn: Connection,
    user: Account,
    purpose: Purpose,
    ids: list[str],
    counts: dict[str, int],
    ref: str,
) -> None:
    _audit_for(audit, conn).append(
        actor=user.username, role=user.role.value, operation=Operation.ALTERATION, purpose=purpose,
        record_ids=ids, counts=counts, reference=ref,
    )  # fmt: skip


def assign(hit_id: str, *, user: Account, assignee: str, engine: Engine, audit: AuditPort) -> str | None:
    """Assign a hit to `assignee` ("" for nobody); returns the new assignee."""
    _worker(user)
    target = assignee.strip() or None
    if target is not None and target not in assignable(engine):
        raise InputError(N_("a hit is assigned to an active analyst or supervisor"))
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id, for_update=True)
        conn.execute(update(hit).where(hit.c.id == hit_id).values(assignee=target))
        _log(audit, conn, user, h.purpose, [hit_id], {"hits.assigned": 1 if target else 0,
             "hits.unassigned": 0 if target else 1}, hit_id)  # fmt: skip
    return target


def set_priority(hit_id: str, *, user: Account, priority: int, engine: Engine, audit: AuditPort) -> None:
    _worker(user)
    if priority not in PRIORITIES:
        raise InputError(N_("a priority is normal, high or urgent"))
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id, for_update=True)
        conn.execute(update(hit).where(hit.c.id == hit_id).values(priority=priority))
        _log(audit, conn, user, h.purpose, [hit_id], {"hits.priority": priority}, hit_id)


def add_note(
    hit_id: str,
    *,
    user: Account,
    text: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    sensitive_filter: SensitiveFilter,
) -> str:
    """Add a working note to a hit; returns its id. Refused (nothing stored) when the text
    reveals a special category of data."""
    _worker(user)
    text = _reason(text, N_("a note"), sensitive_filter, minimum=1)
    note_id = new_id()
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id)
        hit_notes.add_note(
            conn, keystore=keystore, note_id=note_id, hit_id=hit_id, booking_id=h.booking_id,
            kind=NoteKind.NOTE, text=text, by=user.username, at=clock(),
        )  # fmt: skip
        _log(audit, conn, user, h.purpose, [hit_id, h.booking_id], {"hits.note": 1}, hit_id)
    return note_id


@dataclass(frozen=True, slots=True)
class Reopened:
    hit_id: str
    previous: HitStatus
    suppressions_lifted: int
    transmissions_stopped: int


def reopen(
    hit_id: str,
    *,
    user: Account,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    sensitive_filter: SensitiveFilter,
) -> Reopened:
    """A supervisor sets a decision aside (module docstring)."""
    _supervisor(user)
    reason = _reason(reason, N_("a reopening"), sensitive_filter)
    now = clock()
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id, for_update=True)
        if h.status not in (HitStatus.CONFIRMED, HitStatus.DISMISSED):
            raise ConflictError(N_(
                "hit %(hit_id)s is %(status)s: only a decided hit is reopened"
            ), hit_id=hit_id, status=h.status.value)
        state = conn.execute(select(booking.c.state).where(booking.c.id == h.booking_id)).scalar_one()
        if state != "active":
            raise ConflictError(N_(
                "the booking is %(state)s: its decision stays as it is (Art. 12(2))"
            ), state=state)
        hit_notes.add_note(
            conn, keystore=keystore, note_id=new_id(), hit_id=hit_id, booking_id=h.booking_id,
            kind=NoteKind.DECISION,
            text=open_text(
                TextKeys(conn, keystore), h.review_reason, table="hit", column="review_reason",
                row_id=hit_id, booking_id=h.booking_id,
            ),
            by=h.reviewed_by or "?", at=h.reviewed_at or h.created_at,
            status=h.status.value,
        )  # fmt: skip
        hit_notes.add_note(
            conn, keystore=keystore, note_id=new_id(), hit_id=hit_id, booking_id=h.booking_id,
            kind=NoteKind.REOPEN, text=reason, by=user.username, at=now, status=h.status.value,
        )  # fmt: skip
        done = conn.execute(
            update(hit)
            .where(hit.c.id == hit_id, hit.c.status == h.status.value)
            .values(status=HitStatus.OPEN.value, reviewed_by=None, reviewed_at=None, review_reason=None)
        )
        if not done.rowcount:
            raise ConflictError(N_("hit %(hit_id)s changed meanwhile"), hit_id=hit_id)
        lifted = int(conn.execute(delete(suppression).where(suppression.c.hit_id == hit_id)).rowcount or 0)
        # Pending transmissions of the hit are withdrawn (nobody rejected them on their
        # merits; they may be proposed again once the hit is decided anew). The reason is
        # sealed like every decision reason of a transmission.
        pending = (
            conn.execute(
                select(transmission.c.id).where(
                    transmission.c.hit_id == hit_id, transmission.c.status == "pending"
                )
            )
            .scalars()
            .all()
        )
        keys = TextKeys(conn, keystore)
        for transmission_id in pending:
            conn.execute(
                update(transmission)
                .where(transmission.c.id == transmission_id, transmission.c.status == "pending")
                .values(status="withdrawn", decided_by=user.username, decided_at=now,
                        decision_reason=seal_text(
                            keys.for_booking(h.booking_id), WITHDRAWN_ON_REOPEN, table="transmission",
                            column="decision_reason", row_id=transmission_id,
                        ))
            )  # fmt: skip
        stopped = len(pending)
        _log(
            audit, conn, user, h.purpose, [hit_id, h.booking_id],
            {"hits.reopened": 1, "suppressions.lifted": lifted, "transmissions.stopped": stopped}, hit_id,
        )  # fmt: skip
    return Reopened(hit_id, h.status, lifted, stopped)


# --- suppressions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuppressionRow:
    """A dismissal that silences a future match: ids, dates and who; no person, no text."""

    hit_id: str
    match: str  # "list <name> <entity id>" or "rule <id>"
    purpose: Purpose
    created_at: dt.datetime
    created_by: str
    #: When the suppression ends at the latest: the booking's masking date.
    expires_at: dt.datetime
    #: A list match also ends when the entry changes.
    until_entry_changes: bool


def _match_label(match_key: str) -> str:
    """"list:<name>:<entry id>" -> "list <name> <entry id>"; "rule:<id>" -> "rule <id>"."""
    kind, _, rest = match_key.partition(":")
    if kind == "list":
        name, _, entity = rest.partition(":")
        return f"list {name} {entity}"
    return f"rule {rest}"


def suppressions(
    engine: Engine, *, profile: RetentionProfile, offset: int = 0, limit: int = 25
) -> tuple[list[SuppressionRow], int]:
    """The standing suppressions, those ending soonest first, and their total."""
    months = profile.mask_after_months
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(suppression)).scalar_one())
        rows = conn.execute(
            select(
                suppression.c.hit_id, suppression.c.match_key, suppression.c.fingerprint,
                suppression.c.created_at, suppression.c.created_by, hit.c.purpose,
                booking.c.first_seen,
            )
            .join(hit, hit.c.id == suppression.c.hit_id)
            .join(booking, booking.c.id == hit.c.booking_id)
            .order_by(booking.c.first_seen, suppression.c.created_at, suppression.c.hit_id)
            .offset(offset)
            .limit(limit)
        ).all()  # fmt: skip
    out = [
        SuppressionRow(
            hit_id=r.hit_id,
            match=_match_label(r.match_key),
            purpose=Purpose(r.purpose),
            created_at=r.created_at,
            created_by=r.created_by,
            expires_at=_masked_at(r.first_seen, months),
            until_entry_changes=r.fingerprint is not None,
        )
        for r in rows
    ]
    return out, total


def _masked_at(first_seen: dt.datetime, months: int) -> dt.datetime:
    """When a booking first seen at `first_seen` is masked: the first instant `t` with
    `months_before(t, months) >= first_seen` (the retention run's rule)."""
    at = first_seen if first_seen.tzinfo else first_seen.replace(tzinfo=dt.UTC)
    total = at.year * 12 + at.month - 1 + months
    year, month0 = divmod(total, 12)
    if at.day <= calendar.monthrange(year, month0 + 1)[1]:
        return at.replace(year=year, month=month0 + 1)
    # The day does not exist in that month (31 August + 6 months): masked as the next begins.
    year, month0 = divmod(total + 1, 12)
    return at.replace(year=year, month=month0 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)


def lift_suppression(
    hit_id: str,
    *,
    user: Account,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    sensitive_filter: SensitiveFilter,
) -> None:
    """A supervisor lets the match come back: the suppression goes, the hit stays dismissed,
    and the reason is kept as a note on the hit."""
    _supervisor(user)
    reason = _reason(reason, N_("lifting a suppression"), sensitive_filter)
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id, for_update=True)
        gone = conn.execute(delete(suppression).where(suppression.c.hit_id == hit_id)).rowcount
        if not gone:
            raise NotFoundError(N_("no suppression for this hit"))
        hit_notes.add_note(
            conn, keystore=keystore, note_id=new_id(), hit_id=hit_id, booking_id=h.booking_id,
            kind=NoteKind.NOTE, text=f"Suppression lifted: {reason}", by=user.username, at=clock(),
        )  # fmt: skip
        _log(audit, conn, user, h.purpose, [hit_id], {"suppressions.lifted": 1}, hit_id)
