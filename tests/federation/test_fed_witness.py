"""Three nodes on loopback witness each other's audit logs (C2SP tlog-witness over the
mutual-TLS peer channel, every request and answer signed): A and B on SQLite files, C on
PostgreSQL, each its own `pnrguard peers serve` process.

Replayed: honest growth cosigned by both peers; a second history of the same size shown to
a witness that cosigned the first (refused, kept as evidence); a split view (one history
to B, another to C) that each witness accepts once and that then cannot go on, and that
`audit verify --witnesses 2` refuses; and a node whose operator wiped its checkpoints and
its own record to re-sign a rewritten log: its witnesses refuse.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fed_env import PG_URL, Member, make_member, start, stop, trust, wait_ready
from sqlalchemy import delete, select, text, update
from typer.testing import CliRunner

from pnrguard.audit.checkpoint import Checkpoint, Signer, sign_checkpoint
from pnrguard.audit.cosignature import CosignerKey, valid_cosignatures
from pnrguard.audit.log import GENESIS_CHAIN, chain_hash
from pnrguard.audit.merkle import consistency_proof, leaf_hash, root
from pnrguard.audit.models import Operation, Purpose
from pnrguard.audit.witness import submission_body
from pnrguard.cli import app
from pnrguard.config import audit_state_path
from pnrguard.exchange.identity import raw_public_key
from pnrguard.exchange.peers import Peer
from pnrguard.service import audit_signing
from pnrguard.service.witness import ADD_CHECKPOINT_PATH, SUBMISSION_TYPE, sign_and_witness
from pnrguard.store.audit import SqlAuditLog, audit_checkpoint, audit_entry
from pnrguard.store.db import make_engine
from pnrguard.store.exchange import SqlPeerDirectory
from pnrguard.store.witness import audit_cosignature, count_witnesses, witness_evidence, witness_state

# The tests share one module-scoped trio and build on each other's history, in file order:
# one xdist worker runs a whole file (`--dist loadfile`, pyproject.toml).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Member, Member, Member]]:
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    base = tmp_path_factory.mktemp("witness")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    members: list[Member] = []
    try:
        a = make_member(base, "a.piu", f"sqlite:///{base / 'a.db'}", country="AT")
        b = make_member(base, "b.piu", f"sqlite:///{base / 'b.db'}", country="BE")
        c = make_member(base, "c.piu", f"{PG_URL}?options=-csearch_path%3D{schema}", country="CY")
        members = [a, b, c]
        for x in members:
            for y in members:
                if x is not y:
                    trust(x, y)
        for m in members:
            start(m)
        for m in members:
            wait_ready(m)
        yield a, b, c
    finally:
        for m in members:  # our keep-alive connections first, or each server waits them out
            m.close()
        for m in members:
            stop(m)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def fill(m: Member, n: int) -> None:
    with m.node.engine.begin() as conn:
        log = m.node.audit(conn)
        for _ in range(n):
            log.append(
                actor="analyst-1",
                role="analyst",
                operation=Operation.CONSULTATION,
                purpose=Purpose.CYBERCRIME,
                record_ids=(f"bk-{log.size()}",),
            )


def peer(m: Member, name: str) -> Peer:
    with m.node.engine.connect() as conn:
        p = SqlPeerDirectory(conn).by_name(name)
    assert p is not None
    return p


def witnessed(m: Member) -> tuple[int, int, int]:
    with m.node.engine.connect() as conn:
        log = SqlAuditLog(conn, origin=m.name)
        return count_witnesses(log, Signer(m.name, m.node.keystore.signing_key()).verifier())


def leaves(m: Member) -> list[bytes]:
    with m.node.engine.connect() as conn:
        return [r.leaf_hash for r in SqlAuditLog(conn, origin=m.name).records()]


def show(m: Member, to: Member, hashes: list[bytes], old: int) -> tuple[int, str]:
    """What an operator holding `m`'s key can do: sign any tree and show it to a witness."""
    note = sign_checkpoint(
        Checkpoint(origin=m.name, size=len(hashes), root=root(hashes)),
        Signer(m.name, m.node.keystore.signing_key()),
    )
    body = submission_body(old_size=old, proof=consistency_proof(hashes, old), note=note)
    r = m.client().post_signed(peer(m, to.name), ADD_CHECKPOINT_PATH, body, content_type=SUBMISSION_TYPE)
    return r.status_code, r.text


