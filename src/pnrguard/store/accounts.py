"""Workspace accounts and their sessions.

What is stored and why (docs/workspace.md, "Identity and roles"):

- `account`: a person (analyst, supervisor, DPO, judicial authority, senior judicial
  authority, administrator) or a machine identity (a carrier, a peer PIU). The password
  is stored only as an argon2id hash; an account that logs in through the organisation's
  OpenID Connect provider has no password at all and is found by `oidc_subject` (issuer
  and subject). Roles are the node's decision, never the identity provider's: a claim in
  a token does not make anyone an analyst. `failed_logins` and `locked_until` slow down
  password guessing.
- `web_session`: one row per logged-in browser. Only the SHA-256 of the session token is
  stored, so a copy of the database does not let anyone take over a session. The CSRF
  token of the session's forms lives beside it.

Functions here run on the caller's `Connection` and never commit; the use cases in
`service/accounts.py` own the transactions. Schema only via Alembic
(`migrations/versions/0005_workspace.py`; the role check as of
`0009_judicial_senior.py`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.store.db import conflict_insert, in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "ROLES",
    "AccountRecord",
    "SessionRecord",
    "account",
    "account_change",
    "login_throttle",
    "web_session",
]

#: Role codes (see `service.accounts.Role`); a check constraint keeps the table honest.
ROLES = ("analyst", "supervisor", "dpo", "judicial", "judicial_senior", "admin", "carrier", "peer")


account = Table(
    "account",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(256), nullable=True),  # argon2id; NULL: no password login
    Column("oidc_subject", String(255), nullable=True, unique=True),  # "<issuer> <sub>"
    Column("disabled", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_login_at", UTCDateTime(), nullable=True),
    # Two-person rule (0014): False until a second person approved the account's role.
    Column("approved", Boolean, nullable=False, server_default=true()),
    # TOTP (RFC 6238) secret, AES-GCM under the node secret "account-totp" (never clear).
    Column("totp_wrapped", LargeBinary, nullable=True),
    # The last time step a code was accepted for: a code is never accepted twice.
    Column("totp_last_step", BigInteger, nullable=True),
    # One-time enrolment: SHA-256 of (link token, approver's code); NULL once used.
    Column("enrol_hash", LargeBinary(32), nullable=True),
    Column("enrol_expires_at", UTCDateTime(), nullable=True),
    # The workspace language the person chose (web/i18n.py); NULL: as the browser asks.
    Column("locale", String(8), nullable=True),
    CheckConstraint(in_values("role", ROLES), name="role"),
)

web_session = Table(
    "web_session",
    metadata,
    Column("token_hash", LargeBinary(32), primary_key=True),  # SHA-256 of the cookie value
    Column("account_id", String(ID_LENGTH), ForeignKey("account.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    # "full", or a step of login still to do: "totp" (enter a code), "totp_enrol".
    Column("stage", String(16), nullable=False, server_default="full"),
    Index("ix_web_session_account_id", "account_id"),
)

#: Account changes that wait for a second person (create with a role, role change,
#: password reset). Ids and codes only: a reason typed by an administrator is not kept.
account_change = Table(
    "account_change",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("account_id", String(ID_LENGTH), ForeignKey("account.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # create | role | reset
    Column("role", String(16), nullable=False),  # the role the change grants
    Column("requested_by", String(ID_LENGTH), ForeignKey("account.id"), nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # pending | approved | refused
    Column("decided_by", String(ID_LENGTH), ForeignKey("account.id"), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    # SHA-256 of the requester's link token, until approval combines it with the code.
    Column("link_hash", LargeBinary(32), nullable=True),
    Index("ix_account_change_status", "status"),
)

#: Failed logins per username and per address (keyed SHA-256, never the clear value):
#: incremented atomically, so parallel guesses all count.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key_hash", LargeBinary(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An account row. `password_hash` never leaves the service layer."""

    id: str
    username: str
    role: str
    password_hash: str | None
    oidc_subject: str | None
    disabled: bool
    failed_logins: int
    locked_until: dt.datetime | None
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    approved: bool = True
    totp_wrapped: bytes | None = None
    totp_last_step: int | None = None
    enrol_hash: bytes | None = None
    enrol_expires_at: dt.datetime | None = None
    locale: str | None = None

    @classmethod
    def from_row(cls, r: Row[Any]) -> AccountRecord:
        return cls(
            r.id,
            r.username,
            r.role,
            r.password_hash,
            r.oidc_subject,
            bool(r.disabled),
            int(r.failed_logins),
            r.locked_until,
            r.created_at,
            r.last_login_at,
            bool(r.approved),
            None if r.totp_wrapped is None else bytes(r.totp_wrapped),
            None if r.totp_last_step is None else int(r.totp_last_step),
            None if r.enrol_hash is None else bytes(r.enrol_hash),
            r.enrol_expires_at,
            getattr(r, "locale", None),
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: bytes
    account_id: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    stage: str = "full"


def insert_account(conn: Connection, rec: AccountRecord) -> None:
    conn.execute(
        insert(account).values(
            id=rec.id,
            username=rec.username,
            role=rec.role,
            password_hash=rec.password_hash,
            oidc_subject=rec.oidc_subject,
            disabled=rec.disabled,
            failed_logins=rec.failed_logins,
            locked_until=rec.locked_until,
            created_at=rec.created_at,
            last_login_at=rec.last_login_at,
            approved=rec.approved,
            totp_wrapped=rec.totp_wrapped,
            totp_last_step=rec.totp_last_step,
            enrol_hash=rec.enrol_hash,
            enrol_expires_at=rec.enrol_expires_at,
        )
    )


def get_account(
    conn: Connection,
    *,
    account_id: str | None = None,
    username: str | None = None,
    oidc_subject: str | None = None,
) -> AccountRecord | None:
    q = select(account)
    if account_id is not None:
        q = q.where(account.c.id == account_id)
    elif username is not None:
        q = q.where(account.c.username == username)
    elif oidc_subject is not None:
        q = q.where(account.c.oidc_subject == oidc_subject)
    else:
        raise ValueError("give an account id, a username or an OIDC subject")
    r = conn.execute(q).first()
    return None if r is None else AccountRecord.from_row(r)


def list_accounts(conn: Connection) -> list[AccountRecord]:
    return [AccountRecord.from_row(r) for r in conn.execute(select(account).order_by(account.c.username))]


def update_account(conn: Connection, account_id: str, **values: Any) -> bool:
    done = conn.execute(update(account).where(account.c.id == account_id).values(**values))
    return bool(done.rowcount)


def insert_session(conn: Connection, rec: SessionRecord) -> None:
    conn.execute(
        insert(web_session).values(
            token_hash=rec.token_hash,
            account_id=rec.account_id,
            csrf_token=rec.csrf_token,
            created_at=rec.created_at,
            last_seen_at=rec.last_seen_at,
            expires_at=rec.expires_at,
            stage=rec.stage,
        )
    )


def get_session(conn: Connection, token_hash: bytes) -> SessionRecord | None:
    r = conn.execute(select(web_session).where(web_session.c.token_hash == token_hash)).first()
    if r is None:
        return None
    return SessionRecord(
        bytes(r.token_hash), r.account_id, r.csrf_token, r.created_at, r.last_seen_at, r.expires_at, r.stage
    )


def touch_session(conn: Connection, token_hash: bytes, *, at: dt.datetime) -> None:
    conn.execute(update(web_session).where(web_session.c.token_hash == token_hash).values(last_seen_at=at))


def delete_session(conn: Connection, token_hash: bytes) -> None:
    conn.execute(delete(web_session).where(web_session.c.token_hash == token_hash))


def delete_sessions_of(conn: Connection, account_id: str) -> None:
    conn.execute(delete(web_session).where(web_session.c.account_id == account_id))


def delete_expired_sessions(conn: Connection, *, now: dt.datetime) -> int:
    return int(conn.execute(delete(web_session).where(web_session.c.expires_at < now)).rowcount)


def count_failure(conn: Connection, account_id: str) -> int:
    """Add one failed login atomically (one UPDATE: parallel guesses all count) and return
    the new count."""
    q = (
        update(account)
        .where(account.c.id == account_id)
        .values(failed_logins=account.c.failed_logins + 1)
        .returning(account.c.failed_logins)
    )
    return int(conn.execute(q).scalar_one())


def bump_throttle(conn: Connection, key_hash: bytes, *, now: dt.datetime) -> int:
    """Add one failure to a throttle key atomically (insert or increment in one statement)
    and return the new count."""
    base = conflict_insert(conn.dialect.name, login_throttle).values(
        key_hash=key_hash, failures=1, locked_until=None, updated_at=now
    )
    stmt = base.on_conflict_do_update(
        index_elements=[login_throttle.c.key_hash],
        set_={"failures": login_throttle.c.failures + 1, "updated_at": now},
    ).returning(login_throttle.c.failures)
    return int(conn.execute(stmt).scalar_one())


def throttle_state(conn: Connection, key_hash: bytes) -> tuple[int, dt.datetime | None, dt.datetime] | None:
    r = conn.execute(select(login_throttle).where(login_throttle.c.key_hash == key_hash)).first()
    return None if r is None else (int(r.failures), r.locked_until, r.updated_at)


def lock_throttle(conn: Connection, key_hash: bytes, *, until: dt.datetime) -> None:
    conn.execute(
        update(login_throttle).where(login_throttle.c.key_hash == key_hash).values(locked_until=until)
    )


def clear_throttle(conn: Connection, key_hash: bytes) -> None:
    conn.execute(delete(login_throttle).where(login_throttle.c.key_hash == key_hash))


def set_session_stage(conn: Connection, token_hash: bytes, stage: str) -> None:
    conn.execute(update(web_session).where(web_session.c.token_hash == token_hash).values(stage=stage))


def use_totp_step(conn: Connection, account_id: str, step: int) -> bool:
    """Record `step` as used unless a later or equal step was used: compare-and-set in one
    UPDATE, so two logins racing with one code cannot both succeed."""
    q = (
        update(account)
        .where(
            account.c.id == account_id,
            (account.c.totp_last_step.is_(None)) | (account.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(conn.execute(q).rowcount)


def account_by_enrol_hash(conn: Connection, enrol_hash: bytes) -> AccountRecord | None:
    r = conn.execute(select(account).where(account.c.enrol_hash == enrol_hash)).first()
    return None if r is None else AccountRecord.from_row(r)


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """An account change waiting for (or decided by) a second person."""

    id: str
    account_id: str
    kind: str
    role: str
    requested_by: str
    requested_at: dt.datetime
    status: str
    decided_by: str | None
    decided_at: dt.datetime | None
    link_hash: bytes | None

    @classmethod
    def from_row(cls, r: Row[Any]) -> ChangeRecord:
        return cls(
            r.id,
            r.account_id,
            r.kind,
            r.role,
            r.requested_by,
            r.requested_at,
            r.status,
            r.decided_by,
            r.decided_at,
            None if r.link_hash is None else bytes(r.link_hash),
        )


def insert_change(conn: Connection, rec: ChangeRecord) -> None:
    conn.execute(
        insert(account_change).values(
            id=rec.id,
            account_id=rec.account_id,
            kind=rec.kind,
            role=rec.role,
            requested_by=rec.requested_by,
            requested_at=rec.requested_at,
            status=rec.status,
            decided_by=rec.decided_by,
            decided_at=rec.decided_at,
            link_hash=rec.link_hash,
        )
    )


def get_change(conn: Connection, change_id: str) -> ChangeRecord | None:
    r = conn.execute(select(account_change).where(account_change.c.id == change_id)).first()
    return None if r is None else ChangeRecord.from_row(r)


def pending_changes(conn: Connection, *, account_id: str | None = None) -> list[ChangeRecord]:
    q = select(account_change).where(account_change.c.status == "pending")
    if account_id is not None:
        q = q.where(account_change.c.account_id == account_id)
    return [ChangeRecord.from_row(r) for r in conn.execute(q.order_by(account_change.c.requested_at))]


def decide_change(conn: Connection, change_id: str, *, status: str, by: str, at: dt.datetime) -> bool:
    """Compare-and-set from pending: two approvers racing decide once."""
    q = (
        update(account_change)
        .where(account_change.c.id == change_id, account_change.c.status == "pending")
        .values(status=status, decided_by=by, decided_at=at, link_hash=None)
    )
    return bool(conn.execute(q).rowcount)


def set_locale(conn: Connection, *, account_id: str, locale: str | None) -> None:
    """The workspace language a person chose (None: as the browser asks)."""
    conn.execute(update(account).where(account.c.id == account_id).values(locale=locale))
