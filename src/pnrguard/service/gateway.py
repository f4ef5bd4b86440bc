"""The carrier gateway's use cases: authenticate, check, enqueue durably, acknowledge, process.

The push path does only what must happen before a carrier may be told "accepted":

1. authenticate the carrier's token (an in-memory snapshot of the credential table,
   refreshed every few seconds, so a push costs no database read);
2. cheap envelope checks on the raw bytes (`check_envelope`): size, media type, a known
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
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal, Protocol

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from pnrguard.errors import N_, CryptoError, EdifactError, InputError, PnrguardError
from pnrguard.formats import edifact
from pnrguard.formats.edifact import (
    Delimiters,
    OutgoingMessage,
    Segment,
    parse_interchange,
    tokenize,
    write_interchange,
)
from pnrguard.protection.crypto import AssociatedData, decrypt_field, encrypt_field, new_data_key
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.service import carrier_scope
from pnrguard.service.clock import Clock
from pnrguard.service.ingest import IngestResult
from pnrguard.store.gateway import (
    Claimed,
    Credential,
    GatewayRepository,
    InboxRow,
    gateway_inbox,
)
from pnrguard.store.repository import MessageRepository, new_id

__all__ = [
    "AckInfo",
    "EnqueueOutcome",
    "Enqueuer",
    "GatewayRejection",
    "GatewaySettings",
    "InboxBacklog",
    "Reason",
    "check_envelope",
    "contrl_ack",
    "issue_credential",
    "process_next",
]

log = logging.getLogger("pnrguard.gateway")

_PAYLOAD_CONTEXT = b"pnrguard/gateway-inbox/v1\x00"
_TOKEN_PREFIX = "pgw_"  # noqa: S105 — a public prefix that marks our tokens, not a secret
_CARRIER_RE = re.compile(r"[A-Z0-9]{2,8}")
_SENDER_RE = re.compile(r"[A-Za-z0-9._-]{1,35}")
_SAFE_REF = re.compile(r"[^A-Za-z0-9._-]")

#: Syntax identifiers the gateway accepts, with the codec whose validity it checks.
#: UNOA/UNOB promise a subset of ASCII, but carriers send UTF-8 or Latin-1 under them
#: (REQUIREMENTS §9): those are read leniently by the reader, so the gateway checks only
#: what it can be sure of (no NUL bytes). A declared UTF-8 (UNOW/UNOY) that is not UTF-8
#: is refused: nobody can know what the text says.
SYNTAX_CODECS: dict[str, str] = {
    syntax: "" if codec == "ascii" else codec for syntax, codec in edifact.SYNTAX_CODECS.items()
}
#: Media types carriers use for EDIFACT over HTTP (RFC 1767 registers application/EDIFACT).
MEDIA_TYPES = frozenset({"application/edifact", "text/plain", "application/octet-stream"})
CHARSET_PARAMS = frozenset({"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})


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


# --- reasons and the acknowledgement ------------------------------------------------------


class Reason(StrEnum):
    """Why a push was refused. Each has an HTTP status and a CONTRL syntax error code (0085)."""

    UNAUTHENTICATED = "unauthenticated"
    TOO_LARGE = "too_large"
    MEDIA_TYPE = "media_type"
    CHARSET = "charset"
    NOT_EDIFACT = "not_edifact"
    BAD_ENVELOPE = "bad_envelope"
    TRUNCATED = "truncated"
    REFERENCE_MISMATCH = "reference_mismatch"
    COUNT_MISMATCH = "count_mismatch"
    NO_MESSAGE = "no_message"
    WRONG_RECIPIENT = "wrong_recipient"
    SENDER_NOT_ALLOWED = "sender_not_allowed"
    STALE = "stale"
    FUTURE = "prepared_in_future"
    REPLAY = "replay"
    UNAVAILABLE = "unavailable"
    QUEUE_FULL = "queue_full"
    CARRIER_SCOPE = "carrier_out_of_scope"  # names another carrier's bookings
    TOO_MANY_SEGMENTS = "too_many_segments"


#: reason -> (HTTP status, CONTRL 0085 syntax error code, service segment tag)
_REASONS: dict[Reason, tuple[int, str, str]] = {
    Reason.UNAUTHENTICATED: (401, "23", "UNB"),  # unknown interchange sender
    Reason.TOO_LARGE: (413, "18", ""),  # unspecified error
    Reason.MEDIA_TYPE: (415, "18", ""),
    Reason.CHARSET: (415, "2", "UNB"),  # syntax level not supported / invalid characters
    Reason.NOT_EDIFACT: (400, "13", "UNB"),  # missing
    Reason.BAD_ENVELOPE: (400, "12", "UNB"),  # invalid value
    Reason.TRUNCATED: (400, "13", "UNZ"),
    Reason.REFERENCE_MISMATCH: (400, "28", "UNZ"),  # references do not match
    Reason.COUNT_MISMATCH: (400, "29", "UNZ"),  # control count does not match
    Reason.NO_MESSAGE: (400, "32", "UNB"),  # lower level empty
    Reason.WRONG_RECIPIENT: (400, "7", "UNB"),  # interchange recipient not actual recipient
    Reason.SENDER_NOT_ALLOWED: (403, "23", "UNB"),  # unknown interchange sender
    Reason.STALE: (409, "24", "UNB"),  # too old
    Reason.FUTURE: (400, "12", "UNB"),
    Reason.REPLAY: (409, "26", "UNB"),  # duplicate detected
    Reason.UNAVAILABLE: (503, "18", ""),
    Reason.QUEUE_FULL: (503, "18", ""),  # backpressure: 0085 has no capacity code
    Reason.CARRIER_SCOPE: (403, "12", "UNB"),  # invalid value: not this credential's airline
    Reason.TOO_MANY_SEGMENTS: (413, "18", ""),
}


class GatewayRejection(InputError):
    """A push the gateway refuses. `detail` names limits, positions and codes, never content."""

    code = "gateway_rejected"

    def __init__(self, reason: Reason, detail: str, *, envelope: Envelope | None = None) -> None:
        self.reason = reason
        self.detail = detail[:200]
        self.envelope = envelope
        self.http_status, self.contrl_error, self.segment_tag = _REASONS[reason]
        super().__init__(f"{reason.value}: {self.detail}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the cheap checks read from an interchange's UNB and UNZ (no content)."""

    syntax: str
    sender: str
    recipient: str
    control_ref: str
    prepared: dt.datetime | None
    messages: int


