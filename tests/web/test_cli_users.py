"""`pnrguard users ...` on an embedded node: the CLI follows the workspace's rules."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from pnrguard.cli import app
from pnrguard.config import Settings
from pnrguard.service import account_admin, totp
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node

pytestmark = pytest.mark.storage


def _clear_step(env: dict[str, str], username: str) -> None:
    """Let one person act twice within 30 s (a code is accepted once per step)."""
    from sqlalchemy import text

    with Node.from_settings(Settings()) as node, node.engine.begin() as conn:
        conn.execute(text("UPDATE account SET totp_last_step = NULL WHERE username = :u"), {"u": username})


def test_bootstrap_then_two_people_grant_power(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "PNRGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        "PNRGUARD_KEY_FILE": str(tmp_path / "k.json"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    boot = runner.invoke(app, ["users", "bootstrap", "--admin", "root", "--dpo", "dpo"], env=env)
    assert boot.exit_code == 0, boot.output
    assert re.search(r"enrol at http://\S+/enrol/\S+ with code [0-9A-F]{8}", boot.output)
    again = runner.invoke(app, ["users", "bootstrap", "--admin", "x1", "--dpo", "x2"], env=env)
    assert again.exit_code == 2  # a node with people is never bootstrapped again
    # Enrol both as the links would (TOTP secrets known to the test).
    secrets_ = {"root": totp.new_secret(), "dpo": totp.new_secret()}
    with Node.from_settings(Settings()) as node:
        for name, role in (("root", Role.ADMIN), ("dpo", Role.DPO)):
            account_admin.provision_enrolled(
                node.engine, node.keystore, username=name, role=role, password="p" * 16,
                totp_secret=secrets_[name], now=node.clock(),
            )  # fmt: skip
    code = pyotp.TOTP(secrets_["root"]).now
    wrong = runner.invoke(
        app, ["users", "add", "alice", "--role", "analyst", "--as", "root", "--code", "000000"], env=env
    )
    assert wrong.exit_code == 2
    added = runner.invoke(
        app, ["users", "add", "alice", "--role", "analyst", "--as", "root", "--code", code()], env=env
    )
    assert added.exit_code == 0, added.output
    assert "password" not in added.output.lower()
    assert "/enrol/" in added.output
    change = re.search(r"change (\w+)", added.output)
    assert change
    _clear_step(env, "root")
    own = runner.invoke(app, ["users", "approve", change.group(1), "--as", "root", "--code", code()], env=env)
    assert own.exit_code == 2
    assert "second person" in own.output
    ok = runner.invoke(
        app,
        ["users", "approve", change.group(1), "--as", "dpo", "--code", pyotp.TOTP(secrets_["dpo"]).now()],
        env=env,
    )
    assert ok.exit_code == 0, ok.output
    assert re.search(r"enrolment code for the person \(shown once\): [0-9A-F]{8}", ok.output)
    _clear_step(env, "root")
    machine = runner.invoke(
        app, ["users", "add", "lh-push", "--role", "carrier", "--as", "root", "--code", code()], env=env
    )
    assert machine.exit_code == 0
    _clear_step(env, "root")
    assert (
        runner.invoke(app, ["users", "disable", "alice", "--as", "root", "--code", code()], env=env).exit_code
        == 0
    )
    listed = runner.invoke(app, ["users", "list", "--format", "csv"], env=env)
    assert "alice,analyst,password,True," in listed.output
    assert "lh-push,carrier,machine,False," in listed.output
    assert "$argon2" not in listed.output
