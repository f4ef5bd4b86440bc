"""Unmasking (Directive 2016/681 Art. 12(3)): after masking, the full data of a booking is
shown only for a duly reasoned request that a judicial authority approved *beforehand*,
within the records, requester, purpose and time window the approval names, with the DPO
informed.

The flow:

1. `request_unmasking`: an analyst names the masked bookings, the purpose (terrorism or an
   Annex II offence), the case reference, the reasoning and the window. The request's
   *level* is ``dormant`` if any booking is in the EU-US dormant store, else ``masked``.
2. `approve_unmasking`: a judicial-authority user (role ``judicial``; ``judicial_senior``
   for the dormant level) approves or rejects it with a reason. Nobody approves their own
   request. The DPO gets a notification row (listed in the DPO view) and the decision is
   audited (``unmasking``, counts ``unmasking.approved`` / ``unmasking.rejected``).
3. `can_see_identity` is the one check every read path asks; `unmask_view` returns the full
   booking only when it says yes, audited as ``unmasking`` and ``consultation`` with the
   request id as reference; otherwise it audits a ``refusal`` and raises `ForbiddenError`.
4. **The traveller link** (issue 12): an approval naming one source record of a person (the
   API record, or the PNR) also covers the other source of the *same people on the same
   flight* (`traveller_member`), and nothing else: a PNR holding anyone not linked to the
   named record stays closed (`_linked_named`). The view is logged against the booking
   actually opened, with the approving request as reference.

The check is a query, not a cache: an approval whose window ends, or a booking deleted
meanwhile, is refused on the next call. Times come from the injected clock.

Users: any object with an ``id`` (str) and ``roles`` (a collection of role codes) or a
single ``role``; `Principal` is the plain one used by the CLI and tests.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.clock import Clock
from pnrguard.service.ingest import AuditFactory, opaque
from pnrguard.store.lifecycle import (
    dpo_notification,
    read_sealed,
    unmasking_approval,
    unmasking_request,
    unmasking_request_booking,
)
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys, open_text, seal_text
from pnrguard.store.traveller import traveller_member

__all__ = [
    "JUDICIAL",
    "JUDICIAL_SENIOR",
    "MAX_WINDOW",
    "MIN_REASON",
    "Decision",
    "Principal",
    "approve_unmasking",
    "can_see_identity",
    "can_see_identity_on",
    "covering_request",
    "read_visible",
    "request_unmasking",
    "unmask_view",
]

JUDICIAL = "judicial"
JUDICIAL_SENIOR = "judicial_senior"
#: "Duly reasoned": a reason shorter than this is refused as a placeholder.
MIN_REASON = 20
#: The longest window an approval may cover; longer needs a new request.
MAX_WINDOW = dt.timedelta(days=90)
_ID_MAX = 64


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Principal:
    """A user as the service layer sees one: an opaque id and role codes."""

    id: str
    roles: frozenset[str] = frozenset()


def _uid(user: Any) -> str:
    """The user's id as the audit log takes it (an opaque id: no spaces, no "@")."""
    uid = user if isinstance(user, str) else getattr(user, "id", None)
    if not isinstance(uid, str) or not uid or len(uid) > _ID_MAX:
        raise InputError(N_("user must have an id of 1-64 characters"))
    return opaque(uid)


def _roles(user: Any) -> frozenset[str]:
    roles = getattr(user, "roles", None)
    if roles is None:
        role = getattr(user, "role", None)
        return frozenset([str(role)]) if role else frozenset()
    return frozenset(str(r) for r in roles)