@dataclass(frozen=True, slots=True)
class AckInfo:
    """Everything an acknowledgement says, in either representation."""

    accepted: bool
    http_status: int
    receipt: str | None = None
    reason: Reason | None = None
    detail: str = ""
    contrl_error: str = ""
    segment_tag: str = ""
    duplicate: bool = False
    envelope: Envelope | None = None

    @classmethod
    def rejected(cls, exc: GatewayRejection) -> AckInfo:
        return cls(
            accepted=False,
            http_status=exc.http_status,
            reason=exc.reason,
            detail=exc.detail,
            contrl_error=exc.contrl_error,
            segment_tag=exc.segment_tag,
            envelope=exc.envelope,
        )

    def as_json(self) -> dict[str, Any]:
        env = self.envelope
        return {
            "status": "accepted" if self.accepted else "rejected",
            "receipt": self.receipt,
            "duplicate": self.duplicate,
            "reason": self.reason.value if self.reason else None,
            "detail": self.detail,
            "control_ref": env.control_ref if env else None,
            "contrl": {
                "action": "7" if self.accepted else "4",
                "error": self.contrl_error or None,
                "segment": self.segment_tag or None,
            },
        }


def _clean(value: str, limit: int = 35) -> str:
    """An envelope id fit to echo in an acknowledgement: codes only, bounded."""
    return _SAFE_REF.sub("", value)[:limit]


def contrl_ack(info: AckInfo, *, node_id: str, now: dt.datetime) -> str:
    """The acknowledgement as a UN/EDIFACT CONTRL interchange (syntax 4).

    One UCI segment answers the interchange: its control reference, sender and recipient,
    action 7 (acknowledged) or 4 (rejected), and for a rejection the syntax error code
    (0085) and the service segment it concerns. Our own control reference is random.
    """
    env = info.envelope
    sender = _clean(env.recipient) if env and env.recipient else node_id
    recipient = _clean(env.sender) if env and env.sender else "UNKNOWN"
    uci: list[str | list[str]] = [
        _clean(env.control_ref, 14) if env else "",
        _clean(env.sender) if env else "",
        _clean(env.recipient) if env else "",
        "7" if info.accepted else "4",
    ]
    if not info.accepted:
        uci += [info.contrl_error or "18", info.segment_tag]
    return write_interchange(
        [OutgoingMessage("1", ("CONTRL", "4", "1", "UN"), [("UCI", uci)])],
        sender=sender or "PNRGUARD",
        recipient=recipient,
        control_ref=secrets.token_hex(7).upper(),
        prepared=now,
        syntax=("UNOC", "4"),
        line_breaks=False,
    )


