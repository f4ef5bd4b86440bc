"""The database administrator without the key file, replayed on SQLite and PostgreSQL.

He can rewrite every row of `audit_entry` and `audit_checkpoint` (and recompute every hash)
but cannot sign. Before: the node's own worker signed his rewritten log a minute later and
`audit verify` passed. Now: the signer's last checkpoint lives beside the key store, so the
worker refuses (and raises the alarm), and the DPO's exported checkpoints still contradict
the log. Each attack of issue 11 §1 is here: (a) rewrite with the checkpoints deleted,
(b) later checkpoints deleted and what follows rewritten or truncated, (c) truncation after
the last remaining checkpoint.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from pnrguard.audit.checkpoint import Verifier, open_checkpoint
from pnrguard.audit.export import CheckpointFile
from pnrguard.audit.log import GENESIS_CHAIN, Reason, chain_hash
from pnrguard.audit.merkle import leaf_hash, verify_consistency
from pnrguard.audit.models import Operation, Purpose
from pnrguard.cli import app
from pnrguard.config import Settings, audit_state_path
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service import audit_signing
from pnrguard.service.audit_signing import REFUSALS, CheckpointRefused
from pnrguard.service.bootstrap import Node
from pnrguard.service.gateway_settings import GatewaySettings
from pnrguard.service.worker import WorkerPool
from pnrguard.store.audit import SqlAuditLog, audit_checkpoint, audit_entry
from pnrguard.store.witness import export_file

pytestmark = pytest.mark.storage

NODE = "pnrguard.test/piu"


def make_node(engine: Engine, base: Path) -> Node:
    settings = Settings(
        database_url=SecretStr(str(engine.url)), key_file=base / "keys" / "keys.json", node_name=NODE
    )
    keystore = LocalKeyFileStore(settings.key_file, create_if_missing=True)
    return Node(settings, engine, keystore, SensitiveFilter.load())


@pytest.fixture
def node(engine: Engine, tmp_path: Path) -> Node:
    return make_node(engine, tmp_path)  # the engine fixture disposes of the engine


def verifier(node: Node) -> Verifier:
    return Verifier(name=NODE, public_key=node.keystore.signing_key().public_key())


def fill(node: Node, n: int) -> None:
    with node.engine.begin() as conn:
        log = node.audit(conn)
        for _ in range(n):
            i = log.size()
            log.append(
                actor=f"user-{i % 4}",
                role="analyst",
                operation=Operation.CONSULTATION,
                purpose=Purpose.CYBERCRIME,
                record_ids=(f"bk-{i}",),
                counts={"travellers": 1},
            )


def signed(node: Node, n: int) -> None:
    """Append n entries, then the worker's checkpoint."""
    fill(node, n)
    node.checkpoint_audit()


def exported(node: Node) -> CheckpointFile:
    with node.engine.connect() as conn:
        return export_file(SqlAuditLog(conn, origin=NODE), verifier(node))


def verify(node: Node, kept: CheckpointFile | None = None) -> Reason | None:
    with node.engine.connect() as conn:
        report = SqlAuditLog(conn, origin=NODE).verify(
            verifier(node), kept_checkpoints=kept.notes if kept else ()
        )
    return report.reason


# --- what the database administrator does ---------------------------------------------------


def rewrite(engine: Engine, *, change: set[int], from_seq: int = 0) -> None:
    """Change the actor of the entries in `change` and re-hash every row from `from_seq` on,
    leaf and chain, so the stored hashes agree with each other (no key needed)."""
    with engine.begin() as conn:
        records = list(SqlAuditLog(conn, origin=NODE).records())
        prev = GENESIS_CHAIN
        for rec in records:
            if rec.entry.seq < from_seq:
                prev = rec.chain_hash
                continue
            entry = rec.entry
            if entry.seq in change:
                entry = dataclasses.replace(entry, actor="forger")
            leaf = leaf_hash(entry.canonical_bytes())
            prev = chain_hash(prev, leaf)
            conn.execute(
                update(audit_entry)
                .where(audit_entry.c.seq == entry.seq)
                .values(actor=entry.actor, leaf_hash=leaf, chain_hash=prev)
            )


def drop_checkpoints(engine: Engine, *, above: int = -1) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_checkpoint).where(audit_checkpoint.c.tree_size > above))


def truncate(engine: Engine, *, keep: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_entry).where(audit_entry.c.seq >= keep))


