"""The carrier push API: EDIFACT in, durable queue, CONTRL acknowledgement out.

    POST /carrier/v1/messages           push one interchange (Authorization: Bearer <token>)
    GET  /carrier/v1/messages/{receipt} what became of it (queued, processed, its outcome)
    GET  /carrier/v1/quality            the carrier's own data-quality figures per day
    GET  /health/gateway                queue depth and screening lag (operations token)
    GET  /metrics                       Prometheus metrics, no personal data (operations token)

A push is acknowledged only after its row is committed (see `service.gateway`). The
acknowledgement is a CONTRL interchange (`application/edifact`, the default) or its JSON
form (`Accept: application/json`). Status: 202 queued; 200 an identical re-send of a queued
or processed interchange (the original receipt); 400, 403, 409, 413, 415 refused, each with
an entry in `gateway_quarantine`; 401 unknown token (no entry: an unauthenticated client
gets no write into our database); 503 the inbox is full (`queue_full`, backpressure: an
entry, the database is up) or unavailable (no entry: the database is what failed); either
way the interchange is not stored and the answer carries Retry-After.

The handler is `async` and does no blocking I/O: commits happen on the enqueuer thread,
so the event loop keeps accepting while a group commit runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from pnrguard.service.bootstrap import Node
from pnrguard.service.carrier_scope import Limits
from pnrguard.service.gateway import (
    Enqueuer,
    EnqueueStatus,
    InboxBacklog,
    inbox_status,
    queue_stats,
    queue_values,
    rejection_values,
)
from pnrguard.service.gateway_credentials import CredentialCache
from pnrguard.service.gateway_envelope import (
    CHARSET_PARAMS,
    MEDIA_TYPES,
    AckInfo,
    GatewayRejection,
    Reason,
    check_envelope,
    contrl_ack,
)
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.worker import WorkerPool
from pnrguard.store.gateway import Credential
from pnrguard.web.carrier_quality import add_quality_route
from pnrguard.web.logging import configure_logging
from pnrguard.web.metrics import GatewayMetrics, metrics_router, ops_guard

__all__ = ["PUSH_PATH", "CarrierGateway", "carrier_router"]

PUSH_PATH = "/carrier/v1/messages"
log = logging.getLogger("pnrguard.gateway")
_bearer = HTTPBearer(auto_error=False, description="Token issued per carrier by `pnrguard carriers add`.")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


class Contrl(BaseModel):
    action: str
    error: str | None = None
    segment: str | None = None


class AckJson(BaseModel):
    """The JSON form of the acknowledgement (`Accept: application/json`)."""

    status: str
    receipt: str | None = None
    duplicate: bool = False
    reason: str | None = None
    detail: str = ""
    control_ref: str | None = None
    contrl: Contrl


class StatusJson(BaseModel):
    receipt: str
    status: str
    outcome: str | None = None
    message_id: str | None = None
    received_at: str
    processed_at: str | None = None


def _ack_content() -> dict[str, Any]:
    return {
        "application/edifact": {"schema": {"type": "string"}},
        "application/json": {"schema": AckJson.model_json_schema()},
    }


_PUSH_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "content": _ack_content()}
    for code, desc in (
        (202, "Accepted into the durable queue (CONTRL action 7)"),
        (200, "An identical re-send of an interchange already accepted: the original receipt"),
        (400, "Envelope refused: not EDIFACT, truncated, counts, references, recipient"),
        (401, "Unknown or revoked carrier token"),
        (403, "UNB sender not allowed for this token, or bookings of an airline outside its designators"),
        (409, "Replay of a control reference with other content, or too old"),
        (413, "Larger than the size limit, or more segments than the limit"),
        (415, "Media type or character set not supported"),
        (503, "The inbox is unavailable or full: nothing was stored; re-send later"),
    )
}
_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "description": "One UN/EDIFACT interchange (PNRGOV or PAXLST) as the carrier sends it.",
        "content": {
            "application/edifact": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@dataclass(slots=True)
class CarrierGateway:
    """The gateway's per-process state: settings, credential cache, enqueuer, backlog
    (backpressure), workers, metrics."""

    node: Node
    settings: GatewaySettings
    metrics: GatewayMetrics
    credentials: CredentialCache
    enqueuer: Enqueuer
    workers: WorkerPool
    backlog: InboxBacklog
    child: subprocess.Popen[bytes] | None = None

    @classmethod
    def build(
        cls, node: Node, settings: GatewaySettings | None = None, *, inline_workers: int | None = None
    ) -> CarrierGateway:
        settings = settings or GatewaySettings()
        metrics = GatewayMetrics(node)
        threads = settings.inline_workers if inline_workers is None else inline_workers
        workers = WorkerPool(node, settings, threads=threads, observer=metrics.observe_processed)
        backlog = InboxBacklog(
            node.engine,
            max_depth=settings.max_queue_depth,
            refresh_seconds=settings.queue_depth_refresh_ms / 1000,
        )
        enqueuer = Enqueuer(
            node.engine, batch_max=settings.batch_max, on_commit=workers.wake, on_queued=backlog.queued
        )
        credentials = CredentialCache(node.engine, ttl=settings.credential_ttl_seconds)
        return cls(node, settings, metrics, credentials, enqueuer, workers, backlog)

    @property
    def node_id(self) -> str:
        ids = sorted(self.settings.recipient_ids)
        return ids[0] if ids else "PNRGUARD"

    def start(self) -> None:
        if not self.workers.threads:
            return
        if self.settings.inline_mode == "thread":
            self.workers.start()
        else:
            self.child = spawn_worker_process(self.workers.threads)

    def close(self) -> None:
        if self.child is not None:
            self.child.terminate()
            try:
                self.child.wait(30)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
            self.child = None
        self.workers.stop()
        self.enqueuer.close()
        self.backlog.close()


def _die_with_parent() -> None:
    """In the forked child before exec: get SIGTERM when the web process dies, even by
    SIGKILL, so inline workers never outlive the server they belong to (Linux); and run at
    a lower CPU priority, so that under a burst acknowledging wins the cores and ingest
    catches up afterwards (the queue absorbs the burst)."""
    os.nice(10)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the worker notices the parent is gone on its own
        pass


def spawn_worker_process(threads: int) -> subprocess.Popen[bytes]:
    """`pnrguard worker --threads N` as a child of this process, with the same settings."""
    cmd = [sys.executable, "-m", "pnrguard", "worker", "--threads", str(threads)]
    cmd += ["--parent", str(os.getpid())]
    # S603: the command is our own interpreter and module, no outside input.
    return subprocess.Popen(cmd, preexec_fn=_die_with_parent)  # noqa: S603


def _wants_json(request: Request) -> bool:
    return "json" in request.headers.get("accept", "").lower()


def _media_ok(content_type: str | None) -> bool:
    if not content_type:
        return True
    media, *params = (p.strip().lower() for p in content_type.split(";"))
    if media not in MEDIA_TYPES:
        return False
    for p in params:
        key, _, value = p.partition("=")
        if key.strip() == "charset" and value.strip().strip('"') not in CHARSET_PARAMS:
            return False
    return True


def carrier_router(node: Node, *, gateway: CarrierGateway | None = None) -> APIRouter:
    """The push API over `node`. Inline workers start with the app's lifespan."""
    gw = gateway or CarrierGateway.build(node)
    limit = node.settings.max_message_bytes
    message_limits = Limits()
    settings = gw.settings
    metrics = gw.metrics

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        configure_logging()
        # The push handler (event loop) and the enqueuer thread hand the GIL back and forth
        # on every push; at the default 5 ms interval each hand-off can stall a request for
        # up to 5 ms (measured: p99 roughly halves at 1 ms). CPU-bound work is not here.
        sys.setswitchinterval(0.001)
        gw.start()
        log.info("gateway_started", extra={"fields": {"threads": gw.workers.threads}})
        try:
            yield
        finally:
            await run_in_threadpool(gw.close)

    router = APIRouter(lifespan=lifespan)
    ops_token = settings.ops_token.get_secret_value() if settings.ops_token else None
    router.include_router(metrics_router(metrics, token=ops_token))

    def respond(
        request: Request, info: AckInfo, started: float, extra: dict[str, str] | None = None
    ) -> Response:
        headers = dict(extra or {})
        if info.receipt:
            headers["Location"] = f"{PUSH_PATH}/{info.receipt}"
        result = "accepted" if info.accepted else "rejected"
        metrics.ack_seconds.labels(result).observe(time.perf_counter() - started)
        if _wants_json(request):
            return JSONResponse(info.as_json(), status_code=info.http_status, headers=headers)
        body = contrl_ack(info, node_id=gw.node_id, now=node.clock.now())
        return Response(body, status_code=info.http_status, media_type="application/edifact", headers=headers)

    async def reject(
        request: Request,
        exc: GatewayRejection,
        started: float,
        *,
        credential: Credential,
        size: int,
        sha256: bytes | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        values = rejection_values(exc, at=node.clock.now(), credential=credential, size=size, sha256=sha256)
        try:
            await asyncio.wrap_future(gw.enqueuer.submit_rejection(values))
        except Exception:  # the rejection stands even if its entry could not be written
            log.error("rejection_not_recorded", extra={"fields": {"carrier": credential.carrier}})
        metrics.rejections.labels(exc.reason.value).inc()
        log.warning(
            "push_rejected",
            extra={
                "fields": {
                    "carrier": credential.carrier,
                    "reason": exc.reason.value,
                    "http_status": exc.http_status,
                    "size": size,
                }
            },
        )
        return respond(request, AckInfo.rejected(exc), started, headers)

    async def authenticate(bearer: HTTPAuthorizationCredentials | None) -> Credential | None:
        if bearer is None:
            return None
        if gw.credentials.stale():
            await run_in_threadpool(gw.credentials.refresh)
        return gw.credentials.lookup(bearer.credentials)

    @router.post(
        PUSH_PATH,
        status_code=202,
        responses=_PUSH_RESPONSES,
        openapi_extra=_PUSH_BODY,
        summary="Push one PNRGOV or PAXLST interchange",
        response_class=Response,
    )
    async def push(request: Request, bearer: Bearer) -> Response:
        started = time.perf_counter()
        credential = await authenticate(bearer)
        if credential is None:
            metrics.rejections.labels(Reason.UNAUTHENTICATED.value).inc()
            log.warning("push_unauthenticated", extra={"fields": {"http_status": 401}})
            info = AckInfo.rejected(GatewayRejection(Reason.UNAUTHENTICATED, "unknown or revoked token"))
            return respond(request, info, started, {"WWW-Authenticate": "Bearer"})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            exc = GatewayRejection(Reason.TOO_LARGE, f"larger than the limit of {limit} bytes")
            return await reject(request, exc, started, credential=credential, size=int(declared), sha256=None)
        if not _media_ok(request.headers.get("content-type")):
            exc = GatewayRejection(
                Reason.MEDIA_TYPE, "send application/edifact (or text/plain) in UTF-8 or Latin-1"
            )
            return await reject(request, exc, started, credential=credential, size=0, sha256=None)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                exc = GatewayRejection(Reason.TOO_LARGE, f"larger than the limit of {limit} bytes")
                return await reject(request, exc, started, credential=credential, size=size, sha256=None)
            chunks.append(chunk)
        raw = b"".join(chunks)
        now = node.clock.now()
        try:
            envelope = check_envelope(
                raw,
                recipients=settings.recipient_ids,
                senders=credential.senders,
                now=now,
                replay_window=settings.replay_window,
                future_skew=settings.future_skew,
                scope=credential.scope,
                max_segments=message_limits.max_segments,
            )
        except GatewayRejection as exc:
            return await reject(request, exc, started, credential=credential, size=len(raw), sha256=None)
        # Backpressure after the envelope checks (the CONTRL then names the interchange; a
        # faulty one gets its real reason) and before encryption and the commit. No query:
        # a cached depth (`InboxBacklog`).
        if gw.backlog.full():
            full = GatewayRejection(Reason.QUEUE_FULL, "inbox full, re-send later", envelope=envelope)
            retry = {"Retry-After": str(settings.queue_full_retry_after_seconds)}
            return await reject(
                request, full, started, credential=credential, size=len(raw), sha256=None, headers=retry
            )
        values = queue_values(node.keystore, raw, envelope=envelope, credential=credential, now=now)
        try:
            outcome = await asyncio.wrap_future(gw.enqueuer.submit_push(values, envelope, credential))
        except Exception:
            metrics.rejections.labels(Reason.UNAVAILABLE.value).inc()
            down = GatewayRejection(
                Reason.UNAVAILABLE, "the inbox is unavailable; nothing was stored", envelope=envelope
            )
            return respond(request, AckInfo.rejected(down), started, {"Retry-After": "5"})
        if outcome.status is EnqueueStatus.REJECTED:
            assert outcome.rejection is not None
            metrics.rejections.labels(outcome.rejection.reason.value).inc()
            log.warning(
                "push_rejected",
                extra={"fields": {"carrier": credential.carrier, "reason": "replay", "http_status": 409}},
            )
            return respond(request, AckInfo.rejected(outcome.rejection), started)
        resent = outcome.status is EnqueueStatus.RESENT
        metrics.messages.labels(credential.carrier, "resent" if resent else "queued").inc()
        if not resent:
            metrics.bytes.labels(credential.carrier).inc(len(raw))
        log.info(
            "push_accepted",
            extra={
                "fields": {
                    "carrier": credential.carrier,
                    "receipt": outcome.receipt or "",
                    "size": len(raw),
                    "status": outcome.status.value,
                }
            },
        )
        info = AckInfo(
            accepted=True,
            http_status=200 if resent else 202,
            receipt=outcome.receipt,
            duplicate=resent,
            envelope=envelope,
        )
        return respond(request, info, started)

    @router.get(
        PUSH_PATH + "/{receipt}",
        response_model=StatusJson,
        responses={401: {"description": "Unknown or revoked token"}, 404: {"description": "No such receipt"}},
        summary="What became of a pushed interchange",
    )
    async def status(receipt: str, bearer: Bearer) -> Any:
        credential = await authenticate(bearer)
        if credential is None:
            return JSONResponse(
                {"error": "unauthenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        row = await run_in_threadpool(inbox_status, node.engine, receipt[:64])
        if row is None or row.carrier != credential.carrier:  # scoped to the carrier's own pushes
            return JSONResponse({"error": "not_found"}, status_code=404)
        return StatusJson(
            receipt=row.id,
            status=row.status,
            outcome=row.outcome,
            message_id=row.message_id,
            received_at=row.received_at.isoformat(),
            processed_at=row.processed_at.isoformat() if row.processed_at else None,
        )

    add_quality_route(router, node, authenticate)  # GET /carrier/v1/quality, same token

    @router.get(
        "/health/gateway",
        summary="Queue depth and screening lag (operations token)",
        dependencies=[Depends(ops_guard(ops_token))],
        responses={401: {"description": "Operations token missing or wrong (or not on this host)"}},
    )
    def health() -> JSONResponse:
        try:
            depth, lag = queue_stats(node.engine, now=node.clock.now())
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "queue": depth,
                "screening_lag_seconds": round(lag, 3),
                "inline_workers": gw.workers.threads,
                "max_queue_depth": settings.max_queue_depth,
                "accepting": not gw.backlog.at_limit,
                "recipients_configured": bool(settings.recipient_ids),
            }
        )

    router.gateway = gw  # type: ignore[attr-defined]  # for tests and the CLI: the running state
    return router
