"""Link analysis pages: a traveller's neighbourhood from a confirmed hit or an open request.

Server-rendered: the picture is inline SVG (no script, no inline style: the CSP holds),
with the same content as a table for keyboard and screen-reader users. GET is fine here
although the page is logged: opening a record is a consultation, the same as any record
page (`service.links` logs each expansion with its purpose). The exports (the SVG and the
table as CSV, for the case file or a disclosure package) recompute the neighbourhood, so
they are logged the same way. From a request's neighbourhood a linked person's bookings
can be added to the request (the case): they are then opened and transmitted under it.
From a confirmed hit's neighbourhood a linked person's active bookings are added to the
hit's disclosure package (`service.links_case`): they leave with the hit's transmission,
with the graph, once a second person approved it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from pnrguard.links.svg import render_svg
from pnrguard.service import links, links_case
from pnrguard.service.accounts import Account, Role
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.views import render

__all__ = ["router"]

router = APIRouter()
ANALYSTS = (Role.ANALYST, Role.SUPERVISOR)
_REQUEST_LINKS = "/requests/{request_id}/bookings/{booking_id}/travellers/{ref}/links"


def _depth(value: str) -> int:
    return 2 if value == "2" else 1


def _page(request: Request, view: links.LinkView, *, back: str, here: str, add: str = "") -> Response:
    svg = Markup(render_svg(view.graph, view.labels))  # noqa: S704 — our own SVG, every label escaped in render_svg
    ctx = {"view": view, "svg": svg, "back": back, "here": here, "add": add}
    return render(request, "links.html", ctx)


def _export(view: links.LinkView, what: str, name: str) -> Response:
    if what == "svg":
        body, media = render_svg(view.graph, view.labels).encode("utf-8"), "image/svg+xml"
    else:
        body, media = links.table_csv(view), "text/csv; charset=utf-8"
    response = Response(body, media_type=media)
    response.headers["Content-Disposition"] = f'attachment; filename="links-{name}.{what}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _hit_view(request: Request, hit_id: str, depth: str, user: Account) -> links.LinkView:
    node = node_of(request)
    return links.links_for_hit(
        hit_id, depth=_depth(depth), user=user, engine=node.engine, keystore=node.keystore, audit=node.audit,
        clock=node.clock,
    )  # fmt: skip


def _request_view(request: Request, request_id: str, booking_id: str, ref: str, depth: str,
                  user: Account) -> links.LinkView:  # fmt: skip
    node = node_of(request)
    return links.links_for_request(
        request_id, booking_id, ref, depth=_depth(depth), user=user, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip


@router.get("/hits/{hit_id}/links", include_in_schema=False)
def hit_links(
    request: Request,
    hit_id: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008 — FastAPI's dependency idiom
) -> Response:
    view = _hit_view(request, hit_id, depth, user)
    here = f"/hits/{hit_id}/links"
    return _page(request, view, back=f"/hits/{hit_id}", here=here, add=f"{here}/disclosure")


@router.post("/hits/{hit_id}/links/disclosure", include_in_schema=False)
def add_to_disclosure(
    request: Request,
    hit_id: str,
    person: str = Form(""),
    depth: str = Form("1"),
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    links_case.add_linked_to_hit(
        hit_id, person, depth=_depth(depth), user=user, engine=node.engine, keystore=node.keystore,
        audit=node.audit, clock=node.clock,
    )  # fmt: skip
    return RedirectResponse(f"/hits/{hit_id}", status_code=303)


@router.get("/hits/{hit_id}/links.{what}", include_in_schema=False)
def hit_links_export(
    request: Request,
    hit_id: str,
    what: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    if what not in ("svg", "csv"):
        return Response(status_code=404)
    return _export(_hit_view(request, hit_id, depth, user), what, hit_id[-8:])


@router.get(_REQUEST_LINKS, include_in_schema=False)
def request_links(
    request: Request,
    request_id: str,
    booking_id: str,
    ref: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    view = _request_view(request, request_id, booking_id, ref, depth, user)
    here = _REQUEST_LINKS.format(request_id=request_id, booking_id=booking_id, ref=ref)
    back = f"/requests/{request_id}/bookings/{booking_id}"
    return _page(request, view, back=back, here=here, add=f"{here}/case")


@router.get(_REQUEST_LINKS + ".{what}", include_in_schema=False)
def request_links_export(
    request: Request,
    request_id: str,
    booking_id: str,
    ref: str,
    what: str,
    depth: str = "1",
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    if what not in ("svg", "csv"):
        return Response(status_code=404)
    return _export(_request_view(request, request_id, booking_id, ref, depth, user), what, request_id[-8:])


@router.post(_REQUEST_LINKS + "/case", include_in_schema=False)
def add_to_case(
    request: Request,
    request_id: str,
    booking_id: str,
    ref: str,
    person: str = Form(""),
    depth: str = Form("1"),
    user: Account = Depends(require_role(*ANALYSTS)),  # noqa: B008
) -> Response:
    node = node_of(request)
    added = links.add_linked_to_request(
        request_id, booking_id, ref, person, depth=_depth(depth), user=user, engine=node.engine,
        keystore=node.keystore, audit=node.audit, clock=node.clock,
    )  # fmt: skip
    return RedirectResponse(f"/requests/{request_id}/bookings/{added[0]}", status_code=303)