def refused(node: Node) -> str:
    with pytest.raises(CheckpointRefused) as exc:
        node.checkpoint_audit()
    return exc.value.reason


# --- the honest path --------------------------------------------------------------------------


def test_each_checkpoint_is_a_proven_extension_of_the_one_kept_beside_the_key(node: Node) -> None:
    signed(node, 7)
    first = audit_signing.load_state(node)
    assert first.size == 7
    assert audit_state_path(node.settings).parent == node.settings.key_file.parent
    fill(node, 10)
    result = audit_signing.sign(node)
    assert result is not None
    assert (result.previous.size, result.state.size) == (7, 17)
    assert verify_consistency(
        old_size=7,
        new_size=17,
        old_root=first.checkpoint.root,
        new_root=result.state.checkpoint.root,
        proof=result.proof,
    )
    assert audit_signing.sign(node) is None  # nothing new
    assert audit_signing.load_state(node).note == result.note
    with node.engine.connect() as conn:
        assert SqlAuditLog(conn, origin=NODE).verify(verifier(node), require_signed_tail=True).ok


# --- (a) the whole log re-hashed with two entries changed, the checkpoints deleted ------------


def test_a_rewritten_log_is_not_signed_and_contradicts_the_exported_checkpoints(node: Node) -> None:
    registry = CollectorRegistry()
    registry.register(REFUSALS)
    before = registry.get_sample_value(
        "pnrguard_audit_checkpoint_refusals_total", {"reason": "chain_hash_mismatch"}
    )
    signed(node, 20)
    signed(node, 5)
    kept = exported(node)  # the DPO's copy
    assert len(kept.notes) == 2

    rewrite(node.engine, change={3, 11})
    drop_checkpoints(node.engine)
    assert verify(node) is None  # the database alone now proves nothing: it "verifies"

    assert refused(node) == "chain_hash_mismatch"
    fill(node, 3)  # new activity does not make the forged history signable
    assert refused(node) == "chain_hash_mismatch"
    with node.engine.connect() as conn:
        assert SqlAuditLog(conn, origin=NODE).stored_checkpoints() == []
        alarms = SqlAuditLog(conn, origin=NODE).entries(operation=Operation.REFUSAL)
    assert [a.counts for a in alarms][-1] == {"audit.checkpoint.refused.chain_hash_mismatch": 1}
    after = registry.get_sample_value(
        "pnrguard_audit_checkpoint_refusals_total", {"reason": "chain_hash_mismatch"}
    )
    assert (after or 0) - (before or 0) == 2
    assert verify(node, kept) is Reason.ROOT_MISMATCH


def test_a_rewrite_that_keeps_the_checkpoint_rows_is_still_caught(node: Node) -> None:
    signed(node, 12)
    rewrite(node.engine, change={4})
    assert refused(node) == "chain_hash_mismatch"
    assert verify(node) is Reason.ROOT_MISMATCH


# --- (b) later checkpoints deleted, then what follows rewritten or truncated ------------------


def test_b_deleted_later_checkpoints_then_rewritten_tail(node: Node) -> None:
    for _ in range(3):
        signed(node, 10)  # checkpoints at 10, 20, 30
    kept = exported(node)
    drop_checkpoints(node.engine, above=10)
    rewrite(node.engine, change={14, 25}, from_seq=10)
    assert verify(node) is None  # what is left in the database agrees with itself
    assert refused(node) == "chain_hash_mismatch"
    assert verify(node, kept) is Reason.ROOT_MISMATCH


def test_b_deleted_later_checkpoints_then_truncated(node: Node) -> None:
    for _ in range(3):
        signed(node, 10)
    kept = exported(node)
    drop_checkpoints(node.engine, above=10)
    truncate(node.engine, keep=15)
    assert verify(node) is None
    assert refused(node) == "truncated"
    fill(node, 20)  # regrown past the signed size: another history all the same
    assert refused(node) == "chain_hash_mismatch"
    assert verify(node, kept) is Reason.ROOT_MISMATCH


# --- (c) truncation after the last remaining checkpoint ---------------------------------------


def test_c_truncation_after_the_last_checkpoint(node: Node) -> None:
    signed(node, 20)
    signed(node, 10)  # the last checkpoint: 30
    kept = exported(node)
    truncate(node.engine, keep=26)
    assert verify(node) is Reason.TRUNCATED  # the checkpoint row still says 30
    drop_checkpoints(node.engine, above=20)
    assert verify(node) is None  # ... so he deletes it too
    assert refused(node) == "truncated"
    assert verify(node, kept) is Reason.TRUNCATED


