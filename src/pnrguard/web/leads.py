"""Financing leads in the workspace: the review queue, one lead, its disclosure to the FIU.

Every page that names a traveller is a logged consultation (`service.leads`); decisions are
POST forms (the CSRF middleware checks them). The second approval of a disclosure is a
supervisor's who did not propose it (`four_eyes.may_leave`), who sees the package first.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from pnrguard.errors import InputError
from pnrguard.service import leads
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import PAGE_SIZE, Page, ReviewPolicy
from pnrguard.store import leads as leads_store
from pnrguard.store import workspace as ws_store
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import gettext
from pnrguard.web.views import PageNumber, download, render, submit

__all__ = ["router"]

router = APIRouter()
ANALYSTS = (Role.ANALYST, Role.SUPERVISOR)
_STATUSES = (*leads_store.LEAD_STATUSES, "all")


@router.get("/leads", include_in_schema=False)
def lead_queue(
    request: Request,
    status: str = "open",
    page: PageNumber = 1,
    done: str = "",
    _: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    status = status if status in _STATUSES else "open"
    items, total = leads.list_leads(
        node_of(request).engine,
        status=None if status == "all" else status,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    rows = [(lead, leads.summary(lead)) for lead in items]
    return render(
        request,
        "leads.html",
        {"page": Page(rows, page, PAGE_SIZE, total), "status": status, "statuses": _STATUSES, "done": done},
    )


@router.post("/leads/detect", include_in_schema=False)
def detect(request: Request, user: Account = Depends(require_role(*ANALYSTS))) -> Response:  # noqa: B008
    node = node_of(request)

    def act() -> str:
        new = leads.detect_leads(
            user=user, engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock
        )
        return f"/leads?done={len(new)}"

    return submit(act)


@router.get("/leads/{lead_id}", include_in_schema=False)
def lead_page(
    request: Request,
    lead_id: str,
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    view = leads.lead_view(lead_id, user=user, engine=node.engine, keystore=node.keystore, audit=node.audit)
    with node.engine.connect() as conn:
        authorities = [a for a in ws_store.list_authorities(conn) if a.kind == "national"]
        by_id = {a.id: a for a in ws_store.list_authorities(conn)}
    return render(
        request,
        "lead.html",
        {
            "v": view,
            "codes": leads_store.REVIEW_CODES,
            "authorities": authorities,
            "authorities_by_id": by_id,
        },
    )


@router.post("/leads/{lead_id}/review", include_in_schema=False)
def review(
    request: Request,
    lead_id: str,
    decision: str = Form(""),
    code: str = Form(""),
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        leads.review_lead(
            lead_id, decision=decision, code=code, user=user, engine=node.engine, audit=node.audit,
            clock=node.clock,
        )  # fmt: skip
        return f"/leads/{lead_id}"

    return submit(act)


@router.post("/leads/{lead_id}/disclosures", include_in_schema=False)
def propose(
    request: Request,
    lead_id: str,
    authority_id: str = Form(""),
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    policy: ReviewPolicy = request.app.state.review_policy

    def act() -> str:
        leads.propose_disclosure(
            lead_id, authority_id=authority_id, user=user, engine=node.engine, keystore=node.keystore,
            audit=node.audit, clock=node.clock, node_name=node.settings.node_name, policy=policy,
        )  # fmt: skip
        return f"/leads/{lead_id}"

    return submit(act)


@router.post("/lead-disclosures/{disclosure_id}/decision", include_in_schema=False)
def decide(
    request: Request,
    disclosure_id: str,
    decision: str = Form(""),
    user: Account = Depends(require_role(Role.SUPERVISOR)),  # noqa: B008
) -> Response:
    node = node_of(request)

    def act() -> str:
        if decision == "approve":
            rec = leads.approve_disclosure(
                disclosure_id, user=user, engine=node.engine, keystore=node.keystore, audit=node.audit,
                clock=node.clock, node_name=node.settings.node_name,
            )  # fmt: skip
        elif decision == "reject":
            rec = leads.reject_disclosure(
                disclosure_id, user=user, engine=node.engine, audit=node.audit, clock=node.clock
            )
        else:
            raise InputError(gettext("approve or reject"))
        return f"/leads/{rec.lead_id}"

    return submit(act)


def _package(request: Request, disclosure_id: str, user: Account) -> leads.LeadPackage:
    node = node_of(request)
    return leads.disclosure_package(
        disclosure_id,
        user=user,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        node_name=node.settings.node_name,
    )


@router.get("/lead-disclosures/{disclosure_id}/package.json")
def package_json(
    request: Request,
    disclosure_id: str,
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    pkg = _package(request, disclosure_id, user)
    return download(
        pkg.json_bytes, "application/json", f"fiu-lead-{disclosure_id}.json", pkg.disclosure.package_sha256
    )


@router.get("/lead-disclosures/{disclosure_id}/package.csv")
def package_csv(
    request: Request,
    disclosure_id: str,
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    pkg = _package(request, disclosure_id, user)
    return download(pkg.csv(), "text/csv; charset=utf-8", f"fiu-lead-{disclosure_id}.csv", None)