# --- envelope checks (pure) -----------------------------------------------------------------

_UNH_OR_UNG = re.compile(r"UN[HG]")


@lru_cache(maxsize=32)
def _service_segments(seg: str, elem: str) -> re.Pattern[str]:
    return re.compile(re.escape(seg) + r"[\r\n\t ]*(UN[HTG])" + re.escape(elem))


def _parse_prepared(comps: list[str]) -> dt.datetime | None:
    date = comps[0].strip() if comps else ""
    time_ = comps[1].strip() if len(comps) > 1 else "0000"
    try:
        if len(date) == 6:
            day = dt.datetime.strptime(date, "%y%m%d")
        elif len(date) == 8:
            day = dt.datetime.strptime(date, "%Y%m%d")
        else:
            return None
        hhmm = dt.datetime.strptime(time_[:4] or "0000", "%H%M")
    except ValueError:
        return None
    return day.replace(hour=hhmm.hour, minute=hhmm.minute, tzinfo=dt.UTC)


def _decode(raw: bytes) -> tuple[str, str]:
    """(text, syntax id) or a CHARSET / NOT_EDIFACT rejection."""
    if b"\x00" in raw:
        raise GatewayRejection(Reason.CHARSET, "NUL bytes: binary data or a UTF-16/32 text")
    m = re.search(rb"UNB.(UNO[A-Z])", raw[:4096])
    if m is None:
        if b"UNB" not in raw[:4096]:
            raise GatewayRejection(Reason.NOT_EDIFACT, "no UNB segment at the start")
        raise GatewayRejection(Reason.CHARSET, "UNB has no UNOx syntax identifier")
    syntax = m.group(1).decode("ascii")
    if syntax not in SYNTAX_CODECS:
        raise GatewayRejection(Reason.CHARSET, f"syntax identifier {syntax} is not supported")
    codec = SYNTAX_CODECS[syntax]
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        if codec:
            return data.decode(codec), syntax
        try:
            return data.decode("utf-8"), syntax
        except UnicodeDecodeError:
            return data.decode("latin-1"), syntax  # tolerated under UNOA/UNOB, see SYNTAX_CODECS
    except UnicodeDecodeError as exc:
        raise GatewayRejection(
            Reason.CHARSET, f"bytes are not valid {syntax} ({codec}) at byte {exc.start}"
        ) from None


def _head(text: str) -> tuple[Delimiters, Segment]:
    """The delimiters and the UNB segment, from the start of the interchange only."""
    start = text.find("UNB", 0, 4096)
    stop = _UNH_OR_UNG.search(text, start + 3 if start >= 0 else 0, 16384)
    head = text[: stop.start()] if stop else text[:16384]
    try:
        delims, segments, _ = tokenize(head)
    except EdifactError as exc:
        raise GatewayRejection(Reason.NOT_EDIFACT, str(exc)) from None
    unb = next((s for s in segments[:2] if s.tag == "UNB"), None)
    if unb is None:
        raise GatewayRejection(Reason.NOT_EDIFACT, "interchange does not start with UNB")
    return delims, unb


def _full_check(raw: bytes, envelope: Envelope, suspicion: GatewayRejection) -> None:
    """Confirm a fault the cheap checks suspect with the full (lenient) envelope reader.

    Raises the rejection the reader's findings justify; returns if the reader sees no
    interchange-level fault (the cheap count was fooled, e.g. by a released terminator).
    """
    try:
        ichg = parse_interchange(raw, strict=False)
    except EdifactError as exc:
        text = str(exc)
        reason = Reason.NO_MESSAGE if "no message" in text else Reason.TRUNCATED
        if "truncated" not in text and reason is Reason.TRUNCATED:
            reason = Reason.BAD_ENVELOPE
        raise GatewayRejection(reason, text, envelope=envelope) from None
    codes = {d.code for d in ichg.deviations}
    if "unz_reference_mismatch" in codes:
        raise GatewayRejection(Reason.REFERENCE_MISMATCH, "UNZ reference differs from UNB", envelope=envelope)
    if "unz_count_mismatch" in codes or "une_count_mismatch" in codes:
        raise GatewayRejection(
            Reason.COUNT_MISMATCH, "UNZ count differs from messages or groups", envelope=envelope
        )
    del suspicion  # the reader found the interchange whole: accept it


