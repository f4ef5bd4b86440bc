"""Audit log throughput: append N entries, checkpoint, then verify them all.

    .venv/bin/python bench/audit.py             # N = 100,000
    .venv/bin/python bench/audit.py --n 20000   # quicker
    .venv/bin/python bench/audit.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Why: every collection, consultation and disclosure appends one entry, so append must stay a
small part of a use case; and `pnrguard audit verify` re-hashes the whole log (five years
of it), so verification must reach at least 20,000 entries/s (the target of issue 5).

Measured, one core, wall time with `time.perf_counter`:

- in-memory: `InMemoryAuditLog.append` (validation, canonical JSON, leaf + chain hash,
  O(log n) frontier update) and the pure `verify` over its records;
- SQLite: `SqlAuditLog.append` on a WAL file with the engine of `store.db.make_engine`,
  in transactions of 1 entry (a use case's worst case: one commit per entry) for the first
  2,000, then in batches of 1,000 entries per transaction; `verify` streams the rows back
  (decode + validate + re-hash), which is what `pnrguard audit verify` does;
- PostgreSQL (with ``--pg URL``): the same steps, in a throw-away schema.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Engine

from pnrguard.audit.checkpoint import Signer
from pnrguard.audit.log import AuditLog, InMemoryAuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine, upgrade

ORIGIN = "bench.invalid/audit"
SIGNER = Signer(name=ORIGIN, private_key=Ed25519PrivateKey.from_private_bytes(b"\x42" * 32))
OPS = list(Operation)
PURPOSES = list(Purpose)


def append_one(log: AuditLog, i: int) -> None:
    log.append(
        actor=f"user-{i % 40}",
        role="analyst",
        operation=OPS[i % len(OPS)],
        purpose=PURPOSES[i % len(PURPOSES)],
        record_ids=(f"bk-{i:08d}", f"bk-{i + 1:08d}"),
        counts={"sensitive.health": i % 3, "travellers": 1 + i % 4},
        reference=f"case-{i // 50}",
    )


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_memory(n: int) -> list[tuple[str, int, float]]:
    log = InMemoryAuditLog(origin=ORIGIN)

    def appends() -> None:
        for i in range(n):
            append_one(log, i)

    t_append = timed(appends)
    t_cp = timed(lambda: log.checkpoint(SIGNER))
    report = log.verify(SIGNER.verifier(), require_signed_tail=True)
    assert report.ok, report
    t_verify = timed(lambda: log.verify(SIGNER.verifier(), require_signed_tail=True))
    return [
        ("in-memory append", n, t_append),
        ("in-memory checkpoint (sign)", 1, t_cp),
        ("in-memory verify", n, t_verify),
    ]


def bench_sql(
    name: str, engine: Engine, n: int, single: int = 2_000, batch: int = 1_000
) -> list[tuple[str, int, float]]:
    upgrade(engine)

    def one_per_tx() -> None:
        for i in range(single):
            with engine.begin() as conn:
                append_one(SqlAuditLog(conn, origin=ORIGIN), i)

    def batched() -> None:
        for start in range(single, n, batch):
            with engine.begin() as conn:
                log = SqlAuditLog(conn, origin=ORIGIN)
                for i in range(start, min(start + batch, n)):
                    append_one(log, i)

    def checkpoint() -> None:
        with engine.begin() as conn:
            SqlAuditLog(conn, origin=ORIGIN).checkpoint(SIGNER)

    def verify() -> None:
        with engine.connect() as conn:
            report = SqlAuditLog(conn, origin=ORIGIN).verify(
                SIGNER.verifier(), require_signed_tail=True
            )
        assert report.ok, report

    t_single = timed(one_per_tx)
    t_batch = timed(batched)
    t_cp = timed(checkpoint)
    t_verify = timed(verify)
    return [
        (f"{name} append, 1 entry per transaction", single, t_single),
        (f"{name} append, {batch} entries per transaction", n - single, t_batch),
        (f"{name} checkpoint (re-hash since last + sign)", n, t_cp),
        (f"{name} verify (read + decode + re-hash all)", n, t_verify),
    ]


def bench_sqlite(n: int) -> list[tuple[str, int, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            return bench_sql("SQLite", engine, n)
        finally:
            engine.dispose()


def bench_postgresql(n: int, url: str) -> list[tuple[str, int, float]]:
    """In a schema of its own, dropped afterwards."""
    schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        return bench_sql("PostgreSQL", engine, n)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="entries (default 100,000)")
    parser.add_argument("--pg", metavar="URL", help="also run on this PostgreSQL (SQLAlchemy URL)")
    args = parser.parse_args()
    rows = bench_memory(args.n) + bench_sqlite(args.n)
    if args.pg:
        rows += bench_postgresql(args.n, args.pg)
    table = Table(title=f"audit log, N = {args.n:,}")
    table.add_column("step")
    table.add_column("entries", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("entries / s", justify="right")
    table.add_column("µs / entry", justify="right")
    for step, count, seconds in rows:
        table.add_row(
            step,
            f"{count:,}",
            f"{seconds:.3f}",
            f"{count / seconds:,.0f}",
            f"{seconds / count * 1e6:,.1f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
