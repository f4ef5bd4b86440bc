"""The DPO's pages for travellers' rights (LED Art. 14-16): find a traveller's bookings by
name and date of birth, then answer an access, rectification, erasure or restriction
request, each logged and kept in the register. Role DPO only; server-rendered.

Names and birth dates travel only in POST bodies (never in a URL, so never in an access log
or a browser's history), and the pages are `no-store` like the rest of the workspace. The
use cases are `service.subject_rights` and `service.rights`; this module only translates.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from pnrguard.errors import InputError, PnrguardError
from pnrguard.service import subject_rights as sr
from pnrguard.service.accounts import Account, Role
from pnrguard.service.rights import (
    access_report,
    apply_rectification,
    reject_rectification,
    request_rectification,
)
from pnrguard.store.rights import subject_request
from pnrguard.store.tables import booking
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter(prefix="/dpo/rights")
_DPO = Depends(require_role(Role.DPO))
_REGISTER_ROWS = 200


def _register(request: Request) -> list[object]:
    with node_of(request).engine.connect() as conn:
        return list(
            conn.execute(
                select(subject_request).order_by(subject_request.c.received_at.desc()).limit(_REGISTER_ROWS)
            )
        )


def _page(request: Request, *, status_code: int = 200, **ctx: object) -> Response:
    ctx.setdefault("form", {})
    context = {"register": _register(request), **ctx}
    return render(request, "dpo_rights.html", context, status_code=status_code)


def _person(surname: str, dob: str, given: str) -> sr.Person:
    try:
        day = dt.date.fromisoformat(dob.strip())
    except ValueError:
        raise InputError(gettext("give the date of birth as YYYY-MM-DD")) from None
    return sr.Person(surname=surname.strip(), date_of_birth=day, given_names=given.strip())


def _actor(user: Account) -> str:
    """The audit actor, as every workspace route writes it: the account's username."""
    return user.username


@router.get("", include_in_schema=False)
def rights_page(request: Request, _: Account = _DPO) -> Response:
    return _page(request)


@router.post("/find", include_in_schema=False)
def find(
    request: Request,
    surname: str = Form(""),
    date_of_birth: str = Form(""),
    given_names: str = Form(""),
    carrier: str = Form(""),
    user: Account = _DPO,
) -> Response:
    node = node_of(request)
    form = {
        "surname": surname, "date_of_birth": date_of_birth, "given_names": given_names, "carrier": carrier
    }  # fmt: skip
    try:
        person = _person(surname, date_of_birth, given_names)
        found = sr.lookup(
            dpo=_actor(user), person=person, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, carrier=carrier.strip() or None,
        )  # fmt: skip
    except PnrguardError as exc:
        return _page(request, form=form, error=error_text(exc), status_code=400)
    with node.engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(booking).where(booking.c.id.in_(found.booking_ids)))}
    matches = [(m, rows[m.booking_id]) for m in found.matches]
    return _page(request, form=form, found=found, matches=matches)


@router.post("/act", include_in_schema=False)
def act(
    request: Request,
    action: str = Form(""),
    surname: str = Form(""),
    date_of_birth: str = Form(""),
    given_names: str = Form(""),
    booking_ids: list[str] = Form([], alias="booking"),  # noqa: B008 — FastAPI's form idiom
    channel: str = Form("letter"),
    unmasking_request: str = Form(""),
    user: Account = _DPO,
) -> Response:
    node = node_of(request)
    form = {"surname": surname, "date_of_birth": date_of_birth, "given_names": given_names}
    ids = [b[:32] for b in booking_ids if b][:500]
    try:
        person = _person(surname, date_of_birth, given_names)
        if not ids:
            raise InputError(gettext("tick at least one booking"))
        if action == "access":
            report = access_report(
                dpo=_actor(user), surname=person.surname, date_of_birth=person.date_of_birth,
                engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
                origin=node.settings.node_name, booking_ids=ids,
                unmasking_request_id=unmasking_request.strip() or None,
            )  # fmt: skip
            with node.engine.begin() as conn:
                sr.record_request(
                    conn, kind=sr.RequestKind.ACCESS, actor=_actor(user), channel=channel,
                    status="answered", bookings=len(report.bookings),
                    outcome="report" if report.bookings else "none_found", now=node.clock.now(),
                )  # fmt: skip
            return _page(request, form=form, report=report.to_json())
        fn = {"erase": sr.erase, "restrict": sr.restrict, "unrestrict": sr.lift_restriction}.get(action)
        if fn is None:
            raise InputError(gettext("choose an action"))
        answer = fn(
            dpo=_actor(user), person=person, booking_ids=ids, channel=channel, engine=node.engine,
            keystore=node.keystore, audit=node.audit, clock=node.clock,
        )  # fmt: skip
    except PnrguardError as exc:
        return _page(request, form=form, error=error_text(exc), status_code=400)
    return _page(request, form=form, answer=answer)


@router.post("/rectify", include_in_schema=False)
def rectify(
    request: Request,
    surname: str = Form(""),
    date_of_birth: str = Form(""),
    given_names: str = Form(""),
    booking_id: str = Form(""),
    field_path: str = Form("", alias="field"),
    value: str = Form(""),
    reason: str = Form(""),
    decision: str = Form("apply"),
    channel: str = Form("letter"),
    user: Account = _DPO,
) -> Response:
    node = node_of(request)
    form = {"surname": surname, "date_of_birth": date_of_birth, "given_names": given_names}
    try:
        person = _person(surname, date_of_birth, given_names)
        if not reason.strip():
            raise InputError(gettext("a decision needs a reason"))
        with node.engine.connect() as conn:
            sr.own_bookings(conn, node.keystore, person, [booking_id[:32]])
        rid = request_rectification(
            dpo=_actor(user), booking_id=booking_id[:32], field_path=field_path, channel=channel,
            engine=node.engine, clock=node.clock,
        )  # fmt: skip
        if decision == "reject":
            reject_rectification(
                rid, dpo=_actor(user), reason=reason, engine=node.engine, keystore=node.keystore,
                clock=node.clock,
            )
            outcome = "rejected"
        else:
            apply_rectification(
                rid, dpo=_actor(user), value=value, reason=reason, engine=node.engine,
                keystore=node.keystore, audit=node.audit, clock=node.clock,
                sensitive_filter=node.sensitive_filter,
            )  # fmt: skip
            outcome = "applied"
        with node.engine.begin() as conn:
            sr.record_request(
                conn, kind=sr.RequestKind.RECTIFICATION, actor=_actor(user), channel=channel,
                status="refused" if outcome == "rejected" else "answered", bookings=1, outcome=outcome,
                now=node.clock.now(), request_id=rid,
            )  # fmt: skip
    except PnrguardError as exc:
        return _page(request, form=form, error=error_text(exc), status_code=400)
    answer = sr.RightsAnswer(rid, "rectification", "answered", outcome, [booking_id[:32]])
    return _page(request, form=form, answer=answer)
