"""Who may give power: the two-person rule over accounts, enrolment, audited changes.

Why it looks like this (docs/security.md, "Two-person power over accounts"):

- **No single person grants power.** Creating a person's account, changing a role and
  resetting a password are *requests* by an administrator that take effect only when a
  *second* person (another administrator or the DPO) approves them. Every human role
  counts: analyst, supervisor, judicial, senior judicial and DPO see personal data or
  decide, and an administrator approves the others' requests, so an administrator created
  alone would be the bypass. Nobody approves their own request or a change to their own
  account. Machine identities (carriers, peers) never log in and are created directly.
- **No password is ever shown.** A new or reset account gets a one-time enrolment link
  (shown to the requester) *and* an enrolment code (shown to the approver once they
  approve); the person needs both, so neither of the two can enrol in the new person's
  place alone. The link expires (`ENROL_VALIDITY`); the person sets their own password and
  their TOTP second factor on it, and the link is used up.
- **Every change is audited**: request, approval, refusal, enrolment, enable, disable,
  password change, each an ``alteration`` (purpose ``system_security``) naming the account
  id and the change id, never a password, secret or username.
- **Bootstrap** (a node with no person yet): `bootstrap` creates the first administrator
  and the DPO together, each with a link that already carries its code. It refuses once
  any person exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service import totp
from pnrguard.service.accounts import (
    HUMAN_ROLES,
    MACHINE_ROLES,
    MAX_FAILURES,
    USER_LOCK,
    Account,
    Role,
    check_username,
    create_account,
    hash_password,
)
from pnrguard.store import accounts as store
from pnrguard.store.accounts import ChangeRecord
from pnrguard.store.repository import new_id

__all__ = [
    "APPROVER_ROLES",
    "ENROL_VALIDITY",
    "POWER_ROLES",
    "Approval",
    "Enrolment",
    "PendingChange",
    "Requested",
    "approve",
    "bootstrap",
    "change_password",
    "enrol",
    "list_pending",
    "refuse",
    "request_account",
    "request_reset",
    "request_role",
    "set_disabled",
]

AuditFactory = Callable[[Connection], AuditLog]

#: Roles whose grant takes a second person (all people: see the module docstring).
POWER_ROLES = HUMAN_ROLES
#: Who may approve: another administrator, or the DPO.
APPROVER_ROLES = frozenset({Role.ADMIN, Role.DPO})
ENROL_VALIDITY = dt.timedelta(hours=72)
ENROL_PATH = "/enrol"


class SecondPersonRequired(ForbiddenError):
    """The same person asked and approved, or approved a change to their own account."""

    code = "second_person_required"


@dataclass(frozen=True, slots=True)
class Requested:
    """A request recorded. `link_token` (for a new or reset person) goes to the requester
    once; it enrols nobody without the approver's code."""

    account: Account
    change_id: str | None
    link_token: str | None


@dataclass(frozen=True, slots=True)
class Approval:
    change_id: str
    account: Account
    enrol_code: str | None  # shown to the approver once, for the person to type in


@dataclass(frozen=True, slots=True)
class PendingChange:
    id: str
    account_id: str
    username: str
    kind: str
    role: Role
    current_role: Role
    requested_by: str  # username
    requested_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Enrolment:
    account: Account


def _digest(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(4, "big") + p)
    return h.digest()


def _log(
    log: AuditLog, *, actor: Account | None, action: str, account_id: str, change_id: str | None = None
) -> None:
    ids = [account_id] + ([change_id] if change_id else [])
    log.append(
        actor=actor.username if actor else "system",
        role=actor.role.value if actor else "operator",
        operation=Operation.ALTERATION,
        purpose=Purpose.SYSTEM_SECURITY,
        record_ids=ids,
        reference=f"account.{action}",
    )


