"""Issue 10, item 7: operator paths. The attacks replayed through the real CLI on an SQLite
node: a self-declared DPO, a wrong role, a wrong password, a masked booking without a
decided unmasking, and `pnrguard demo` pointed at a database with real data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pnrguard.audit.models import Operation
from pnrguard.cli import app
from pnrguard.config import Settings
from pnrguard.domain.model import Booking, Leg, Source, Traveller
from pnrguard.protection.retention import EU_2016_681
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.clock import FixedClock
from pnrguard.service.retention import run_retention
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import watchlist
from pnrguard.store.tables import node_marker

pytestmark = pytest.mark.storage

PASSWORD = "correct horse battery staple"


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'node.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.delenv("PNRGUARD_OPERATOR_PASSWORD", raising=False)
    monkeypatch.delenv("PNRGUARD_OPERATOR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _real_booking(node: Node, *, channel: str = "push", at: dt.datetime | None = None) -> str:
    at = at or dt.datetime.now(dt.UTC)
    with node.engine.begin() as conn:
        mid = new_id()
        MessageRepository(conn, node.keystore).add(
            message_id=mid, received_at=at, sha256=mid.encode()[:32], size=1, channel=channel,
            status=MessageStatus.ACCEPTED,
        )  # fmt: skip
        b = Booking(
            source=Source.PNR,
            carrier="XY",
            locator="REAL01",
            reported_flight=Leg(carrier="XY", flight_number="1", origin="FRA", destination="JFK"),
            travellers=[Traveller(ref="1", surname="REALPERSONOVA", date_of_birth=dt.date(1970, 1, 2))],
        )
        repo = BookingRepository(conn, node.keystore, now=at)
        return repo.save_version(b, message_id=mid, received_at=at).booking_id


def _report_args(*extra: str) -> list[str]:
    return [
        "dpo", "access-report", "--surname", "realpersonova", "--carrier", "XY", "--locator", "REAL01", *extra
    ]  # fmt: skip


def _refusals(node: Node) -> int:
    with node.engine.connect() as conn:
        return len(SqlAuditLog(conn, origin=node.settings.node_name).entries(operation=Operation.REFUSAL))


def test_access_report_needs_an_authenticated_dpo(node_env: Path) -> None:
    runner = CliRunner()
    with Node.from_settings(Settings()) as node:
        _real_booking(node)
        accounts.create_account(
            node.engine, username="dpo1", role=Role.DPO, password=PASSWORD, now=node.clock()
        )
        accounts.create_account(
            node.engine, username="analyst1", role=Role.ANALYST, password=PASSWORD, now=node.clock()
        )
    # The attack of the issue: a self-declared name. The option is gone; nothing is shown.
    attack = runner.invoke(app, _report_args("--dpo", "anyone"))
    assert attack.exit_code != 0
    assert "REALPERSONOVA" not in attack.output
    # No account named, an unknown account, a wrong role, a wrong password: all refused (4).
    for args, stdin in (
        ((), PASSWORD),
        (("--user", "anyone", "--password-stdin"), PASSWORD),
        (("--user", "analyst1", "--password-stdin"), PASSWORD),
        (("--user", "dpo1", "--password-stdin"), "wrong password"),
        (("--user", "dpo1"), None),  # no password at all (not a terminal, no variable)
    ):
        r = runner.invoke(app, _report_args(*args), input=stdin)
        assert r.exit_code == 4, (args, r.output)
        assert "REALPERSONOVA" not in r.output
    with Node.from_settings(Settings()) as node:
        assert _refusals(node) == 5
    ok = runner.invoke(app, _report_args("--user", "dpo1", "--password-stdin"), input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert "REALPERSONOVA" in ok.output
    env = runner.invoke(
        app, _report_args("--user", "dpo1"), env={"PNRGUARD_OPERATOR_PASSWORD": PASSWORD}
    )  # scripts: the password from the environment
    assert env.exit_code == 0, env.output
    with Node.from_settings(Settings()) as node, node.engine.connect() as conn:
        log = SqlAuditLog(conn, origin=node.settings.node_name)
        consult = log.entries(operation=Operation.CONSULTATION)
    actors = {e.actor for e in consult}
    assert any(a.startswith("dpo1/os:") for a in actors), actors  # the account and the OS user


def test_a_masked_booking_is_not_unsealed_without_a_decided_unmasking(node_env: Path) -> None:
    runner = CliRunner()
    with Node.from_settings(Settings()) as node:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=220)
        bid = _real_booking(node, at=old)
        accounts.create_account(
            node.engine, username="dpo1", role=Role.DPO, password=PASSWORD, now=node.clock()
        )
        run_retention(
            engine=node.engine, keystore=node.keystore, audit=node.audit,
            clock=FixedClock(dt.datetime.now(dt.UTC)), profile=EU_2016_681,
        )  # fmt: skip
        with node.engine.connect() as conn:
            assert BookingRepository(conn, node.keystore).summary(bid).state == "masked"
    r = runner.invoke(app, _report_args("--user", "dpo1", "--password-stdin"), input=PASSWORD)
    assert r.exit_code == 0, r.output
    assert "REALPERSONOVA" not in r.output
    assert json.loads(r.output)["masked_not_opened"] == 1
    forged = runner.invoke(
        app, _report_args("--user", "dpo1", "--password-stdin", "--unmasking", "f" * 32), input=PASSWORD
    )  # an unmasking request id that no judge approved
    assert forged.exit_code == 0
    assert "REALPERSONOVA" not in forged.output
    with Node.from_settings(Settings()) as node, node.engine.connect() as conn:
        assert SqlAuditLog(conn, origin=node.settings.node_name).entries(operation=Operation.UNMASKING) == []


def _watchlists(node: Node) -> int:
    with node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(watchlist)).scalar_one())


def test_demo_refuses_a_database_holding_a_real_booking(node_env: Path) -> None:
    with Node.from_settings(Settings()) as node:
        _real_booking(node, channel="file")
        accounts.create_account(
            node.engine, username="dpo", role=Role.DPO, password=PASSWORD, now=node.clock()
        )
    r = CliRunner().invoke(app, ["demo", "--no-serve", "--flights", "2"])
    assert r.exit_code == 4, r.output
    assert "refused" in r.output
    with Node.from_settings(Settings()) as node:
        assert _watchlists(node) == 0  # no clear-text demo watchlist built from the real traveller
        assert accounts.authenticate(node.engine, username="dpo", password=PASSWORD, now=node.clock())
        with node.engine.connect() as conn:  # nothing else was ingested
            assert BookingRepository(conn, node.keystore).count() == 1


def test_demo_runs_on_its_own_database_and_refuses_it_once_real_data_arrived(node_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--no-serve", "--flights", "2"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, ["demo", "--no-serve", "--flights", "2"])
    assert again.exit_code == 0, again.output  # its own database: idempotent
    with Node.from_settings(Settings()) as node:
        with node.engine.connect() as conn:
            assert conn.execute(select(node_marker.c.name)).scalars().all() == ["demo"]
        _real_booking(node, channel="push")  # a carrier pushed to the demo node
    refused = runner.invoke(app, ["demo", "--no-serve", "--flights", "2"])
    assert refused.exit_code == 4, refused.output
