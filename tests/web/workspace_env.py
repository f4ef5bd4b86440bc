"""Workspace test fixtures: a node with synthetic traffic, hits, accounts and authorities.

Policy (see tests/conftest.py): real databases, real HTTP (Uvicorn on a socket via
`live_server`), real crypto. The workspace node runs on SQLite by default; tests that
exercise storage-sensitive paths also take `pg_node` to run once on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from pypdf import PdfReader
from sqlalchemy import select, text

from live_server import live_server
from pnrguard.audit.models import AuditEntry, Purpose
from pnrguard.cli.users import synthetic_watchlist
from pnrguard.config import Settings
from pnrguard.formats.synth import generate
from pnrguard.service import accounts
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.disclosure import add_authority
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.screening import import_watchlist
from pnrguard.store.db import make_engine
from pnrguard.store.screening import hit
from pnrguard.web.app import create_app
from pnrguard.web.auth import SESSION_COOKIE

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Env:
    """A node with data, its app served on a real socket, and helpers to act as a role."""

    node: Node
    base: str
    app: object
    users: dict[Role, Account] = field(default_factory=dict)
    authority_id: str = ""

    @contextmanager
    def client(self, role: Role | None = None, *, username: str | None = None) -> Iterator[httpx.Client]:
        """A client logged in as `role` through the real login form (None: anonymous)."""
        with httpx.Client(base_url=self.base, headers={"accept": "text/html"}, timeout=30) as c:
            if role is not None:
                r = login(c, username or self.users[role].username, PASSWORD)
                assert r.status_code == 303, r.text
            yield c

    def session_client(self, account: Account) -> tuple[httpx.Client, str]:
        """A client with a session minted directly (machine identities cannot log in, but
        the route walk proves they would be refused anyway). Returns it and its CSRF token."""
        opened = accounts.open_session(self.node.engine, account, now=self.node.clock())
        c = httpx.Client(base_url=self.base, cookies={SESSION_COOKIE: opened.token}, timeout=30)
        return c, opened.csrf_token

    def audit(self, **filters: object) -> list[AuditEntry]:
        with self.node.engine.connect() as conn:
            return self.node.audit(conn).entries(**filters)  # type: ignore[arg-type]

    def hit_ids(self, status: str = "open") -> list[str]:
        with self.node.engine.connect() as conn:
            return list(
                conn.execute(select(hit.c.id).where(hit.c.status == status).order_by(hit.c.id)).scalars()
            )

    def set_policy(self, *, four_eyes: bool) -> None:
        self.app.state.review_policy = ReviewPolicy(four_eyes=four_eyes)  # type: ignore[attr-defined]


def pdf_text(content: bytes) -> str:
    """The text a reader of the PDF sees (fonts are subset and streams compressed, so the
    raw bytes say nothing about what the document shows)."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def csrf_from(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(c: httpx.Client, username: str, password: str) -> httpx.Response:
    page = c.get("/login")
    token = csrf_from(page.text)
    r = c.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return r


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(database_url=SecretStr(url), key_file=tmp_path / "keys.json", node_name="test.local/piu")


def _populate(node: Node, *, people: int) -> tuple[dict[Role, Account], str]:
    for push in generate(7, flights=2, base_date=dt.date(2025, 6, 1)):
        node.ingest(push.pnrgov.encode("utf-8"))
    import_watchlist(
        synthetic_watchlist(node, people=people),
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
    users: dict[Role, Account] = {}
    for role in Role:
        human = role in accounts.HUMAN_ROLES
        users[role] = accounts.create_account(
            node.engine, username=f"u-{role.value}", role=role, password=PASSWORD if human else None, now=now
        )
    authority = add_authority(node.engine, code="POLICE", name="National Police", kind="national", now=now)
    return users, authority.id


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with Node.from_settings(_settings(tmp_path, f"sqlite:///{tmp_path / 'node.db'}")) as node:
        users, authority_id = _populate(node, people=12)
        app = create_app(node)
        app.state.review_policy = ReviewPolicy(four_eyes=True)
        with live_server(app) as base:
            yield Env(node, base, app, users, authority_id)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """`env` on SQLite and on PostgreSQL (a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("env")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        with Node.from_settings(_settings(tmp_path, url)) as node:
            users, authority_id = _populate(node, people=12)
            app = create_app(node)
            app.state.review_policy = ReviewPolicy(four_eyes=True)
            with live_server(app) as base:
                yield Env(node, base, app, users, authority_id)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
