"""The analyst workspace: hit queue, hit page, decisions and transmissions.

Thin: each route checks its roles (`require_role`), translates the form into a call of
`service.review` or `service.disclosure`, and renders. URLs carry opaque ids only (hit,
transmission, booking, request ids), never a name or a locator; searches that take
personal criteria are POST forms (`web/requests.py`).

`install(app)` adds everything the workspace needs to the node's app: the routers, the
static files, the settings and the error pages.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select

from pnrguard.errors import InputError, PnrguardError
from pnrguard.service import disclosure, review, triage
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.hit_queue import PRIORITIES, WHEN, QueueFilter, hit_queue
from pnrguard.service.package_pdf import package_lines
from pnrguard.service.review import PAGE_SIZE, Page, ReviewPolicy
from pnrguard.store import hit_notes
from pnrguard.store import screening as hits_store
from pnrguard.store import workspace as ws_store
from pnrguard.store.screening import HitStatus, criteria_rule, suppression
from pnrguard.web import account as account_views
from pnrguard.web import admin, admin_trust, oidc
from pnrguard.web import requests as requests_views
from pnrguard.web.auth import AuthSettings, node_of, require_role
from pnrguard.web.auth import router as auth_router
from pnrguard.web.i18n import N_, error_text, gettext
from pnrguard.web.views import (
    PageNumber,
    Refusal,
    download,
    error_page,
    json_response,
    render,
    submit,
    wants_html,
)

__all__ = ["install", "router"]

READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
REVIEWERS = (Role.ANALYST, Role.SUPERVISOR)

router = APIRouter()

_HIT_STATUSES = ("open", "confirmed", "dismissed", "withdrawn", "all")
_TRANSMISSION_STATUSES = ("pending", "released", "rejected", "withdrawn", "all")
_DONE = {
    "confirmed": N_("Hit confirmed. It can now be transmitted."),
    "dismissed": N_("Hit dismissed. The same match will not come back for this person."),
    "proposed": N_("Transmission proposed: it waits for a supervisor's second approval."),
    "released": N_("Transmission released: the disclosure is logged and the package is ready."),
    "rejected": N_("Transmission rejected: nothing was released."),
    "withdrawn": N_("Transmission withdrawn: nothing was released."),
    "reopened": N_("Hit reopened: the decision was set aside and the hit waits for review again."),
    "noted": N_("Note added."),
    "assigned": N_("Assignment saved."),
    "priority": N_("Priority saved."),
}


def _done_message(done: str) -> str:
    """The confirmation shown after a redirect, in the reader's language."""
    return gettext(_DONE[done]) if done in _DONE else ""


def policy_of(request: Request) -> ReviewPolicy:
    p: ReviewPolicy = request.app.state.review_policy
    return p


