"""`pnrguard demo` shows every role's day from a fresh database, dated from today: flights
departing in the coming days, watchlist and rule hits on them, masked bookings of seven
months ago and an unmasking request waiting for a judge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pnrguard.cli import app
from pnrguard.config import Settings
from pnrguard.service.bootstrap import Node
from pnrguard.service.demo_scenario import DEMO_CRITERION
from pnrguard.store.lifecycle import unmasking_request
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

pytestmark = [pytest.mark.storage, pytest.mark.slow]


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'node.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_demo_stages_upcoming_flights_rule_hits_masked_bookings_and_a_judges_queue(node_env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--no-serve", "--flights", "8"])
    assert first.exit_code == 0, first.output
    today = dt.datetime.now(dt.UTC).date()
    with Node.from_settings(Settings()) as node, node.engine.connect() as conn:
        days = conn.execute(
            select(booking.c.flight_date).where(booking.c.state == "active").distinct()
        ).scalars().all()  # fmt: skip
        assert days
        assert all(today <= d <= today + dt.timedelta(days=3) for d in days if d is not None)
        kinds = dict(
            conn.execute(
                select(hit.c.kind, func.count()).where(hit.c.status == "open").group_by(hit.c.kind)
            ).all()
        )
        assert kinds.get("rule", 0) > 0
        assert kinds.get("watchlist", 0) > 0
        assert conn.execute(
            select(func.count()).select_from(booking).where(booking.c.state == "masked")
        ).scalar_one() > 0  # fmt: skip
        pending = conn.execute(
            select(unmasking_request.c.id).where(unmasking_request.c.status == "pending")
        ).all()  # fmt: skip
        assert len(pending) == 1
        rule_ids = {r for r in conn.execute(select(hit.c.match_key).where(hit.c.kind == "rule")).scalars()}
        assert any(DEMO_CRITERION in r for r in rule_ids)
    again = runner.invoke(app, ["demo", "--no-serve", "--flights", "8"])
    assert again.exit_code == 0, again.output  # idempotent: nothing staged twice
    with Node.from_settings(Settings()) as node, node.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(unmasking_request)).scalar_one() == 1
