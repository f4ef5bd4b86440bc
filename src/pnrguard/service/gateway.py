"""The carrier gateway's use cases: authenticate, check, enqueue durably, acknowledge, process.

The push path does only what must happen before a carrier may be told "accepted":

1. authenticate the carrier's token (`gateway_credentials`: a snapshot of the credential table,
   refreshed every few seconds, so a push costs no database read);
2. cheap envelope checks on the raw bytes (`gateway_envelope.check_envelope`): size, media type, a known
   and consistent character set, UNB present and readable, recipient = this node, sender
   allowed for the credential, preparation time inside the replay window, last segment
   UNZ with the UNB control reference, message counts. Cheap means a few passes in C over
   the bytes; the full tokenizer runs only to *confirm* a suspected fault, so a cheap
   check never rejects what the reader would accept;
3. encrypt the bytes under a fresh data key wrapped by the key store, and hand the row to
   the `Enqueuer`, one thread that commits pushes in groups (group commit: every request
   waiting while a commit runs joins the next one, so one WAL flush acknowledges many
   messages). The unique (carrier, control reference) key turns a replay into a
   rejection and an identical re-send into the original acknowledgement;
4. acknowledge only after the commit returned.

Workers (`process_next`) claim queued rows, decrypt, and call the ingest use case, then mark
the row done and drop its payload. Exactly-once effect = at-least-once delivery (a row
stays claimable until a worker marks it done; a dead worker's lease runs out) + an
idempotent ingest (the same bytes are stored once, by SHA-256). The one window between
ingest's commit and the row's completion is closed on retry: a row claimed again first
looks its digest up in the inbox and, if ingest already stored it, only completes.

Nothing here logs or raises message content: reasons are fixed texts with codes and
positions.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import hashlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine

from pnrguard.errors import N_, CryptoError, PnrguardError
from pnrguard.protection.crypto import AssociatedData, decrypt_field, encrypt_field, new_data_key
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.service.clock import Clock
from pnrguard.service.gateway_envelope import (
    Envelope,
    GatewayRejection,
    Reason,
    safe_code,
)
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.ingest import IngestResult
from pnrguard.store.db import conflict_insert
from pnrguard.store.gateway import (
    Claimed,
    Credential,
    GatewayRepository,
    InboxRow,
    gateway_inbox,
)
from pnrguard.store.messages import MessageRepository
from pnrguard.store.repository import new_id

__all__ = [
    "EnqueueOutcome",
    "Enqueuer",
    "InboxBacklog",
    "process_next",
]

log = logging.getLogger("pnrguard.gateway")

_PAYLOAD_CONTEXT = b"pnrguard/gateway-inbox/v1\x00"

# --- enqueue (group commit) -----------------------------------------------------------------


class EnqueueStatus(StrEnum):
    QUEUED = "queued"
    RESENT = "resent"  # identical bytes under a known control reference: the original stands
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class EnqueueOutcome:
    status: EnqueueStatus
    receipt: str | None = None
    rejection: GatewayRejection | None = None


@dataclass(slots=True)
class _Push:
    values: dict[str, Any]
    envelope: Envelope
    credential: Credential
    future: concurrent.futures.Future[EnqueueOutcome] = field(default_factory=concurrent.futures.Future)


@dataclass(slots=True)
class _Reject:
    values: dict[str, Any]
    future: concurrent.futures.Future[EnqueueOutcome] = field(default_factory=concurrent.futures.Future)


def encrypt_payload(keystore: KeyStore, inbox_id: str, raw: bytes) -> dict[str, Any]:
    """The queue row's encrypted payload columns: a fresh data key per message, wrapped."""
    key = new_data_key()
    wrapped = keystore.wrap(key, context=_PAYLOAD_CONTEXT + inbox_id.encode("ascii"))
    blob = encrypt_field(key, raw, aad=AssociatedData("gateway_inbox", "payload", inbox_id, 1))
    return {"kek_version": wrapped.kek_version, "wrapped_key": wrapped.blob, "payload": blob}


def decrypt_payload(keystore: KeyStore, claimed: Claimed) -> bytes:
    key = keystore.unwrap(
        WrappedKey(claimed.kek_version, claimed.wrapped_key),
        context=_PAYLOAD_CONTEXT + claimed.id.encode("ascii"),
    )
    return decrypt_field(key, claimed.payload, aad=AssociatedData("gateway_inbox", "payload", claimed.id, 1))


