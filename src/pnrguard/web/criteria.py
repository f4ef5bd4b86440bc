"""Pre-determined criteria under governance: list with review figures, editor, back-test.

Who: supervisors and administrators write and enable criteria; analysts and the DPO read
the list and its figures (the DPO reviews criteria, C-817/19 para 201). Nothing here shows
personal data: the list holds rules and counts, a back-test returns counts per flight and
day (see `service.criteria_backtest`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Purpose
from pnrguard.errors import N_, InputError, PnrguardError
from pnrguard.screening.criteria import Rule
from pnrguard.screening.criteria_view import VIEW_FIELDS
from pnrguard.service import screening
from pnrguard.service.accounts import Account, Role
from pnrguard.service.criteria_backtest import MAX_DAYS, BacktestResult, backtest
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter(prefix="/criteria")

VIEWERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO, Role.ADMIN)
EDITORS = (Role.SUPERVISOR, Role.ADMIN)
_PURPOSES = sorted(INVESTIGATIVE_PURPOSES, key=lambda p: (p is not Purpose.TERRORIST_OFFENCES, p.value))


@router.get("", include_in_schema=False)
def criteria_list(
    request: Request,
    saved: str = "",
    user: Account = Depends(require_role(*VIEWERS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    node = node_of(request)
    stats = screening.rule_statistics(node.clock().date(), engine=node.engine)
    return render(
        request,
        "criteria.html",
        {
            "stats": sorted(stats, key=lambda s: (not s.needs_review, not s.active, s.rule.rule_id)),
            "saved": saved if any(s.rule.rule_id == saved for s in stats) else "",
            "can_edit": user.role in EDITORS,
            "today": node.clock().date(),
        },
    )


def _form(
    request: Request,
    *,
    form: dict[str, str],
    error: str = "",
    result: BacktestResult | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "criterion_edit.html",
        {
            "form": form,
            "error": error,
            "result": result,
            "purposes": _PURPOSES,
            "fields": VIEW_FIELDS,
            "max_days": MAX_DAYS,
        },
        status_code=status_code,
    )


def _blank(today: dt.date) -> dict[str, str]:
    return {
        "rule_id": "", "name": "", "expression": "", "purpose": Purpose.TERRORIST_OFFENCES.value,
        "owner": "", "description": "", "review_date": (today + dt.timedelta(days=90)).isoformat(),
        "expires": (today + dt.timedelta(days=365)).isoformat(), "enabled": "", "days": "30",
        "existing": "",
    }  # fmt: skip


@router.get("/new", include_in_schema=False)
def criterion_new(request: Request, _: Account = Depends(require_role(*EDITORS))) -> Response:  # noqa: B008
    return _form(request, form=_blank(node_of(request).clock().date()))


@router.get("/{rule_id}", include_in_schema=False)
def criterion_edit(
    request: Request,
    rule_id: str,
    _: Account = Depends(require_role(*EDITORS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    rule = next((r for r in screening.list_rules(engine=node.engine) if r.rule_id == rule_id), None)
    if rule is None:
        error = gettext("no such criterion")
        return _form(request, form=_blank(node.clock().date()), error=error, status_code=404)
    form = {
        "rule_id": rule.rule_id, "name": rule.name, "expression": rule.expression,
        "purpose": rule.purpose.value, "owner": rule.owner, "description": rule.description,
        "review_date": rule.review_date.isoformat(), "expires": rule.expires.isoformat(),
        "enabled": "on" if rule.enabled else "", "days": "30", "existing": str(rule.version),
    }  # fmt: skip
    return _form(request, form=form)


def _rule(form: dict[str, str]) -> Rule:
    """The form as a rule; every problem is an `InputError` the page shows beside the form."""
    try:
        purpose = Purpose(form["purpose"])
    except ValueError:
        raise InputError(N_("choose the purpose the criterion serves")) from None
    try:
        review = dt.date.fromisoformat(form["review_date"])
        expires = dt.date.fromisoformat(form["expires"])
    except ValueError:
        raise InputError(N_("the review date and the expiry are dates (YYYY-MM-DD)")) from None
    if not form["expression"].strip():
        raise InputError(N_("write the expression"))
    return Rule(
        rule_id=form["rule_id"].strip(), version=0, name=form["name"].strip(),
        expression=form["expression"].strip(), purpose=purpose, owner=form["owner"].strip(),
        review_date=review, expires=expires, description=form["description"].strip(),
        enabled=form["enabled"] == "on",
    )  # fmt: skip


@router.post("", include_in_schema=False)
def criterion_submit(
    request: Request,
    action: str = Form("backtest"),
    rule_id: str = Form(""),
    name: str = Form(""),
    expression: str = Form(""),
    purpose: str = Form(""),
    owner: str = Form(""),
    description: str = Form(""),
    review_date: str = Form(""),
    expires: str = Form(""),
    enabled: str = Form(""),
    days: str = Form("30"),
    existing: str = Form(""),
    user: Account = Depends(require_role(*EDITORS)),  # noqa: B008
) -> Response:
    """`action=backtest` shows what the draft would match (nothing is saved); `action=save`
    stores it as the criterion's next version. A refused form keeps what was typed."""
    node = node_of(request)
    form = {
        "rule_id": rule_id, "name": name, "expression": expression, "purpose": purpose,
        "owner": owner, "description": description, "review_date": review_date,
        "expires": expires, "enabled": "on" if enabled else "", "days": days, "existing": existing,
    }  # fmt: skip
    try:
        rule = _rule(form)
        if action == "save":
            stored = screening.save_rule(
                rule, actor=user.username, role=user.role.value, engine=node.engine, audit=node.audit,
                clock=node.clock, keystore=node.keystore,
            )  # fmt: skip
            return RedirectResponse(f"/criteria?saved={stored.rule_id}", status_code=303)
        if action != "backtest":
            raise InputError(N_("unknown action"))
        try:
            window = int(days)
        except ValueError:
            raise InputError(N_("a back-test looks back 1 to %(MAX_DAYS)s days"), MAX_DAYS=MAX_DAYS) from None
        result = backtest(
            dataclasses.replace(rule, rule_id=rule.rule_id or "draft"), days=window, engine=node.engine,
            keystore=node.keystore, audit=node.audit, clock=node.clock, actor=user.username,
            role=user.role.value,
        )  # fmt: skip
    except PnrguardError as exc:
        return _form(request, form=form, error=error_text(exc), status_code=exc.http_status)
    return _form(request, form=form, result=result)
