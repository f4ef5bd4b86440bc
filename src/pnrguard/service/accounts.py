"""Accounts, roles, passwords and sessions of the workspace.

Why it looks like this:

- **Roles are the node's.** Directive 2016/681 gives distinct powers to the PIU's staff
  (review and transmit), its Data Protection Officer (monitor everything), the judicial
  authority (approve unmasking, Art. 12(3); a senior one for data in the EU-US dormant
  store) and the operators who keep the node running (no access to personal data at
  all). Carriers and peer PIUs are machine identities: they push and exchange through
  their own APIs and are refused everywhere in the workspace.
- **Passwords** are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended profile); an unknown username costs the same hash as a wrong password, so
  timing does not tell which accounts exist.
- **Guessing is throttled without locking people out for long** (docs/security.md):
  every wrong password is counted with one atomic UPDATE (parallel guesses all count); from
  the tenth, the *username* is locked for one minute only (so nobody can keep a colleague
  out for long), while the pair (username, address) is locked for fifteen minutes after ten
  and an *address* after fifty failures. Counters are keyed SHA-256, never clear values.
- **A second factor** (TOTP, `service/totp.py`) is required of every person: the password
  opens a session at stage ``totp`` (or ``totp_enrol`` for an account that has none yet),
  which reaches no workspace route until the code is given.
- **Sessions** are 256-bit random tokens; only their SHA-256 is stored. A session ends
  after `idle` without use or `lifetime` after login, whichever comes first, and is
  replaced at every login (no fixation).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine

from pnrguard.errors import N_, ConflictError, InputError, NotFoundError
from pnrguard.store import accounts as store
from pnrguard.store.accounts import AccountRecord, SessionRecord
from pnrguard.store.repository import new_id

__all__ = [
    "HUMAN_ROLES",
    "MACHINE_ROLES",
    "Account",
    "Role",
    "SessionPolicy",
    "authenticate",
    "create_account",
    "generate_password",
    "list_accounts",
    "open_session",
    "resolve_session",
    "set_disabled",
]


class Role(StrEnum):
    """Who may do what is decided per route (see docs/workspace.md, the route table)."""

    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    DPO = "dpo"
    JUDICIAL = "judicial"  # approves unmasking (Art. 12(3)); the lifecycle workspace
    JUDICIAL_SENIOR = "judicial_senior"  # also approves unmasking of dormant (EU-US) data
    ADMIN = "admin"  # runs the node; never sees personal data
    CARRIER = "carrier"  # machine identity: pushes PNR and API data
    PEER = "peer"  # machine identity: another member state's PIU

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Role.ANALYST: "Analyst",
    Role.SUPERVISOR: "Supervisor",
    Role.DPO: "Data Protection Officer",
    Role.JUDICIAL: "Judicial authority",
    Role.JUDICIAL_SENIOR: "Senior judicial authority",
    Role.ADMIN: "Administrator",
    Role.CARRIER: "Carrier (machine)",
    Role.PEER: "Peer PIU (machine)",
}

HUMAN_ROLES = frozenset(
    {Role.ANALYST, Role.SUPERVISOR, Role.DPO, Role.JUDICIAL, Role.JUDICIAL_SENIOR, Role.ADMIN}
)
MACHINE_ROLES = frozenset({Role.CARRIER, Role.PEER})

#: Usernames are opaque ids in the audit log, so they follow its alphabet and carry no "@".
_USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")
_MIN_PASSWORD = 12
MAX_FAILURES = _MAX_FAILURES = 10
#: Per username: short, so an attacker cannot keep a colleague out for long.
USER_LOCK = _USER_LOCK = dt.timedelta(minutes=1)
#: Per (username, address) and per address: long, these are the attacker's own.
_PAIR_LOCK = dt.timedelta(minutes=15)
_ADDRESS_MAX_FAILURES = 50

_HASHER = PasswordHasher()
#: A session that still owes its second factor lives five minutes.
_STAGE_LIFETIME = dt.timedelta(minutes=5)
#: Verified against when the username is unknown, so both paths cost one argon2 hash.
_DUMMY_HASH = _HASHER.hash("pnrguard-no-such-account")


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the workspace sees it (no hash)."""

    id: str
    username: str
    role: Role
    disabled: bool
    oidc_subject: str | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    approved: bool = True
    has_totp: bool = False
    enrolment_open: bool = False
    locale: str | None = None  # the workspace language chosen (web/i18n.py); None: the browser's

    @classmethod
    def from_record(cls, r: AccountRecord) -> Account:
        return cls(
            r.id,
            r.username,
            Role(r.role),
            r.disabled,
            r.oidc_subject,
            r.created_at,
            r.last_login_at,
            r.approved,
            r.totp_wrapped is not None,
            r.enrol_hash is not None,
            r.locale,
        )

    @property
    def is_human(self) -> bool:
        return self.role in HUMAN_ROLES


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: dt.timedelta = dt.timedelta(minutes=30)
    lifetime: dt.timedelta = dt.timedelta(hours=12)