def _status_filter(value: str, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


# --- hits ----------------------------------------------------------------------------------


def _float(value: str) -> float | None:
    try:
        return float(value) if value.strip() else None
    except ValueError:
        raise InputError(gettext("a score is a number between 0 and 1")) from None


def queue_filter(request: Request, status: str) -> tuple[str, QueueFilter]:
    """The queue's filters from the query string (no personal data: flight, list, rule,
    score, status, assignee, priority, departing or departed)."""
    q = request.query_params
    status = _status_filter(status, _HIT_STATUSES, "open")
    priority = q.get("priority", "")
    f = QueueFilter(
        status=None if status == "all" else HitStatus(status),
        flight=q.get("flight", "").strip(),
        watchlist=q.get("list", "").strip(),
        rule=q.get("rule", "").strip(),
        min_score=_float(q.get("score", "")),
        assignee=q.get("assignee", "").strip(),
        priority=int(priority) if priority.isdigit() else None,
        when=q.get("when", "all") if q.get("when", "all") in WHEN else "all",
    )
    return status, f


def _queue(request: Request, status: str, page: int) -> tuple[str, QueueFilter, Page[review.QueueRow]]:
    status, f = queue_filter(request, status)
    node = node_of(request)
    return status, f, hit_queue(node.engine, node.keystore, filters=f, page=page, now=node.clock())


@router.get("/hits", include_in_schema=False)
def hits(
    request: Request,
    status: str = "open",
    page: PageNumber = 1,
    _: Account = Depends(require_role(*READERS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    node = node_of(request)
    try:
        status, f, result = _queue(request, status, page)
        error = ""
    except InputError as exc:
        status, f, result, error = "open", QueueFilter(), Page([], 1, PAGE_SIZE, 0), error_text(exc)
    keep = {k: v for k, v in request.query_params.items() if k != "page" and v}
    with node.engine.connect() as conn:
        lists = [w.name for w in hits_store.list_watchlists(conn)]
        rules = sorted({r for r in conn.execute(select(criteria_rule.c.rule_id)).scalars()})
    return render(
        request,
        "hits.html",
        {
            "page": result,
            "status": status,
            "statuses": _HIT_STATUSES,
            "f": f,
            "query": keep,
            "base": "/hits?" + urlencode(keep) + ("&" if keep else ""),
            "lists": lists,
            "rules": rules,
            "people": triage.assignable(node.engine),
            "priorities": PRIORITIES,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/api/hits")
def hits_json(
    request: Request,
    status: str = "open",
    page: PageNumber = 1,
    _: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    status, _f, result = _queue(request, status, page)
    return json_response(
        {
            "status": status,
            "page": result.number,
            "pages": result.pages,
            "total": result.total,
            "page_size": PAGE_SIZE,
            "items": [i.to_json() for i in result.items],
        }
    )


def _hit_page(request: Request, hit_id: str, user: Account) -> review.HitPage:
    node = node_of(request)
    return review.hit_page(hit_id, user=user, engine=node.engine, keystore=node.keystore, audit=node.audit)


def render_hit(
    request: Request,
    hit_id: str,
    user: Account,
    *,
    done: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The hit page; a refused form comes back with its message and what was typed."""
    p = _hit_page(request, hit_id, user)
    node = node_of(request)
    with node.engine.connect() as conn:
        transmissions = ws_store.transmissions_of_hit(conn, hit_id)
        authorities = ws_store.list_authorities(conn)
        unseal = node.keystore if p.booking.unmasked_under is not None else None
        notes = hit_notes.notes_of(conn, hit_id, keystore=node.keystore, unseal=unseal)
        suppressed = conn.execute(
            select(suppression.c.hit_id).where(suppression.c.hit_id == hit_id)
        ).first() is not None
    return render(
        request,
        "hit.html",
        {
            "p": p,
            "message": _done_message(done),
            "error": error,
            "form": form or {},
            "can_decide": user.role in REVIEWERS,
            "can_reopen": user.role is Role.SUPERVISOR,
            "transmissions": transmissions,
            "authorities": authorities,
            "authorities_by_id": {a.id: a for a in authorities},
            "purposes": review.investigative_purposes(),
            "four_eyes": policy_of(request).four_eyes,
            "notes": notes,
            "suppressed": suppressed,
            "people": triage.assignable(node.engine) if user.role in REVIEWERS else [],
            "priorities": PRIORITIES,
            "min_justification": disclosure.MIN_JUSTIFICATION,
            "min_reason": triage.MIN_REASON,
        },
        status_code=status_code,
    )


@router.get("/hits/{hit_id}", include_in_schema=False)
def hit_view(
    request: Request,
    hit_id: str,
    done: str = "",
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return render_hit(request, hit_id, user, done=done)


@router.get("/api/hits/{hit_id}")
def hit_json(
    request: Request,
    hit_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return json_response(_hit_page(request, hit_id, user).to_json())


def refused_form(
    request: Request, hit_id: str, user: Account, exc: PnrguardError, form: dict[str, str]
) -> Response:
    """A refused hit form: JSON for scripts, the page with the message and the typed text
    for browsers (issue 15: a refused form keeps what was typed)."""
    if not wants_html(request):
        raise exc
    return render_hit(request, hit_id, user, error=error_text(exc), form=form, status_code=exc.http_status)


def refused_hit(request: Request, hit_id: str, user: Account, form: dict[str, str]) -> Refusal:
    """How a hit form shows a refusal (`views.submit`)."""
    return lambda exc: refused_form(request, hit_id, user, exc, form)


@router.post("/hits/{hit_id}/decision", include_in_schema=False)
def hit_decision(
    request: Request,
    hit_id: str,
    decision: str = Form(""),
    reason: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        if decision not in ("confirm", "dismiss"):
            raise InputError(gettext("choose confirm or dismiss"))
        done = review.decide(
            hit_id,
            user=user,
            decision=decision,
            reason=reason,
            engine=node.engine,
            keystore=node.keystore,
            audit=node.audit,
            clock=node.clock,
        )
        return f"/hits/{hit_id}?done={done.status.value}"

    return submit(act, refused_hit(request, hit_id, user, {"decision": decision, "reason": reason}))


@router.post("/hits/{hit_id}/transmissions", include_in_schema=False)
def hit_transmit(
    request: Request,
    hit_id: str,
    authority_id: str = Form(""),
    purpose: str = Form(""),
    justification: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        rec = disclosure.propose_transmission(
            user=user,
            hit_id=hit_id,
            authority_id=authority_id,
            purpose=purpose,
            justification=justification,
            engine=node.engine,
            keystore=node.keystore,
            audit=node.audit,
            clock=node.clock,
            node_name=node.settings.node_name,
            policy=policy_of(request),
        )
        done = "released" if rec.status == "released" else "proposed"
        return f"/transmissions/{rec.id}?done={done}"

    form = {"authority_id": authority_id, "purpose": purpose, "justification": justification}
    return submit(act, refused_hit(request, hit_id, user, form))


# --- transmissions -------------------------------------------------------------------------


@router.get("/transmissions", include_in_schema=False)
def transmissions(
    request: Request,
    status: str = "pending",
    page: PageNumber = 1,
    _: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    status = _status_filter(status, _TRANSMISSION_STATUSES, "pending")
    page = max(page, 1)
    with node_of(request).engine.connect() as conn:
        items, total = ws_store.list_transmissions(
            conn, status=None if status == "all" else status, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        authorities = {a.id: a for a in ws_store.list_authorities(conn)}
    return render(
        request,
        "transmissions.html",
        {
            "page": Page(items, page, PAGE_SIZE, total),
            "status": status,
            "statuses": _TRANSMISSION_STATUSES,
            "authorities_by_id": authorities,
        },
    )


def render_transmission(
    request: Request,
    transmission_id: str,
    user: Account,
    *,
    done: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    node = node_of(request)
    rec, authority = disclosure.get_transmission(node.engine, transmission_id, keystore=node.keystore)
    can_approve = user.role is Role.SUPERVISOR and user.username != rec.proposed_by
    preview: list[tuple[str, str]] = []
    if rec.status == "pending" and can_approve:
        # The second person sees what leaves: the package, built by the code that builds it.
        pkg = disclosure.preview_transmission(
            transmission_id, user=user, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, node_name=node.settings.node_name,
        )  # fmt: skip
        preview = package_lines(pkg.data)
    return render(
        request,
        "transmission.html",
        {
            "t": rec,
            "authority": authority,
            "message": _done_message(done),
            "error": error,
            "form": form or {},
            "can_approve": can_approve,
            "can_withdraw": rec.status == "pending" and user.username == rec.proposed_by,
            "preview": preview,
        },
        status_code=status_code,
    )


def refused_transmission(
    request: Request, transmission_id: str, user: Account, form: dict[str, str]
) -> Refusal:
    """How a transmission form shows a refusal: JSON for scripts, the page for browsers."""

    def page(exc: PnrguardError) -> Response:
        if not wants_html(request):
            raise exc
        return render_transmission(
            request, transmission_id, user, error=error_text(exc), form=form, status_code=exc.http_status
        )

    return page


@router.get("/transmissions/{transmission_id}", include_in_schema=False)
def transmission_view(
    request: Request,
    transmission_id: str,
    done: str = "",
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return render_transmission(request, transmission_id, user, done=done)


@router.post("/transmissions/{transmission_id}/decision", include_in_schema=False)
def transmission_decision(
    request: Request,
    transmission_id: str,
    decision: str = Form(""),
    reason: str = Form(""),
    user: Account = Depends(require_role(Role.SUPERVISOR)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        if decision == "approve":
            disclosure.approve_transmission(
                transmission_id,
                user=user,
                reason=reason,
                engine=node.engine,
                keystore=node.keystore,
                audit=node.audit,
                clock=node.clock,
                node_name=node.settings.node_name,
            )
            done = "released"
        elif decision == "reject":
            disclosure.reject_transmission(
                transmission_id, user=user, reason=reason, engine=node.engine, keystore=node.keystore,
                clock=node.clock,
            )  # fmt: skip
            done = "rejected"
        else:
            raise InputError(gettext("approve or reject"))
        return f"/transmissions/{transmission_id}?done={done}"

    return submit(act, refused_transmission(request, transmission_id, user, {"reason": reason}))


@router.post("/transmissions/{transmission_id}/withdraw", include_in_schema=False)
def transmission_withdraw(
    request: Request,
    transmission_id: str,
    reason: str = Form(""),
    user: Account = Depends(require_role(*REVIEWERS)),  # noqa: B008
) -> Response:
    """The proposer takes a pending transmission back."""
    node = node_of(request)

    def act() -> str:
        disclosure.withdraw_transmission(
            transmission_id, user=user, reason=reason, engine=node.engine, keystore=node.keystore,
            audit=node.audit, clock=node.clock,
        )  # fmt: skip
        return f"/transmissions/{transmission_id}?done=withdrawn"

    return submit(act, refused_transmission(request, transmission_id, user, {"withdraw_reason": reason}))


def _package(request: Request, transmission_id: str, user: Account) -> disclosure.Package:
    node = node_of(request)
    return disclosure.package(
        transmission_id,
        user=user,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        node_name=node.settings.node_name,
    )


@router.get("/transmissions/{transmission_id}/package.json")
def package_json(
    request: Request,
    transmission_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    pkg = _package(request, transmission_id, user)
    return download(
        pkg.json_bytes,
        "application/json",
        f"disclosure-{transmission_id}.json",
        pkg.transmission.package_sha256,
    )


@router.get("/transmissions/{transmission_id}/package.pdf")
def package_pdf(
    request: Request,
    transmission_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    pkg = _package(request, transmission_id, user)
    return download(pkg.pdf(), "application/pdf", f"disclosure-{transmission_id}.pdf", None)


# --- installation --------------------------------------------------------------------------


def install(app: FastAPI, node: Node) -> None:
    """Add the workspace to the node's app (called once by `create_app`)."""
    app.state.auth_settings = AuthSettings()
    app.state.review_policy = ReviewPolicy.from_env()
    # Pages get HTML error pages; APIs keep the app's JSON errors (see `views.error_page`).
    app.add_exception_handler(PnrguardError, error_page)
    app.include_router(auth_router)
    app.include_router(oidc.router)
    app.include_router(router)
    app.include_router(requests_views.router)
    app.include_router(admin.router)
    app.include_router(admin_trust.router)
    app.include_router(account_views.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    del node  # the app's state holds it already
