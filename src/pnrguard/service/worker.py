"""Workers that drain the gateway's inbox queue into the ingest use case.

A `WorkerPool` runs N threads in one process: inside `pnrguard serve` (inline workers,
`PNRGUARD_GATEWAY_INLINE_WORKERS`) or in `pnrguard worker`. Why both: inline workers make
the embedded node one process; separate worker processes keep parsing (CPU-bound Python)
off the web process's GIL, which is what keeps acknowledgement latency low under load
(docs/operations.md). Any number of pools on any number of hosts may share one database:
claims never collide (SKIP LOCKED / the SQLite write lock), and a dead pool's claims come
free when their lease runs out.

An idle worker waits `poll_seconds`, or less: the web process's enqueuer wakes its inline
workers after each commit.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pnrguard.service.audit_signing import CheckpointRefused
from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway import (
    ProcessOutcome,
    ProcessStatus,
    housekeeping,
    process_next,
)
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.leads import detect_leads_scheduled
from pnrguard.service.witness import sign_and_witness

__all__ = ["WorkerPool", "settle_heap"]

log = logging.getLogger("pnrguard.worker")

#: How often a pool forgets old processed rows and old rejection entries.
HOUSEKEEPING_SECONDS = 600.0
#: How often a pool signs an audit checkpoint ("published at intervals"): the entries after
#: the last checkpoint are the only ones a forger could drop unnoticed, so keep that short.
CHECKPOINT_SECONDS = 60.0

Observer = Callable[[ProcessOutcome], None]


def settle_heap() -> None:
    """Move what the process holds at start (modules, classes, SQLAlchemy's metadata: some
    160,000 objects) out of the cyclic collector's reach: they live as long as the process,
    and every full collection walked them all (~0.1 s of CPU each, several per thousand
    bookings ingested: a fifth of ingest's CPU in bench/search.py). Reference counting is
    unchanged; objects created afterwards are collected as before. Call once, after start."""
    gc.collect()
    gc.freeze()


@dataclass(slots=True)
class WorkerPool:
    """N worker threads over one node. `start`, then `stop` (finishes the current messages)."""

    node: Node
    settings: GatewaySettings
    threads: int = 1
    observer: Observer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _last_housekeeping: float = 0.0
    _last_checkpoint: float = 0.0
    _last_leads: float = field(default_factory=time.monotonic)  # not at start: the first run after one period
    _hk_lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> WorkerPool:
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"gateway-worker-{i}", daemon=True)
            t.start()
            self._workers.append(t)
        log.info("workers_started", extra={"fields": {"count": self.threads}})
        return self

    def wake(self) -> None:
        """Tell idle workers that something was queued."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._workers:
            t.join(max(0.0, deadline - time.monotonic()))
        log.info("workers_stopped", extra={"fields": {"count": len(self._workers)}})

    def step(self) -> ProcessOutcome | None:
        """Process at most one message (the loop body; tests call it directly)."""
        node = self.node
        outcome = process_next(
            engine=node.engine,
            keystore=node.keystore,
            ingest=node.ingest,
            clock=node.clock,
            settings=self.settings,
        )
        if outcome is not None:
            fields = {
                "receipt": outcome.inbox_id,
                "status": outcome.status.value,
                "outcome": outcome.outcome,
                "message_id": outcome.message_id or "",
                "duration_ms": round(outcome.seconds * 1000, 2),
            }
            if outcome.error:
                fields["error"] = outcome.error
            failing = outcome.status in (ProcessStatus.RETRY, ProcessStatus.FAILED)
            level = logging.WARNING if failing else logging.INFO
            log.log(level, "message_processed", extra={"fields": fields})
            if self.observer is not None:
                self.observer(outcome)
        return outcome

    def drain(self, *, timeout: float = 600.0) -> int:
        """Process in the calling thread until nothing is due; returns how many were handled."""
        n = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.step() is not None:
            n += 1
        return n

    def _housekeeping(self) -> None:
        now = time.monotonic()
        hk_due = now - self._last_housekeeping >= HOUSEKEEPING_SECONDS
        cp_due = now - self._last_checkpoint >= CHECKPOINT_SECONDS
        every = self.settings.leads_seconds
        leads_due = every > 0 and now - self._last_leads >= every
        if not (hk_due or cp_due or leads_due) or not self._hk_lock.acquire(blocking=False):
            return
        try:
            if hk_due:
                self._last_housekeeping = now
                node = self.node
                done, rejections = housekeeping(node.engine, settings=self.settings, clock=node.clock)
                if done or rejections:
                    log.info("housekeeping", extra={"fields": {"count": done + rejections}})
            if cp_due:
                self._last_checkpoint = now
                self.checkpoint()
            if leads_due:
                self._last_leads = now
                self.find_leads()
        finally:
            self._hk_lock.release()

    def checkpoint(self) -> None:
        """Sign a checkpoint (only as a proven extension of the last one this node signed)
        and ask the peers to witness it. A refusal was already alarmed by the signer (ERROR
        log, metric, audit entry): the workers go on processing messages meanwhile."""
        try:
            outcomes = sign_and_witness(self.node)
        except CheckpointRefused:
            return
        cosigned = sum(1 for o in outcomes if o.result == "cosigned")
        if outcomes:
            log.info("audit_witnessed", extra={"fields": {"asked": len(outcomes), "count": cosigned}})

    def find_leads(self) -> int:
        """Run the financing-lead detectors as `system:leads` (one logged run); returns how
        many new leads wait for review. Counts only in the application log."""
        node = self.node
        new = detect_leads_scheduled(
            engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock
        )
        if new:
            log.info("leads_found", extra={"fields": {"count": len(new)}})
        return len(new)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._housekeeping()
                if self.step() is None:
                    self._wake.wait(self.settings.poll_seconds)
                    self._wake.clear()
            except Exception as exc:  # the database is down: wait and try again, never die
                log.error("worker_error", extra={"fields": {"error": type(exc).__name__}})
                self._stop.wait(min(5.0, self.settings.poll_seconds * 8))
