"""Carriers' push credentials: issued once, stored as digests, looked up from a snapshot."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Sequence

from sqlalchemy.engine import Engine

from pnrguard.errors import N_, InputError
from pnrguard.service.clock import Clock
from pnrguard.store.gateway import (
    Credential,
    GatewayRepository,
)
from pnrguard.store.repository import new_id

_TOKEN_PREFIX = "pgw_"  # noqa: S105 — a public prefix that marks our tokens, not a secret
_CARRIER_RE = re.compile(r"[A-Z0-9]{2,8}")
_SENDER_RE = re.compile(r"[A-Za-z0-9._-]{1,35}")


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
