"""The node's overview page and health check show counts and never content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import httpx
from pydantic import SecretStr

from pnrguard.config import Settings
from pnrguard.service.bootstrap import Node
from pnrguard.web.app import create_app
from live_server import live_server


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
    with live_server(create_app(node)) as base, httpx.Client(base_url=base) as client:
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
