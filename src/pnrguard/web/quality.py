"""Carrier data quality in the workspace: `/quality` (a table) and `/quality.csv`.

For the people who talk to carriers (administrators, supervisors, the DPO): what each
carrier sent per day, how early, how complete, what went wrong. Numbers only, so no
consultation is logged (see `service/quality.py`).
"""

from __future__ import annotations

import datetime as dt
import io

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from pnrguard.csvsafe import safe_writer
from pnrguard.domain.annex import Element
from pnrguard.service.accounts import Account, Role
from pnrguard.service.quality import PUSH_CLASSES, csv_rows, quality_report
from pnrguard.web.auth import node_of, require_role
from pnrguard.web.views import render, with_headers

__all__ = ["router"]

router = APIRouter()
_STAFF = Depends(require_role(Role.ADMIN, Role.SUPERVISOR, Role.DPO))
MAX_DAYS = 92


def _period(request: Request) -> tuple[dt.date, dt.date]:
    """[first, last] from `from`/`to` (inclusive days), a week up to today by default."""
    q = request.query_params
    today = node_of(request).clock.now().date()
    try:
        last = dt.date.fromisoformat(q["to"]) if q.get("to") else today
        first = dt.date.fromisoformat(q["from"]) if q.get("from") else last - dt.timedelta(days=6)
    except ValueError:
        first, last = today - dt.timedelta(days=6), today
    if first > last or (last - first).days >= MAX_DAYS:
        first = last - dt.timedelta(days=6)
    return first, last


@router.get("/quality", include_in_schema=False)
def quality_page(request: Request, _: Account = _STAFF) -> Response:
    first, last = _period(request)
    report = quality_report(node_of(request).engine, since=first, until=last + dt.timedelta(days=1))
    return render(
        request,
        "quality.html",
        {
            "report": report,
            "start": first.isoformat(),
            "end": last.isoformat(),
            "push_classes": PUSH_CLASSES,
            "elements": list(Element),
        },
    )


@router.get("/quality.csv", include_in_schema=False)
def quality_csv(request: Request, _: Account = _STAFF) -> Response:
    first, last = _period(request)
    report = quality_report(node_of(request).engine, since=first, until=last + dt.timedelta(days=1))
    header, rows = csv_rows(report)
    out = io.StringIO()
    w = safe_writer(out)
    w.writerow(header)
    w.writerows(rows)
    name = f"carrier-quality-{first}-{last}.csv"
    return with_headers(
        Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    )
