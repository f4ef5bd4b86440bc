"""Authentication, sessions, CSRF protection and roles for the workspace.

Why it is built this way (docs/workspace.md, "Identity and roles"):

- **Every route names its roles** through `require_role(...)`; there is no "logged in is
  enough" default. `tests/web/test_route_walk.py` walks the whole route table and fails
  for a route that is not declared there, so a new route cannot forget its roles.
- **Order of checks**: no session is 401, a session of the wrong role is 403, then an
  unsafe method (POST) without the session's CSRF token is 403. The role check comes
  before reading any form, and nothing runs for a refused caller.
- **Cookies**: the session cookie is HttpOnly (scripts never see it), SameSite=Strict (no
  cross-site request carries it) and Secure when the node is served over HTTPS
  (`PNRGUARD_COOKIE_SECURE=true` forces it behind a TLS-terminating proxy; the default
  follows the request's scheme so the embedded demo on http://127.0.0.1 works).
- **CSRF**: a synchronizer token per session in every form (and `X-CSRF-Token` for
  scripts), compared in constant time; the login form has its own double-submit token so
  nobody can log a victim into the attacker's account. An `Origin` header, when sent,
  must be the node's own.
- **OIDC** (`web/oidc.py`) is an alternative way to *authenticate*; the role always comes
  from the node's own account table.
- **Second factor**: a password (or OIDC) login opens a session at stage ``totp`` (or
  ``totp_enrol``) that no route accepts; `web/account.py` turns it into a full session, with
  a fresh token, once a TOTP code is right (RFC 6238, `service/totp.py`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pnrguard.errors import N_, ForbiddenError, PnrguardError
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role, SessionPolicy
from pnrguard.service.bootstrap import Node
from pnrguard.web.i18n import gettext

__all__ = [
    "ANY_HUMAN",
    "LOGIN_CSRF_COOKIE",
    "SESSION_COOKIE",
    "AuthSettings",
    "Unauthenticated",
    "require_role",
    "router",
]

SESSION_COOKIE = "pnrguard_session"
LOGIN_CSRF_COOKIE = "pnrguard_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANY_HUMAN = (Role.ANALYST, Role.SUPERVISOR, Role.DPO, Role.JUDICIAL, Role.JUDICIAL_SENIOR, Role.ADMIN)


class AuthSettings(BaseSettings):
    """Workspace authentication settings, from PNRGUARD_* variables (read once at start)."""

    model_config = SettingsConfigDict(env_prefix="PNRGUARD_", env_file=None, extra="ignore")

    #: None: Secure when the request came over HTTPS. True/False: always/never.
    cookie_secure: bool | None = None
    session_idle_minutes: int = 30
    session_hours: int = 12
    #: Allow username + password login (turn off when every person logs in through OIDC).
    password_login: bool = True
    #: OpenID Connect (authorization-code flow with PKCE); all four set to enable it.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    #: The callback URL registered at the provider; default: this node's /auth/oidc/callback.
    oidc_redirect_uri: str | None = None
    oidc_label: str = "Log in with your organisation"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id and self.oidc_client_secret)

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=dt.timedelta(minutes=self.session_idle_minutes),
            lifetime=dt.timedelta(hours=self.session_hours),
        )


class Unauthenticated(PnrguardError):
    """No live session: the caller must log in."""

    http_status = 401
    code = "unauthenticated"


class RoleRefused(ForbiddenError):
    """The caller's role may not use this route (its own code, so tests and monitoring can
    tell a role refusal from a refusal for a missing purpose or approval)."""

    code = "role_refused"


class CsrfRefused(ForbiddenError):
    code = "csrf"


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def settings_of(request: Request) -> AuthSettings:
    s: AuthSettings = request.app.state.auth_settings
    return s


def cookie_secure(request: Request) -> bool:
    setting = settings_of(request).cookie_secure
    return request.url.scheme == "https" if setting is None else setting


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=cookie_secure(request),
        samesite="strict",
    )


def _session_account(request: Request) -> Account | None:
    """The account of the request's live session (cached on the request)."""
    if hasattr(request.state, "account"):
        cached: Account | None = request.state.account
        return cached
    token = request.cookies.get(SESSION_COOKIE, "")
    active = None
    if token:
        node = node_of(request)
        active = accounts.resolve_session(
            node.engine, token, now=node.clock(), policy=settings_of(request).session_policy
        )
    # A session that still owes its second factor is no session for any route.
    full = active is not None and active.stage == "full"
    request.state.account = active.account if full and active else None
    request.state.csrf_token = active.csrf_token if full and active else ""
    return request.state.account  # type: ignore[no-any-return]


