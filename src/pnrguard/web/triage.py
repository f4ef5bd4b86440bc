"""Triage pages: assignment, priority, notes and reopening of hits; suppressions; flights.

Thin, like `web/workspace.py`: each route checks its roles, calls `service.triage` (or
`service.flights`) and renders. A refused form comes back with its message and what was
typed (`views.submit` with `workspace.refused_hit`). URLs carry opaque ids, flight numbers and dates only.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from pnrguard.errors import InputError, NotFoundError, PnrguardError
from pnrguard.protection.retention import get_profile
from pnrguard.service import triage
from pnrguard.service.accounts import Account, Role
from pnrguard.service.flights import flight_summary
from pnrguard.service.hit_queue import QueueFilter, countdown, hit_queue
from pnrguard.service.review import PAGE_SIZE, Page
from pnrguard.store import workspace as ws_store
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import PageNumber, render, submit
from pnrguard.web.workspace import READERS, REVIEWERS, refused_hit

__all__ = ["router"]

router = APIRouter()
_SUPERVISOR = Depends(require_role(Role.SUPERVISOR))


@router.post("/hits/{hit_id}/assign", include_in_schema=False)
def hit_assign(
    request: Request,
    hit_id: str,
    assignee: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    node = node_of(request)

    def act() -> str:
        triage.assign(hit_id, user=user, assignee=assignee, engine=node.engine, audit=node.audit)
        return f"/hits/{hit_id}?done=assigned"

    return submit(act, refused_hit(request, hit_id, user, {"assignee": assignee}), refusals=(InputError,))


@router.post("/hits/{hit_id}/priority", include_in_schema=False)
def hit_priority(
    request: Request,
    hit_id: str,
    priority: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        if not priority.isdigit():
            raise InputError(gettext("a priority is normal, high or urgent"))
        triage.set_priority(hit_id, user=user, priority=int(priority), engine=node.engine, audit=node.audit)
        return f"/hits/{hit_id}?done=priority"

    return submit(act, refused_hit(request, hit_id, user, {"priority": priority}), refusals=(InputError,))


@router.post("/hits/{hit_id}/notes", include_in_schema=False)
def hit_note(
    request: Request,
    hit_id: str,
    text: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        triage.add_note(
            hit_id, user=user, text=text, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, sensitive_filter=node.sensitive_filter,
        )  # fmt: skip
        return f"/hits/{hit_id}?done=noted#notes"

    return submit(act, refused_hit(request, hit_id, user, {"note": text}), refusals=(InputError,))


@router.post("/hits/{hit_id}/reopen", include_in_schema=False)
def hit_reopen(
    request: Request,
    hit_id: str,
    reason: str = Form(""),
    user: Account = _SUPERVISOR,
) -> Response:
    node = node_of(request)

    def act() -> str:
        triage.reopen(
            hit_id, user=user, reason=reason, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, sensitive_filter=node.sensitive_filter,
        )  # fmt: skip
        return f"/hits/{hit_id}?done=reopened"

    return submit(act, refused_hit(request, hit_id, user, {"reopen_reason": reason}))


# --- suppressions ------------------------------------------------------------------------


def _suppressions_page(
    request: Request,
    page: int,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    node = node_of(request)
    profile = get_profile(node.settings.retention_profile)
    rows, total = triage.suppressions(
        node.engine, profile=profile, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return render(
        request,
        "suppressions.html",
        {
            "page": Page(rows, page, PAGE_SIZE, total),
            "mask_months": profile.mask_after_months,
            "error": error,
            "form": form or {},
            "min_reason": triage.MIN_REASON,
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/suppressions", include_in_schema=False)
def suppressions(
    request: Request,
    page: PageNumber = 1,
    _: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return _suppressions_page(request, page)


@router.post("/suppressions/{hit_id}/lift", include_in_schema=False)
def suppression_lift(
    request: Request,
    hit_id: str,
    reason: str = Form(""),
    user: Account = _SUPERVISOR,
) -> Response:
    node = node_of(request)

    def act() -> str:
        triage.lift_suppression(
            hit_id, user=user, reason=reason, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, sensitive_filter=node.sensitive_filter,
        )  # fmt: skip
        return "/suppressions?done=lifted"

    def refused(exc: PnrguardError) -> Response:
        form = {"hit_id": hit_id, "reason": reason}
        return _suppressions_page(request, 1, error=error_text(exc), form=form, status_code=exc.http_status)

    return submit(act, refused, refusals=(InputError, NotFoundError))


# --- flights -----------------------------------------------------------------------------


@router.get("/flights/{flight}/{date}", include_in_schema=False)
def flight_page(
    request: Request,
    flight: str,
    date: dt.date,
    page: PageNumber = 1,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    now = node.clock()
    summary = flight_summary(node.engine, node.keystore, flight=flight, date=date, now=now)
    hits = hit_queue(
        node.engine, node.keystore, page=page, now=now,
        filters=QueueFilter(status=None, flight=summary.label, flight_date=date),
    )  # fmt: skip
    with node.engine.connect() as conn:
        open_requests, _ = ws_store.list_requests(conn, status="open", offset=0, limit=100)
    return render(
        request,
        "flight.html",
        {
            "s": summary,
            "countdown": countdown(summary.departs_in),
            "page": hits,
            "requests": open_requests if user.role in REVIEWERS else [],
        },
    )
