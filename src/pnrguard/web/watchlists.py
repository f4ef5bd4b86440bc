"""Watchlists on the web: lists, their versions and deltas, import from a file, rescreen.

Who: supervisors and administrators import; analysts and the DPO read. A list holds the
names of listed people (public or official lists); the page shows versions and counts
only, never entries, so it shows no traveller's data at all. Importing screens the
stored travellers against the new version's delta in the same request (the page reports
what the rescreen found); an interrupted rescreen shows as pending and can be resumed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Purpose
from pnrguard.errors import N_, InputError, NotFoundError, PnrguardError
from pnrguard.screening.watchlists import FORMATS
from pnrguard.service import screening
from pnrguard.service.accounts import Account, Role
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.i18n import error_text, gettext
from pnrguard.web.views import render

__all__ = ["MAX_UPLOAD", "router"]

router = APIRouter(prefix="/watchlists")

VIEWERS = (Role.ANALYST, Role.SUPERVISOR, Role.DPO, Role.ADMIN)
EDITORS = (Role.SUPERVISOR, Role.ADMIN)
#: The largest list file taken from a browser (OpenSanctions' full FtM export is larger:
#: import those with `pnrguard watchlist import`).
MAX_UPLOAD = 64 * 1024 * 1024
_PURPOSES = sorted(INVESTIGATIVE_PURPOSES, key=lambda p: (p is not Purpose.TERRORIST_OFFENCES, p.value))


def _page(
    request: Request,
    user: Account,
    *,
    error: str = "",
    result: screening.ImportResult | None = None,
    rescreen: tuple[str, screening.RescreenResult] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "watchlists.html",
        {
            "lists": screening.list_watchlists(engine=node_of(request).engine),
            "formats": FORMATS,
            "purposes": _PURPOSES,
            "can_edit": user.role in EDITORS,
            "error": error,
            "result": result,
            "rescreen": rescreen,
            "max_mb": MAX_UPLOAD // (1024 * 1024),
        },
        status_code=status_code,
    )


@router.get("", include_in_schema=False)
def watchlists_page(request: Request, user: Account = Depends(require_role(*VIEWERS))) -> Response:  # noqa: B008 — FastAPI's dependency idiom
    return _page(request, user)


@router.post("/import", include_in_schema=False)
async def watchlist_import(
    request: Request,
    name: str = Form(""),
    fmt: str = Form("auto"),
    purpose: str = Form(""),
    file: UploadFile = File(...),  # noqa: B008
    user: Account = Depends(require_role(*EDITORS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    data = await file.read(MAX_UPLOAD + 1)
    try:
        if len(data) > MAX_UPLOAD:
            raise InputError(
                N_("the file is larger than %(n)s MB: use the CLI"), n=MAX_UPLOAD // (1024 * 1024)
            )
        if not data:
            raise InputError(gettext("choose a list file"))
        try:
            chosen = Purpose(purpose) if purpose else None
        except ValueError:
            raise InputError(gettext("choose the purpose the list is held for")) from None
        result = screening.import_watchlist(
            data, name=name.strip(), fmt=fmt, purpose=chosen, engine=node.engine,
            keystore=node.keystore, audit=node.audit, clock=node.clock, actor=user.username,
            role=user.role.value, filename=file.filename or "",
        )  # fmt: skip
    except PnrguardError as exc:
        return _page(request, user, error=error_text(exc), status_code=exc.http_status)
    return _page(request, user, result=result)


@router.post("/{name}/rescreen", include_in_schema=False)
def watchlist_rescreen(
    request: Request,
    name: str,
    user: Account = Depends(require_role(*EDITORS)),  # noqa: B008
) -> Response:
    """Resume the rescreen of a list's current version (after an interrupted import)."""
    node = node_of(request)
    lists = screening.list_watchlists(engine=node.engine)
    current = next((vs[-1] for wl, vs in lists if wl.name == name and vs), None)
    try:
        if current is None:
            raise NotFoundError(gettext("no such list"))
        done = screening.rescreen_version(
            name, current.version, engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=node.clock, actor=user.username, role=user.role.value,
        )  # fmt: skip
    except PnrguardError as exc:
        return _page(request, user, error=error_text(exc), status_code=exc.http_status)
    return _page(request, user, rescreen=(name, done))
