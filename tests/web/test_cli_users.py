"""`pnrguard users ...` on an embedded node: the CLI follows the workspace's rules."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from pnrguard.cli import app
from pnrguard.config import Settings
from pnrguard.service import account_admin, carrier_admin, totp
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node

pytestmark = pytest.mark.storage


def _clear_step(env: dict[str, str], username: str) -> None:
    """Let one person act twice within 30 s (a code is accepted once per step)."""
    from sqlalchemy import text

    with Node.from_settings(Settings()) as node, node.engine.begin() as conn:
        conn.execute(text("UPDATE account SET totp_last_step = NULL WHERE username = :u"), {"u": username})


def _embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An embedded node's settings, for the CLI and for this process."""
    env = {
        "PNRGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        "PNRGUARD_KEY_FILE": str(tmp_path / "k.json"),
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def _enrol(people: dict[str, Role]) -> dict[str, str]:
    """Enrol people as their links would; their TOTP secrets, known to the test."""
    secrets_ = {name: totp.new_secret() for name in people}
    with Node.from_settings(Settings()) as node:
        for name, role in people.items():
            account_admin.provision_enrolled(
                node.engine, node.keystore, username=name, role=role, password="p" * 16,
                totp_secret=secrets_[name], now=node.clock(),
            )  # fmt: skip
    return secrets_


def test_bootstrap_then_two_people_grant_power(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = _embedded(tmp_path, monkeypatch)
    runner = CliRunner()
    boot = runner.invoke(app, ["users", "bootstrap", "--admin", "root", "--dpo", "dpo"], env=env)
    assert boot.exit_code == 0, boot.output
    assert re.search(r"enrol at http://\S+/enrol/\S+ with code [0-9A-F]{8}", boot.output)
    again = runner.invoke(app, ["users", "bootstrap", "--admin", "x1", "--dpo", "x2"], env=env)
    assert again.exit_code == 2  # a node with people is never bootstrapped again
    secrets_ = _enrol({"root": Role.ADMIN, "dpo": Role.DPO})
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


def test_carrier_credentials_from_the_cli_are_audited_like_the_web(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pnrguard carriers add|rotate|revoke --as` go through `service.carrier_admin`, as
    `/admin/carriers` does: one *alteration* per change naming the administrator and the
    credential id, never the token; only an administrator proven by their code may act."""
    from pnrguard.audit.models import Operation, Purpose

    env = _embedded(tmp_path, monkeypatch)
    secrets_ = _enrol({"root": Role.ADMIN, "ana": Role.ANALYST})
    runner = CliRunner()

    def run(*args: str, who: str = "root", code: str | None = None) -> tuple[int, str, str]:
        _clear_step(env, who)
        r = runner.invoke(
            app, ["carriers", *args, "--as", who, "--code", code or pyotp.TOTP(secrets_[who]).now()], env=env
        )
        return r.exit_code, r.stdout, r.output

    # Refused: not an administrator, or a wrong code; nothing issued.
    assert run("add", "LH", who="ana")[0] == 2
    assert run("add", "LH", code="000000")[0] == 2
    assert runner.invoke(app, ["carriers", "add", "LH"], env=env).exit_code != 0  # nobody acts
    with Node.from_settings(Settings()) as node:
        assert carrier_admin.list_all(node) == []

    code, token, _ = run("add", "LH", "--sender", "LHPNR")
    assert code == 0
    token = token.strip().splitlines()[-1]
    with Node.from_settings(Settings()) as node:
        [first] = carrier_admin.list_all(node)
    code, out, output = run("rotate", first.id)
    assert code == 0, output
    new_token = out.strip().splitlines()[-1]
    assert new_token != token
    with Node.from_settings(Settings()) as node:
        [second] = [c for c in carrier_admin.list_all(node) if c.id != first.id]
    assert run("revoke", second.id)[0] == 0
    assert run("revoke", second.id)[0] == 1  # nothing active with that id

    with Node.from_settings(Settings()) as node, node.engine.connect() as conn:
        entries = [
            e
            for e in node.audit(conn).entries(operation=Operation.ALTERATION)
            if any(k.startswith("carrier.credential.") for k in e.counts)
        ]
    seen = [(e.actor, e.role, e.purpose, e.reference, list(e.record_ids), dict(e.counts)) for e in entries]
    assert seen == [
        ("root", "admin", Purpose.SYSTEM_SECURITY, first.id, [f"credential:{first.id}"],
         {"carrier.credential.issued": 1}),
        ("root", "admin", Purpose.SYSTEM_SECURITY, second.id, [f"credential:{second.id}"],
         {"carrier.credential.issued": 1}),
        ("root", "admin", Purpose.SYSTEM_SECURITY, first.id, [f"credential:{first.id}"],
         {"carrier.credential.rotated": 1}),
        ("root", "admin", Purpose.SYSTEM_SECURITY, second.id, [f"credential:{second.id}"],
         {"carrier.credential.revoked": 1}),
    ]  # fmt: skip
    assert all(token not in repr(e) and new_token not in repr(e) for e in entries)
