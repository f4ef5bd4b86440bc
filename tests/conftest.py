"""Fixture policy.

- Pure code (domain, formats, protection rules, screening, audit core) is tested without I/O
  and without fixtures beyond plain values and hypothesis strategies (`tests/strategies.py`).
- Storage is tested on real databases only: the `engine` fixture runs each storage test on
  SQLite *and* PostgreSQL (127.0.0.1:5432, database `test`, trust auth). Each test gets a
  freshly migrated database (an SQLite file, or a PostgreSQL schema of its own), because use
  cases commit for real and some tests run several workers at once; a rollback-only fixture
  would hide exactly the behaviour under test. The schema is dropped afterwards.
- Set PNRGUARD_TEST_PG_URL to point at another PostgreSQL; set it to "skip" to run without
  PostgreSQL (CI never does: a missing PostgreSQL fails the run).
- Nothing is mocked that is ours: no fake database, crypto or HTTP layer. Fakes exist only
  for ports whose real adapter is outside our control (a KMS, a clock).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.engine import Engine

from db_urls import PG_URL
from pnrguard.store.db import make_engine, upgrade

# Properties, not stopwatches: hypothesis's default 200 ms per-example deadline is a timing
# assertion that fails on a loaded CI machine (it did, in test_evidence.py). Speed is measured
# in bench/ (a runaway example still shows as a slow suite, and CI bounds the whole run).
settings.register_profile("pnrguard", deadline=None)
settings.load_profile("pnrguard")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _sqlite_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'pnrguard.db'}")


def _pg_engine() -> tuple[Engine, Engine, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    return admin, engine, schema


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path)
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    admin, eng, schema = _pg_engine()
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: for tests that look inside the database file itself."""
    eng = _sqlite_engine(tmp_path)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared` beside the repository (CI lays a copy there)."""
    if not SHARED.is_dir():
        pytest.fail(f"shared/ not found beside the repository at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def conformance_dir(shared_dir: Path) -> Path:
    return shared_dir / "conformance"
