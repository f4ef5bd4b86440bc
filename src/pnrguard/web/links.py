"""Link analysis pages: a traveller's neighbourhood from a confirmed hit or an open request.

Server-rendered: the picture is inline SVG (no script, no inline style: the CSP holds),
with the same content as a table for keyboard and screen-reader users. GET is fine here
although the page is logged: opening a record is a consultation, the same as any record
page (`service.links` logs each expansion with its purpose).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup

from pnrguard.links.svg import render_svg
from pnrguard.service import links
from pnrguard.service.accounts import Account, Role
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter()
ANALYSTS = (Role.ANALYST, Role.SUPERVISOR)


def _depth(value: str) -> int:
    return 2 if value == "2" else 1


def _page(request: Request, view: links.LinkView, *, back: str, here: str) -> Response:
    svg = Markup(render_svg(view.graph, view.labels))  # noqa: S704 — our own SVG, every label escaped in render_svg
    return render(request, "links.html", {"view": view, "svg": svg, "back": back, "here": here})


@router.get("/hits/{hit_id}/links", include_in_schema=False)
def hit_links(
    request: Request,
    hit_id: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    node = node_of(request)
    view = links.links_for_hit(
        hit_id, depth=_depth(depth), user=user, engine=node.engine, keystore=node.keystore, audit=node.audit
    )
    return _page(request, view, back=f"/hits/{hit_id}", here=f"/hits/{hit_id}/links")


@router.get("/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links", include_in_schema=False)
def request_links(
    request: Request,
    request_id: str,
    booking_id: str,
    ref: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    view = links.links_for_request(
        request_id, booking_id, ref, depth=_depth(depth), user=user, engine=node.engine,
        keystore=node.keystore, audit=node.audit,
    )  # fmt: skip
    here = f"/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links"
    return _page(request, view, back=f"/requests/{request_id}/bookings/{booking_id}", here=here)
