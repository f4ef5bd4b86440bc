"""The migrated schema and the code's table definitions agree (schema only via Alembic)."""

from __future__ import annotations

import datetime as dt
import hashlib
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
HEAD = "0015_traveller"  # the one head after every migration


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


HEAD = "0014_acct_power"


def test_one_head_and_the_role_check_admits_the_senior_judge(engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1  # later revisions (0012_dp_filter, ...) chain after 0009
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


def _old_account_and_session(engine: Engine, token_hash: bytes) -> None:
    """An account and a live session written as the old schema knew them (the service
    code reads today's columns, so it cannot run on an old schema)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO account (id, username, role, password_hash, disabled, failed_logins, created_at)"
                " VALUES ('j1', 'judge', 'judicial', 'x', false, 0, :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            text(
                "INSERT INTO web_session (token_hash, account_id, csrf_token, created_at, last_seen_at,"
                " expires_at) VALUES (:h, 'j1', 'c', :now, :now, :later)"
            ),
            {"h": token_hash, "now": NOW, "later": NOW + dt.timedelta(hours=1)},
        )


def _session_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM web_session")).scalar_one())


def test_upgrade_from_the_four_heads_keeps_accounts_and_sessions(blank_engine: Engine) -> None:
    engine = blank_engine
    for head in OLD_HEADS:
        upgrade(engine, head)
    assert _versions(engine) == set(OLD_HEADS)
    assert list(_role_checks(engine)) == ["ck_account_ck_account_role"]
    token = "t" * 43
    _old_account_and_session(engine, hashlib.sha256(token.encode()).digest())
    with pytest.raises(IntegrityError), engine.begin() as conn:  # not known before 0009
        conn.execute(
            text(
                "INSERT INTO account (id, username, role, disabled, failed_logins, created_at)"
                " VALUES ('s1', 'judge-senior', 'judicial_senior', false, 0, :now)"
            ),
            {"now": NOW},
        )

    upgrade(engine)  # on SQLite a table copy of `account`, which web_session references
    assert _versions(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    assert list(_role_checks(engine)) == ["ck_account_role"]
    policy = accounts.SessionPolicy()
    alive = accounts.resolve_session(engine, token, now=NOW, policy=policy)
    assert alive is not None
    assert alive.account.username == "judge"  # nobody was logged out
    assert alive.stage == "full"  # an existing session stays a full one (0014)
    assert alive.account.approved  # existing accounts count as approved (0014)
    accounts.create_account(
        engine, username="judge-senior", role=Role.JUDICIAL_SENIOR, password="x" * 16, now=NOW
    )
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    # Down again: refused while a senior judge exists (nobody's role changes silently).
    command.downgrade(alembic_config(engine), "0009_judicial_senior")  # later revisions first
    with pytest.raises(RuntimeError, match="judicial_senior"):
        command.downgrade(alembic_config(engine), "0008_exchange_four_eyes")
    assert not _versions(engine) & set(OLD_HEADS)  # refused: still at 0009 or above
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM account WHERE role = 'judicial_senior'"))
    command.downgrade(alembic_config(engine), "0008_exchange_four_eyes")
    assert _versions(engine) == set(OLD_HEADS)
    assert list(_role_checks(engine)) == ["ck_account_ck_account_role"]
    assert _session_rows(engine) == 1
    upgrade(engine)
    assert _versions(engine) == set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())


def test_0017_moves_traveller_counts_into_the_day_tally(blank_engine: Engine) -> None:
    """Art. 12(2)(a): the per-booking count leaves the booking row; the Art. 20 figure
    survives as a per-day sum (store/tally.py)."""
    engine = blank_engine
    upgrade(engine, "0014_acct_power")
    day = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)
    with engine.begin() as conn:
        for i, (n, source) in enumerate(((2, "PNR"), (3, "PNR"), (None, "PNR"), (1, "API"))):
            conn.execute(
                text(
                    "INSERT INTO booking (id, source, carrier, locator, flight_carrier, flight_number,"
                    " origin, destination, first_seen, last_seen, state, latest_version, travellers)"
                    " VALUES (:id, :src, 'XY', 'L', 'XY', '1', 'FRA', 'JFK', :at, :at, 'active', 1, :n)"
                ),
                {"id": f"b{i}", "src": source, "at": day, "n": n},
            )
    upgrade(engine)
    assert "travellers" not in {c["name"] for c in inspect(engine).get_columns("booking")}
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT day, source, bookings, travellers FROM traveller_tally ORDER BY source")
        ).all()
    assert [(str(r[0])[:10], r[1], r[2], r[3]) for r in rows] == [
        ("2026-03-02", "API", 1, 1),
        ("2026-03-02", "PNR", 2, 5),  # the booking without a count is not counted
    ]