def check_envelope(
    raw: bytes,
    *,
    recipients: frozenset[str],
    senders: Sequence[str],
    now: dt.datetime,
    replay_window: dt.timedelta,
    future_skew: dt.timedelta,
    scope: Collection[str] | None = None,
    max_segments: int | None = None,
) -> Envelope:
    """Check an interchange's envelope cheaply; return what it says or raise `GatewayRejection`.

    Not checked here, on purpose: UNT segment counts and anything inside messages. Real
    traffic has stray lines before UNT (REQUIREMENTS §9) and the reader tolerates them;
    refusing a flight's data for that would lose it.
    """
    if not raw.strip():
        raise GatewayRejection(Reason.NOT_EDIFACT, "empty body")
    text, syntax = _decode(raw)
    delims, unb = _head(text)
    sender, recipient, control_ref = unb.get(1).strip(), unb.get(2).strip(), unb.get(4).strip()
    prepared = _parse_prepared(unb.element(3))
    partial = Envelope(syntax, sender, recipient, control_ref, prepared, 0)
    if not control_ref or not sender or not recipient:
        raise GatewayRejection(
            Reason.BAD_ENVELOPE, "UNB lacks sender, recipient or control reference", envelope=partial
        )
    if len(control_ref) > 35 or _SAFE_REF.search(control_ref):
        raise GatewayRejection(Reason.BAD_ENVELOPE, "UNB control reference is not a code", envelope=partial)
    if recipient not in recipients:
        raise GatewayRejection(Reason.WRONG_RECIPIENT, "UNB recipient is not this node", envelope=partial)
    if sender not in senders:
        raise GatewayRejection(
            Reason.SENDER_NOT_ALLOWED, "UNB sender is not allowed for this credential", envelope=partial
        )
    if prepared is None:
        raise GatewayRejection(Reason.BAD_ENVELOPE, "UNB preparation date/time unreadable", envelope=partial)
    if prepared < now - replay_window:
        raise GatewayRejection(
            Reason.STALE,
            f"prepared more than {replay_window.total_seconds() / 3600:g} h ago (replay window)",
            envelope=partial,
        )
    if prepared > now + future_skew:
        raise GatewayRejection(Reason.FUTURE, "UNB preparation time lies in the future", envelope=partial)
    # Tail: the last segment must be UNZ with the UNB reference and the right count.
    seg, elem = delims.segment, delims.element
    body = text.rstrip("\r\n\t ")
    end = len(body) - 1 if body.endswith(seg) else len(body)
    last = body[body.rfind(seg, 0, end) + 1 : end].lstrip("\r\n\t ")
    counts = {"UNH": 0, "UNT": 0, "UNG": 0}
    for m in _service_segments(seg, elem).finditer(text):
        counts[m.group(1)] += 1
    envelope = Envelope(syntax, sender, recipient, control_ref, prepared, counts["UNH"])
    suspicion: GatewayRejection | None = None
    if not last.startswith("UNZ" + elem):
        suspicion = GatewayRejection(Reason.TRUNCATED, "last segment is not UNZ", envelope=envelope)
    else:
        parts = last.split(elem)
        unz_count = parts[1].split(delims.component)[0].strip() if len(parts) > 1 else ""
        unz_ref = parts[2].split(delims.component)[0].strip() if len(parts) > 2 else ""
        expected = counts["UNG"] or counts["UNH"]
        if counts["UNH"] == 0:
            suspicion = GatewayRejection(Reason.NO_MESSAGE, "interchange holds no message", envelope=envelope)
        elif unz_ref != control_ref:
            suspicion = GatewayRejection(
                Reason.REFERENCE_MISMATCH, "UNZ reference differs from UNB", envelope=envelope
            )
        elif not unz_count.isdigit() or int(unz_count) != expected or counts["UNT"] != counts["UNH"]:
            suspicion = GatewayRejection(
                Reason.COUNT_MISMATCH, "UNZ count differs from messages or groups", envelope=envelope
            )
    if suspicion is not None:
        _full_check(raw, envelope, suspicion)
    if max_segments is not None and text.count(seg) > max_segments:
        raise GatewayRejection(
            Reason.TOO_MANY_SEGMENTS, f"more than {max_segments} segments (the limit)", envelope=envelope
        )
    if scope is not None:
        bad = carrier_scope.outside(carrier_scope.scan(text), scope)
        if bad:
            raise GatewayRejection(
                Reason.CARRIER_SCOPE,
                f"carrier codes {','.join(bad)[:60]} are outside this credential's designators",
                envelope=envelope,
            )
    return envelope


