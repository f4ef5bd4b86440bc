"""`GET /carrier/v1/quality`: a carrier's own data-quality figures, with its push token.

Each carrier sees only the rows of its own credential: its carrier code and the UNB
sender ids the credential may push as. Numbers only (see `service/quality.py`); the same
figures the operators see in the workspace and `pnrguard carriers quality`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from pnrguard.domain.annex import Element
from pnrguard.service.bootstrap import Node
from pnrguard.service.quality import QualityDay, quality_report
from pnrguard.store.gateway import Credential

__all__ = ["MAX_DAYS", "QUALITY_PATH", "QualityJson", "add_quality_route"]

QUALITY_PATH = "/carrier/v1/quality"
#: The longest period one request may ask for (a quarter): the answer stays small.
MAX_DAYS = 92
_bearer = HTTPBearer(auto_error=False, description="Token issued per carrier by `pnrguard carriers add`.")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
Authenticate = Callable[[HTTPAuthorizationCredentials | None], Awaitable[Credential | None]]


class QualityDayJson(BaseModel):
    carrier: str
    day: str
    messages: int
    accepted: int
    duplicates: int
    quarantined: int
    bookings: int
    travellers: int
    api_share: float | None
    on_time_share: float | None
    pushes: dict[str, int]
    element_shares: dict[str, float | None]
    deviations: dict[str, int]
    quarantine_reasons: dict[str, int]
    gateway_refusals: dict[str, int]


class QualityJson(BaseModel):
    since: str
    until: str
    days: list[QualityDayJson]


def day_json(d: QualityDay) -> QualityDayJson:
    return QualityDayJson(
        carrier=d.carrier, day=d.day.isoformat(), messages=d.messages, accepted=d.accepted,
        duplicates=d.duplicates, quarantined=d.quarantined, bookings=d.bookings,
        travellers=d.travellers, api_share=d.api_share, on_time_share=d.on_time_share,
        pushes=dict(d.pushes), element_shares={f"{e.value:02d}": d.element_share(e.value) for e in Element},
        deviations=dict(d.deviations), quarantine_reasons=dict(d.quarantine_reasons),
        gateway_refusals=dict(d.gateway_refusals),
    )  # fmt: skip


def add_quality_route(router: APIRouter, node: Node, authenticate: Authenticate) -> None:
    """Add the quality route to the carrier router (it shares the push API's token check)."""

    @router.get(
        QUALITY_PATH,
        response_model=QualityJson,
        responses={
            400: {"description": "Bad period"},
            401: {"description": "Unknown or revoked token"},
        },
        summary="This carrier's data-quality figures per day",
    )
    async def quality(
        bearer: Bearer,
        since: Annotated[dt.date | None, Query(description="First day (UTC); default a week ago")] = None,
        until: Annotated[dt.date | None, Query(description="Last day, inclusive; default today")] = None,
    ) -> Any:
        credential = await authenticate(bearer)
        if credential is None:
            return JSONResponse(
                {"error": "unauthenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        try:  # dates at the ends of the calendar (0001-01-01, 9999-12-31) have no neighbours
            last = until or node.clock.now().date()
            first = since or last - dt.timedelta(days=6)
            end = last + dt.timedelta(days=1)
        except OverflowError:
            first, last, end = dt.date.max, dt.date.min, dt.date.min
        if first > last or (last - first).days >= MAX_DAYS:
            return JSONResponse({"error": "bad_period", "max_days": MAX_DAYS}, status_code=400)
        scope = {credential.carrier, *credential.senders}  # its own figures, nobody else's
        report = await run_in_threadpool(
            quality_report, node.engine, since=first, until=end, carriers=scope
        )
        days = [day_json(d) for d in report]
        return QualityJson(since=first.isoformat(), until=last.isoformat(), days=days)