def cosigned_size(w: Member, origin: str) -> int:
    with w.node.engine.connect() as conn:
        return int(
            conn.execute(
                select(witness_state.c.tree_size).where(witness_state.c.origin == origin)
            ).scalar_one()
        )


def evidence(w: Member, origin: str) -> list[str]:
    with w.node.engine.connect() as conn:
        return list(
            conn.execute(
                select(witness_evidence.c.reason)
                .where(witness_evidence.c.origin == origin)
                .order_by(witness_evidence.c.received_at)
            ).scalars()
        )


def rehash_all(m: Member) -> None:
    """Recompute every leaf and chain hash of `m`'s log (the database administrator's part)."""
    with m.node.engine.begin() as conn:
        prev = GENESIS_CHAIN
        for rec in list(SqlAuditLog(conn, origin=m.name).records()):
            leaf = leaf_hash(rec.entry.canonical_bytes())
            prev = chain_hash(prev, leaf)
            conn.execute(
                update(audit_entry)
                .where(audit_entry.c.seq == rec.entry.seq)
                .values(leaf_hash=leaf, chain_hash=prev)
            )


def cli(m: Member, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["audit", *args], env={**m.env, "COLUMNS": "200"})
    return r.exit_code, r.stdout + r.stderr


def test_three_nodes_cosign_each_other_and_the_dpo_keeps_the_cosignatures(
    trio: tuple[Member, Member, Member], tmp_path: Path
) -> None:
    a, b, c = trio
    timings: list[float] = []
    for m in trio:
        for _ in range(2):  # from nothing, then from the size each witness cosigned
            fill(m, 7)
            t0 = time.perf_counter()
            outcomes = sign_and_witness(m.node, client=m.client())
            timings.append((time.perf_counter() - t0) / 2)
            assert sorted(o.result for o in outcomes) == ["cosigned", "cosigned"], outcomes
        count, size, known = witnessed(m)
        assert (count, size, known) == (2, audit_signing.load_state(m.node).size, 2)
        again = sign_and_witness(m.node, client=m.client())  # nothing new: nobody is asked
        assert {o.result for o in again} == {"up_to_date"}
    assert cosigned_size(b, a.name) == cosigned_size(c, a.name) == witnessed(a)[1]
    median = sorted(timings)[len(timings) // 2] * 1000
    print(f"\ncosigning round trip (sign + one witness, median): {median:.1f} ms")

    # The DPO's file holds every checkpoint with its cosignatures; the CLI checks all of it.
    kept = tmp_path / "a-checkpoints.json"
    code, out = cli(a, "export-checkpoints", "--output", str(kept))
    assert code == 0, out
    code, out = cli(a, "verify", "--against", str(kept), "--witnesses", "2", "--strict")
    assert code == 0, out
    code, b_key = cli(b, "witness-vkey")  # what B's operator hands A's auditors
    assert code == 0
    assert b_key.strip() == CosignerKey(b.name, b.node.keystore.signing_key().public_key()).vkey
    code, out = cli(a, "verify", "--witnesses", "2", "--witness-key", b_key.strip())
    assert code == 1  # with only B's key given, one cosignature counts
    assert "NOT WITNESSED" in out


def test_a_fork_is_refused_by_the_witness_that_cosigned_the_first(
    trio: tuple[Member, Member, Member],
) -> None:
    a, b, c = trio
    fill(a, 3)
    assert {o.result for o in sign_and_witness(a.node, client=a.client())} == {"cosigned"}
    honest = leaves(a)
    n = len(honest)
    assert cosigned_size(b, a.name) == n

    forged = list(honest)
    forged[2] = leaf_hash(b"another history")
    forged[n - 2] = leaf_hash(b"and another entry")
    status, _ = show(a, b, forged, n)  # same size, another root
    assert status == 409
    status, _ = show(a, c, [*forged, leaf_hash(b"x")], n)  # an "extension" of the forgery
    assert status == 422
    assert evidence(b, a.name)[-1] == "fork"
    assert evidence(c, a.name)[-1] == "inconsistent"
    assert cosigned_size(b, a.name) == cosigned_size(c, a.name) == n  # nothing rolled forward
    with b.node.engine.connect() as conn:
        refusals = SqlAuditLog(conn, origin=b.name).entries(operation=Operation.REFUSAL)
    assert refusals[-1].counts == {"witness.refused.fork": 1}
    assert refusals[-1].record_ids == ("peer:a.piu",)


def test_a_split_view_gathers_no_quorum_and_cannot_go_on(trio: tuple[Member, Member, Member]) -> None:
    a, b, c = trio
    n = len(leaves(a))
    fill(a, 4)
    # A shows its real extension to B only ...
    outcomes = sign_and_witness(a.node, client=a.client(), peer_names=[b.name])
    assert [o.result for o in outcomes] == ["cosigned"]
    honest = leaves(a)
    # ... and to C another extension of the same size (the entries after n rewritten).
    other = honest[:n] + [leaf_hash(f"hidden {i}".encode()) for i in range(len(honest) - n)]
    status, body = show(a, c, other, n)
    assert status == 200  # C cannot know: it is a consistent extension of what it saw
    forged_note = sign_checkpoint(
        Checkpoint(a.name, len(other), root(other)), Signer(a.name, a.node.keystore.signing_key())
    )
    c_key = CosignerKey(c.name, c.node.keystore.signing_key().public_key())
    b_key = CosignerKey(b.name, b.node.keystore.signing_key().public_key())
    assert len(valid_cosignatures(forged_note + body, [b_key, c_key])) == 1  # no quorum of 2
    code, out = cli(a, "verify", "--witnesses", "2")
    assert code == 1, out  # the real one has only B's either
    code, out = cli(a, "verify", "--witnesses", "1")
    assert code == 0, out

    # The next real checkpoint: B cosigns, C refuses (it holds the other history).
    fill(a, 2)
    results = {o.peer: o.result for o in sign_and_witness(a.node, client=a.client())}
    assert results == {b.name: "cosigned", c.name: "inconsistent"}
    assert evidence(c, a.name)[-1] == "inconsistent"
    # And the other history cannot be continued at B.
    status, _ = show(a, b, [*other, leaf_hash(b"more")], len(honest))
    assert status in (409, 422)


def test_an_operator_who_wipes_the_signers_record_to_resign_a_rewrite_is_refused_by_the_witnesses(
    trio: tuple[Member, Member, Member],
) -> None:
    a, b, c = trio
    b_size = cosigned_size(b, a.name)
    # Rewrite A's log below what B cosigned, delete every checkpoint, every cosignature and
    # the signer's file: the node now starts "fresh" and signs the rewrite.
    with a.node.engine.begin() as conn:
        conn.execute(delete(audit_checkpoint))
        conn.execute(delete(audit_cosignature))
        conn.exec_driver_sql("UPDATE audit_entry SET actor = 'forger' WHERE seq = 1")
    rehash_all(a)
    audit_state_path(a.settings).unlink()
    outcomes = {o.peer: o.result for o in sign_and_witness(a.node, client=a.client())}
    # B cosigned this very size with another root (a fork); C holds a longer history.
    assert outcomes == {b.name: "fork", c.name: "inconsistent"}
    assert cosigned_size(b, a.name) == b_size
    code, out = cli(a, "verify", "--witnesses", "1")
    assert code == 1, out
    assert raw_public_key(a.node.keystore.signing_key())  # the key was there all along