def rejection_values(
    exc: GatewayRejection,
    *,
    at: dt.datetime,
    credential: Credential,
    size: int,
    sha256: bytes | None,
) -> dict[str, Any]:
    env = exc.envelope
    return {
        "id": new_id(),
        "at": at,
        "carrier": credential.carrier,
        "credential_id": credential.id,
        "control_ref": safe_code(env.control_ref) if env else "",
        "size": size,
        "sha256": sha256,
        "http_status": exc.http_status,
        "reason_code": exc.reason.value,
        "reason_text": exc.detail,
    }


class Enqueuer:
    """One thread that commits pushes and rejection entries in groups.

    Why one thread: a commit is a WAL flush (PostgreSQL) or the single write lock
    (SQLite); doing one per request makes every request wait for its own. Here the thread
    takes everything that queued up while the previous commit ran and commits it at once,
    then resolves each request's future. A request is acknowledged only after its future
    says committed. A database failure fails the whole group: none of them is acknowledged.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        batch_max: int = 128,
        on_commit: Callable[[], None] | None = None,
        on_queued: Callable[[int], None] | None = None,
    ):
        self._engine = engine
        self._batch_max = batch_max
        self._on_commit = on_commit
        self._on_queued = on_queued
        self._queue: queue.SimpleQueue[_Push | _Reject | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        dialect = engine.dialect.name
        self._insert = conflict_insert(dialect, gateway_inbox)

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._closed:
                    raise PnrguardError(N_("the gateway is shutting down"))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="gateway-enqueuer", daemon=True)
                    self._thread.start()

    def submit_push(
        self, values: dict[str, Any], envelope: Envelope, credential: Credential
    ) -> concurrent.futures.Future[EnqueueOutcome]:
        self._ensure_started()
        item = _Push(values, envelope, credential)
        self._queue.put(item)
        return item.future

    def submit_rejection(self, values: dict[str, Any]) -> concurrent.futures.Future[EnqueueOutcome]:
        self._ensure_started()
        item = _Reject(values)
        self._queue.put(item)
        return item.future

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch: list[_Push | _Reject] = [first]
            stop = False
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Push | _Reject]) -> None:
        pushes = [b for b in batch if isinstance(b, _Push)]
        rejects = [b for b in batch if isinstance(b, _Reject)]
        outcomes: dict[int, EnqueueOutcome] = {}
        try:
            with self._engine.begin() as conn:
                repo = GatewayRepository(conn)
                if pushes:
                    conn.execute(
                        self._insert.on_conflict_do_nothing(index_elements=["carrier", "control_ref"]),
                        [p.values for p in pushes],
                    )
                    ids = [p.values["id"] for p in pushes]
                    found = conn.execute(select(gateway_inbox.c.id).where(gateway_inbox.c.id.in_(ids)))
                    landed = set(found.scalars())
                    for i, p in enumerate(pushes):
                        if p.values["id"] in landed:
                            outcomes[i] = EnqueueOutcome(EnqueueStatus.QUEUED, p.values["id"])
                            continue
                        existing = repo.by_control_ref(p.values["carrier"], p.values["control_ref"])
                        if existing is not None and existing.sha256 == p.values["sha256"]:
                            outcomes[i] = EnqueueOutcome(EnqueueStatus.RESENT, existing.id)
                            continue
                        exc = GatewayRejection(
                            Reason.REPLAY,
                            "control reference already used by this carrier with other content",
                            envelope=p.envelope,
                        )
                        repo.add_rejection(
                            rejection_values(
                                exc,
                                at=p.values["received_at"],
                                credential=p.credential,
                                size=p.values["size"],
                                sha256=p.values["sha256"],
                            )
                        )
                        outcomes[i] = EnqueueOutcome(EnqueueStatus.REJECTED, rejection=exc)
                for r in rejects:
                    repo.add_rejection(r.values)
        except BaseException as exc:  # nothing of this group is committed: fail every request
            log.error("enqueue_failed", extra={"fields": {"count": len(batch), "error": type(exc).__name__}})
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(PnrguardError(N_("the inbox is unavailable")))
            if not isinstance(exc, Exception):
                raise
            return
        queued = sum(1 for o in outcomes.values() if o.status is EnqueueStatus.QUEUED)
        if queued and self._on_queued is not None:  # before anyone is acknowledged
            self._on_queued(queued)
        for i, p in enumerate(pushes):
            p.future.set_result(outcomes[i])
        for r in rejects:
            r.future.set_result(EnqueueOutcome(EnqueueStatus.REJECTED))
        if queued and self._on_commit is not None:
            self._on_commit()


class InboxBacklog:
    """Whether the inbox is too deep to take more pushes (backpressure), with no query per push.

    The push handler asks `full()`, a comparison with a cached depth: the rows `queued` or
    `processing`, counted by one small thread at most every `refresh_seconds`, and only
    while pushes arrive or the inbox is full (an idle node runs no query; a full one counts
    every interval, so intake resumes as soon as the workers have caught up). Between two
    counts the enqueuer adds the rows this process committed (`queued`), so a process
    never overshoots the limit by its own pushes; other web processes' pushes and the
    workers' progress show at the next count. The limit is therefore a bound to within one
    refresh interval's traffic, erring towards "full" (a row committed while a count runs
    may be counted twice until the next count), which is what a safety valve should do.
    """

    def __init__(self, engine: Engine, *, max_depth: int, refresh_seconds: float) -> None:
        self._engine = engine
        self.max_depth = max_depth
        self._interval = refresh_seconds
        self._counted = 0  # the last count
        self._added = 0  # rows this process queued since the count began
        self._counted_at = -1e18
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def depth(self) -> int:
        """The cached depth (no query)."""
        return self._counted + self._added

    @property
    def at_limit(self) -> bool:
        """Whether the cached depth has reached the limit (no query, no refresh asked)."""
        return self.max_depth > 0 and self.depth >= self.max_depth

    def full(self) -> bool:
        """The push handler's check: cheap, never blocks; asks for a count when stale."""
        if self.max_depth <= 0:
            return False
        if time.monotonic() - self._counted_at >= self._interval and not self._wanted.is_set():
            if self._thread is None:
                self._start()
            self._wanted.set()
        return self.depth >= self.max_depth

    def queued(self, count: int) -> None:
        """The enqueuer committed `count` new rows (called on its thread)."""
        with self._lock:
            self._added += count

    def refresh(self) -> None:
        """Count the backlog now (the refresher thread; tests)."""
        with self._refresh_lock:
            with self._lock:
                before = self._added  # committed before the count starts: the count sees them
            with self._engine.connect() as conn:
                counted = GatewayRepository(conn).pending()
            with self._lock:
                self._counted = counted
                self._added -= before
                self._counted_at = time.monotonic()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wanted.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="gateway-backlog", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wanted.wait(self._interval if self.at_limit else None)
            if self._stop.is_set():
                return
            try:
                self.refresh()
            except Exception as exc:  # the database is down: keep the last count, try again
                log.error("backlog_count_failed", extra={"fields": {"error": type(exc).__name__}})
            self._wanted.clear()
            self._stop.wait(self._interval)  # at most one count per interval


