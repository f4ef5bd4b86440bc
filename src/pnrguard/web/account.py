"""The person's own account: the second login step, enrolment, password change.

- ``/login/totp``: a stage session (password or OIDC done) becomes a full session, under a
  fresh token, once a TOTP code is right; an account without a second factor enrols one
  here first (the secret is shown once and stored only when a first code confirms it).
  Five wrong codes end the stage session.
- ``/enrol/{link}``: the one-time enrolment (link from the requester, code from the
  approver): the person sets their own password and second factor. No password is ever
  shown by the node (docs/security.md).
- ``/account/password``: self-service change (current password and a fresh code), and the
  person's language (``/account/locale``).

Forms without a session use the login form's double-submit CSRF cookie.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from pnrguard.errors import N_, ForbiddenError, InputError, PnrguardError
from pnrguard.service import account_admin, accounts, preferences, totp
from pnrguard.service.accounts import Account
from pnrguard.web.auth import (
    ANY_HUMAN,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfRefused,
    check_csrf,
    landing,
    node_of,
    require_role,
    safe_next,
    set_cookie,
    settings_of,
    start_session,
)
from pnrguard.web.i18n import LOCALES, error_text, gettext
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter()
_MAX_CODE_FAILURES = 5


def _stage_session(request: Request) -> accounts.ActiveSession | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    node = node_of(request)
    active = accounts.resolve_session(
        node.engine, token, now=node.clock(), policy=settings_of(request).session_policy
    )
    return active if active is not None and active.stage != "full" else None


def _b64(blob: bytes) -> str:
    return base64.urlsafe_b64encode(blob).decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InputError(N_("the enrolment form was damaged: start again")) from None


def _new_secret_context(request: Request, account: Account) -> dict[str, str]:
    node = node_of(request)
    secret, sealed = account_admin.seal_new_secret(
        node.engine, node.keystore, account_id=account.id, now=node.clock()
    )
    return {
        "totp_secret": secret,
        "totp_uri": totp.provisioning_uri(
            secret, username=account.username, node_name=node.settings.node_name
        ),
        "sealed": _b64(sealed),
    }


def _totp_page(
    request: Request, active: accounts.ActiveSession, *, next_: str, error: str = "", status_code: int = 200
) -> Response:
    ctx: dict[str, object] = {
        "stage": active.stage,
        "next": next_,
        "error": error,
        "stage_csrf": active.csrf_token,
    }
    if active.stage == "totp_enrol":
        ctx.update(_new_secret_context(request, active.account))
    return render(request, "totp.html", ctx, status_code=status_code)


@router.get("/login/totp", include_in_schema=False)
def totp_form(request: Request, next: str = "") -> Response:
    active = _stage_session(request)
    if active is None:
        return RedirectResponse("/login", status_code=303)
    return _totp_page(request, active, next_=safe_next(next, ""))


@router.post("/login/totp", include_in_schema=False)
async def totp_submit(request: Request) -> Response:
    active = _stage_session(request)
    if active is None:
        return RedirectResponse("/login", status_code=303)
    await check_csrf(request, active.csrf_token)
    form = await request.form()
    code = str(form.get("code", ""))[:16]
    next_ = safe_next(str(form.get("next", "")), landing(active.account))
    node = node_of(request)

    def work() -> bool:
        if active.stage == "totp_enrol":
            try:
                sealed = _unb64(str(form.get("sealed", ""))[:512])
                account_admin.confirm_totp(
                    node.engine, node.keystore, node.audit, account=active.account,
                    sealed_secret=sealed, first_code=code, now=node.clock(),
                )  # fmt: skip
            except (PnrguardError, totp.TotpError):
                return False
            return True
        return account_admin.verify_second_factor(
            node.engine, node.keystore, account=active.account, code=code, now=node.clock()
        )

    if await run_in_threadpool(work):
        done = start_session(request, active.account, next_, second_factor_done=True)
        done.delete_cookie("pnrguard_totp_failures", path="/")
        return done
    failures = int(request.cookies.get("pnrguard_totp_failures", "0") or 0) + 1
    if failures >= _MAX_CODE_FAILURES:
        accounts.close_session(node.engine, request.cookies.get(SESSION_COOKIE, ""))
        response: Response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie("pnrguard_totp_failures", path="/")
        return response
    response = _totp_page(
        request, active, next_=next_, error=gettext("Wrong or already used code."), status_code=401
    )
    set_cookie(request, response, "pnrguard_totp_failures", str(failures), max_age=300)
    return response


# --- enrolment ------------------------------------------------------------------------------


def _form_csrf(request: Request) -> str:
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def _check_form_csrf(request: Request, sent: str) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfRefused(N_("cross-origin form refused"))
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused(N_("the form expired: reload the page and try again"))


def _enrol_page(request: Request, link: str, ctx: dict[str, object], *, status_code: int = 200) -> Response:
    token = _form_csrf(request)
    response = render(
        request, "enrol.html", {"link": link, "form_csrf": token, **ctx}, status_code=status_code
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("/enrol/{link}", include_in_schema=False)
def enrol_form(request: Request, link: str) -> Response:
    return _enrol_page(request, link[:64], {"step": "code"})


@router.post("/enrol/{link}", include_in_schema=False)
def enrol_submit(
    request: Request,
    link: str,
    code: str = Form(""),
    csrf_token: str = Form(""),
    password: str = Form(""),
    password2: str = Form(""),
    sealed: str = Form(""),
    totp_code: str = Form(""),
) -> Response:
    _check_form_csrf(request, csrf_token)
    node = node_of(request)
    link, code = link[:64], code[:16]
    try:
        account = account_admin.check_enrolment(node.engine, link_token=link, code=code, now=node.clock())
    except ForbiddenError as exc:
        return _enrol_page(request, link, {"step": "code", "error": error_text(exc)}, status_code=403)
    if not password:
        return _enrol_page(
            request,
            link,
            {
                "step": "set",
                "code": code,
                "username": account.username,
                **_new_secret_context(request, account),
            },
        )
    try:
        if password != password2:
            raise InputError(N_("the two passwords differ"))
        account_admin.enrol(
            node.engine, node.keystore, node.audit, link_token=link, code=code, password=password[:1024],
            sealed_secret=_unb64(sealed[:512]), first_code=totp_code[:16], now=node.clock(),
        )  # fmt: skip
    except (InputError, totp.TotpError) as exc:
        ctx = {"step": "set", "code": code, "username": account.username, "error": error_text(exc)}
        return _enrol_page(request, link, {**ctx, **_new_secret_context(request, account)}, status_code=400)
    return RedirectResponse("/login?enrolled=1", status_code=303)


# --- self-service password change -----------------------------------------------------------


@router.get("/account/password", include_in_schema=False)
def password_form(request: Request, _: Account = Depends(require_role(*ANY_HUMAN))) -> Response:  # noqa: B008 — FastAPI's dependency idiom
    return render(request, "account_password.html", {})


@router.post("/account/password", include_in_schema=False)
def password_submit(
    request: Request,
    current: str = Form(""),
    new: str = Form(""),
    new2: str = Form(""),
    code: str = Form(""),
    me: Account = Depends(require_role(*ANY_HUMAN)),  # noqa: B008
) -> Response:
    node = node_of(request)
    try:
        if new != new2:
            raise InputError(N_("the two new passwords differ"))
        account_admin.change_password(
            node.engine, node.keystore, node.audit, account=me, current=current[:1024], new=new[:1024],
            code=code[:16], now=node.clock(),
        )  # fmt: skip
    except (InputError, ForbiddenError) as exc:
        return render(
            request, "account_password.html", {"error": error_text(exc)}, status_code=exc.http_status
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/account/locale", include_in_schema=False)
def locale_submit(
    request: Request,
    locale: str = Form(""),
    me: Account = Depends(require_role(*ANY_HUMAN)),  # noqa: B008
) -> Response:
    """The person's language: saved on the account, used on every page from now on."""
    try:
        preferences.set_language(node_of(request).engine, me, locale[:8], offered=tuple(LOCALES))
    except InputError as exc:
        return render(
            request, "account_password.html", {"error": error_text(exc)}, status_code=exc.http_status
        )
    return RedirectResponse("/account/password", status_code=303)
