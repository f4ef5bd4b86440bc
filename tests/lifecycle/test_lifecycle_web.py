"""The DPO's pages render from real data (the session guard is the workspace's, tested by its
route walk; here it is replaced by a DPO account so the pages themselves are exercised)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from live_server import live_server
from pnrguard.config import Settings
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.web import dpo as dpo_web

pytestmark = pytest.mark.storage


def test_bar_chart_is_plain_svg_with_escaped_labels() -> None:
    svg = dpo_web.bar_chart_svg([("hits", 10), ("<list>", 5), ("zero", 0)])
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count("<rect") == 3
    assert "&lt;list&gt;" in svg
    assert "<list>" not in svg
    assert "<script" not in svg


def test_dpo_pages_are_dpo_only_and_render(tmp_path: Path) -> None:
    assert dpo_web._DPO.dependency.roles == frozenset({Role.DPO})  # type: ignore[union-attr]
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", key_file=tmp_path / "k.json")  # type: ignore[arg-type]
    with Node.from_settings(settings) as node:
        app = FastAPI()
        app.state.node = node
        app.include_router(dpo_web.router)
        app.dependency_overrides[dpo_web._DPO.dependency] = lambda: None  # type: ignore[index]
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            year = dt.date.today().year
            page = client.get(f"/dpo/statistics?from={year}-01-01&to={year + 1}-01-01")
            assert page.status_code == 200
            assert "<svg" in page.text
            assert "passengers collected" in page.text
            csv_ = client.get("/dpo/statistics.csv")
            assert csv_.status_code == 200
            assert csv_.headers["content-type"].startswith("text/csv")
            assert csv_.text.startswith("period_start,")
            for path in ("/dpo/audit?operation=masking", "/dpo/approvals"):
                assert client.get(path).status_code == 200, path
            assert client.get("/dpo/audit.csv").text.startswith("seq,at,actor")
            assert client.get("/dpo/approvals.csv").text.startswith("request_id,")
