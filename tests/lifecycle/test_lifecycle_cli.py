"""`pnrguard retention run|status` and `pnrguard dpo ...` through the real CLI on an SQLite
node (the service functions are tested on both databases elsewhere)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pnrguard.cli import app
from pnrguard.config import Settings
from pnrguard.domain.model import Booking, Leg, Source, Traveller
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, new_id

pytestmark = pytest.mark.storage


def test_retention_and_dpo_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'node.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    with Node.from_settings(Settings()) as node, node.engine.begin() as conn:
        mid = new_id()
        MessageRepository(conn, node.keystore).add(
            message_id=mid,
            received_at=old,
            sha256=mid.encode()[:32],
            size=1,
            channel="test",
            status=MessageStatus.ACCEPTED,
        )
        b = Booking(
            source=Source.PNR,
            carrier="XY",
            locator="CLI001",
            reported_flight=Leg(carrier="XY", flight_number="1", origin="FRA", destination="JFK"),
            travellers=[Traveller(ref="1", surname="CLITEST")],
        )
        BookingRepository(conn, node.keystore, now=old).save_version(b, message_id=mid, received_at=old)
    with Node.from_settings(Settings()) as node:
        accounts.create_account(
            node.engine, username="dpo1", role=Role.DPO, password="correct horse battery staple", now=old
        )
    runner = CliRunner()
    status = runner.invoke(app, ["retention", "status"])
    assert status.exit_code == 0, status.output
    assert "mask" in status.output
    done = runner.invoke(app, ["retention", "run", "--worker", "cli-test", "--profile", "eu-2016-681"])
    assert done.exit_code == 0, done.output
    [masked_line] = [line for line in done.output.splitlines() if "bookings.masked" in line]
    assert masked_line.split()[-2] == "1"
    again = runner.invoke(app, ["retention", "run"])
    assert again.exit_code == 0
    stats = runner.invoke(
        app, ["dpo", "stats", "--from", "2000-01-01", "--to", "2100-01-01", "--format", "csv"]
    )
    assert stats.exit_code == 0, stats.output
    assert "passengers_collected,total,1" in stats.output
    approvals = runner.invoke(app, ["dpo", "approvals", "--format", "csv"])
    assert approvals.exit_code == 0
    assert approvals.output.startswith("request_id,")
    report = runner.invoke(
        app,
        [
            "dpo",
            "access-report",
            "--surname",
            "clitest",
            "--carrier",
            "XY",
            "--locator",
            "CLI001",
            "--user",
            "dpo1",
            "--password-stdin",
        ],
        input="correct horse battery staple\n",
    )
    assert report.exit_code == 0, report.output
    # Masked by the run above: not opened without a decided unmasking (Art. 12(3)).
    assert "CLITEST" not in report.output
    assert '"masked_not_opened": 1' in report.output
    audit = runner.invoke(app, ["dpo", "audit", "--operation", "masking"])
    assert audit.exit_code == 0
    assert "system:retention" in audit.output
    bad = runner.invoke(app, ["retention", "run", "--profile", "nope"])
    assert bad.exit_code == 2
