"""`pnrguard audit ...` end to end on an SQLite file and a key file: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from pnrguard.audit.checkpoint import Signer
from pnrguard.audit.merkle import leaf_hash
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.cli import app
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.store.audit import SqlAuditLog, audit_entry

pytestmark = pytest.mark.storage

NODE = "pnrguard.test/piu"


@pytest.fixture
def env(sqlite_engine: Engine, tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "keys" / "keys.json"
    LocalKeyFileStore(key_file, create_if_missing=True).signing_key()
    with sqlite_engine.begin() as conn:
        log = SqlAuditLog(conn, origin=NODE)
        for i in range(6):
            log.append(
                actor=f"user-{i}",
                role="analyst",
                operation=Operation.CONSULTATION,
                purpose=Purpose.CYBERCRIME,
                record_ids=(f"bk-{i}",),
                counts={"sensitive.health": i},
                reference="case-7",
            )
    return {
        "PNRGUARD_DATABASE_URL": str(sqlite_engine.url),
        "PNRGUARD_KEY_FILE": str(key_file),
        "PNRGUARD_NODE_NAME": NODE,
        "COLUMNS": "200",
    }


def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["audit", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_checkpoint_then_verify(env: dict[str, str]) -> None:
    code, out, _ = cli(env, "verify", "--strict")
    assert code == 1
    code, out, _ = cli(env, "checkpoint")
    assert code == 0
    assert out.startswith(f"{NODE}\n6\n")
    code, out, _ = cli(env, "verify", "--strict")
    assert code == 0, out
    assert out.startswith("OK: 6 entries (seq 0..5), 1 checkpoints verified")


def test_verify_with_the_published_key_only(env: dict[str, str]) -> None:
    cli(env, "checkpoint")
    code, vkey, _ = cli(env, "vkey")
    assert code == 0
    assert vkey.startswith(f"{NODE}+")
    public_only = {k: v for k, v in env.items() if k != "PNRGUARD_KEY_FILE"}
    public_only["PNRGUARD_KEY_FILE"] = "/nonexistent/keys.json"
    code, _, err = cli(public_only, "verify", "--vkey", vkey.strip())
    assert code == 0, err
    code, _, err = cli(public_only, "verify")
    assert code == 2
    assert "does not exist" in err


def test_verify_names_the_first_broken_seq(env: dict[str, str], sqlite_engine: Engine) -> None:
    cli(env, "checkpoint")
    with sqlite_engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 3).values(actor="user-9"))
    code, _, err = cli(env, "verify")
    assert code == 1
    assert "first broken seq 3: leaf_hash_mismatch" in err


def test_verify_with_another_key_is_tampering(env: dict[str, str]) -> None:
    cli(env, "checkpoint")
    other = Signer(name=NODE, private_key=Ed25519PrivateKey.generate()).verifier().vkey
    code, _, err = cli(env, "verify", "--vkey", other)
    assert code == 1
    assert "bad_signature" in err


def test_show_csv_and_table(env: dict[str, str]) -> None:
    code, out, _ = cli(env, "show", "--format", "csv", "--since", "2", "--limit", "3")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "seq,at,actor,role,operation,purpose,record_ids,counts,reference"
    assert [line.split(",")[0] for line in lines[1:]] == ["2", "3", "4"]
    assert lines[1].endswith(",consultation,cybercrime,bk-2,sensitive.health=2,case-7")
    code, out, _ = cli(env, "show", "--purpose", "cybercrime")
    assert code == 0
    assert "audit log (6 entries)" in out
    code, _, _ = cli(env, "show", "--format", "xml")
    assert code == 2


def test_export_json_lines_carry_verifiable_hashes(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    code, _, _ = cli(env, "export", "--output", str(target))
    assert code == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    for line in lines:
        obj = json.loads(line)
        leaf, _chain = obj.pop("leaf_hash"), obj.pop("chain_hash")
        entry = AuditEntry.from_json_obj(obj)
        assert leaf_hash(entry.canonical_bytes()).hex() == leaf
    code, out, _ = cli(env, "export", "--since", "5")
    assert code == 0
    assert [json.loads(x)["seq"] for x in out.splitlines()] == [5]


def test_an_unreadable_row_is_tampering_not_an_error(env: dict[str, str], sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 2).values(operation="peek"))
    code, _, err = cli(env, "verify")
    assert code == 1
    assert "first broken seq 2: malformed" in err
