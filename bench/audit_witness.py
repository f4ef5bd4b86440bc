"""Witnessed audit log: what the signer's proof, the witness and `verify --against` cost.

    .venv/bin/python bench/audit_witness.py                 # N = 50,000, a checkpoint per 500
    .venv/bin/python bench/audit_witness.py --n 20000 --every 1000
    .venv/bin/python bench/audit_witness.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Measured, one core, wall time (`time.perf_counter`), SQLite WAL file (and PostgreSQL with
``--pg``):

- the worker's checkpoint: `SqlAuditLog.sign_extension` from the signer's state (re-hash the
  new entries, check the chain at the old size, build the RFC 6962 proof from the frontier,
  verify it, sign), per checkpoint of `--every` entries;
- the witness's work per submission, pure: parse, verify the log signature, verify the
  consistency proof, cosign (`audit.witness.decide` + `Cosigner.cosign`);
- `verify` of the whole log alone (the peer: what `pnrguard audit verify` did before) and
  with the DPO's exported file of every checkpoint (`verify --against`).

The cosigning round trip between two real nodes (mutual TLS, RFC 9421 both ways, witness
transaction) is measured by tests/federation/test_fed_witness.py (printed with ``-s``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pnrguard.audit.checkpoint import Signer
from pnrguard.audit.cosignature import Cosigner
from pnrguard.audit.models import Operation, Purpose
from pnrguard.audit.signer_state import SignerState
from pnrguard.audit.witness import decide, parse_submission, submission_body
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine, upgrade

ORIGIN = "bench.invalid/audit"
SIGNER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x42" * 32))
WITNESS = Cosigner("bench.invalid/witness", Ed25519PrivateKey.from_private_bytes(b"\x43" * 32))


def run(engine: Engine, n: int, every: int) -> list[tuple[str, int, float]]:
    rows: list[tuple[str, int, float]] = []
    state = SignerState.empty(ORIGIN)
    sign_s = 0.0
    witness_s = 0.0
    last: tuple[int, bytes] | None = None
    checkpoints = 0
    for start in range(0, n, every):
        with engine.begin() as conn:
            log = SqlAuditLog(conn, origin=ORIGIN)
            for i in range(start, min(start + every, n)):
                log.append(
                    actor=f"user-{i % 40}",
                    role="analyst",
                    operation=Operation.CONSULTATION,
                    purpose=Purpose.CYBERCRIME,
                    record_ids=(f"bk-{i:08d}",),
                    counts={"travellers": 1 + i % 4},
                )
        t0 = time.perf_counter()
        with engine.begin() as conn:
            out = SqlAuditLog(conn, origin=ORIGIN).sign_extension(SIGNER, state)
        sign_s += time.perf_counter() - t0
        assert out is not None
        new, proof = out
        body = submission_body(old_size=state.size, proof=proof, note=new.note)
        t0 = time.perf_counter()
        cp = decide(parse_submission(body), log_key=SIGNER.verifier(), origin=ORIGIN, last=last)
        WITNESS.cosign(cp.body(), 1_765_000_000)
        witness_s += time.perf_counter() - t0
        last = (cp.size, cp.root)
        state = new
        checkpoints += 1
    rows.append(
        (f"worker checkpoint ({every} new entries + proof + sign)", checkpoints, sign_s / checkpoints)
    )
    rows.append(("witness: parse + check signature and proof + cosign", checkpoints, witness_s / checkpoints))
    with engine.connect() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        kept = [c.note for c in log.stored_checkpoints()]
        t0 = time.perf_counter()
        assert log.verify(SIGNER.verifier()).ok
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert log.verify(SIGNER.verifier(), kept_checkpoints=kept).ok
        against = time.perf_counter() - t0
    rows.append((f"verify, {n} entries (peer: before this change)", n, plain))
    rows.append((f"verify --against a file of {len(kept)} checkpoints", n, against))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--pg", default=None)
    args = ap.parse_args()
    results: list[tuple[str, str, int, float]] = []
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'bench.db'}")
        upgrade(engine)
        results += [("SQLite", *r) for r in run(engine, args.n, args.every)]
        engine.dispose()
    if args.pg:
        schema = f"b_{uuid.uuid4().hex[:10]}"
        admin = make_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
        try:
            upgrade(engine)
            results += [("PostgreSQL", *r) for r in run(engine, args.n, args.every)]
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    table = Table(title="witnessed audit log")
    for col in ("database", "step", "count", "time", "per entry"):
        table.add_column(col, justify="right" if col != "step" else "left")
    for db, step, count, secs in results:
        if step.startswith("verify"):
            table.add_row(db, step, f"{count:,}", f"{secs:.2f} s", f"{secs / count * 1e6:.1f} µs")
        else:
            table.add_row(db, step, f"{count:,}", f"{secs * 1000:.2f} ms each", "")
    Console().print(table)


if __name__ == "__main__":
    main()
