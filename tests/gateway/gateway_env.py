"""Gateway test helpers and the `gw` fixture (re-exported by conftest.py): a node over the
`engine` fixture (SQLite and PostgreSQL), the push API on a real socket (`live_server`),
carrier tokens, and synthetic pushes.

Nothing of ours is faked: the database, key file, crypto and HTTP are real. Workers are
driven by the test (`gateway.workers.drain()`) unless a test starts them, so every
assertion sees a settled state.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from live_server import live_server
from pnrguard.config import Settings
from pnrguard.formats.synth import Push, generate
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.bootstrap import Node
from pnrguard.service.clock import SystemClock
from pnrguard.service.gateway_credentials import issue_credential
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.web.carrier import PUSH_PATH, CarrierGateway, carrier_router

RECIPIENT = "PIUDE"
#: As in tests/conftest.py.
PG_URL = os.environ.get("PNRGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Small enough that a test can exceed it cheaply, large enough for synthetic pushes.
MAX_BYTES = 400_000


def synthetic_pushes(
    seed: int = 5, *, flights: int = 3, passengers: int | tuple[int, int] = 20
) -> list[Push]:
    """Pushes prepared in the last few days (inside the replay window) for PIUDE."""
    base = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    return list(
        generate(seed, flights=flights, passengers_per_flight=passengers, base_date=base, piu_country="DE")
    )


def with_ref(body: bytes, old: str, new: str) -> bytes:
    """The interchange with another control reference in UNB and UNZ (envelope only)."""
    text = body.decode("utf-8")
    seg = text[8] if text.startswith("UNA") else "'"
    out = []
    for part in text.split(seg):
        if part.lstrip()[:3] in ("UNB", "UNG", "UNE", "UNZ"):
            part = re.sub(rf"(?<![0-9A-Za-z]){re.escape(old)}(?![0-9A-Za-z])", new, part)
        out.append(part)
    return seg.join(out).encode("utf-8")


@dataclass
class GatewayEnv:
    node: Node
    gateway: CarrierGateway
    base_url: str
    client: httpx.Client
    tokens: dict[str, str]

    def push(self, body: bytes, *, carrier: str, json: bool = True, **headers: str) -> httpx.Response:
        h = {"Authorization": f"Bearer {self.tokens[carrier]}", "Content-Type": "application/edifact"}
        if json:
            h["Accept"] = "application/json"
        h.update(headers)
        return self.client.post(PUSH_PATH, content=body, headers=h)

    def token_for(self, carrier: str, senders: tuple[str, ...] = ()) -> str:
        if carrier not in self.tokens:
            _, self.tokens[carrier] = issue_credential(
                self.node.engine, carrier=carrier, senders=senders, clock=self.node.clock
            )
        return self.tokens[carrier]


def make_node(engine: Engine, tmp_path: Path) -> Node:
    settings = Settings(
        database_url=SecretStr("sqlite://"),  # unused: the engine is handed over
        key_file=tmp_path / "keys.json",
        node_name="test.local/piu",
        max_message_bytes=MAX_BYTES,
    )
    keystore = LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True)
    return Node(settings, engine, keystore, SensitiveFilter.load(), SystemClock())


def gateway_settings(**overrides: object) -> GatewaySettings:
    values: dict[str, object] = {
        "recipients": RECIPIENT,
        "inline_workers": 0,
        "credential_ttl_seconds": 0,
        "lease_seconds": 60,
    }
    values.update(overrides)
    return GatewaySettings(**values)  # type: ignore[arg-type]


@contextmanager
def gateway_env(engine: Engine, tmp_path: Path, **settings: object) -> Iterator[GatewayEnv]:
    node = make_node(engine, tmp_path)
    gateway = CarrierGateway.build(node, gateway_settings(**settings))
    app = FastAPI()
    app.include_router(carrier_router(node, gateway=gateway))
    try:
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            yield GatewayEnv(node, gateway, base, client, {})
    finally:
        gateway.close()


@pytest.fixture
def gw(engine: Engine, tmp_path: Path) -> Iterator[GatewayEnv]:
    with gateway_env(engine, tmp_path) as env:
        yield env
