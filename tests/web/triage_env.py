"""A workspace node whose traffic has flights about to leave (from tomorrow) and flights that
left (June 2025), so the queue's two parts both hold hits. Real HTTP, real crypto, SQLite or
PostgreSQL (a schema of its own)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from workspace_env import ENGINES, PASSWORD, PG_URL, Env, _settings

from live_server import live_server
from pnrguard.audit.models import Purpose
from pnrguard.cli.users import synthetic_watchlist
from pnrguard.formats.synth import generate
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.disclosure import add_authority
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.screening import import_watchlist
from pnrguard.store.db import make_engine
from pnrguard.web.app import create_app

__all__ = ["triage_env", "triage_sqlite"]


def _populate(node: Node) -> Env:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    for push in generate(7, flights=2, passengers_per_flight=(40, 60), base_date=dt.date(2025, 6, 1)):
        node.ingest(push.pnrgov.encode("utf-8"))
    for push in generate(11, flights=2, passengers_per_flight=(40, 60), base_date=tomorrow):
        node.ingest(push.pnrgov.encode("utf-8"))
    import_watchlist(
        synthetic_watchlist(node, people=16),
        name="test-list",
        fmt="csv",
        purpose=Purpose.TERRORIST_OFFENCES,
        engine=node.engine,
        keystore=node.keystore,
        audit=node.audit,
        clock=node.clock,
        actor="test",
        role="admin",
    )
    now = node.clock()
    users = {
        role: accounts.create_account(
            node.engine,
            username=f"u-{role.value}",
            role=role,
            password=PASSWORD if role in accounts.HUMAN_ROLES else None,
            now=now,
        )
        for role in Role
    }
    accounts.create_account(node.engine, username="u-analyst2", role=Role.ANALYST, password=PASSWORD, now=now)
    authority = add_authority(node.engine, code="POLICE", name="National Police", kind="national", now=now)
    return Env(node, "", None, users, authority.id)


@contextmanager
def _serve(tmp_path: Path, kind: str) -> Iterator[Env]:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    schema = ""
    if kind == "postgresql":
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        with Node.from_settings(_settings(tmp_path, url)) as node:
            env = _populate(node)
            app = create_app(node)
            app.state.review_policy = ReviewPolicy(four_eyes=True)
            with live_server(app) as base:
                ENGINES[base.rstrip("/")] = node.engine
                env.base, env.app = base, app
                yield env
    finally:
        if schema:
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def triage_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    with _serve(tmp_path, request.param) as env:
        yield env


@pytest.fixture
def triage_sqlite(tmp_path: Path) -> Iterator[Env]:
    """`triage_env` on SQLite only (the browser walks)."""
    with _serve(tmp_path, "sqlite") as env:
        yield env