def queue_values(
    keystore: KeyStore, raw: bytes, *, envelope: Envelope, credential: Credential, now: dt.datetime
) -> dict[str, Any]:
    """The queue row for an accepted push (payload encrypted)."""
    inbox_id = new_id()
    return {
        "id": inbox_id,
        "carrier": credential.carrier,
        "control_ref": envelope.control_ref,
        "received_at": now,
        "size": len(raw),
        "sha256": hashlib.sha256(raw).digest(),
        "status": "queued",
        "attempts": 0,
        "available_at": now,
        **encrypt_payload(keystore, inbox_id, raw),
    }


# --- workers ---------------------------------------------------------------------------------


class IngestFn(Protocol):
    def __call__(
        self,
        data: bytes,
        *,
        source_name: str,
        actor: str | None,
        role: str | None,
        carriers: Collection[str] | None = None,
    ) -> IngestResult: ...


class ProcessStatus(StrEnum):
    INGESTED = "ingested"
    ALREADY = "already_ingested"  # a retried row whose ingest had committed before a crash
    RETRY = "retry"
    FAILED = "failed"
    LOST_LEASE = "lost_lease"


@dataclass(frozen=True, slots=True)
class ProcessOutcome:
    inbox_id: str
    status: ProcessStatus
    outcome: str = ""
    message_id: str | None = None
    seconds: float = 0.0
    error: str = ""


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(300, 2 ** min(attempts, 9)))


