"""Retention throughput and memory: mask and then crypto-shred N bookings, on SQLite and
PostgreSQL, with `service.retention.run_retention` exactly as `pnrguard retention run` calls it.

    .venv/bin/python bench/retention.py              # N = 1,000,000 (and 100,000 for memory)
    .venv/bin/python bench/retention.py --quick      # N = 50,000 (and 5,000)
    .venv/bin/python bench/retention.py --db sqlite --n 200000

Why: retention must get through five years of a PIU's bookings on the day the first batch
falls due, and must not need memory in proportion to them (a worker with a fixed memory
limit runs it from cron). So it is measured at N/10 and N bookings and the peak RSS of the
run is compared: flat means batches work.

How:

- seeding (not measured) bulk-inserts N synthetic bookings as ingest would leave them: a
  booking row, two data keys wrapped by a real key file, one version with two real
  AES-GCM blobs; SQLite with executemany, PostgreSQL with COPY. All received at T0.
- each run is its own process (so `ru_maxrss` is the run's own peak, not the seeding's):
  run 1 at T0 + 7 months masks all N (unwrap + re-wrap the identity key into `sealed_key`,
  state and audit per batch of 1,000); run 2 at T0 + 61 months deletes all N (keys,
  sealed keys, versions, tombstones, two audit entries per batch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Engine

from pnrguard.protection.crypto import AssociatedData, BookingKeys, encrypt_field, wrap_booking_keys
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.protection.retention import EU_2016_681
from pnrguard.service.clock import FixedClock
from pnrguard.service.retention import run_retention
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.db import make_engine, upgrade
from pnrguard.store.tables import booking, booking_key, booking_version, message

T0 = dt.datetime(2020, 1, 15, 12, 0, tzinfo=dt.UTC)
PG_URL = os.environ.get("PNRGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ORIGIN = "bench.invalid/retention"
CHUNK = 20_000
IDENTITY = (
    b'{"travellers":[{"ref":"1","surname":"BENCHMARK","given_names":"ANNA MS"}],'
    b'"contacts":[{"kind":"phone","value":"+4930123456"}]}'
)
CONTENT = (
    b'{"source":"PNR","carrier":"XY","locator":"ABC123",'
    b'"itinerary":[{"carrier":"XY","flight_number":"123","origin":"FRA","destination":"JFK"}]}'
)


def _engine(db: str, where: str) -> Engine:
    if db == "sqlite":
        return make_engine(f"sqlite:///{where}/bench.db", hide_parameters=True)
    return make_engine(PG_URL, hide_parameters=True, connect_args={"options": f"-csearch_path={where}"})


def _aad(column: str, bid: str) -> AssociatedData:
    return AssociatedData("booking_version", column, f"{bid}/1", 1)


def _rows(keystore: LocalKeyFileStore, start: int, count: int, mid: str) -> tuple[list[Any], ...]:
    bookings, keys, versions = [], [], []
    for i in range(start, start + count):
        bid = f"{i:032x}"
        k = BookingKeys.generate()
        w = wrap_booking_keys(keystore, k, booking_id=bid)
        bookings.append(
            {
                "id": bid,
                "source": "PNR",
                "carrier": "XY",
                "locator": f"L{i:07d}",
                "created": None,
                "identity_digest": i.to_bytes(32, "big"),
                "flight_carrier": "XY",
                "flight_number": "123",
                "flight_date": None,
                "origin": "FRA",
                "destination": "JFK",
                "first_seen": T0,
                "last_seen": T0,
                "state": "active",
                "masked_at": None,
                "deleted_at": None,
                "latest_version": 1,
                "travellers": 1,
            }
        )
        for kind, wk in (("identity", w.identity), ("content", w.content)):
            keys.append(
                {
                    "booking_id": bid,
                    "kind": kind,
                    "key_version": 1,
                    "kek_version": wk.kek_version,
                    "wrapped": wk.blob,
                }
            )
        versions.append(
            {
                "booking_id": bid,
                "version": 1,
                "message_id": mid,
                "received_at": T0,
                "content_digest": bytes(32),
                "key_version": 1,
                "identity_blob": encrypt_field(k.identity, IDENTITY, aad=_aad("identity_blob", bid)),
                "content_blob": encrypt_field(k.content, CONTENT, aad=_aad("content_blob", bid)),
            }
        )
    return bookings, keys, versions


def _copy(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
            for r in rows:
                cp.write_row([r[c] for c in cols])
        raw.commit()
    finally:
        raw.close()


def seed(db: str, where: str, n: int, keyfile: Path) -> None:
    engine = _engine(db, where)
    upgrade(engine)
    ks = LocalKeyFileStore(keyfile, create_if_missing=True)
    mid = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            insert(message).values(
                id=mid,
                received_at=T0,
                sha256=bytes(32),
                size=1,
                message_type="PNRGOV",
                sender="XY",
                channel="bench",
                status="accepted",
                duplicate_of=None,
                deviations={},
                minimisation={},
                sensitive={},
            )
        )
    for start in range(0, n, CHUNK):
        b, k, v = _rows(ks, start, min(CHUNK, n - start), mid)
        if db == "postgresql":
            for table, rows in ((booking, b), (booking_key, k), (booking_version, v)):
                _copy(engine, table, rows)
        else:
            with engine.begin() as conn:
                conn.execute(insert(booking), b)
                conn.execute(insert(booking_key), k)
                conn.execute(insert(booking_version), v)
    if db == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def run(db: str, where: str, months: int, keyfile: Path) -> dict[str, Any]:
    """One retention run in this process; prints JSON with its time and peak RSS."""
    engine = _engine(db, where)
    ks = LocalKeyFileStore(keyfile)
    clock = FixedClock(T0.replace(year=T0.year + months // 12, month=T0.month + months % 12))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    s = run_retention(
        engine=engine,
        keystore=ks,
        clock=clock,
        audit=lambda c: SqlAuditLog(c, origin=ORIGIN, clock=clock),
        profile=EU_2016_681,  # measures masking of everyone (the C-817/19 default deletes most)
        include_quarantine=False,
        include_audit_log=False,
    )
    secs = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with engine.connect() as conn:
        states = dict(conn.execute(select(booking.c.state, func.count()).group_by(booking.c.state)).all())
    engine.dispose()
    return {
        "masked": s.masked,
        "deleted": s.deleted,
        "seconds": secs,
        "base_kb": base,
        "peak_kb": peak,
        "states": {str(k): int(v) for k, v in states.items()},
    }


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(db: str, n: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="pnrguard-bench-retention-"))
    keyfile = tmp / "keys.json"
    if db == "postgresql":
        where = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{where}"'))
    else:
        where = str(tmp)
    try:
        t = time.perf_counter()
        _child("seed", db, where, str(n), str(keyfile))
        seeded = time.perf_counter() - t
        mask = _child("run", db, where, "7", str(keyfile))
        shred = _child("run", db, where, "61", str(keyfile))
        assert mask["masked"] == n, mask
        assert shred["deleted"] == n, shred
        assert shred["states"] == {"deleted": n}, shred
        size = sum(p.stat().st_size for p in tmp.glob("bench.db*")) if db == "sqlite" else 0
    finally:
        if db == "postgresql":
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{where}" CASCADE'))
            admin.dispose()
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    return {"db": db, "n": n, "seed_s": seeded, "mask": mask, "shred": shred, "size": size}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        what, db, where = sys.argv[2:5]
        if what == "seed":
            seed(db, where, int(sys.argv[5]), Path(sys.argv[6]))
            print(json.dumps({"ok": True}))
        else:
            print(json.dumps(run(db, where, int(sys.argv[5]), Path(sys.argv[6]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="N = 50,000")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    n = 50_000 if args.quick else args.n
    dbs = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    console = Console(width=150)
    table = Table(title=f"Retention: mask then crypto-shred (batches of 1,000), N = {n:,}")
    for col in (
        "database",
        "bookings",
        "mask rows/s",
        "shred rows/s",
        "peak RSS mask",
        "peak RSS shred",
        "seed s",
    ):
        table.add_column(col, justify="right")
    for db in dbs:
        for size in (n // 10, n):
            r = measure(db, size)
            table.add_row(
                db,
                f"{size:,}",
                f"{size / r['mask']['seconds']:,.0f}",
                f"{size / r['shred']['seconds']:,.0f}",
                f"{r['mask']['peak_kb'] / 1024:,.0f} MB",
                f"{r['shred']['peak_kb'] / 1024:,.0f} MB",
                f"{r['seed_s']:,.0f}",
            )
            console.print(f"{db} {size:,}: {json.dumps(r)}", highlight=False)
    console.print(table)


if __name__ == "__main__":
    main()