# --- credentials ----------------------------------------------------------------------------


def token_digest(token: str) -> bytes:
    """SHA-256 of a carrier token. A 256-bit random token needs no slow hash (see store)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue_credential(
    engine: Engine,
    *,
    carrier: str,
    senders: Sequence[str] = (),
    designators: Sequence[str] = (),
    clock: Clock,
) -> tuple[Credential, str]:
    """Create a credential for `carrier`; returns it and the token, which is shown once.
    `designators`: the airline codes whose bookings it may write (default: `carrier`)."""
    carrier = carrier.strip().upper()
    if not _CARRIER_RE.fullmatch(carrier):
        raise InputError(N_("carrier code must be 2-8 letters or digits"))
    allowed = tuple(dict.fromkeys(s.strip() for s in (senders or [carrier]) if s.strip()))
    if not allowed or not all(_SENDER_RE.fullmatch(s) for s in allowed):
        raise InputError(N_("sender ids must be 1-35 letters, digits, '.', '_' or '-'"))
    scope = tuple(dict.fromkeys(d.strip().upper() for d in (designators or [carrier]) if d.strip()))
    if not scope or not all(_CARRIER_RE.fullmatch(d) for d in scope):
        raise InputError(N_("airline designators must be 2-8 letters or digits"))
    token = _TOKEN_PREFIX + secrets.token_urlsafe(32)
    credential_id = new_id()
    at = clock.now()
    with engine.begin() as conn:
        GatewayRepository(conn).add_credential(
            credential_id=credential_id,
            carrier=carrier,
            senders=allowed,
            designators=scope,
            token_sha256=token_digest(token),
            at=at,
        )
    return Credential(credential_id, carrier, allowed, at, None, scope), token


def list_credentials(engine: Engine) -> list[Credential]:
    with engine.connect() as conn:
        return GatewayRepository(conn).credentials()


def revoke_credential(engine: Engine, credential_id: str, *, clock: Clock) -> bool:
    with engine.begin() as conn:
        return GatewayRepository(conn).revoke(credential_id, at=clock.now())


class CredentialCache:
    """Active credentials by token digest, re-read at most every `ttl` seconds.

    Why a snapshot: a push must not cost a database read before it is checked; a revoked
    token stops working within `ttl` seconds on every process. The token is compared by
    its digest in a dict: no timing side channel reveals a valid token's bytes.
    """

    def __init__(self, engine: Engine, *, ttl: float) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._by_digest: dict[bytes, Credential] = {}
        self._loaded_at = -1e18

    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at >= self._ttl

    def refresh(self) -> None:
        with self._lock:
            if not self.stale():
                return
            with self._engine.connect() as conn:
                self._by_digest = GatewayRepository(conn).active_by_token_hash()
            self._loaded_at = time.monotonic()

    def lookup(self, token: str) -> Credential | None:
        """The credential of a token (never raises; the token is not logged)."""
        if not token.startswith(_TOKEN_PREFIX) or len(token) > 128:
            return None
        return self._by_digest.get(token_digest(token))


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
    return decrypt_field(
        key, claimed.payload, aad=AssociatedData("gateway_inbox", "payload", claimed.id, 1)
    )


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
        "control_ref": _clean(env.control_ref) if env else "",
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
        self._insert = (pg_insert if dialect == "postgresql" else sqlite_insert)(gateway_inbox)

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