def process_next(
    *,
    engine: Engine,
    keystore: KeyStore,
    ingest: IngestFn,
    clock: Clock,
    settings: GatewaySettings,
) -> ProcessOutcome | None:
    """Claim one queued message, ingest it and mark it done. None when nothing is due.

    Bad input never fails here (ingest quarantines it). A system failure (database, key
    store) puts the row back with a back-off, and parks it as `failed` after
    `max_attempts`, for an operator (`pnrguard worker --retry-failed`).
    """
    token = secrets.token_hex(16)
    now = clock.now()
    with engine.begin() as conn:
        claimed = GatewayRepository(conn).claim(
            now=now, lease_until=now + dt.timedelta(seconds=settings.lease_seconds), token=token
        )
    if claimed is None:
        return None
    t0 = time.perf_counter()
    try:
        existing = None
        if claimed.attempts > 1:
            with engine.connect() as conn:
                existing = MessageRepository(conn, keystore).by_sha256(claimed.sha256)
        if existing is not None:
            message_id, outcome, status = existing.id, existing.status.value, ProcessStatus.ALREADY
        else:
            raw = decrypt_payload(keystore, claimed)
            with engine.connect() as conn:
                scope = GatewayRepository(conn).scope_of(claimed.carrier)
            result = ingest(
                raw, source_name="push", actor=f"carrier:{claimed.carrier}", role="carrier", carriers=scope
            )
            del raw
            message_id = result.message_id  # this receipt; a duplicate's row points to the original
            outcome, status = result.status.value, ProcessStatus.INGESTED
        with engine.begin() as conn:
            done = GatewayRepository(conn).complete(
                claimed.id, token=token, at=clock.now(), message_id=message_id, outcome=outcome
            )
        seconds = time.perf_counter() - t0
        if not done:
            return ProcessOutcome(claimed.id, ProcessStatus.LOST_LEASE, outcome, message_id, seconds)
        return ProcessOutcome(claimed.id, status, outcome, message_id, seconds)
    except Exception as exc:  # a system failure: retry later, never lose the row
        error = type(exc).__name__ if not isinstance(exc, CryptoError) else "CryptoError"
        failed = claimed.attempts >= settings.max_attempts or isinstance(exc, CryptoError)
        try:
            with engine.begin() as conn:
                GatewayRepository(conn).release(
                    claimed.id,
                    token=token,
                    available_at=clock.now() + _backoff(claimed.attempts),
                    error=error,
                    failed=failed,
                )
        except Exception:  # the database is gone too: the lease will run out and free it
            log.error("release_failed", extra={"fields": {"receipt": claimed.id}})
        status = ProcessStatus.FAILED if failed else ProcessStatus.RETRY
        return ProcessOutcome(claimed.id, status, seconds=time.perf_counter() - t0, error=error)


def inbox_status(engine: Engine, receipt: str) -> InboxRow | None:
    with engine.connect() as conn:
        return GatewayRepository(conn).get(receipt)


def queue_stats(engine: Engine, *, now: dt.datetime) -> tuple[dict[str, int], float]:
    """Queue depth by status and the screening lag: the age in seconds of the oldest
    message not yet processed (0 when the queue is empty)."""
    with engine.connect() as conn:
        repo = GatewayRepository(conn)
        depth = repo.depth()
        oldest = repo.oldest_pending()
    return depth, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def housekeeping(engine: Engine, *, settings: GatewaySettings, clock: Clock) -> tuple[int, int]:
    """Forget processed rows after the replay window (plus the allowed clock skew) and
    rejection entries after their retention."""
    now = clock.now()
    with engine.begin() as conn:
        return GatewayRepository(conn).purge(
            done_before=now - settings.replay_window - settings.future_skew - dt.timedelta(hours=1),
            rejections_before=now - dt.timedelta(days=settings.rejection_retention_days),
        )
