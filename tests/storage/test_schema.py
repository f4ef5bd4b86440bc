"""The migrated schema and the code's table definitions agree (schema only via Alembic)."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

import pnrguard.store
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.store.db import alembic_config, make_engine, metadata, upgrade

pytestmark = pytest.mark.storage


def _import_all_table_modules() -> None:
    # Every store module that defines tables on the shared metadata, so the comparison is
    # the same whichever tests ran before this one.
    for mod in pkgutil.iter_modules(pnrguard.store.__path__):
        if mod.name != "migrations":
            importlib.import_module(f"pnrguard.store.{mod.name}")


def test_migrations_match_metadata(engine: Engine) -> None:
    _import_all_table_modules()
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def test_booking_tables_are_on_the_shared_metadata() -> None:
    _import_all_table_modules()
    for name in ("message", "quarantine", "booking", "booking_key", "booking_version", "node_secret"):
        assert name in metadata.tables


# --- 0009_judicial_senior: one head, the role check, the upgrade of a populated database --

OLD_HEADS = ("0004_gateway", "0005_workspace", "0006_lifecycle", "0008_exchange_four_eyes")
from db_urls import PG_URL  # noqa: E402 — one place for the test database URL

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (nothing migrated yet), on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield eng
        eng.dispose()
        return
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _role_checks(engine: Engine) -> dict[str, str]:
    return {str(c["name"]): str(c["sqltext"]) for c in inspect(engine).get_check_constraints("account")}


def _versions(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_one_head_and_the_role_check_admits_the_senior_judge(engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1  # 0009 merged the branches; later revisions chain on it
    assert _versions(engine) == set(heads)
    checks = _role_checks(engine)
    assert list(checks) == ["ck_account_role"]  # the name store.accounts declares
    assert "judicial_senior" in checks["ck_account_role"]
    senior = accounts.create_account(
        engine, username="judge-senior", role=Role.JUDICIAL_SENIOR, password="x" * 16, now=NOW
    )
    assert accounts.get_account(engine, "judge-senior").role is Role.JUDICIAL_SENIOR
    assert senior.is_human
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the database still says no
        conn.execute(
            text(
                "INSERT INTO account (id, username, role, disabled, failed_logins, created_at)"
                " VALUES ('x1', 'judge-king', 'judicial_king', false, 0, :now)"
            ),
            {"now": NOW},
        )


def test_upgrade_from_the_four_heads_keeps_accounts_and_sessions(blank_engine: Engine) -> None:
    engine = blank_engine
    for head in OLD_HEADS:
        upgrade(engine, head)
    assert _versions(engine) == set(OLD_HEADS)
    assert list(_role_checks(engine)) == ["ck_account_ck_account_role"]
    judge = accounts.create_account(engine, username="judge", role=Role.JUDICIAL, password="x" * 16, now=NOW)
    policy = accounts.SessionPolicy()
    session = accounts.open_session(engine, judge, now=NOW, policy=policy)
    with pytest.raises(IntegrityError):  # not known before 0009
        accounts.create_account(
            engine, username="judge-senior", role=Role.JUDICIAL_SENIOR, password="x" * 16, now=NOW
        )

    upgrade(engine)  # on SQLite a table copy of `account`, which web_session references
    assert _versions(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    assert list(_role_checks(engine)) == ["ck_account_role"]
    alive = accounts.resolve_session(engine, session.token, now=NOW, policy=policy)
    assert alive is not None
    assert alive.account.username == "judge"  # nobody was logged out
    accounts.create_account(
        engine, username="judge-senior", role=Role.JUDICIAL_SENIOR, password="x" * 16, now=NOW
    )
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    # Down again: refused while a senior judge exists (nobody's role changes silently).
    with pytest.raises(RuntimeError, match="judicial_senior"):
        command.downgrade(alembic_config(engine), "0008_exchange_four_eyes")
    assert not _versions(engine) & set(OLD_HEADS)  # the refused step did not go below 0009
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM account WHERE role = 'judicial_senior'"))
    command.downgrade(alembic_config(engine), "0008_exchange_four_eyes")
    assert _versions(engine) == set(OLD_HEADS)
    assert list(_role_checks(engine)) == ["ck_account_ck_account_role"]
    assert accounts.resolve_session(engine, session.token, now=NOW, policy=policy) is not None
    upgrade(engine)
    assert _versions(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