def optional_account(request: Request) -> Account | None:
    return _session_account(request)


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfRefused(N_("cross-origin form refused"))


async def check_csrf(request: Request, expected: str) -> None:
    """The form field `csrf_token` (or header `X-CSRF-Token`) must equal `expected`."""
    _check_origin(request)
    sent = request.headers.get("x-csrf-token", "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token", "")
            sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused(N_("missing or wrong CSRF token: reload the page and try again"))


def require_role(*roles: Role) -> Callable[..., Awaitable[Account]]:
    """A dependency that returns the caller's account if it holds one of `roles`.

    401 without a live session, 403 for another role, 403 for an unsafe method without the
    session's CSRF token. Routes declare it even when they do not use the account."""
    allowed = frozenset(roles)

    def authorise(request: Request) -> Account:
        # Sync, so FastAPI runs the database lookup in its thread pool.
        account = _session_account(request)
        if account is None:
            raise Unauthenticated(N_("log in first"))
        if account.role not in allowed:
            raise RoleRefused(N_("the %(role)s role may not do this"), role=account.role.value)
        return account

    async def dependency(request: Request, account: Account = Depends(authorise)) -> Account:  # noqa: B008 — FastAPI's dependency idiom
        if request.method not in SAFE_METHODS:
            await check_csrf(request, request.state.csrf_token)
        return account

    dependency.roles = allowed  # type: ignore[attr-defined]  # read by docs and the route walk
    return dependency


def client_address(request: Request) -> str:
    """The peer address login throttling counts by (the proxy's, behind one)."""
    return request.client.host if request.client else ""


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login; anything else (another host, a scheme) is dropped."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def landing(account: Account) -> str:
    """Where a person lands after login: an analyst on the queue (open hits, flights about
    to leave first), everyone else on what waits for their role (`service/landing.py`)."""
    return "/hits" if account.role is Role.ANALYST else "/"


def start_session(
    request: Request, account: Account, target: str, *, second_factor_done: bool = False
) -> RedirectResponse:
    """Open a fresh session (never reuse one: no fixation) and redirect. Until the second
    factor is done, the session is a stage session and the redirect goes to its page."""
    node = node_of(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        accounts.close_session(node.engine, old)
    stage = "full" if second_factor_done else ("totp" if account.has_totp else "totp_enrol")
    opened = accounts.open_session(
        node.engine, account, now=node.clock(), policy=settings_of(request).session_policy, stage=stage
    )
    if stage != "full":
        target = "/login/totp?" + urlencode({"next": target})
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        request, response, SESSION_COOKIE, opened.token, max_age=settings_of(request).session_hours * 3600
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


# --- routes --------------------------------------------------------------------------------

router = APIRouter()


def _login_page(request: Request, *, error: str = "", status_code: int = 200, next_: str = "") -> Response:
    from pnrguard.web.views import render  # here: views imports this module

    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": token,
            "error": error,
            "next": safe_next(next_, ""),
            "password_login": settings_of(request).password_login,
            "oidc_enabled": settings_of(request).oidc_enabled,
            "oidc_label": settings_of(request).oidc_label,
        },
        status_code=status_code,
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


#: The login form as a page of its own (the anonymous root `/` shows it too).
login_page = _login_page


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "") -> Response:
    account = optional_account(request)
    if account is not None:
        return RedirectResponse(safe_next(next, landing(account)), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form(""),
) -> Response:
    _check_origin(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not csrf_token or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(
            request, error=gettext("The form expired: please try again."), status_code=403, next_=next
        )
    if not settings_of(request).password_login:
        return _login_page(
            request, error=gettext("Password login is turned off."), status_code=403, next_=next
        )
    node = node_of(request)
    account = accounts.authenticate(
        node.engine,
        username=username.strip().lower()[:64],
        password=password[:1024],
        now=node.clock(),
        address=client_address(request),
    )
    if account is None:
        # One message for every failure: it must not tell which usernames exist.
        return _login_page(request, error=gettext("Wrong username or password."), status_code=401, next_=next)
    return start_session(request, account, safe_next(next, landing(account)))


@router.post("/logout", include_in_schema=False)
def logout(request: Request, _: Account = Depends(require_role(*ANY_HUMAN))) -> Response:  # noqa: B008
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.close_session(node_of(request).engine, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def describe() -> dict[str, Any]:
    """The cookie attributes, for docs and tests."""
    return {"session_cookie": SESSION_COOKIE, "httponly": True, "samesite": "strict"}
