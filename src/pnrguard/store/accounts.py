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
    update,
)
from sqlalchemy.engine import Connection, Row

from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "ROLES",
    "AccountRecord",
    "SessionRecord",
    "account",
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
    Index("ix_web_session_account_id", "account_id"),
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
        )


@dataclass(frozen=True, slots=True)
class SessionRecord:
    token_hash: bytes
    account_id: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime


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
        )
    )


def get_session(conn: Connection, token_hash: bytes) -> SessionRecord | None:
    r = conn.execute(select(web_session).where(web_session.c.token_hash == token_hash)).first()
    if r is None:
        return None
    return SessionRecord(
        bytes(r.token_hash), r.account_id, r.csrf_token, r.created_at, r.last_seen_at, r.expires_at
    )


def touch_session(conn: Connection, token_hash: bytes, *, at: dt.datetime) -> None:
    conn.execute(update(web_session).where(web_session.c.token_hash == token_hash).values(last_seen_at=at))


def delete_session(conn: Connection, token_hash: bytes) -> None:
    conn.execute(delete(web_session).where(web_session.c.token_hash == token_hash))


def delete_sessions_of(conn: Connection, account_id: str) -> None:
    conn.execute(delete(web_session).where(web_session.c.account_id == account_id))


def delete_expired_sessions(conn: Connection, *, now: dt.datetime) -> int:
    return int(conn.execute(delete(web_session).where(web_session.c.expires_at < now)).rowcount)
