"""Administration: accounts and competent authorities. The administrator runs the node and
never sees personal data, so these pages show staff accounts and authorities only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import ConflictError, InputError, NotFoundError
from pnrguard.service import accounts, disclosure
from pnrguard.service.accounts import Account, Role
from pnrguard.store import accounts as accounts_store
from pnrguard.store.workspace import AUTHORITY_KINDS
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter(prefix="/admin")


def _accounts_page(
    request: Request, *, message: str = "", error: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "admin_accounts.html",
        {
            "accounts": accounts.list_accounts(node_of(request).engine),
            "roles": list(Role),
            "message": message,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/accounts", include_in_schema=False)
def accounts_page(request: Request, _: Account = Depends(require_role(Role.ADMIN))) -> Response:  # noqa: B008 — FastAPI's dependency idiom
    return _accounts_page(request)


@router.post("/accounts", include_in_schema=False)
def accounts_add(
    request: Request,
    username: str = Form(""),
    role: str = Form(""),
    oidc_subject: str = Form(""),
    _: Account = Depends(require_role(Role.ADMIN)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        r = Role(role)
    except ValueError:
        return _accounts_page(request, error="unknown role", status_code=400)
    password = (
        accounts.generate_password() if r in accounts.HUMAN_ROLES and not oidc_subject.strip() else None
    )
    try:
        accounts.create_account(
            node.engine,
            username=username.strip().lower(),
            role=r,
            password=password,
            oidc_subject=oidc_subject.strip() or None,
            now=node.clock(),
        )
    except (InputError, ConflictError) as exc:
        return _accounts_page(request, error=str(exc), status_code=exc.http_status)
    message = f"Account {username.strip().lower()} added."
    if password:
        message += f" Its password, shown only now: {password}"
    return _accounts_page(request, message=message)


def _set_disabled(request: Request, account_id: str, *, disabled: bool, me: Account) -> Response:
    engine = node_of(request).engine
    with engine.connect() as conn:
        rec = accounts_store.get_account(conn, account_id=account_id)
    if rec is None:
        raise NotFoundError("no such account")
    if rec.id == me.id:
        raise InputError("you cannot disable your own account")
    accounts.set_disabled(engine, rec.username, disabled=disabled)
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
        return _authorities_page(request, error=str(exc), status_code=exc.http_status)
    return RedirectResponse("/admin/authorities", status_code=303)
