"""Requests from competent authorities, the purpose-bound search and opening records.

Searches take personal criteria (names, locators), so they are POST forms: criteria never
appear in a URL, a server log or a browser history. Records open at
`/requests/{request}/bookings/{booking}` (opaque ids); `/bookings/{booking}` without a
request is refused and the refusal logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import N_, InputError
from pnrguard.service import disclosure, requests, search
from pnrguard.service.accounts import Account, Role
from pnrguard.service.requests import MIN_REASON, SearchCriteria, SearchOutcome
from pnrguard.service.review import investigative_purposes
from pnrguard.store import workspace as ws_store
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import PageNumber, json_response, render

__all__ = ["criteria_of", "router"]

READERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
SEARCHERS = (Role.ANALYST, Role.SUPERVISOR)
_STATUSES = ("open", "answered", "refused", "all")

router = APIRouter()


def _authorities(request: Request) -> list[ws_store.AuthorityRecord]:
    with node_of(request).engine.connect() as conn:
        return ws_store.list_authorities(conn)


@router.get("/requests", include_in_schema=False)
def request_list(
    request: Request,
    status: str = "open",
    page: PageNumber = 1,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    status = status if status in _STATUSES else "open"
    result = requests.list_requests(
        node_of(request).engine, status=None if status == "all" else status, page=page
    )
    return render(
        request,
        "requests.html",
        {
            "page": result,
            "status": status,
            "statuses": _STATUSES,
            "authorities_by_id": {a.id: a for a in _authorities(request)},
            "can_register": user.role in SEARCHERS,
        },
    )


def _new_form(request: Request, form: dict[str, str], error: str = "", status_code: int = 200) -> Response:
    return render(
        request,
        "request_new.html",
        {
            "authorities": _authorities(request),
            "purposes": investigative_purposes(),
            "min_reason": MIN_REASON,
            "form": form,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/requests/new", include_in_schema=False)
def request_new(request: Request, _: Account = Depends(require_role(*SEARCHERS))) -> Response:  # noqa: B008
    return _new_form(request, {"authority_id": "", "case_reference": "", "purpose": "", "reason": ""})


@router.post("/requests", include_in_schema=False)
def request_register(
    request: Request,
    authority_id: str = Form(""),
    case_reference: str = Form(""),
    purpose: str = Form(""),
    reason: str = Form(""),
    user: Account = Depends(require_role(*SEARCHERS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        rec = requests.register_request(
            user=user,
            authority_id=authority_id,
            case_reference=case_reference,
            purpose=purpose,
            reason=reason,
            engine=node.engine,
            keystore=node.keystore,
            clock=node.clock,
        )
    except InputError as exc:
        form = {
            "authority_id": authority_id,
            "case_reference": case_reference,
            "purpose": purpose,
            "reason": reason,
        }
        return _new_form(request, form, error_text(exc), status_code=400)
    return RedirectResponse(f"/requests/{rec.id}", status_code=303)


_SEARCH_FIELDS = (
    "carrier", "locator", "flight_number", "date_from", "date_to", "surname", "given_names",
    "date_of_birth", "document_number", "contact", "card", "sounds_like",
)  # fmt: skip
_EMPTY_SEARCH = dict.fromkeys(_SEARCH_FIELDS, "")


def _request_page(
    request: Request,
    request_id: str,
    user: Account,
    *,
    form: dict[str, str] | None = None,
    outcome: SearchOutcome | None = None,
    error: str = "",
    message: str = "",
    status_code: int = 200,
    history: tuple[str, str] | None = None,
) -> Response:
    engine = node_of(request).engine
    rec = requests.get_request(engine, request_id, keystore=node_of(request).keystore)
    with engine.connect() as conn:
        authority = ws_store.get_authority(conn, rec.authority_id)
        transmissions = ws_store.transmissions_of_request(conn, request_id)
    ctx: dict[str, Any] = {
        "r": rec,
        "authority": authority,
        "found": requests.found_so_far(engine, request_id),
        "form": form or _EMPTY_SEARCH,
        "outcome": outcome,
        "error": error,
        "message": message,
        "transmissions": transmissions,
        "can_search": user.role in SEARCHERS,
        "history": history,
    }
    return render(request, "request.html", ctx, status_code=status_code)


@router.get("/requests/{request_id}", include_in_schema=False)
def request_view(
    request: Request,
    request_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    return _request_page(request, request_id, user)


def _date(value: str, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(N_("%(what)s: expected YYYY-MM-DD"), what=what) from None


def criteria_of(form: dict[str, str]) -> SearchCriteria:
    """The search form's fields (`_SEARCH_FIELDS`) as criteria, bounded; `InputError` for a
    date that is not YYYY-MM-DD. Shared by every purpose-bound search form (authorities'
    requests here, peers' requests in `web.exchange_views`)."""
    return SearchCriteria(
        carrier=form["carrier"].strip()[:3],
        locator=form["locator"].strip()[:16],
        flight_number=form["flight_number"].strip()[:8],
        date_from=_date(form["date_from"], "first date"),
        date_to=_date(form["date_to"], "last date"),
        surname=form["surname"].strip()[:64],
        given_names=form["given_names"].strip()[:64],
        sounds_like=bool(form["sounds_like"]),
        date_of_birth=_date(form["date_of_birth"], "date of birth"),
        document_number=form["document_number"].strip()[:32],
        contact=form["contact"].strip()[:128],
        card=form["card"].strip()[:32],
    )


@router.post("/requests/{request_id}/search", include_in_schema=False)
def request_search(
    request: Request,
    request_id: str,
    carrier: str = Form(""),
    locator: str = Form(""),
    flight_number: str = Form(""),
    date_from: str = Form(""),
    date_to: str = Form(""),
    surname: str = Form(""),
    given_names: str = Form(""),
    date_of_birth: str = Form(""),
    document_number: str = Form(""),
    contact: str = Form(""),
    card: str = Form(""),
    sounds_like: str = Form(""),
    page: int = Form(1),
    user: Account = Depends(require_role(*SEARCHERS)),  # noqa: B008
) -> Response:
    form = {
        "carrier": carrier, "locator": locator, "flight_number": flight_number, "date_from": date_from,
        "date_to": date_to, "surname": surname, "given_names": given_names,
        "date_of_birth": date_of_birth, "document_number": document_number, "contact": contact,
        "card": card, "sounds_like": "1" if sounds_like else "",
    }  # fmt: skip
    node = node_of(request)
    try:
        criteria = criteria_of(form)
        outcome = requests.search(
            request_id,
            criteria,
            user=user,
            engine=node.engine,
            keystore=node.keystore,
            audit=node.audit,
            clock=node.clock,
            page=page,
        )
    except InputError as exc:
        return _request_page(request, request_id, user, form=form, error=error_text(exc), status_code=400)
    return _request_page(request, request_id, user, form=form, outcome=outcome)


@router.post("/requests/{request_id}/bookings/{booking_id}/history", include_in_schema=False)
def traveller_history(
    request: Request,
    request_id: str,
    booking_id: str,
    traveller_ref: str = Form(""),
    page: int = Form(1),
    user: Account = Depends(require_role(*SEARCHERS)),  # noqa: B008
) -> Response:
    """The stored flights of a traveller this request found (same rules as a search)."""
    node = node_of(request)
    outcome = search.traveller_history(
        request_id,
        booking_id,
        traveller_ref[:32],
        user=user,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        clock=node.clock,
        page=page,
    )
    return _request_page(request, request_id, user, outcome=outcome, history=(booking_id, traveller_ref[:32]))


@router.post("/requests/{request_id}/decision", include_in_schema=False)
def request_decision(
    request: Request,
    request_id: str,
    decision: str = Form(""),
    reason: str = Form(""),
    user: Account = Depends(require_role(*SEARCHERS)),  # noqa: B008
) -> Response:
    if decision not in ("answered", "refused"):
        raise InputError(gettext("answered or refused"))
    node = node_of(request)
    requests.decide_request(
        request_id,
        user=user,
        answered=decision == "answered",
        reason=reason,
        engine=node.engine,
        keystore=node.keystore,
        clock=node.clock,
    )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


def _open(request: Request, request_id: str, booking_id: str, user: Account) -> Any:
    node = node_of(request)
    return requests.open_record(
        request_id, booking_id, user=user, engine=node.engine, keystore=node.keystore, audit=node.audit
    )


@router.get("/requests/{request_id}/bookings/{booking_id}", include_in_schema=False)
def record_view(
    request: Request,
    request_id: str,
    booking_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    rec, view = _open(request, request_id, booking_id, user)
    with node_of(request).engine.connect() as conn:
        authority = ws_store.get_authority(conn, rec.authority_id)
    return render(
        request,
        "record.html",
        {
            "r": rec,
            "b": view,
            "authority": authority,
            "can_transmit": user.role in SEARCHERS,
            "four_eyes": request.app.state.review_policy.four_eyes,
        },
    )


@router.get("/api/requests/{request_id}/bookings/{booking_id}")
def record_json(
    request: Request,
    request_id: str,
    booking_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    rec, view = _open(request, request_id, booking_id, user)
    return json_response({"request_id": rec.id, "purpose": rec.purpose, "booking": view.to_json()})


@router.post("/requests/{request_id}/bookings/{booking_id}/transmissions", include_in_schema=False)
def record_transmit(
    request: Request,
    request_id: str,
    booking_id: str,
    justification: str = Form(""),
    user: Account = Depends(require_role(*SEARCHERS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    rec = requests.get_request(node.engine, request_id, keystore=node.keystore)
    t = disclosure.propose_transmission(
        user=user,
        request_id=request_id,
        booking_id=booking_id,
        authority_id=rec.authority_id,
        purpose=rec.purpose,
        justification=justification,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        clock=node.clock,
        node_name=node.settings.node_name,
        policy=request.app.state.review_policy,
    )
    done = "released" if t.status == "released" else "proposed"
    return RedirectResponse(f"/transmissions/{t.id}?done={done}", status_code=303)


@router.get("/bookings/{booking_id}", include_in_schema=False)
def booking_without_purpose(
    request: Request,
    booking_id: str,
    user: Account = Depends(require_role(*READERS)),  # noqa: B008
) -> Response:
    """There is no way to open a record without a purpose: this route exists to refuse (and
    log) the attempt, and to tell the user where records are opened."""
    node = node_of(request)
    requests.refuse_without_purpose(booking_id, user=user, engine=node.engine, audit=node.audit)
    raise AssertionError("unreachable")  # pragma: no cover
