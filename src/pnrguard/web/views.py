"""Rendering for the workspace: templates, filters, security headers, error pages.

Why one helper: every page that can show personal data must carry the same headers
(`Cache-Control: no-store` so no shared or browser cache keeps it, a strict Content
Security Policy since the workspace runs no script at all, no referrer beyond the node itself so
ids never leak
to another site). Rendering through `render` makes that impossible to forget.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from pnrguard.audit.models import Purpose
from pnrguard.errors import PnrguardError
from pnrguard.service.accounts import Role
from pnrguard.service.review import MASKED, Moment
from pnrguard.store.copies import shown_text

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]

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


def purpose_label(value: Purpose | str | None) -> str:
    if not value:
        return ""
    try:
        return str(Purpose(value).value).replace("_", " ").capitalize()
    except ValueError:
        return str(value)


def utc(at: dt.datetime | None) -> str:
    if at is None:
        return ""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def when(m: Moment | None) -> str:
    """A flight time as local airport time and UTC: "2025-06-01 10:05 CDG (08:05 UTC)"."""
    if m is None:
        return ""
    out = f"{m.local:%Y-%m-%d %H:%M} {m.airport} local"
    if m.utc is not None:
        out += f" ({m.utc:%H:%M} UTC)"
    return out


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value == MASKED


TEMPLATES.env.filters["purpose"] = purpose_label
TEMPLATES.env.filters["utc"] = utc
TEMPLATES.env.filters["shown"] = shown_text  # a sealed text (store/copies.py) is never printed
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.tests["masked"] = is_masked
TEMPLATES.env.globals["Role"] = Role


def with_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    node = request.app.state.node
    ctx = {
        "user": getattr(request.state, "account", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "node_name": node.settings.node_name,
        **context,
    }
    return with_headers(TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code))


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
        {"status": exc.http_status, "code": exc.code, "detail": str(exc), "login": login},
        status_code=exc.http_status,
    )
