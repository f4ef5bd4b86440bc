"""Two-person power over accounts, TOTP and login throttling, on SQLite and PostgreSQL.

Replays issue 11 §2 and §5 (lockout race) from the attacker's side: an administrator
alone cannot give anyone power or learn a password; a TOTP code works once; parallel
guesses all count; nobody keeps a colleague locked out for long.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation
from pnrguard.errors import ConflictError, ForbiddenError
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.service import account_admin, accounts, totp
from pnrguard.service.accounts import Role
from pnrguard.store.accounts import account
from pnrguard.store.audit import SqlAuditLog

pytestmark = pytest.mark.storage

NOW = dt.datetime(2026, 12, 6, 1, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"


def _audit(conn: Connection) -> AuditLog:
    return SqlAuditLog(conn, origin="test.local/piu", clock=lambda: NOW)


def _code(secret: str, at: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def _person(engine: Engine, ks: InMemoryKeyStore, username: str, role: Role) -> tuple[accounts.Account, str]:
    secret = totp.new_secret()
    acc = account_admin.provision_enrolled(
        engine, ks, username=username, role=role, password=PASSWORD, totp_secret=secret, now=NOW
    )
    return accounts.get_account(engine, acc.username), secret


def test_one_administrator_cannot_grant_power_alone(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    admin, _ = _person(engine, ks, "admin1", Role.ADMIN)
    dpo, _ = _person(engine, ks, "dpo1", Role.DPO)
    asked = account_admin.request_account(
        engine, _audit, actor=admin, username="sup", role=Role.SUPERVISOR, now=NOW
    )
    assert asked.link_token
    assert asked.change_id
    # Unapproved: no way in, whatever the administrator does next.
    assert not asked.account.approved
    with pytest.raises(ForbiddenError):  # the link without the approver's code
        account_admin.check_enrolment(engine, link_token=asked.link_token, code="", now=NOW)
    with pytest.raises(account_admin.SecondPersonRequired):
        account_admin.approve(engine, _audit, actor=admin, change_id=asked.change_id, now=NOW)
    # A second administrator the first one creates waits for approval too: no bypass.
    other = account_admin.request_account(
        engine, _audit, actor=admin, username="admin2", role=Role.ADMIN, now=NOW
    )
    assert not other.account.approved
    # The DPO approves and alone gets the code; the link alone or the code alone fail.
    done = account_admin.approve(engine, _audit, actor=dpo, change_id=asked.change_id, now=NOW)
    assert done.enrol_code
    with pytest.raises(ForbiddenError):
        account_admin.check_enrolment(engine, link_token="x" * 43, code=done.enrol_code, now=NOW)
    secret, sealed = account_admin.seal_new_secret(engine, ks, account_id=asked.account.id, now=NOW)
    account_admin.enrol(
        engine, ks, _audit, link_token=asked.link_token, code=done.enrol_code, password=PASSWORD,
        sealed_secret=sealed, first_code=_code(secret, NOW), now=NOW,
    )  # fmt: skip
    with pytest.raises(ForbiddenError):  # used up
        account_admin.check_enrolment(engine, link_token=asked.link_token, code=done.enrol_code, now=NOW)
    assert accounts.authenticate(engine, username="sup", password=PASSWORD, now=NOW) is not None
    with engine.connect() as conn:
        refs = [e.reference for e in _audit(conn).entries(operation=Operation.ALTERATION)]
    assert {"account.create.request", "account.create.approve", "account.enrol"} <= set(refs)


def test_role_change_and_reset_wait_for_a_second_person(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    admin, _ = _person(engine, ks, "admin1", Role.ADMIN)
    admin2, _ = _person(engine, ks, "admin2", Role.ADMIN)
    analyst, _ = _person(engine, ks, "ana", Role.ANALYST)
    change = account_admin.request_role(
        engine, _audit, actor=admin, username="ana", role=Role.SUPERVISOR, now=NOW
    )
    assert accounts.get_account(engine, "ana").role is Role.ANALYST
    with pytest.raises(ConflictError):  # one change at a time
        account_admin.request_reset(engine, _audit, actor=admin, username="ana", now=NOW)
    with pytest.raises(ForbiddenError):  # an analyst approves nothing
        account_admin.approve(engine, _audit, actor=analyst, change_id=change.change_id or "", now=NOW)
    account_admin.approve(engine, _audit, actor=admin2, change_id=change.change_id or "", now=NOW)
    assert accounts.get_account(engine, "ana").role is Role.SUPERVISOR
    # Nobody approves a change to their own account, even asked by someone else.
    own = account_admin.request_role(engine, _audit, actor=admin, username="admin2", role=Role.DPO, now=NOW)
    with pytest.raises(account_admin.SecondPersonRequired):
        account_admin.approve(engine, _audit, actor=admin2, change_id=own.change_id or "", now=NOW)
    # A reset removes the password and second factor only once approved.
    account_admin.refuse(engine, _audit, actor=_dpo(engine, ks), change_id=own.change_id or "", now=NOW)
    reset = account_admin.request_reset(engine, _audit, actor=admin, username="ana", now=NOW)
    assert accounts.authenticate(engine, username="ana", password=PASSWORD, now=NOW) is not None
    account_admin.approve(engine, _audit, actor=admin2, change_id=reset.change_id or "", now=NOW)
    assert accounts.authenticate(engine, username="ana", password=PASSWORD, now=NOW) is None
    account_admin.set_disabled(engine, _audit, actor=admin, username="ana", disabled=True, now=NOW)
    with engine.connect() as conn:
        refs = [e.reference for e in _audit(conn).entries(operation=Operation.ALTERATION)]
    for ref in ("role.request", "role.approve", "role.refuse", "reset.request", "reset.approve", "disable"):
        assert f"account.{ref}" in refs
    # The audit names ids only: no username, no password, no secret.
    with engine.connect() as conn:
        for e in _audit(conn).entries():
            assert "ana" not in e.record_ids
            assert PASSWORD not in str(e)


def _dpo(engine: Engine, ks: InMemoryKeyStore) -> accounts.Account:
    return _person(engine, ks, "dpo1", Role.DPO)[0]


def test_a_totp_code_works_once_within_one_step_either_side(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    acc, secret = _person(engine, ks, "ana", Role.ANALYST)
    later = NOW + dt.timedelta(seconds=30)
    code = _code(secret, NOW)
    assert account_admin.verify_second_factor(engine, ks, account=acc, code=code, now=later)  # -1 step
    assert not account_admin.verify_second_factor(engine, ks, account=acc, code=code, now=later)  # reused
    assert not account_admin.verify_second_factor(
        engine, ks, account=acc, code=_code(secret, NOW + dt.timedelta(minutes=5)), now=later
    )  # outside the window
    assert account_admin.verify_second_factor(
        engine, ks, account=acc, code=_code(secret, later + dt.timedelta(seconds=30)), now=later
    )  # +1 step
    # An older step than the last accepted one is refused too (no replay of a seen code).
    assert not account_admin.verify_second_factor(
        engine, ks, account=acc, code=_code(secret, later), now=later
    )
    # The database holds no clear secret.
    with engine.connect() as conn:
        blob = conn.execute(select(account.c.totp_wrapped).where(account.c.id == acc.id)).scalar_one()
    assert secret.encode() not in bytes(blob)


def test_forty_parallel_guesses_all_count(engine: Engine) -> None:
    accounts.create_account(engine, username="ana", role=Role.ANALYST, password=PASSWORD, now=NOW)
    guess = partial(accounts.authenticate, engine, username="ana", password="wrong guess!!", now=NOW)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: guess(address=f"192.0.2.{i}"), range(40)))
    assert results == [None] * 40
    with engine.connect() as conn:
        failures = conn.execute(
            select(account.c.failed_logins).where(account.c.username == "ana")
        ).scalar_one()
    assert failures == 40


def test_guessing_locks_the_guesser_long_and_the_username_briefly(engine: Engine) -> None:
    accounts.create_account(engine, username="ana", role=Role.ANALYST, password=PASSWORD, now=NOW)
    for _ in range(10):
        assert (
            accounts.authenticate(
                engine, username="ana", password="nope nope nope", now=NOW, address="198.51.100.7"
            )
            is None
        )
    # The attacker's address is locked for this username, even with the right password.
    later = NOW + dt.timedelta(minutes=2)
    assert (
        accounts.authenticate(engine, username="ana", password=PASSWORD, now=later, address="198.51.100.7")
        is None
    )
    # The real person, from elsewhere, is kept out one minute at most.
    assert (
        accounts.authenticate(engine, username="ana", password=PASSWORD, now=NOW, address="203.0.113.5")
        is None
    )
    assert (
        accounts.authenticate(engine, username="ana", password=PASSWORD, now=later, address="203.0.113.5")
        is not None
    )


def test_guessing_codes_locks_the_second_factor_briefly(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    acc, secret = _person(engine, ks, "ana", Role.ANALYST)
    for _ in range(10):
        assert not account_admin.verify_second_factor(engine, ks, account=acc, code="000000", now=NOW)
    assert not account_admin.verify_second_factor(engine, ks, account=acc, code=_code(secret, NOW), now=NOW)
    later = NOW + dt.timedelta(minutes=2)
    assert account_admin.verify_second_factor(engine, ks, account=acc, code=_code(secret, later), now=later)
