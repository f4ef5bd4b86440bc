"""The node's HTTP face: a FastAPI app built over a `Node` (the composition root).

It serves the health check, an operations overview (counts only), the carrier push API, the
analyst workspace and the federation pages. The peer API runs on its own mutual-TLS
listener (`pnrguard peers serve`, see docs/federation.md), so browsers never need a client
certificate.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select, text

from pnrguard import __version__
from pnrguard.errors import N_, PnrguardError
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.hit_queue import QueueFilter, hit_queue
from pnrguard.service.landing import waiting_for
from pnrguard.store.tables import booking, booking_version, message
from pnrguard.web import exchange_views, workspace
from pnrguard.web.auth import (
    ANY_HUMAN,
    RoleRefused,
    Unauthenticated,
    login_page,
    optional_account,
    require_role,
)
from pnrguard.web.carrier import carrier_router
from pnrguard.web.criteria import router as criteria_router
from pnrguard.web.dpo import router as dpo_router
from pnrguard.web.dpo_rights import router as dpo_rights_router
from pnrguard.web.hsts import HstsMiddleware
from pnrguard.web.i18n import LocaleMiddleware
from pnrguard.web.leads import router as leads_router
from pnrguard.web.links import router as links_router
from pnrguard.web.quality import router as quality_router
from pnrguard.web.triage import router as triage_router
from pnrguard.web.unmasking import router as unmasking_router
from pnrguard.web.views import render, wants_html
from pnrguard.web.watchlists import router as watchlists_router


def overview_counts(node: Node) -> dict[str, Any]:
    """Figures an operator may see: counts, never content."""
    with node.engine.connect() as conn:
        by_status: dict[str, int] = dict(
            conn.execute(select(message.c.status, func.count()).group_by(message.c.status)).all()
        )
        bookings = conn.execute(select(func.count()).select_from(booking)).scalar_one()
        versions = conn.execute(select(func.count()).select_from(booking_version)).scalar_one()
    return {
        "messages": {str(k): int(v) for k, v in by_status.items()},
        "bookings": int(bookings),
        "booking_versions": int(versions),
    }


def create_app(node: Node) -> FastAPI:
    app = FastAPI(title="pnrguard", version=__version__, docs_url=None, redoc_url=None)
    app.state.node = node

    @app.exception_handler(PnrguardError)
    async def _pnrguard_error(_request: Request, exc: PnrguardError) -> JSONResponse:
        # The one translation of domain errors into HTTP; messages carry no personal data.
        return JSONResponse({"error": exc.code, "detail": str(exc)}, status_code=exc.http_status)

    @app.get("/health")
    def health() -> dict[str, str]:
        with node.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def overview(request: Request) -> Response:
        # The root is where people arrive: a browser without a session gets the login form
        # here (not an error page); scripts still get 401. Each role lands on what waits for
        # it (service/landing.py): counts and links only.
        user = optional_account(request)
        if user is None:
            if wants_html(request):
                return login_page(request)
            raise Unauthenticated(N_("log in first"))
        if user.role not in ANY_HUMAN:
            raise RoleRefused(N_("the %(role)s role may not do this"), role=user.role.value)
        now = node.clock()
        departing = None
        if user.role in (Role.ANALYST, Role.SUPERVISOR):
            departing = hit_queue(
                node.engine, node.keystore, page=1, page_size=10, now=now,
                filters=QueueFilter(when="departing"),
            )  # fmt: skip
        return render(
            request,
            "overview.html",
            {
                "counts": overview_counts(node),
                "waiting": waiting_for(node.engine, user, now=now),
                "departing": departing,
            },
        )

    @app.get("/api/overview", dependencies=[Depends(require_role(*ANY_HUMAN))])
    def overview_json() -> dict[str, Any]:
        return overview_counts(node)

    app.include_router(carrier_router(node))
    workspace.install(app, node)
    exchange_views.install(app, node)
    app.include_router(dpo_router)
    app.include_router(dpo_rights_router)
    app.include_router(unmasking_router)
    app.include_router(criteria_router)
    app.include_router(links_router)
    app.include_router(leads_router)
    app.include_router(watchlists_router)
    app.include_router(quality_router)
    app.include_router(triage_router)
    app.add_middleware(HstsMiddleware, force=app.state.auth_settings.cookie_secure is True)
    app.add_middleware(LocaleMiddleware)
    return app