def _require(actor: Account, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles or actor.disabled or not actor.approved:
        raise ForbiddenError(N_("the %(role)s role may not %(what)s"), role=actor.role.value, what=what)


def _fresh_actor(conn: Connection, actor: Account) -> Account:
    rec = store.get_account(conn, account_id=actor.id)
    if rec is None:
        raise ForbiddenError(N_("the acting account no longer exists"))
    return Account.from_record(rec)


def request_account(
    engine: Engine,
    audit: AuditFactory,
    *,
    actor: Account,
    username: str,
    role: Role | str,
    oidc_subject: str | None = None,
    now: dt.datetime,
) -> Requested:
    """Create an account. A person's account waits for a second person; a machine
    identity is created at once (it can never log in)."""
    role = Role(role)
    check_username(username)
    with engine.connect() as conn:
        _require(_fresh_actor(conn, actor), frozenset({Role.ADMIN}), "create accounts")
    if role in MACHINE_ROLES:
        acc = create_account(engine, username=username, role=role, now=now)
        with engine.begin() as conn:
            _log(audit(conn), actor=actor, action="create", account_id=acc.id)
        return Requested(acc, None, None)
    link = None if oidc_subject else secrets.token_urlsafe(32)
    # The row exists unapproved and without any way in until the approval.
    acc = create_account(
        engine,
        username=username,
        role=role,
        oidc_subject=oidc_subject or None,
        now=now,
        approved=False,
        enrol_hash=None if oidc_subject else _digest(b"pending", secrets.token_bytes(16)),
    )
    change_id = new_id()
    with engine.begin() as conn:
        store.insert_change(
            conn,
            ChangeRecord(
                change_id, acc.id, "create", role.value, actor.id, now, "pending", None, None,
                None if link is None else _digest(link.encode("ascii")),
            ),
        )  # fmt: skip
        _log(audit(conn), actor=actor, action="create.request", account_id=acc.id, change_id=change_id)
    return Requested(acc, change_id, link)


def _target(conn: Connection, username: str) -> store.AccountRecord:
    rec = store.get_account(conn, username=username)
    if rec is None:
        raise NotFoundError(N_("no such account"))
    return rec


def _no_pending(conn: Connection, account_id: str) -> None:
    if store.pending_changes(conn, account_id=account_id):
        raise ConflictError(N_("a change to this account already waits for approval"))


def request_role(
    engine: Engine, audit: AuditFactory, *, actor: Account, username: str, role: Role | str, now: dt.datetime
) -> Requested:
    """Ask to change a person's role; it changes when a second person approves."""
    role = Role(role)
    if role in MACHINE_ROLES:
        raise InputError(N_("a person cannot be given a machine role"))
    with engine.begin() as conn:
        _require(_fresh_actor(conn, actor), frozenset({Role.ADMIN}), "change roles")
        rec = _target(conn, username)
        if Role(rec.role) in MACHINE_ROLES:
            raise InputError(N_("a machine identity's role does not change"))
        if Role(rec.role) is role:
            raise InputError(N_("the account already has this role"))
        _no_pending(conn, rec.id)
        change_id = new_id()
        store.insert_change(
            conn,
            ChangeRecord(change_id, rec.id, "role", role.value, actor.id, now, "pending", None, None, None),
        )
        _log(audit(conn), actor=actor, action="role.request", account_id=rec.id, change_id=change_id)
    return Requested(Account.from_record(rec), change_id, None)


def request_reset(
    engine: Engine, audit: AuditFactory, *, actor: Account, username: str, now: dt.datetime
) -> Requested:
    """Ask to reset a person's password and second factor (a new enrolment)."""
    link = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        _require(_fresh_actor(conn, actor), frozenset({Role.ADMIN}), "reset passwords")
        rec = _target(conn, username)
        if Role(rec.role) not in HUMAN_ROLES or rec.oidc_subject:
            raise InputError(N_("only a person with a password can be reset"))
        _no_pending(conn, rec.id)
        change_id = new_id()
        store.insert_change(
            conn,
            ChangeRecord(
                change_id, rec.id, "reset", rec.role, actor.id, now, "pending", None, None,
                _digest(link.encode("ascii")),
            ),
        )  # fmt: skip
        _log(audit(conn), actor=actor, action="reset.request", account_id=rec.id, change_id=change_id)
    return Requested(Account.from_record(rec), change_id, link)


def list_pending(engine: Engine) -> list[PendingChange]:
    with engine.connect() as conn:
        out = []
        for c in store.pending_changes(conn):
            target = store.get_account(conn, account_id=c.account_id)
            by = store.get_account(conn, account_id=c.requested_by)
            if target is None or by is None:
                continue
            out.append(
                PendingChange(
                    c.id, c.account_id, target.username, c.kind, Role(c.role), Role(target.role),
                    by.username, c.requested_at,
                )
            )  # fmt: skip
    return out


def _decide(conn: Connection, actor: Account, change_id: str) -> tuple[ChangeRecord, store.AccountRecord]:
    actor = _fresh_actor(conn, actor)
    _require(actor, APPROVER_ROLES, "approve account changes")
    change = store.get_change(conn, change_id)
    if change is None:
        raise NotFoundError(N_("no such account change"))
    if change.status != "pending":
        raise ConflictError(N_("this change was already decided"))
    if change.requested_by == actor.id:
        raise SecondPersonRequired(N_("a second person must approve: you asked for this change"))
    if change.account_id == actor.id:
        raise SecondPersonRequired(N_("nobody approves a change to their own account"))
    target = store.get_account(conn, account_id=change.account_id)
    if target is None:
        raise NotFoundError(N_("no such account"))
    return change, target


def approve(
    engine: Engine, audit: AuditFactory, *, actor: Account, change_id: str, now: dt.datetime
) -> Approval:
    """Approve a pending change as the second person. For a new or reset person, returns
    the enrolment code (shown to the approver once)."""
    with engine.begin() as conn:
        change, target = _decide(conn, actor, change_id)
        link_hash = change.link_hash
        if not store.decide_change(conn, change_id, status="approved", by=actor.id, at=now):
            raise ConflictError(N_("this change was already decided"))
        code: str | None = None
        values: dict[str, object] = {"approved": True}
        if change.kind == "role":
            values["role"] = change.role
        if change.kind in ("create", "reset") and link_hash is not None:
            code = secrets.token_hex(4).upper()
            values.update(
                enrol_hash=_digest(b"pnrguard/enrol/v1", link_hash, code.encode("ascii")),
                enrol_expires_at=now + ENROL_VALIDITY,
            )
        if change.kind == "reset":
            values.update(password_hash=None, totp_wrapped=None, totp_last_step=None, failed_logins=0)
        store.update_account(conn, target.id, **values)
        if change.kind in ("role", "reset"):
            store.delete_sessions_of(conn, target.id)  # new powers: log in again
        _log(
            audit(conn),
            actor=actor,
            action=f"{change.kind}.approve",
            account_id=target.id,
            change_id=change_id,
        )
        rec = store.get_account(conn, account_id=target.id)
    assert rec is not None
    return Approval(change_id, Account.from_record(rec), code)


def refuse(engine: Engine, audit: AuditFactory, *, actor: Account, change_id: str, now: dt.datetime) -> None:
    """Refuse a pending change; a refused new account stays without any way in."""
    with engine.begin() as conn:
        change, target = _decide(conn, actor, change_id)
        if not store.decide_change(conn, change_id, status="refused", by=actor.id, at=now):
            raise ConflictError(N_("this change was already decided"))
        if change.kind == "create":
            store.update_account(conn, target.id, disabled=True, enrol_hash=None)
        _log(
            audit(conn),
            actor=actor,
            action=f"{change.kind}.refuse",
            account_id=target.id,
            change_id=change_id,
        )


def set_disabled(
    engine: Engine, audit: AuditFactory, *, actor: Account, username: str, disabled: bool, now: dt.datetime
) -> Account:
    """Disable (at once, ends sessions) or re-enable an account, audited. Re-enabling gives
    no new power: the person still needs their password and second factor, and an
    account never approved stays shut."""
    del now
    with engine.begin() as conn:
        _require(_fresh_actor(conn, actor), frozenset({Role.ADMIN}), "enable or disable accounts")
        rec = _target(conn, username)
        if rec.id == actor.id:
            raise InputError(N_("you cannot disable or enable your own account"))
        store.update_account(conn, rec.id, disabled=disabled)
        if disabled:
            store.delete_sessions_of(conn, rec.id)
        _log(audit(conn), actor=actor, action="disable" if disabled else "enable", account_id=rec.id)
        after = store.get_account(conn, account_id=rec.id)
    assert after is not None
    return Account.from_record(after)


def _enrollable(conn: Connection, link_token: str, code: str, now: dt.datetime) -> store.AccountRecord:
    link_hash = _digest(link_token.encode("ascii", "replace"))
    want = _digest(b"pnrguard/enrol/v1", link_hash, code.strip().upper().encode("ascii", "replace"))
    rec = store.account_by_enrol_hash(conn, want)
    if (
        rec is None
        or rec.enrol_hash is None
        or not hmac.compare_digest(rec.enrol_hash, want)
        or rec.enrol_expires_at is None
        or rec.enrol_expires_at <= now
        or rec.disabled
        or not rec.approved
    ):
        raise ForbiddenError(N_("this enrolment link and code are wrong, used or expired: ask for a new one"))
    return rec


def check_enrolment(engine: Engine, *, link_token: str, code: str, now: dt.datetime) -> Account:
    with engine.connect() as conn:
        return Account.from_record(_enrollable(conn, link_token, code, now))


def seal_new_secret(
    engine: Engine, keystore: KeyStore, *, account_id: str, now: dt.datetime
) -> tuple[str, bytes]:
    """A fresh TOTP secret and its sealed form (carried by the enrolment form until the
    person confirms a first code; only the confirmed one is stored)."""
    secret = totp.new_secret()
    with engine.begin() as conn:
        return secret, totp.seal(conn, keystore, account_id=account_id, secret=secret, now=now)


def enrol(
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    *,
    link_token: str,
    code: str,
    password: str,
    sealed_secret: bytes,
    first_code: str,
    now: dt.datetime,
) -> Enrolment:
    """Use an enrolment: set the person's own password and confirmed second factor."""
    new_hash = hash_password(password)
    with engine.begin() as conn:
        rec = _enrollable(conn, link_token, code, now)
        secret = totp.unseal(conn, keystore, account_id=rec.id, blob=sealed_secret, now=now)
        step = totp.matching_step(secret, first_code, now=now)
        if step is None:
            raise InputError(N_("the code from the authenticator app is wrong: check the phone's clock"))
        done = store.update_account(
            conn, rec.id, password_hash=new_hash, totp_wrapped=sealed_secret, totp_last_step=step,
            enrol_hash=None, enrol_expires_at=None, failed_logins=0, locked_until=None,
        )  # fmt: skip
        assert done
        store.delete_sessions_of(conn, rec.id)
        _log(audit(conn), actor=Account.from_record(rec), action="enrol", account_id=rec.id)
        after = store.get_account(conn, account_id=rec.id)
    assert after is not None
    return Enrolment(Account.from_record(after))


def confirm_totp(
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    *,
    account: Account,
    sealed_secret: bytes,
    first_code: str,
    now: dt.datetime,
) -> None:
    """Store a second factor for an account that logged in without one (created before
    the rule, or through OIDC), once its first code is confirmed."""
    with engine.begin() as conn:
        rec = store.get_account(conn, account_id=account.id)
        if rec is None or rec.totp_wrapped is not None:
            raise ConflictError(N_("this account already has a second factor"))
        secret = totp.unseal(conn, keystore, account_id=rec.id, blob=sealed_secret, now=now)
        step = totp.matching_step(secret, first_code, now=now)
        if step is None:
            raise InputError(N_("the code from the authenticator app is wrong: check the phone's clock"))
        store.update_account(conn, rec.id, totp_wrapped=sealed_secret, totp_last_step=step)
        _log(audit(conn), actor=account, action="totp.enrol", account_id=rec.id)


def verify_second_factor(
    engine: Engine, keystore: KeyStore, *, account: Account, code: str, now: dt.datetime
) -> bool:
    """Check a TOTP code (once per step); a wrong one counts as a failed login, and the
    same short lock as for passwords stops guessing codes (server-side, whatever the
    browser sends)."""
    with engine.begin() as conn:
        rec = store.get_account(conn, account_id=account.id)
        if rec is None or (rec.locked_until is not None and rec.locked_until > now):
            return False
        if totp.verify(conn, keystore, account=rec, code=code, now=now):
            return True
        if store.count_failure(conn, rec.id) >= MAX_FAILURES:
            store.update_account(conn, rec.id, locked_until=now + USER_LOCK)
        return False


def change_password(
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    *,
    account: Account,
    current: str,
    new: str,
    code: str,
    now: dt.datetime,
) -> None:
    """Self-service: the current password and a fresh second-factor code change it; every
    other session of the account ends."""
    from pnrguard.service.accounts import check_password

    new_hash = hash_password(new)
    if not check_password(engine, account.id, current):
        raise ForbiddenError(N_("the current password is wrong"))
    if not verify_second_factor(engine, keystore, account=account, code=code, now=now):
        raise ForbiddenError(N_("the code from the authenticator app is wrong or already used"))
    with engine.begin() as conn:
        store.update_account(conn, account.id, password_hash=new_hash)
        store.delete_sessions_of(conn, account.id)
        _log(audit(conn), actor=account, action="password.change", account_id=account.id)


@dataclass(frozen=True, slots=True)
class BootstrapLink:
    username: str
    role: Role
    link_token: str
    code: str


def bootstrap(
    engine: Engine, audit: AuditFactory, *, admin: str, dpo: str, now: dt.datetime
) -> list[BootstrapLink]:
    """The first administrator and the DPO of a fresh node (no person exists yet), each
    with an enrolment link that carries its code. Refused once any person exists."""
    if admin == dpo:
        raise InputError(N_("the first administrator and the DPO are two people"))
    with engine.connect() as conn:
        if any(Role(a.role) in HUMAN_ROLES for a in store.list_accounts(conn)):
            raise ConflictError(
                N_("this node has people already: use `pnrguard users add` and a second person")
            )
    out = []
    for username, role in ((admin, Role.ADMIN), (dpo, Role.DPO)):
        link = secrets.token_urlsafe(32)
        code = secrets.token_hex(4).upper()
        acc = create_account(
            engine, username=username, role=role, now=now,
            enrol_hash=_digest(b"pnrguard/enrol/v1", _digest(link.encode("ascii")), code.encode("ascii")),
            enrol_expires_at=now + ENROL_VALIDITY,
        )  # fmt: skip
        with engine.begin() as conn:
            _log(audit(conn), actor=None, action="bootstrap", account_id=acc.id)
        out.append(BootstrapLink(username, role, link, code))
    return out


def provision_enrolled(
    engine: Engine,
    keystore: KeyStore,
    *,
    username: str,
    role: Role,
    password: str,
    totp_secret: str,
    now: dt.datetime,
) -> Account:
    """An enrolled account with a known password and TOTP secret, for the synthetic demo
    only (`make demo` prints both; it never holds real people). Updates it if it exists."""
    with engine.connect() as conn:
        existing = store.get_account(conn, username=username)
    acc = (
        Account.from_record(existing)
        if existing is not None
        else create_account(engine, username=username, role=role, password=password, now=now)
    )
    with engine.begin() as conn:
        store.update_account(
            conn, acc.id, password_hash=hash_password(password), approved=True, disabled=False,
            totp_wrapped=totp.seal(conn, keystore, account_id=acc.id, secret=totp_secret, now=now),
            totp_last_step=None, failed_logins=0, locked_until=None,
        )  # fmt: skip
        store.delete_sessions_of(conn, acc.id)
    return acc
