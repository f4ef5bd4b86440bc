"""Administration: accounts and competent authorities. The administrator runs the node and
never sees personal data, so these pages show staff accounts and authorities only.

Account changes are requests that a second person (another administrator or the DPO)
approves on ``/admin/approvals`` (`service.account_admin`); no page shows a password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.service import account_admin, accounts, disclosure
from pnrguard.service.accounts import Account, Role
from pnrguard.store import accounts as accounts_store
from pnrguard.store.workspace import AUTHORITY_KINDS
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter(prefix="/admin")


def _accounts_page(
    request: Request, *, message: str = "", link: str = "", error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "admin_accounts.html",
        {
            "accounts": accounts.list_accounts(node_of(request).engine),
            "pending": account_admin.list_pending(node_of(request).engine),
            "roles": list(Role),
            "person_roles": [r for r in Role if r in accounts.HUMAN_ROLES],
            "message": message,
            "link": link,
            "error": error,
        },
        status_code=status_code,
    )


def _link_url(request: Request, token: str | None) -> str:
    if not token:
        return ""
    return f"{request.url.scheme}://{request.url.netloc}{account_admin.ENROL_PATH}/{token}"


@router.get("/accounts", include_in_schema=False)
def accounts_page(request: Request, _: Account = Depends(require_role(Role.ADMIN))) -> Response:  # noqa: B008 — FastAPI's dependency idiom
    return _accounts_page(request)


@router.post("/accounts", include_in_schema=False)
def accounts_add(
    request: Request,
    username: str = Form(""),
    role: str = Form(""),
    oidc_subject: str = Form(""),
    me: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    """Ask for an account; a person's waits for a second person's approval. No password is
    shown: the requester gets the enrolment link, the approver the code."""
    node = node_of(request)
    try:
        r = Role(role)
    except ValueError:
        return _accounts_page(request, error=gettext("unknown role"), status_code=400)
    try:
        done = account_admin.request_account(
            node.engine, node.audit, actor=me, username=username.strip().lower()[:64], role=r,
            oidc_subject=oidc_subject.strip()[:255] or None, now=node.clock(),
        )  # fmt: skip
    except (InputError, ConflictError, ForbiddenError) as exc:
        return _accounts_page(request, error=error_text(exc), status_code=exc.http_status)
    message = gettext("Account %(name)s added.") % {"name": done.account.username}
    if done.change_id:
        message = gettext("Account %(name)s requested: it waits for a second person's approval.") % {
            "name": done.account.username
        }
    return _accounts_page(request, message=message, link=_link_url(request, done.link_token))


def _target(request: Request, account_id: str) -> accounts_store.AccountRecord:
    with node_of(request).engine.connect() as conn:
        rec = accounts_store.get_account(conn, account_id=account_id[:64])
    if rec is None:
        raise NotFoundError(N_("no such account"))
    return rec


def _set_disabled(request: Request, account_id: str, *, disabled: bool, me: Account) -> Response:
    node = node_of(request)
    rec = _target(request, account_id)
    account_admin.set_disabled(
        node.engine, node.audit, actor=me, username=rec.username, disabled=disabled, now=node.clock()
    )
    return RedirectResponse("/admin/accounts", status_code=303)


@router.post("/accounts/{account_id}/disable", include_in_schema=False)
def accounts_disable(
    request: Request,
    account_id: str,
    me: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    return _set_disabled(request, account_id, disabled=True, me=me)


@router.post("/accounts/{account_id}/enable", include_in_schema=False)
def accounts_enable(
    request: Request,
    account_id: str,
    me: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    return _set_disabled(request, account_id, disabled=False, me=me)


@router.post("/accounts/{account_id}/role", include_in_schema=False)
def accounts_role(
    request: Request,
    account_id: str,
    role: str = Form(""),
    me: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    node = node_of(request)
    rec = _target(request, account_id)
    try:
        account_admin.request_role(
            node.engine, node.audit, actor=me, username=rec.username, role=Role(role), now=node.clock()
        )
    except ValueError:
        return _accounts_page(request, error=gettext("unknown role"), status_code=400)
    except (InputError, ConflictError) as exc:
        return _accounts_page(request, error=error_text(exc), status_code=exc.http_status)
    message = gettext("Role change of %(name)s waits for a second person.") % {"name": rec.username}
    return _accounts_page(request, message=message)


@router.post("/accounts/{account_id}/reset", include_in_schema=False)
def accounts_reset(
    request: Request,
    account_id: str,
    me: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    node = node_of(request)
    rec = _target(request, account_id)
    try:
        done = account_admin.request_reset(
            node.engine, node.audit, actor=me, username=rec.username, now=node.clock()
        )
    except (InputError, ConflictError) as exc:
        return _accounts_page(request, error=error_text(exc), status_code=exc.http_status)
    return _accounts_page(
        request,
        message=gettext("Reset of %(name)s waits for a second person.") % {"name": rec.username},
        link=_link_url(request, done.link_token),
    )


def _approvals_page(
    request: Request, *, message: str = "", error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "admin_approvals.html",
        {"pending": account_admin.list_pending(node_of(request).engine), "message": message, "error": error},
        status_code=status_code,
    )


@router.get("/approvals", include_in_schema=False)
def approvals_page(request: Request, _: Account = Depends(require_role(Role.ADMIN, Role.DPO))) -> Response:  # noqa: B008
    return _approvals_page(request)


@router.post("/approvals/{change_id}/approve", include_in_schema=False)
def approvals_approve(
    request: Request,
    change_id: str,
    me: Account = Depends(require_role(Role.ADMIN, Role.DPO)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        done = account_admin.approve(
            node.engine, node.audit, actor=me, change_id=change_id[:64], now=node.clock()
        )
    except (ForbiddenError, ConflictError) as exc:
        return _approvals_page(request, error=error_text(exc), status_code=exc.http_status)
    message = gettext("Approved for %(name)s.") % {"name": done.account.username}
    if done.enrol_code:
        message += " " + gettext("Enrolment code for the person (shown once): %(code)s") % {
            "code": done.enrol_code
        }
    return _approvals_page(request, message=message)


@router.post("/approvals/{change_id}/refuse", include_in_schema=False)
def approvals_refuse(
    request: Request,
    change_id: str,
    me: Account = Depends(require_role(Role.ADMIN, Role.DPO)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        account_admin.refuse(node.engine, node.audit, actor=me, change_id=change_id[:64], now=node.clock())
    except (ForbiddenError, ConflictError) as exc:
        return _approvals_page(request, error=error_text(exc), status_code=exc.http_status)
    return _approvals_page(request, message=gettext("Refused."))


def _authorities_page(request: Request, *, error: str = "", status_code: int = 200) -> Response:
    return render(
        request,
        "admin_authorities.html",
        {
            "authorities": disclosure.list_authorities(node_of(request).engine),
            "kinds": AUTHORITY_KINDS,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/authorities", include_in_schema=False)
def authorities_page(request: Request, _: Account = Depends(require_role(Role.ADMIN))) -> Response:  # noqa: B008
    return _authorities_page(request)


@router.post("/authorities", include_in_schema=False)
def authorities_add(
    request: Request,
    code: str = Form(""),
    name: str = Form(""),
    kind: str = Form("national"),
    _: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        disclosure.add_authority(node.engine, code=code, name=name, kind=kind, now=node.clock())
    except (InputError, ConflictError) as exc:
        return _authorities_page(request, error=error_text(exc), status_code=exc.http_status)
    return RedirectResponse("/admin/authorities", status_code=303)
