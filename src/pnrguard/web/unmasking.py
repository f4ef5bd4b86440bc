"""Judicial unmasking in the workspace (Directive 2016/681 Art. 12(3); `service.unmasking`).

After six months a booking is masked; its identity data may be shown again only for a duly
reasoned request that a judicial authority approved *beforehand*. These pages let people
do that:

- an **analyst or supervisor** asks, from a masked booking on a hit or record page
  ("Request unmasking" → `/unmasking/new?booking=<id>`), with the purpose, the case
  reference, the reasoning and a window of at most 90 days, and follows the request's
  status (`/unmasking`, `/unmasking/{id}`). An analyst sees their own requests only; a
  supervisor sees all of them (they supervise the analysts' use of the power);
- the **judicial authority** gets the pending requests as a queue and decides each one with
  a mandatory reason; a request naming a booking in the EU-US dormant store (5-10 years)
  needs the **senior judicial authority** (`judicial_senior`), who may also decide every
  other request. The judge decides on the reasoning, not by looking at the data: the
  request page shows the purpose, case, reasons, window and the bookings by opaque id and
  flight, read from the booking table's clear columns only, never decrypted, so nothing on
  these pages can name a traveller;
- the **DPO** reads the list and every request (and is notified of every decision by the
  service; the DPO's own approvals page lists those notifications).

What the approval then allows is not decided here: the hit and record pages already go
through `service.review.can_see_identity` and log an ``unmasking`` entry naming the request.
URLs carry opaque ids only (requests, bookings); the booking ids of a new request travel
as query parameters because they are opaque, never a name or a locator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pnrguard.errors import N_, ForbiddenError, InputError, NotFoundError
from pnrguard.service import accounts, unmasking
from pnrguard.service.accounts import Account, Role
from pnrguard.service.ingest import opaque
from pnrguard.service.review import PAGE_SIZE, Page, investigative_purposes
from pnrguard.store.lifecycle import unmasking_approval, unmasking_request, unmasking_request_booking
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import PageNumber, render

__all__ = ["router"]

REQUESTERS = (Role.ANALYST, Role.SUPERVISOR)
JUDGES = (Role.JUDICIAL, Role.JUDICIAL_SENIOR)
READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO, *JUDGES)
_STATUSES = ("pending", "approved", "rejected", "all")
#: A request names the bookings of one case; more than this is a search, not a request.
MAX_BOOKINGS = 50
_ID_MAX = 64
#: The window the form proposes: from today, this many days (inclusive) - well inside 90.
DEFAULT_DAYS = 30
_DONE = {
    "requested": N_("Request recorded. It waits for a judicial authority's decision."),
    "approved": N_("Approved. The requester sees the identity data of these bookings within the window."),
    "rejected": N_("Rejected. The bookings stay masked."),
}

router = APIRouter()


# --- reads (clear columns only: nothing here is decrypted) -------------------------------


@dataclass(frozen=True, slots=True)
class BookingLine:
    """A booking as the request pages name it: opaque id, state and flight. No locator, no
    name: a judge decides on the reasoning, not on who the travellers are."""

    id: str
    state: str
    flight: str
    flight_date: dt.date | None
    origin: str
    destination: str


@dataclass(frozen=True, slots=True)
class RequestRow:
    """An unmasking request with its decision (if any)."""

    id: str
    requested_at: dt.datetime
    requester: str  # the account's username when known, else the stored opaque id
    requester_id: str
    purpose: str
    case_reference: str
    reason: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    level: str
    status: str
    bookings: int
    judge: str | None = None
    decision_reason: str | None = None
    decided_at: dt.datetime | None = None


def _usernames(request: Request) -> dict[str, str]:
    """Stored requester/judge ids (opaque account ids) to usernames, for display."""
    return {opaque(a.id): a.username for a in accounts.list_accounts(node_of(request).engine)}


def _booking_lines(conn: Connection, ids: Sequence[str]) -> list[BookingLine]:
    rows = {
        r.id: r
        for r in conn.execute(
            select(
                booking.c.id,
                booking.c.state,
                booking.c.flight_carrier,
                booking.c.flight_number,
                booking.c.flight_date,
                booking.c.origin,
                booking.c.destination,
            ).where(booking.c.id.in_(list(ids)))
        )
    }
    out = []
    for bid in ids:
        r = rows.get(bid)
        if r is None:
            raise NotFoundError(N_("booking %(bid)s not found"), bid=bid)
        out.append(
            BookingLine(
                r.id,
                r.state,
                f"{r.flight_carrier or ''}{r.flight_number or ''}",
                r.flight_date,
                r.origin or "",
                r.destination or "",
            )
        )
    return out


def _row(r: Any, names: dict[str, str]) -> RequestRow:
    judge = getattr(r, "judge", None)
    return RequestRow(
        id=r.id,
        requested_at=r.requested_at,
        requester=names.get(r.requester, r.requester),
        requester_id=r.requester,
        purpose=r.purpose,
        case_reference=r.case_reference,
        reason=r.reason,
        valid_from=r.valid_from,
        valid_until=r.valid_until,
        level=r.level,
        status=r.status,
        bookings=int(getattr(r, "n", 0) or 0),
        judge=names.get(judge, judge) if judge else None,
        decision_reason=getattr(r, "decision_reason", None),
        decided_at=getattr(r, "decided_at", None),
    )


def _list(request: Request, user: Account, status: str, page: int) -> Page[RequestRow]:
    """One page of requests, newest first. An analyst's list is their own requests only."""
    cond = [] if status == "all" else [unmasking_request.c.status == status]
    if user.role is Role.ANALYST:
        cond.append(unmasking_request.c.requester == opaque(user.id))
    n = (
        select(unmasking_request_booking.c.request_id, func.count().label("n"))
        .group_by(unmasking_request_booking.c.request_id)
        .subquery()
    )
    # The judge works the queue oldest first; everyone else follows their latest requests.
    order = unmasking_request.c.requested_at
    q = (
        select(unmasking_request, n.c.n)
        .outerjoin(n, n.c.request_id == unmasking_request.c.id)
        .where(*cond)
        .order_by(order if user.role in JUDGES else order.desc(), unmasking_request.c.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    with node_of(request).engine.connect() as conn:
        total = int(
            conn.execute(select(func.count()).select_from(unmasking_request).where(*cond)).scalar_one()
        )
        rows = conn.execute(q).all()
    names = _usernames(request)
    return Page([_row(r, names) for r in rows], page, PAGE_SIZE, total)


def _get(request: Request, request_id: str, user: Account) -> tuple[RequestRow, list[BookingLine]]:
    """One request and its bookings; an analyst may open only their own (403 otherwise,
    after the 404 for an unknown id, so the walk of the routes sees the role admitted)."""
    with node_of(request).engine.connect() as conn:
        r = conn.execute(
            select(
                unmasking_request,
                unmasking_approval.c.judge,
                unmasking_approval.c.reason.label("decision_reason"),
                unmasking_approval.c.decided_at,
            )
            .outerjoin(unmasking_approval, unmasking_approval.c.request_id == unmasking_request.c.id)
            .where(unmasking_request.c.id == request_id[:_ID_MAX])
        ).first()
        if r is None:
            raise NotFoundError(
                N_("unmasking request %(request_id)s not found"), request_id=request_id[:_ID_MAX]
            )
        if user.role is Role.ANALYST and r.requester != opaque(user.id):
            raise ForbiddenError(gettext("an analyst sees their own unmasking requests only"))
        ids = list(
            conn.execute(
                select(unmasking_request_booking.c.booking_id)
                .where(unmasking_request_booking.c.request_id == r.id)
                .order_by(unmasking_request_booking.c.booking_id)
            ).scalars()
        )
        lines = _booking_lines(conn, ids)
        keys = TextKeys(conn, node_of(request).keystore)
        reason = unmasking.open_reason(keys, r.reason, table="unmasking_request", request_id=r.id)
        decision = unmasking.open_reason(keys, r.decision_reason, table="unmasking_approval", request_id=r.id)
    # Usernames after the transaction: SQLite would wait on this connection's lock.
    return replace(_row(r, _usernames(request)), reason=reason or "", decision_reason=decision), lines


# --- lists and requests ------------------------------------------------------------------


@router.get("/unmasking", include_in_schema=False)
def unmasking_list(
    request: Request,
    status: str = "",
    page: PageNumber = 1,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    default = "pending" if user.role in JUDGES else "all"
    status = status if status in _STATUSES else default
    result = _list(request, user, status, max(page, 1))
    return render(
        request,
        "unmasking_list.html",
        {"page": result, "status": status, "statuses": _STATUSES},
    )


def _day(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(N_("%(what)s: expected a date as YYYY-MM-DD"), what=what) from None


def _booking_ids(values: Sequence[str]) -> list[str]:
    ids = list(dict.fromkeys(v.strip() for v in values if v.strip()))
    if not ids:
        raise InputError(gettext("name at least one masked booking (open it from a hit or a record)"))
    if len(ids) > MAX_BOOKINGS or any(len(i) > _ID_MAX for i in ids):
        raise InputError(N_("a request names at most %(n)s bookings, by their ids"), n=MAX_BOOKINGS)
    return ids


def _new_form(
    request: Request, ids: list[str], form: dict[str, str], *, error: str = "", status_code: int = 200
) -> Response:
    with node_of(request).engine.connect() as conn:
        lines = _booking_lines(conn, ids)
    return render(
        request,
        "unmasking_new.html",
        {
            "bookings": lines,
            "purposes": investigative_purposes(),
            "form": form,
            "error": error,
            "min_reason": unmasking.MIN_REASON,
            "max_days": unmasking.MAX_WINDOW.days,
        },
        status_code=status_code,
    )


@router.get("/unmasking/new", include_in_schema=False)
def unmasking_new(
    request: Request,
    booking_ids: list[str] = Query([], alias="booking"),  # noqa: B008 — FastAPI's idiom
    purpose: str = "",
    _: Account = Depends(require_role(*REQUESTERS)),  # noqa: B008
) -> Response:
    ids = _booking_ids(booking_ids)
    today = node_of(request).clock().date()
    form = {
        "purpose": purpose if purpose in {p.value for p in investigative_purposes()} else "",
        "case_reference": "",
        "reason": "",
        "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
    }
    with node_of(request).engine.connect() as conn:
        lines = _booking_lines(conn, ids)
    if any(b.state != "masked" for b in lines):
        # Said before the analyst writes the reasoning, not after.
        raise InputError(
            gettext("only masked bookings need unmasking: an active booking shows its data already")
        )
    return _new_form(request, ids, form)


@router.post("/unmasking", include_in_schema=False)
def unmasking_create(
    request: Request,
    booking_ids: list[str] = Form([], alias="booking"),  # noqa: B008
    purpose: str = Form(""),
    case_reference: str = Form(""),
    reason: str = Form(""),
    valid_from: str = Form(""),
    valid_until: str = Form(""),
    user: Account = Depends(require_role(*REQUESTERS)),  # noqa: B008
) -> Response:
    ids = _booking_ids(booking_ids)
    form = {
        "purpose": purpose,
        "case_reference": case_reference,
        "reason": reason,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    node = node_of(request)
    try:
        start = _day(valid_from, "window from")
        last = _day(valid_until, "window until")
        # Whole UTC days, the last one included: until = the start of the next day.
        rid = unmasking.request_unmasking(
            requester=user,
            purpose=purpose,
            case_reference=case_reference.strip(),
            reason=reason,
            booking_ids=ids,
            valid_from=dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
            valid_until=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC),
            engine=node.engine,
            keystore=node.keystore,
            clock=node.clock,
        )
    except InputError as exc:
        return _new_form(request, ids, form, error=_sentence(error_text(exc)), status_code=400)
    return RedirectResponse(f"/unmasking/{rid}?done=requested", status_code=303)


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


# --- one request, and the judge's decision -----------------------------------------------


def _detail(
    request: Request,
    request_id: str,
    user: Account,
    *,
    done: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    r, lines = _get(request, request_id, user)
    own = r.requester_id == opaque(user.id)
    # Dormant (EU-US) bookings need a senior judicial authority (`service.unmasking`).
    needs_senior = r.level == "dormant" and user.role is not Role.JUDICIAL_SENIOR
    return render(
        request,
        "unmasking_request.html",
        {
            "r": r,
            "bookings": lines,
            "message": gettext(_DONE[done]) if done in _DONE else "",
            "error": error,
            "form": form or {"decision": "", "reason": ""},
            "judge": user.role in JUDGES,
            "can_decide": user.role in JUDGES and r.status == "pending" and not own and not needs_senior,
            "own": own,
            "needs_senior": needs_senior,
        },
        status_code=status_code,
    )


@router.get("/unmasking/{request_id}", include_in_schema=False)
def unmasking_view(
    request: Request,
    request_id: str,
    done: str = "",
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return _detail(request, request_id, user, done=done)


def _check_level(request: Request, request_id: str, user: Account) -> None:
    """403 with a plain reason when a judicial authority tries to decide a dormant-level
    request. `service.unmasking.approve_unmasking` enforces the same rule; this says it in
    the judge's words before anything else is checked. An unknown id goes on to its 404."""
    with node_of(request).engine.connect() as conn:
        level = conn.execute(
            select(unmasking_request.c.level).where(unmasking_request.c.id == request_id)
        ).scalar()
    if level == "dormant" and user.role is not Role.JUDICIAL_SENIOR:
        raise ForbiddenError(
            N_(
                "a booking of this request is in the dormant (EU-US) store: only a senior judicial "
                "authority may decide it"
            )
        )


@router.post("/unmasking/{request_id}/decision", include_in_schema=False)
def unmasking_decision(
    request: Request,
    request_id: str,
    decision: str = Form(""),
    reason: str = Form(""),
    user: Account = Depends(require_role(*JUDGES)),  # noqa: B008
) -> Response:
    node = node_of(request)
    form = {"decision": decision, "reason": reason}
    _check_level(request, request_id[:_ID_MAX], user)
    try:
        if decision not in ("approved", "rejected"):
            raise InputError(gettext("choose approve or reject"))
        if not reason.strip():
            raise InputError(
                gettext("a decision needs a reason: it is kept with the request for the DPO's review")
            )
        done = unmasking.approve_unmasking(
            request_id[:_ID_MAX],
            judge=user,
            decision=decision,
            reason=reason,
            engine=node.engine,
            audit=node.audit,
            keystore=node.keystore,
            clock=node.clock,
        )
    except InputError as exc:
        return _detail(
            request, request_id, user, error=_sentence(error_text(exc)), form=form, status_code=400
        )
    return RedirectResponse(f"/unmasking/{request_id[:_ID_MAX]}?done={done.value}", status_code=303)
