"""The migrated schema and the code's table definitions agree (schema only via Alembic)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

import pnrguard.store
from pnrguard.store.db import metadata

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
