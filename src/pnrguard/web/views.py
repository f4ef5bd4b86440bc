"""Rendering for the workspace: templates, filters, security headers, error pages.

Why one helper: every page that can show personal data must carry the same headers
(`Cache-Control: no-store` so no shared or browser cache keeps it, a strict Content
Security Policy since the workspace runs no script at all, no referrer beyond the node itself so
ids never leak
to another site). Rendering through `render` makes that impossible to forget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from pnrguard.errors import ConflictError, InputError, PnrguardError
from pnrguard.web.i18n import error_text, set_locale
from pnrguard.web.labels import purpose_label
from pnrguard.web.templates import TEMPLATES, utc, when

__all__ = [
    "MAX_PAGE",
    "TEMPLATES",
    "PageNumber",
    "Refusal",
    "download",
    "error_page",
    "json_response",
    "purpose_label",
    "render",
    "submit",
    "utc",
    "wants_html",
    "when",
    "with_headers",
]

#: Every page number a route takes: bounded, so `?page=99999999999999999999` is a 422 and
#: never reaches SQL as an OFFSET no database accepts (issue 11 §5). Use it (or a bounded
#: `Query`) for every numeric parameter; `tests/web/test_hardening.py` walks the routes.
MAX_PAGE = 1_000_000
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    node = request.app.state.node
    account = getattr(request.state, "account", None)
    set_locale(getattr(account, "locale", None))  # the person's own choice over Accept-Language
    ctx = {
        "user": account,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "node_name": node.settings.node_name,
        **context,
    }
    return with_headers(TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code))


#: How a page shows a refusal of its form: the page again, with the message and what was typed.
Refusal = Callable[[PnrguardError], Response]


def submit(
    act: Callable[[], str],
    refused: Refusal | None = None,
    *,
    refusals: tuple[type[PnrguardError], ...] = (InputError, ConflictError),
) -> Response:
    """The shape of every form POST of the workspace: do it, then see the result (a 303 to
    the address `act` returns, so a reload does not post again). A refusal the form can
    explain (`refusals`) comes back through `refused` (issue 15: a refused form keeps what
    was typed); without `refused`, or for any other error, the app's error page answers."""
    if refused is None:
        return RedirectResponse(act(), status_code=303)
    try:
        target = act()
    except refusals as exc:
        return refused(exc)
    return RedirectResponse(target, status_code=303)


def download(body: bytes, media_type: str, filename: str, sha256: bytes | None) -> Response:
    """A file to save, never to cache or sniff; `sha256` is the package's digest at release."""
    response = Response(body, media_type=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if sha256 is not None:
        response.headers["X-Package-SHA256-At-Release"] = sha256.hex()
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def json_response(data: Any, *, status_code: int = 200) -> Response:
    return with_headers(JSONResponse(data, status_code=status_code))


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def error_page(request: Request, exc: Exception) -> Response:
    """Errors as pages for browsers, as `{"error", "detail"}` JSON for everyone else (the
    app's format). Messages carry codes and ids only (see `pnrguard.errors`)."""
    assert isinstance(exc, PnrguardError)
    if not wants_html(request):
        return with_headers(
            JSONResponse({"error": exc.code, "detail": str(exc)}, status_code=exc.http_status)
        )
    login = "/login?next=" + quote(request.url.path, safe="/") if exc.http_status == 401 else ""
    return render(
        request,
        "error.html",
        {"status": exc.http_status, "code": exc.code, "detail": error_text(exc), "login": login},
        status_code=exc.http_status,
    )
