"""Prometheus metrics of the carrier gateway, without personal data.

Labels are bounded codes only: the carrier code (bounded by the credentials issued), the
rejection reason (an enum), the queue status and the worker outcome. No locator, name,
document, control reference or receipt id ever becomes a label: they are unbounded and
some are personal.

Queue depth and screening lag are read from the database at scrape time (cached for a
second), so they are right whichever process enqueued or processed, and a scrape of any
web process shows the whole node.

Each app gets its own `CollectorRegistry`: tests build many apps in one process, and the
global registry would refuse the second.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Iterator

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pnrguard.service.audit_signing import REFUSALS
from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway import ProcessOutcome, queue_stats
from pnrguard.service.witness import WITNESS_REQUESTS

__all__ = ["GatewayMetrics", "metrics_router"]

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class _QueueCollector(Collector):
    """Queue depth by status and the screening lag, from the database, cached 1 s."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, int], float] | None = None

    def _stats(self) -> tuple[dict[str, int], float]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > 1.0:
                depth, lag = queue_stats(self._node.engine, now=self._node.clock.now())
                self._cached = (now, depth, lag)
            return self._cached[1], self._cached[2]

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metric names, without a database query (registration calls this)."""
        yield GaugeMetricFamily("pnrguard_gateway_queue_depth", "", labels=["status"])
        yield GaugeMetricFamily("pnrguard_gateway_screening_lag_seconds", "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depth, lag = self._stats()
        except Exception:  # the database is down: no gauges rather than a failed scrape
            return
        g = GaugeMetricFamily(
            "pnrguard_gateway_queue_depth", "Messages in the inbox queue by status", labels=["status"]
        )
        for status, n in sorted(depth.items()):
            g.add_metric([status], n)
        yield g
        yield GaugeMetricFamily(
            "pnrguard_gateway_screening_lag_seconds",
            "Age of the oldest acknowledged message not yet processed",
            value=lag,
        )


class GatewayMetrics:
    """The gateway's counters and histograms, on a registry of their own."""

    def __init__(self, node: Node | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "pnrguard_gateway_messages", "Pushes acknowledged as accepted", ["carrier", "result"], registry=r
        )
        self.bytes = Counter(
            "pnrguard_gateway_bytes", "Bytes of pushes acknowledged as accepted", ["carrier"], registry=r
        )
        self.rejections = Counter(
            "pnrguard_gateway_rejections", "Pushes refused, by reason", ["reason"], registry=r
        )
        self.ack_seconds = Histogram(
            "pnrguard_gateway_ack_seconds",
            "Time from request start to acknowledgement",
            ["result"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.processed = Counter(
            "pnrguard_worker_messages", "Queue rows handled by workers", ["status", "outcome"], registry=r
        )
        self.process_seconds = Histogram(
            "pnrguard_worker_seconds",
            "Time to ingest one queued message",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=r,
        )
        # The audit signer's refusals and the witness protocol's results (module-level
        # counters of their services, shown by every app's registry).
        r.register(REFUSALS)
        r.register(WITNESS_REQUESTS)
        if node is not None:
            r.register(_QueueCollector(node))

    def observe_processed(self, outcome: ProcessOutcome) -> None:
        self.processed.labels(outcome.status.value, outcome.outcome or "none").inc()
        self.process_seconds.observe(outcome.seconds)


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def ops_guard(token: str | None) -> Callable[[Request], None]:
    """A dependency for operators' endpoints (`/metrics`, `/health/gateway`): they show
    carrier codes and volumes, so they answer only to `Authorization: Bearer <token>`
    (`PNRGUARD_GATEWAY_OPS_TOKEN`, compared in constant time) or, when no token is set,
    only to a client on the loopback interface (a scraper on the same host)."""

    def check(request: Request) -> None:
        if token:
            sent = request.headers.get("authorization", "")
            want = f"Bearer {token}"
            if not hmac.compare_digest(sent.encode("utf-8", "replace"), want.encode("utf-8")):
                raise HTTPException(401, "operators' endpoint: send the operations token")
            return
        host = request.client.host if request.client else ""
        if host not in _LOOPBACK:
            raise HTTPException(401, "operators' endpoint: set PNRGUARD_GATEWAY_OPS_TOKEN or use this host")

    return check


def metrics_router(metrics: GatewayMetrics, *, token: str | None = None) -> APIRouter:
    router = APIRouter(dependencies=[Depends(ops_guard(token))])

    @router.get("/metrics", include_in_schema=False)
    def scrape() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
