"""Carrier data quality in the workspace and the CLI: staff see numbers per carrier and
day, never content; analysts and carriers' staff accounts do not get the page."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner
from workspace_env import PASSWORD, login

from edifact_inputs import ADULT, DOCS_ADULT, pnr
from live_server import live_server
from pnrguard.cli import app as cli_app
from pnrguard.config import Settings
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.web.app import create_app

PERSONAL = ("RAVAL", "CHRISTOPHER", "117557052", "0995F0")


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'node.db'}"),
        key_file=tmp_path / "keys.json",
        node_name="test.local/piu",
    )
    with Node.from_settings(settings) as n:
        n.ingest(pnr(ADULT, DOCS_ADULT, "TI+X'").encode())  # one read, with a deviation
        n.ingest(pnr("TIF+DOE+JANE:A:1'").replace("0995F0", "ABC123").encode())  # no API data
        n.ingest(pnr(ADULT).encode()[:120])  # truncated: quarantined
        yield n


def test_staff_see_the_figures_analysts_do_not(node: Node) -> None:
    for name, role in (("admin", Role.ADMIN), ("sup", Role.SUPERVISOR), ("ana", Role.ANALYST)):
        accounts.create_account(node.engine, username=name, role=role, password=PASSWORD, now=node.clock())
    with live_server(create_app(node)) as base:
        with httpx.Client(base_url=base) as client:
            assert client.get("/quality").status_code == 401
            assert login(client, "ana", PASSWORD).status_code == 303
            assert client.get("/quality").status_code == 403
            assert client.get("/quality.csv").status_code == 403
        for name in ("admin", "sup"):
            with httpx.Client(base_url=base) as client:
                assert login(client, name, PASSWORD).status_code == 303
                page = client.get("/quality")
                sheet = client.get("/quality.csv")
                assert page.status_code == 200
                assert "Carrier quality" in page.text  # in the navigation
                assert "UA ·" in page.text
                assert "irregular_tag" in page.text
                assert "edifact_syntax" in page.text
                rows = list(csv.DictReader(io.StringIO(sheet.text)))
                for personal in PERSONAL:
                    assert personal not in page.text
                    assert personal not in sheet.text
    (row,) = rows
    assert (row["carrier"], row["messages"], row["accepted"], row["quarantined"]) == ("UA", "3", "2", "1")
    assert (row["travellers"], row["api_share"], row["element.04"]) == ("2", "0.500", "1.000")
    assert row["deviation.irregular_tag"] == "1"
    assert row["quarantine.edifact_syntax"] == "1"


def test_cli_table_and_csv(node: Node, tmp_path: Path) -> None:
    env = {
        "PNRGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'node.db'}",
        "PNRGUARD_KEY_FILE": str(tmp_path / "keys.json"),
        "PNRGUARD_NODE_NAME": "test.local/piu",
        "COLUMNS": "250",
    }
    runner = CliRunner()
    table = runner.invoke(cli_app, ["carriers", "quality"], env=env)
    assert table.exit_code == 0, table.output
    assert "UA" in table.stdout
    assert "50%" in table.stdout
    assert "edifact_syntax 1" in table.stdout
    sheet = runner.invoke(cli_app, ["carriers", "quality", "--format", "csv", "--carrier", "UA"], env=env)
    assert sheet.exit_code == 0
    (row,) = list(csv.DictReader(io.StringIO(sheet.stdout)))
    assert row["bookings"] == "2"
    none = runner.invoke(cli_app, ["carriers", "quality", "--format", "csv", "--carrier", "LH"], env=env)
    assert none.stdout.strip().count("\n") == 0  # the header only
    assert runner.invoke(cli_app, ["carriers", "quality", "--since", "soon"], env=env).exit_code == 2
    for personal in PERSONAL:
        assert personal not in table.stdout + sheet.stdout
