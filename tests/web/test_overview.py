"""The node's overview page and health check show counts and never content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from workspace_env import PASSWORD, login

from live_server import live_server
from pnrguard.config import Settings
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.web.app import create_app


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'node.db'}"),
        key_file=tmp_path / "keys.json",
        node_name="test.local/piu",
    )
    with Node.from_settings(settings) as n:
        yield n


def test_overview_counts_ingested_messages_without_personal_data(node: Node, conformance_dir: Path) -> None:
    sample = (conformance_dir / "gtas" / "pnr-messages-2_pnrs_basic.edi").read_bytes()
    node.ingest(sample)
    node.ingest(sample)  # the same message again is a duplicate
    node.ingest(b"UNB+IATA:1+XX+YY+240101:0000+1'UNH+1+PNRGOV:13:1:IA'")  # truncated
    accounts.create_account(
        node.engine, username="admin", role=Role.ADMIN, password=PASSWORD, now=node.clock()
    )
    with live_server(create_app(node)) as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/overview").status_code == 401  # counts are for logged-in staff
        assert login(client, "admin", PASSWORD).status_code == 303
        api = client.get("/api/overview").json()
        page = client.get("/")
    assert api["messages"] == {"accepted": 1, "duplicate": 1, "quarantined": 1}
    assert api["bookings"] == 2
    assert page.status_code == 200
    assert "messages quarantined" in page.text
    for personal in ("SMITH", "JONES", "MFN4TI", "123456789"):
        assert personal not in page.text


def test_health_reports_ok(node: Node) -> None:
    with live_server(create_app(node)) as base:
        response = httpx.get(f"{base}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
