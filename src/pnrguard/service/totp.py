"""The second factor: TOTP (RFC 6238, 30-second steps, 6 digits, SHA-1 as authenticator
apps expect), through `pyotp`.

Why it looks like this:

- **The secret is never stored in clear.** It is AES-GCM encrypted under the node secret
  ``account-totp`` (wrapped by the key store, re-wrapped by key rotation like every node
  secret), with the account id as associated data, so a database administrator without the
  key file cannot compute codes, and a secret copied onto another account does not decrypt.
- **A window of one step either side** (clock drift of phones) and **no reuse**: the step a
  code was accepted for is recorded with a compare-and-set, so a code seen over a
  shoulder, or two logins racing with one code, work at most once.
- **Shown once**: the secret and its ``otpauth://`` URI are returned by the enrolment that
  creates them and by nothing else.
"""

from __future__ import annotations

import datetime as dt
import hmac
import os

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from pnrguard.protection.keystore import KeyStore
from pnrguard.store import accounts as store
from pnrguard.store.node_secrets import load_node_secret

__all__ = [
    "STEP_SECONDS",
    "WINDOW",
    "TotpError",
    "new_secret",
    "provisioning_uri",
    "seal",
    "unseal",
    "verify",
]

STEP_SECONDS = 30
WINDOW = 1
_SECRET_NAME = "account-totp"  # noqa: S105 — the node secret's name, not a secret
_AD_PREFIX = b"pnrguard/account-totp/v1\x00"
_ISSUER = "pnrguard"


class TotpError(Exception):
    """A sealed secret that does not open (tampered, or moved to another account)."""


def new_secret() -> str:
    """A fresh 160-bit base32 secret (RFC 4226 recommends 160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, username: str, node_name: str) -> str:
    label = f"{node_name}:{username}".replace("/", "-")
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=_ISSUER)


def _key(conn: Connection, keystore: KeyStore, now: dt.datetime) -> bytes:
    return load_node_secret(conn, keystore, _SECRET_NAME, now=now)


def seal(conn: Connection, keystore: KeyStore, *, account_id: str, secret: str, now: dt.datetime) -> bytes:
    nonce = os.urandom(12)
    ad = _AD_PREFIX + account_id.encode("ascii")
    return nonce + AESGCM(_key(conn, keystore, now)).encrypt(nonce, secret.encode("ascii"), ad)


def unseal(conn: Connection, keystore: KeyStore, *, account_id: str, blob: bytes, now: dt.datetime) -> str:
    ad = _AD_PREFIX + account_id.encode("ascii")
    try:
        return AESGCM(_key(conn, keystore, now)).decrypt(blob[:12], blob[12:], ad).decode("ascii")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise TotpError("the second-factor secret does not open") from None


def matching_step(secret: str, code: str, *, now: dt.datetime) -> int | None:
    """The time step within ±WINDOW whose code equals `code` (constant-time compare)."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = int(now.timestamp()) // STEP_SECONDS
    found = None
    for s in range(step - WINDOW, step + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(s), code):
            found = s
    return found


def verify(
    conn: Connection, keystore: KeyStore, *, account: store.AccountRecord, code: str, now: dt.datetime
) -> bool:
    """True once per step for a right code; records the step (no reuse, race-safe)."""
    if account.totp_wrapped is None:
        return False
    try:
        secret = unseal(conn, keystore, account_id=account.id, blob=account.totp_wrapped, now=now)
    except TotpError:
        return False
    step = matching_step(secret, code, now=now)
    if step is None:
        return False
    return store.use_totp_step(conn, account.id, step)
