"""The carrier gateway's settings, from PNRGUARD_GATEWAY_* variables (docs/operations.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Gateway settings from PNRGUARD_GATEWAY_* variables (see docs/operations.md)."""

    model_config = SettingsConfigDict(env_prefix="PNRGUARD_GATEWAY_", env_file=None, extra="ignore")

    #: UNB recipient ids of this node, comma-separated (e.g. "PIUDE"). Empty: every push
    #: is refused as "not for this node", which is safe but useless: set it.
    recipients: str = ""
    #: A control reference is remembered this long per carrier; older interchanges are
    #: refused as too old (so a replay can never slip past a forgotten reference).
    replay_window_hours: float = Field(default=168.0, gt=0)
    #: How far in the future a UNB preparation time may lie (carriers' clocks, time zones).
    future_skew_hours: float = Field(default=26.0, ge=0)
    #: A claimed row whose worker has not finished within this time is claimed again.
    lease_seconds: float = Field(default=120.0, gt=0)
    #: After this many failed attempts (system errors, not bad input) a row is parked as failed.
    max_attempts: int = Field(default=8, ge=1)
    #: Workers started by `pnrguard serve` (0: run `pnrguard worker` separately).
    inline_workers: int = Field(default=1, ge=0)
    #: "process": one child process running `pnrguard worker --threads N` (the default:
    #: ingest is CPU-bound Python, and in the web process it would hold the GIL the push
    #: handler needs, tripling acknowledgement latency); "thread": threads in the web process.
    inline_mode: Literal["process", "thread"] = "process"
    #: How long a credential snapshot is used before it is re-read (revocation delay).
    credential_ttl_seconds: float = Field(default=5.0, ge=0)
    #: Most pushes committed together.
    batch_max: int = Field(default=128, ge=1)
    #: Idle worker poll interval.
    poll_seconds: float = Field(default=0.25, gt=0)
    #: Rejection entries are deleted after this many days.
    rejection_retention_days: float = Field(default=30.0, gt=0)
    #: Backpressure: while this many messages wait in the inbox (queued or processing), a
    #: push is refused with 503 `queue_full` and Retry-After. 0: no limit.
    max_queue_depth: int = Field(default=50_000, ge=0)
    #: The depth a push is compared with is a count at most this old (milliseconds): a
    #: push never waits for a query (see `InboxBacklog`).
    queue_depth_refresh_ms: int = Field(default=500, ge=1)
    #: Retry-After (seconds) of a `queue_full` refusal.
    queue_full_retry_after_seconds: int = Field(default=30, ge=1)
    #: How often a worker pool runs the financing-lead detectors (seconds; 0: only when an
    #: analyst asks, on /leads). Leads are proposals for review, never decisions.
    leads_seconds: float = Field(default=3600.0, ge=0)
    #: Bearer token for `/metrics` and `/health/gateway` (they show carrier codes and
    #: volumes). Unset: they answer only to clients on the loopback interface.
    ops_token: SecretStr | None = None

    @property
    def recipient_ids(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.recipients.split(",") if r.strip())

    @property
    def replay_window(self) -> dt.timedelta:
        return dt.timedelta(hours=self.replay_window_hours)

    @property
    def future_skew(self) -> dt.timedelta:
        return dt.timedelta(hours=self.future_skew_hours)