def _audit_for(audit: AuditLog | AuditFactory, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def _role_code(user: Any, default: str) -> str:
    """A role code fit for the audit log (lower-case snake_case)."""
    for r in sorted(_roles(user)):
        code = re.sub(r"[^a-z0-9_]", "_", r.lower())[:32]
        if code[:1].isalpha():
            return code
    return default


# --- requests and approvals --------------------------------------------------------------


def _seal(
    conn: Connection, keystore: KeyStore, request_id: str, month: dt.datetime, table: str, text: str
) -> str:
    """A request's or a judge's reasoning as stored: under the month text key of `month`
    (the receipt month of the newest booking the request names, `store.texts`)."""
    key = TextKeys(conn, keystore).for_month(month)
    return seal_text(key, text, table=table, column="reason", row_id=request_id)


def _newest_named(conn: Connection, request_id: str, default: dt.datetime) -> dt.datetime:
    """The receipt of the newest booking a request names: its texts' month key."""
    newest = conn.execute(
        select(func.max(booking.c.first_seen))
        .join(unmasking_request_booking, unmasking_request_booking.c.booking_id == booking.c.id)
        .where(unmasking_request_booking.c.request_id == request_id)
    ).scalar()
    return newest if isinstance(newest, dt.datetime) else default


def open_reason(keys: TextKeys, text: str | None, *, table: str, request_id: str) -> str | None:
    """A request's or a judge's reasoning in clear, for the pages that show it."""
    return open_text(keys, text, table=table, column="reason", row_id=request_id)


def request_unmasking(
    *,
    requester: Any,
    purpose: Purpose | str,
    case_reference: str,
    reason: str,
    booking_ids: Sequence[str],
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    engine: Engine,
    keystore: KeyStore,
    clock: Clock,
) -> str:
    """Record a reasoned request to see the identity data of masked bookings; returns its id.

    The reason (and later the judge's) names persons and several bookings: it is stored
    under the month text key of the newest booking named (`store.texts`), never in clear.

    A data subject's own request (purpose ``data_subject_request``: the DPO answering
    access to masked data, `service.rights`) is the one non-investigative purpose allowed;
    a judge decides it like any other, and its approval opens nothing for investigation
    (`covering_request` matches the purpose).

    Refused (`InputError`) without an investigative purpose, a case reference, a reason of
    at least `MIN_REASON` characters, a window of at most `MAX_WINDOW` that has not ended,
    or with a booking that is not masked (an active booking needs no unmasking; a deleted
    one has nothing left to show)."""
    who = _uid(requester)
    try:
        p = Purpose(purpose)
    except ValueError:
        raise InputError(N_("unknown purpose code")) from None
    if p not in INVESTIGATIVE_PURPOSES and p is not Purpose.DATA_SUBJECT_REQUEST:
        raise InputError(
            N_(
                "unmasking needs an investigative purpose (terrorism or an Annex II offence) or a data "
                "subject's request"
            )
        )
    if not case_reference or len(case_reference) > _ID_MAX:
        raise InputError(N_("a case reference of 1-64 characters is required"))
    if len(reason.strip()) < MIN_REASON:
        raise InputError(N_(
            "a duly reasoned request needs a reason of at least %(MIN_REASON)s characters"
        ), MIN_REASON=MIN_REASON)
    for at in (valid_from, valid_until):
        if at.utcoffset() is None:
            raise InputError(N_("the window needs timezone-aware times"))
    if not valid_from < valid_until or valid_until - valid_from > MAX_WINDOW:
        raise InputError(N_("the window must be non-empty and at most %(days)s days"), days=MAX_WINDOW.days)
    ids = list(dict.fromkeys(booking_ids))
    if not ids:
        raise InputError(N_("name at least one booking"))
    now = clock.now()
    if valid_until <= now:
        raise InputError(N_("the window has already ended"))
    request_id = new_id()
    with engine.begin() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                select(booking.c.id, booking.c.state, booking.c.dormant_at, booking.c.first_seen).where(
                    booking.c.id.in_(ids)
                )
            )
        }
        for bid in ids:
            r = rows.get(bid)
            if r is None or r.state == "deleted":
                raise NotFoundError(N_("booking %(bid)s not found or deleted"), bid=bid)
            if r.state != "masked":
                raise InputError(N_("booking %(bid)s is not masked; no unmasking is needed"), bid=bid)
        level = "dormant" if any(rows[b].dormant_at is not None for b in ids) else "masked"
        newest = max(rows[b].first_seen for b in ids)  # the month key that dies last of theirs
        conn.execute(
            insert(unmasking_request).values(
                id=request_id,
                requested_at=now,
                requester=who,
                purpose=p.value,
                case_reference=case_reference,
                reason=_seal(conn, keystore, request_id, newest, "unmasking_request", reason.strip()),
                valid_from=valid_from,
                valid_until=valid_until,
                level=level,
                status="pending",
            )
        )
        conn.execute(
            insert(unmasking_request_booking), [{"request_id": request_id, "booking_id": b} for b in ids]
        )
    return request_id


