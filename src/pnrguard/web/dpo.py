"""The DPO's pages: audit search and CSV export, unmasking approvals and disclosures, the
Art. 20 statistics with a bar chart and CSV download. Role DPO only (`require_role`).

Server-rendered: the chart is an SVG built here from the numbers (no JavaScript, nothing
fetched from elsewhere), so the page works under the workspace's strict headers and prints.
The pages show what `service.dpo` returns: ids, purposes, dates and counts, never PNR
content; a single request's free-text reasons are for the DPO's review and are not exported.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pnrguard.audit.models import Operation, Purpose
from pnrguard.service import dpo
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import Page
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.views import PageNumber, render, with_headers

__all__ = ["bar_chart_svg", "router"]

router = APIRouter(prefix="/dpo")
_DPO = Depends(require_role(Role.DPO))
_MAX_ROWS = 2_000
#: Audit entries per page.
AUDIT_PAGE = 50


def _day(text: str | None, default: dt.datetime) -> dt.datetime:
    if not text:
        return default
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
    except ValueError:
        return default


def _csv(body: str, name: str) -> Response:
    return with_headers(
        Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    )


def bar_chart_svg(rows: list[tuple[str, int]], *, width: int = 640, bar: int = 22) -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per (label, value)."""
    label_w, gap = 240, 6
    top = max((v for _, v in rows), default=0) or 1
    height = len(rows) * (bar + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-label="Bar chart">'
    ]
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar + gap)
        w = int((width - label_w - 80) * value / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar * 0.7:.0f}" text-anchor="end" font-size="13">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="#3b6ea5"><title>{escape(label)}: '
            f"{value}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + bar * 0.7:.0f}" font-size="13">{value:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _period(request: Request) -> tuple[dt.datetime, dt.datetime]:
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = _day(request.query_params.get("from"), today.replace(month=1, day=1))
    end = _day(request.query_params.get("to"), today + dt.timedelta(days=1))
    return start, end


@router.get("/statistics", include_in_schema=False)
def statistics_page(request: Request, _: Account = _DPO) -> Response:
    start, end = _period(request)
    report = dpo.statistics(node_of(request).engine, start=start, end=end)
    headline = [
        ("passengers collected", report.passengers_collected_total),
        ("passengers exchanged", report.passengers_exchanged),
        ("identified for examination", report.identified_for_further_examination),
        ("hits", report.hits),
        ("confirmed hits", report.confirmed_hits),
    ]
    per = [(f"{p.kind} {p.name}", p.hits) for p in report.per_rule_or_list]
    return render(
        request,
        "dpo_statistics.html",
        {
            "report": report,
            "rows": dpo.statistics_rows(report),
            "start": start.date(),
            "end": end.date(),
            "chart": bar_chart_svg(headline),
            "per_chart": bar_chart_svg(per) if per else "",
        },
    )


@router.get("/statistics.csv", include_in_schema=False)
def statistics_csv(request: Request, _: Account = _DPO) -> Response:
    start, end = _period(request)
    report = dpo.statistics(node_of(request).engine, start=start, end=end)
    return _csv(dpo.statistics_csv(report), f"art20-{start.date()}-{end.date()}.csv")


def _audit_entries(request: Request) -> list[object]:
    q = request.query_params
    operation = q.get("operation") or None
    purpose = q.get("purpose") or None
    node = node_of(request)
    return list(
        dpo.search_audit(
            node.engine,
            origin=node.settings.node_name,
            operation=operation if operation in {o.value for o in Operation} else None,
            purpose=purpose if purpose in {p.value for p in Purpose} else None,
            actor=q.get("actor") or None,
            record_id=q.get("record_id") or None,
            reference=q.get("reference") or None,
            start=_day(q.get("from"), dt.datetime.min.replace(tzinfo=dt.UTC)) if q.get("from") else None,
            end=_day(q.get("to"), dt.datetime.max.replace(tzinfo=dt.UTC)) if q.get("to") else None,
        )
    )


@router.get("/audit", include_in_schema=False)
def audit_page(request: Request, page: PageNumber = 1, _: Account = _DPO) -> Response:
    # Paged, newest first (issue 15: 1,589 entries made one 190,000-pixel page); the CSV
    # export keeps every entry the search matched.
    entries = _audit_entries(request)
    total = len(entries)
    newest_first = entries[::-1][(page - 1) * AUDIT_PAGE : page * AUDIT_PAGE]
    keep = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(
        request,
        "dpo_audit.html",
        {
            "entries": newest_first,
            "page": Page(newest_first, page, AUDIT_PAGE, total),
            "base": "/dpo/audit?" + urlencode(keep) + ("&" if keep else ""),
            "total": total,
            "limit": _MAX_ROWS,
            "operations": [o.value for o in Operation],
            "purposes": [p.value for p in Purpose],
            "query": dict(request.query_params),
            "query_string": request.url.query,
        },
    )


@router.get("/audit.csv", include_in_schema=False)
def audit_export(request: Request, _: Account = _DPO) -> Response:
    return _csv(dpo.audit_csv(_audit_entries(request)), "audit.csv")  # type: ignore[arg-type]


@router.get("/approvals", include_in_schema=False)
def approvals_page(request: Request, _: Account = _DPO) -> Response:
    node = node_of(request)
    return render(
        request,
        "dpo_approvals.html",
        {
            "approvals": dpo.approvals(node.engine),
            "names": dpo.account_names(node.engine),
            "notifications": dpo.notifications(node.engine, pending_only=True),
            "disclosures": dpo.disclosures(node.engine, origin=node.settings.node_name)[-_MAX_ROWS:][::-1],
        },
    )


@router.get("/approvals.csv", include_in_schema=False)
def approvals_export(request: Request, _: Account = _DPO) -> Response:
    return _csv(dpo.approvals_csv(dpo.approvals(node_of(request).engine)), "unmasking-approvals.csv")