def generate_password() -> str:
    """A random password for a new account (about 120 bits), printed once by the CLI."""
    return secrets.token_urlsafe(15)


def check_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise InputError(N_("a username is 2-32 of a-z 0-9 . _ - and starts with a letter"))
    return username


def create_account(
    engine: Engine,
    *,
    username: str,
    role: Role | str,
    password: str | None = None,
    oidc_subject: str | None = None,
    now: dt.datetime,
    approved: bool = True,
    enrol_hash: bytes | None = None,
    enrol_expires_at: dt.datetime | None = None,
) -> Account:
    """Create an account row: the provisioning primitive under `service.account_admin`
    (which applies the two-person rule and audits) and the bootstrap, demo and tests.

    Humans need a password, an OIDC subject or an open enrolment; machine identities get
    none (they authenticate to their own APIs), so they can never log in to the workspace."""
    role = Role(role)
    check_username(username)
    if role in MACHINE_ROLES and (password or oidc_subject or enrol_hash):
        raise InputError(N_("machine identities do not log in to the workspace"))
    if role in HUMAN_ROLES and not (password or oidc_subject or enrol_hash):
        raise InputError(N_("a person needs a password, an OIDC subject or an enrolment link"))
    if password is not None and len(password) < _MIN_PASSWORD:
        raise InputError(
            N_("a password has at least %(MIN_PASSWORD)s characters"), MIN_PASSWORD=_MIN_PASSWORD
        )
    rec = AccountRecord(
        id=new_id(),
        username=username,
        role=role.value,
        password_hash=_HASHER.hash(password) if password else None,
        oidc_subject=oidc_subject,
        disabled=False,
        failed_logins=0,
        locked_until=None,
        created_at=now,
        last_login_at=None,
        approved=approved,
        enrol_hash=enrol_hash,
        enrol_expires_at=enrol_expires_at,
    )
    with engine.begin() as conn:
        if store.get_account(conn, username=username) is not None:
            raise ConflictError(N_("an account with that username exists"))
        if oidc_subject and store.get_account(conn, oidc_subject=oidc_subject) is not None:
            raise ConflictError(N_("an account with that OIDC subject exists"))
        store.insert_account(conn, rec)
    return Account.from_record(rec)


def list_accounts(engine: Engine) -> list[Account]:
    with engine.connect() as conn:
        return [Account.from_record(r) for r in store.list_accounts(conn)]


def get_account(engine: Engine, username: str) -> Account:
    with engine.connect() as conn:
        rec = store.get_account(conn, username=username)
    if rec is None:
        raise NotFoundError(N_("no such account"))
    return Account.from_record(rec)