def approve_unmasking(
    request_id: str,
    *,
    judge: Any,
    decision: Decision | str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
) -> Decision:
    """A judicial authority's decision on a pending request, with a reason.

    `ForbiddenError` unless `judge` holds ``judicial`` (``judicial_senior`` for a dormant
    request) and is not the requester; `ConflictError` if already decided. Either way the
    DPO is notified and the decision audited; the reason stays in the request's table."""
    who = _uid(judge)
    roles = _roles(judge)
    d = Decision(decision)
    if len(reason.strip()) < 1:
        raise InputError(N_("a decision needs a reason"))
    now = clock.now()
    with engine.begin() as conn:
        q = select(unmasking_request).where(unmasking_request.c.id == request_id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        req = conn.execute(q).first()
        if req is None:
            raise NotFoundError(N_("unmasking request %(request_id)s not found"), request_id=request_id)
        needed = {JUDICIAL_SENIOR} if req.level == "dormant" else {JUDICIAL, JUDICIAL_SENIOR}
        if not roles & needed:
            raise ForbiddenError(
                N_(
                    "approving a %(level)s-level unmasking needs the role %(items)s"
                ), level=req.level, items=' or '.join(sorted(needed))
            )
        if who == req.requester:
            raise ForbiddenError(N_("nobody approves their own unmasking request"))
        if req.status != "pending":
            raise ConflictError(N_(
                "unmasking request %(request_id)s was already %(status)s"
            ), request_id=request_id, status=req.status)
        role = (
            JUDICIAL_SENIOR
            if JUDICIAL_SENIOR in roles and req.level == "dormant"
            else sorted(roles & needed)[0]
        )
        conn.execute(
            insert(unmasking_approval).values(
                request_id=request_id,
                judge=who,
                judge_role=role,
                decision=d.value,
                reason=_seal(
                    conn, keystore, request_id, _newest_named(conn, request_id, req.requested_at),
                    "unmasking_approval", reason.strip(),
                ),
                decided_at=now,
            )
        )
        conn.execute(
            update(unmasking_request).where(unmasking_request.c.id == request_id).values(status=d.value)
        )
        ids = list(
            conn.execute(
                select(unmasking_request_booking.c.booking_id).where(
                    unmasking_request_booking.c.request_id == request_id
                )
            ).scalars()
        )
        conn.execute(
            insert(dpo_notification).values(
                id=new_id(),
                created_at=now,
                kind=f"unmasking_{d.value}",
                reference=request_id,
                counts={"bookings": len(ids)},
            )
        )
        _audit_for(audit, conn).append(
            actor=who,
            role=role,
            operation=Operation.UNMASKING,
            purpose=Purpose(req.purpose),
            record_ids=ids,
            counts={f"unmasking.{d.value}": 1, "bookings": len(ids)},
            reference=request_id,
        )
    return d


# --- the check and the view --------------------------------------------------------------


def _linked_named(conn: Connection, booking_id: str) -> list[str]:
    """The bookings whose approval may also cover `booking_id` through the traveller link:
    the other source (API or PNR) of the same people on the same flight, and only when
    *every* traveller of `booking_id` is linked to a traveller of that booking. So an
    approval for a one-person PNR covers that person's API record and back, and an
    approval for one API record never opens a family's PNR with the others in it (each
    of them needs their own record named, or a request naming the PNR)."""
    mine = conn.execute(
        select(
            traveller_member.c.traveller_ref, traveller_member.c.traveller_id, traveller_member.c.source
        ).where(traveller_member.c.booking_id == booking_id)
    ).all()
    if not mine:
        return []  # stored before linking: it stays uncovered
    # Every traveller of a booking indexed at ingest has its member row (`link_indexed`), so
    # `mine` is every traveller of it (its traveller count is not kept, Art. 12(2)(a)).
    ids = sorted({m.traveller_id for m in mine})
    other = conn.execute(
        select(traveller_member.c.booking_id, traveller_member.c.traveller_id).where(
            traveller_member.c.traveller_id.in_(ids), traveller_member.c.source != mine[0].source
        )
    ).all()
    by_booking: dict[str, set[str]] = {}
    for r in other:
        by_booking.setdefault(r.booking_id, set()).add(r.traveller_id)
    # Every traveller of ours must be a person that one booking of the other source holds.
    return sorted(b for b, people in by_booking.items() if people >= set(ids))


def covering_request(
    conn: Connection,
    booking_id: str,
    *,
    user: Any,
    purpose: Purpose | str,
    now: dt.datetime,
    case_references: Collection[str] | None = None,
) -> str | None:
    """The id of an approved request that lets `user` see `booking_id` for `purpose` at
    `now`, or None. Approved *before* now, window ``valid_from <= now < valid_until``, the
    booking named (or the other source of the same people on the same flight named:
    `_linked_named`), the same requester and purpose, and a level that covers the
    booking's tier (a dormant booking needs a dormant-level approval). With
    `case_references`, only a request naming one of them as its case (link analysis opens
    masked bookings only for the request or hit the unmasking was decided for)."""
    try:
        p = Purpose(purpose)
    except ValueError:
        return None
    row = conn.execute(
        select(booking.c.state, booking.c.dormant_at).where(booking.c.id == booking_id)
    ).first()
    if row is None or row.state != "masked":
        return None
    levels = ("dormant",) if row.dormant_at is not None else ("masked", "dormant")
    named = [booking_id, *_linked_named(conn, booking_id)]
    q = (
        select(unmasking_request.c.id)
        .join(unmasking_request_booking, unmasking_request_booking.c.request_id == unmasking_request.c.id)
        .join(unmasking_approval, unmasking_approval.c.request_id == unmasking_request.c.id)
        .where(
            unmasking_request_booking.c.booking_id.in_(named),
            unmasking_request.c.requester == _uid(user),
            unmasking_request.c.purpose == p.value,
            unmasking_request.c.status == "approved",
            unmasking_request.c.level.in_(levels),
            unmasking_approval.c.decision == "approved",
            unmasking_approval.c.decided_at <= now,
            unmasking_request.c.valid_from <= now,
            unmasking_request.c.valid_until > now,
        )
        .order_by(unmasking_request.c.valid_until.desc())
        .limit(1)
    )
    if case_references is not None:
        q = q.where(unmasking_request.c.case_reference.in_(sorted(case_references)))
    return conn.execute(q).scalar()


def can_see_identity_on(
    booking_id: str, *, user: Any, purpose: Purpose | str, conn: Connection, now: dt.datetime | None = None
) -> bool:
    """`can_see_identity` on the caller's connection (what `service.review` delegates to).

    `now` defaults to the system time; use cases with an injected clock pass it."""
    row = conn.execute(select(booking.c.state).where(booking.c.id == booking_id)).first()
    if row is None or row.state == "deleted":
        return False
    if row.state == "active":
        return True
    at = now or dt.datetime.now(dt.UTC)
    return covering_request(conn, booking_id, user=user, purpose=purpose, now=at) is not None


def can_see_identity(
    booking_id: str, *, user: Any, purpose: Purpose | str, engine: Engine, clock: Clock
) -> bool:
    """Whether `user` may see the identity fields of `booking_id` for `purpose` now.

    Active bookings: yes (the role and purpose checks of the workspace apply before this);
    deleted or unknown: no; masked: only under an approved request (`covering_request`)."""
    with engine.connect() as conn:
        return can_see_identity_on(booking_id, user=user, purpose=purpose, conn=conn, now=clock.now())


def read_visible(
    conn: Connection,
    keystore: KeyStore,
    booking_id: str,
    *,
    user: Any,
    purpose: Purpose | str,
    version: int | None = None,
    now: dt.datetime | None = None,
    seal_keystore: KeyStore | None = None,
    case_references: Collection[str] | None = None,
) -> tuple[Booking, str | None]:
    """The full booking for a viewer `can_see_identity_on` admits, and the id of the request
    that covers it (None for an active booking). For views that log themselves: the caller
    appends the ``unmasking`` entry (reference = that id) with its consultation.
    `ForbiddenError` when the viewer is not admitted (no entry is written here);
    `case_references` as for `covering_request`."""
    at = now or dt.datetime.now(dt.UTC)
    row = conn.execute(
        select(booking.c.state, booking.c.dormant_at).where(booking.c.id == booking_id)
    ).first()
    if row is not None and row.state == "active":
        return BookingRepository(conn, keystore).get(booking_id, version=version), None
    request_id = (
        covering_request(
            conn, booking_id, user=user, purpose=purpose, now=at, case_references=case_references
        )
        if row is not None
        else None
    )
    if row is None or request_id is None:
        raise ForbiddenError(N_("identity data of this booking is not visible to this user for this purpose"))
    tier = "dormant" if row.dormant_at is not None else "masked"
    b = read_sealed(conn, booking_id, keystore=keystore, seal_keystore=seal_keystore or keystore, tier=tier,
                    version=version)  # fmt: skip
    return b, request_id


def unmask_view(
    booking_id: str,
    *,
    user: Any,
    purpose: Purpose | str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    seal_keystore: KeyStore | None = None,
    version: int | None = None,
) -> Booking:
    """The full booking, identity included, for `user` and `purpose` (module docstring).

    Masked bookings are opened with their sealed key only under a covering request; the
    view is audited (``unmasking`` + ``consultation``, reference = the request). Without one:
    a ``refusal`` entry is committed and `ForbiddenError` raised. Active bookings are
    returned whole with a ``consultation`` entry."""
    who = _uid(user)
    role = _role_code(user, "analyst")
    now = clock.now()
    with engine.begin() as conn:
        state = conn.execute(
            select(booking.c.state, booking.c.dormant_at).where(booking.c.id == booking_id)
        ).first()
        if state is None or state.state == "deleted":
            raise NotFoundError(N_("booking %(booking_id)s not found or deleted"), booking_id=booking_id)
        try:
            p = Purpose(purpose)
        except ValueError:
            raise InputError(N_("unknown purpose code")) from None
        log = _audit_for(audit, conn)
        if state.state == "active":
            result = BookingRepository(conn, keystore).get(booking_id, version=version)
            log.append(
                actor=who,
                role=role,
                operation=Operation.CONSULTATION,
                purpose=p,
                record_ids=[booking_id],
                counts={"bookings": 1},
            )
            return result
        request_id = covering_request(conn, booking_id, user=user, purpose=p, now=now)
        if request_id is not None:
            tier = "dormant" if state.dormant_at is not None else "masked"
            result = read_sealed(
                conn,
                booking_id,
                keystore=keystore,
                seal_keystore=seal_keystore or keystore,
                tier=tier,
                version=version,
            )
            log.append(
                actor=who,
                role=role,
                operation=Operation.UNMASKING,
                purpose=p,
                record_ids=[booking_id],
                counts={"unmasking.view": 1},
                reference=request_id,
            )
            log.append(
                actor=who,
                role=role,
                operation=Operation.CONSULTATION,
                purpose=p,
                record_ids=[booking_id],
                counts={"bookings": 1},
                reference=request_id,
            )
            return result
    # Refused: the refusal must be logged even though the caller gets an error.
    with engine.begin() as conn:
        _audit_for(audit, conn).append(
            actor=who,
            role=role,
            operation=Operation.REFUSAL,
            purpose=p,
            record_ids=[booking_id],
            counts={"unmasking.refused": 1},
        )
    raise ForbiddenError(
        N_(
            "identity data of a masked booking is shown only under an approved unmasking request covering "
            "this booking, user, purpose and time"
        )
    )


def roles_of(user: Any) -> Collection[str]:
    """The role codes of a user object (for shells that show them)."""
    return _roles(user)
