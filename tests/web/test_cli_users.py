"""`pnrguard users add|list|disable` on an embedded node."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pnrguard.cli import app

pytestmark = pytest.mark.storage


def test_users_add_list_disable(tmp_path: Path) -> None:
    env = {
        "PNRGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        "PNRGUARD_KEY_FILE": str(tmp_path / "k.json"),
    }
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "alice", "--role", "analyst"], env=env)
    assert added.exit_code == 0, added.output
    assert "password (shown once)" in added.output
    machine = runner.invoke(app, ["users", "add", "lh-push", "--role", "carrier"], env=env)
    assert machine.exit_code == 0
    assert "password" not in machine.output
    assert runner.invoke(app, ["users", "add", "alice", "--role", "dpo"], env=env).exit_code == 2
    assert runner.invoke(app, ["users", "disable", "alice"], env=env).exit_code == 0
    listed = runner.invoke(app, ["users", "list", "--format", "csv"], env=env)
    assert "alice,analyst,password,True," in listed.output
    assert "lh-push,carrier,machine,False," in listed.output
    assert "$argon2" not in listed.output
