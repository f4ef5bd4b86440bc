"""Ingest benchmark: bookings per second through the whole use case, one core.

    .venv/bin/python bench/ingest.py [--flights 40] [--quick] [--pg URL | --no-pg]

Traffic is `formats.synth.generate` (deterministic): per flight a PNRGOV push 24-48 h
before departure, a PNRGOV push at closure (new versions of most bookings) and a PAXLST
(one API record per traveller), 5% of bookings with sensitive SSRs or remarks. Messages are
rendered to bytes before the clock starts. Each message then goes through
`service.ingest.ingest` exactly as in production: parse, Annex I check, sensitive filter,
keyed digests, per-booking data keys wrapped by a key file store, AES-GCM of both parts,
batched inserts, one audit entry (`SqlAuditLog`) and a commit per message.

The Python process is pinned to one CPU (`sched_setaffinity`); PostgreSQL runs in its own
processes, as it does in production. The PostgreSQL run uses a fresh schema that is dropped
afterwards. "parse + protect only" is the pure part alone, to show where time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.formats.reader import read_message
from pnrguard.formats.synth import generate
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.protection.protect import protect
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import SystemClock
from pnrguard.service.ingest import IngestStatus, ingest
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine, upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(slots=True)
class Run:
    name: str
    messages: int
    bookings: int
    seconds: float
    cpu: float = 0.0
    new: int = 0
    versions: int = 0
    duplicates: int = 0

    @property
    def rate(self) -> float:
        return self.bookings / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.bookings / self.cpu


def traffic(flights: int) -> list[bytes]:
    out: list[bytes] = []
    for push in generate(2024, flights=flights, base_date=dt.date(2026, 3, 2)):
        out.append(push.pnrgov.encode("utf-8"))
        if push.paxlst:
            out.append(push.paxlst.encode("utf-8"))
    return out


def pure_only(messages: list[bytes], sf: SensitiveFilter) -> Run:
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    for m in messages:
        for b in read_message(m).bookings:
            protect(b, sensitive_filter=sf)
            n += 1
    return Run(
        "parse + protect only (no storage)", len(messages), n,
        time.perf_counter() - t0, time.process_time() - c0,
    )  # fmt: skip


def ingest_all(name: str, engine: Engine, messages: list[bytes], sf: SensitiveFilter, workdir: Path) -> Run:
    keystore = LocalKeyFileStore(workdir / f"keys-{uuid.uuid4().hex[:6]}.json", create_if_missing=True)
    clock = SystemClock()

    def audit(conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="bench.invalid/piu", clock=clock)

    run = Run(name, len(messages), 0, 0.0)
    t0, c0 = time.perf_counter(), time.process_time()
    for m in messages:
        r = ingest(m, engine=engine, keystore=keystore, audit=audit, sensitive_filter=sf, clock=clock)
        if r.status is not IngestStatus.ACCEPTED:
            raise SystemExit(f"benchmark message not accepted: {r.status} {r.reason}")
        run.bookings += r.bookings
        run.new += r.bookings_new
        run.versions += r.bookings_new_version
        run.duplicates += r.bookings_duplicate
    run.seconds = time.perf_counter() - t0
    run.cpu = time.process_time() - c0
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flights", type=int, default=40)
    ap.add_argument("--quick", action="store_true", help="8 flights (CI)")
    ap.add_argument("--pg", default=os.environ.get("PNRGUARD_TEST_PG_URL", DEFAULT_PG))
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    flights = 8 if args.quick else args.flights
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    console = Console(width=140)
    console.print(f"generating {flights} flights of synthetic traffic ...")
    messages = traffic(flights)
    sf = SensitiveFilter.load()
    runs = [pure_only(messages, sf)]

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sqlite = make_engine(f"sqlite:///{work / 'bench.db'}")
        upgrade(sqlite)
        runs.append(ingest_all("SQLite (file, WAL)", sqlite, messages, sf, work))
        sqlite.dispose()

        if not args.no_pg and args.pg != "skip":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(args.pg)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                pg = make_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
                upgrade(pg)
                runs.append(ingest_all("PostgreSQL (localhost)", pg, messages, sf, work))
                pg.dispose()
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

    table = Table(title=f"ingest, one core: {len(messages)} messages from {flights} flights")
    cols = ("run", "bookings", "new/versions/dup", "wall s", "bookings/s", "µs/booking", "CPU bookings/s")
    for col in cols:
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in runs:
        split = f"{r.new}/{r.versions}/{r.duplicates}" if r.new else "-"
        table.add_row(
            r.name, str(r.bookings), split, f"{r.seconds:.2f}", f"{r.rate:,.0f}",
            f"{1e6 / r.rate:.0f}", f"{r.cpu_rate:,.0f}",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"Python {sys.version.split()[0]}; target 2,000 bookings/s including parse, protection, "
        "encryption and audit. 'CPU bookings/s' counts this process's CPU time only (it excludes "
        "the PostgreSQL server's work, and other load on the machine)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