def set_disabled(engine: Engine, username: str, *, disabled: bool = True) -> Account:
    """Disable (or re-enable) an account; disabling ends its sessions at once."""
    with engine.begin() as conn:
        rec = store.get_account(conn, username=username)
        if rec is None:
            raise NotFoundError(N_("no such account"))
        store.update_account(conn, rec.id, disabled=disabled)
        if disabled:
            store.delete_sessions_of(conn, rec.id)
        rec = store.get_account(conn, account_id=rec.id)
    assert rec is not None
    return Account.from_record(rec)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Set a new password (the demo resets its users' passwords on every run)."""
    if len(password) < _MIN_PASSWORD:
        raise InputError(
            N_("a password has at least %(MIN_PASSWORD)s characters"), MIN_PASSWORD=_MIN_PASSWORD
        )
    with engine.begin() as conn:
        rec = store.get_account(conn, username=username)
        if rec is None:
            raise NotFoundError(N_("no such account"))
        if Role(rec.role) in MACHINE_ROLES:
            raise InputError(N_("machine identities do not log in to the workspace"))
        store.update_account(
            conn, rec.id, password_hash=_HASHER.hash(password), failed_logins=0, locked_until=None
        )
        store.delete_sessions_of(conn, rec.id)


def _throttle_key(kind: str, *parts: str) -> bytes:
    return hashlib.sha256("\x00".join((kind, *parts)).encode("utf-8", "replace")).digest()


def _locked(conn: Connection, key: bytes, now: dt.datetime) -> bool:
    state = store.throttle_state(conn, key)
    return state is not None and state[1] is not None and state[1] > now


def _count_failure(
    conn: Connection, rec: AccountRecord | None, username: str, address: str, now: dt.datetime
) -> None:
    """Count one wrong guess everywhere it counts, each with one atomic statement."""
    if rec is not None and store.count_failure(conn, rec.id) >= _MAX_FAILURES:
        store.update_account(conn, rec.id, locked_until=now + _USER_LOCK)
    pair = _throttle_key("pair", username, address)
    if store.bump_throttle(conn, pair, now=now) >= _MAX_FAILURES:
        store.lock_throttle(conn, pair, until=now + _PAIR_LOCK)
    if address:
        addr = _throttle_key("address", address)
        if store.bump_throttle(conn, addr, now=now) >= _ADDRESS_MAX_FAILURES:
            store.lock_throttle(conn, addr, until=now + _PAIR_LOCK)


def authenticate(
    engine: Engine, *, username: str, password: str, now: dt.datetime, address: str = ""
) -> Account | None:
    """The account if the password is right and the account may log in; None otherwise.

    Always one argon2 verification, whatever the outcome, so timing tells nothing. Every
    wrong password is counted (module docstring), even while a lock is on."""
    with engine.begin() as conn:
        rec = store.get_account(conn, username=username) if _USERNAME.fullmatch(username) else None
        if rec is None or rec.password_hash is None:
            _verify(_DUMMY_HASH, password)
            _count_failure(conn, None, username[:64], address, now)
            return None
        ok = _verify(rec.password_hash, password)
        if not ok:
            _count_failure(conn, rec, username, address, now)
            return None
        locked = (
            (rec.locked_until is not None and rec.locked_until > now)
            or _locked(conn, _throttle_key("pair", username, address), now)
            or (bool(address) and _locked(conn, _throttle_key("address", address), now))
        )
        if rec.disabled or locked or not rec.approved or Role(rec.role) not in HUMAN_ROLES:
            return None
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if _HASHER.check_needs_rehash(rec.password_hash):
            values["password_hash"] = _HASHER.hash(password)
        store.update_account(conn, rec.id, **values)
        store.clear_throttle(conn, _throttle_key("pair", username, address))
        rec = store.get_account(conn, account_id=rec.id)
    assert rec is not None
    return Account.from_record(rec)


def check_password(engine: Engine, account_id: str, password: str) -> bool:
    """Is `password` the account's current one (self-service change asks for it)?"""
    with engine.connect() as conn:
        rec = store.get_account(conn, account_id=account_id)
    if rec is None or rec.password_hash is None:
        _verify(_DUMMY_HASH, password)
        return False
    return _verify(rec.password_hash, password)


def hash_password(password: str) -> str:
    if len(password) < _MIN_PASSWORD:
        raise InputError(
            N_("a password has at least %(MIN_PASSWORD)s characters"), MIN_PASSWORD=_MIN_PASSWORD
        )
    if len(password) > 1024:
        raise InputError(N_("a password has at most 1024 characters"))
    return _HASHER.hash(password)


def account_for_oidc(engine: Engine, *, subject: str, now: dt.datetime) -> Account | None:
    """The enabled human account registered for this OIDC subject ("<issuer> <sub>")."""
    with engine.begin() as conn:
        rec = store.get_account(conn, oidc_subject=subject)
        if rec is None or rec.disabled or not rec.approved or Role(rec.role) not in HUMAN_ROLES:
            return None
        store.update_account(conn, rec.id, last_login_at=now)
    return Account.from_record(rec)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _HASHER.verify(hash_, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


@dataclass(frozen=True, slots=True)
class OpenSession:
    token: str  # the cookie value: shown to the browser once, never stored
    csrf_token: str
    expires_at: dt.datetime


def open_session(
    engine: Engine,
    account: Account,
    *,
    now: dt.datetime,
    policy: SessionPolicy | None = None,
    stage: str = "full",
) -> OpenSession:
    """Start a session for an authenticated account (expired sessions are swept here).
    `stage` other than ``full``: the login still owes its second factor."""
    policy = policy or SessionPolicy()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + policy.lifetime
    with engine.begin() as conn:
        store.delete_expired_sessions(conn, now=now)
        store.insert_session(
            conn,
            SessionRecord(
                token_hash=_digest(token),
                account_id=account.id,
                csrf_token=csrf,
                created_at=now,
                last_seen_at=now,
                expires_at=expires if stage == "full" else now + _STAGE_LIFETIME,
                stage=stage,
            ),
        )
    return OpenSession(token, csrf, expires)


@dataclass(frozen=True, slots=True)
class ActiveSession:
    account: Account
    csrf_token: str
    stage: str = "full"


def resolve_session(
    engine: Engine, token: str, *, now: dt.datetime, policy: SessionPolicy | None = None
) -> ActiveSession | None:
    """The session's account, if the session is alive and the account enabled."""
    policy = policy or SessionPolicy()
    if not token or len(token) > 100:
        return None
    digest = _digest(token)
    with engine.begin() as conn:
        s = store.get_session(conn, digest)
        if s is None:
            return None
        if s.expires_at <= now or s.last_seen_at + policy.idle <= now:
            store.delete_session(conn, digest)
            return None
        rec = store.get_account(conn, account_id=s.account_id)
        if rec is None or rec.disabled or not rec.approved:
            store.delete_session(conn, digest)
            return None
        # Writing last_seen on every request would serialise requests on SQLite; a minute's
        # precision is plenty for an idle timeout of half an hour.
        if now - s.last_seen_at > dt.timedelta(minutes=1):
            store.touch_session(conn, digest, at=now)
    return ActiveSession(Account.from_record(rec), s.csrf_token, s.stage)


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        store.delete_session(conn, _digest(token))