# --- the file itself ------------------------------------------------------------------------


def test_missing_state_file_is_refused_until_adopted_after_a_full_verification(node: Node) -> None:
    signed(node, 6)
    path = audit_state_path(node.settings)
    path.unlink()
    assert refused(node) == "signer_state_missing"
    state = audit_signing.adopt(node)
    assert state.size == 6
    signed(node, 2)
    assert audit_signing.load_state(node).size == 9  # 6, the refusal's own entry, 2 more

    path.unlink()  # and when the log was rewritten meanwhile, adopting is refused
    rewrite(node.engine, change={1})
    with pytest.raises(Exception, match="root_mismatch"):
        audit_signing.adopt(node)
    assert not path.exists()


def test_a_state_file_signed_by_another_key_is_refused(node: Node, tmp_path: Path) -> None:
    signed(node, 4)
    other = make_node(node.engine, tmp_path / "other")
    other_path = audit_state_path(other.settings)
    other_path.write_text(audit_state_path(node.settings).read_text())
    assert refused(other) == "bad_signature"


# --- the CLI, end to end (SQLite file) --------------------------------------------------------


def test_cli_export_then_verify_against_and_refuse_to_sign(sqlite_engine: Engine, tmp_path: Path) -> None:
    n = make_node(sqlite_engine, tmp_path)
    env = {
        "PNRGUARD_DATABASE_URL": str(sqlite_engine.url),
        "PNRGUARD_KEY_FILE": str(n.settings.key_file),
        "PNRGUARD_NODE_NAME": NODE,
        "COLUMNS": "200",
    }

    def cli(*args: str) -> tuple[int, str, str]:
        r = CliRunner().invoke(app, ["audit", *args], env=env)
        return r.exit_code, r.stdout, r.stderr

    fill(n, 9)
    code, out, _ = cli("checkpoint")
    assert code == 0
    open_checkpoint(out, verifier(n), origin=NODE)
    kept = tmp_path / "dpo-checkpoints.json"
    code, out, _ = cli("export-checkpoints", "--output", str(kept))
    assert (code, out.strip()) == (0, f"1 checkpoints written to {kept}")
    code, out, err = cli("verify", "--against", str(kept), "--strict")
    assert code == 0, err
    fill(n, 4)
    assert cli("checkpoint")[0] == 0
    newest = tmp_path / "newest.json"
    assert cli("export-checkpoints", "--output", str(newest), "--latest", "1")[0] == 0
    assert len(CheckpointFile.from_json(newest.read_text()).notes) == 1

    rewrite(sqlite_engine, change={2})
    drop_checkpoints(sqlite_engine)
    code, _, err = cli("verify", "--strict")
    assert code == 1  # nothing signed at all any more
    for f in (kept, newest):  # the newest checkpoint alone binds everything before it
        code, _, err = cli("verify", "--against", str(f))
        assert code == 1
        assert "root_mismatch" in err
    code, _, err = cli("checkpoint")
    assert code == 1
    assert "REFUSED" in err
    assert "chain_hash_mismatch" in err
    code, _, err = cli("verify", "--witnesses", "1")
    assert code == 1


def test_the_worker_pool_raises_the_alarm_and_keeps_working(node: Node) -> None:
    signed(node, 5)
    rewrite(node.engine, change={0})
    pool = WorkerPool(node, GatewaySettings())
    pool.checkpoint()  # refused, alarmed, not raised: the workers go on ingesting
    with node.engine.connect() as conn:
        last = SqlAuditLog(conn, origin=NODE).entries(operation=Operation.REFUSAL)[-1]
    assert last.actor == "system:audit-signer"
    assert last.purpose is Purpose.SYSTEM_SECURITY
    assert audit_signing.load_state(node).size == 5


def test_an_in_place_edit_is_not_signed_over_and_verify_names_it(node: Node) -> None:
    signed(node, 10)
    kept = exported(node)
    with node.engine.begin() as conn:  # content changed, stored hashes left alone
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 3).values(actor="forger"))
    signed(node, 5)  # the signer signs the true root (from its own frontier), not the edit
    with node.engine.connect() as conn:
        report = SqlAuditLog(conn, origin=NODE).verify(verifier(node), kept_checkpoints=kept.notes)
    assert (report.reason, report.first_broken_seq) == (Reason.LEAF_HASH_MISMATCH, 3)
