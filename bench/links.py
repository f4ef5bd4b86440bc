"""Link-analysis benchmark: a traveller's neighbourhood over 1,000,000 stored bookings.

    .venv/bin/python bench/links.py [--bookings 1000000] [--db sqlite,postgresql] [--queries 100]
    .venv/bin/python bench/links.py --keep ...             # keep the filled stores, then measure them again:
    .venv/bin/python bench/links.py --store sqlite=sqlite:////tmp/x/links.db,/tmp/x/keys-sqlite.json \
        --store postgresql=bench_links_ab12cd34,/tmp/x/keys-postgresql.json

Per database: the store is filled as in bench/search.py (the same storage and index code
paths as ingest, in batches), with link structure added: each booking's phone comes from a
pool (one booking in ten, about 3 bookings per number) and likewise its card, so some
travellers have a few neighbours, most have none, and template digests are hubs. Then, under an open
request by an analyst (every expansion logged, the names shown decrypted), the depth-1 and
depth-2 neighbourhoods of random travellers: p50 / p95 / p99. Target: p95 < 500 ms.

Baseline: the naive way (decrypt every booking in a window and join on clear phones and
cards), timed over `--baseline-bookings` bookings and extrapolated to the whole store.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from pnrguard.domain.model import Booking, Contact, Payment
from pnrguard.protection.keystore import KeyStore, LocalKeyFileStore
from pnrguard.service.clock import SystemClock
from pnrguard.service.links import links_for_request
from pnrguard.store.db import make_engine, upgrade
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking
from pnrguard.store.traveller import traveller_member
from search import Probe, Result, _audit, _desk, _pct, load  # bench/search.py: the same store filler

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def shaper(n: int) -> tuple[int, int]:
    return max(n // 30, 1), max(n // 40, 1)


def make_shape(n: int, seed: int = 7):  # type: ignore[no-untyped-def]
    phones, cards = shaper(n)
    rng = random.Random(seed)

    def shape(b: Booking, i: int) -> Booking:
        # One booking in ten shares its phone (with about 3 others), one in ten its card.
        phone = f"+4917{rng.randrange(phones):09d}" if rng.random() < 0.1 else f"+4915{i:09d}"
        card = f"4{rng.randrange(cards):015d}" if rng.random() < 0.1 else f"5{i:015d}"
        # Copies of one template fly the same flight: give them their own seats and no
        # check-in times, or every copy would sit in, and check in at, the template's.
        seats = [
            dataclasses.replace(st, seat=f"{rng.randrange(1, 60)}{rng.choice('ABCDEFGHJK')}")
            for st in b.seats
        ]
        return dataclasses.replace(
            b, contacts=[c for c in b.contacts if "@" in c.value] + [Contact(kind="phone", value=phone)],
            payments=[Payment(form="CC", card_number=card)], seats=seats, check_ins=[],
        )  # fmt: skip

    return shape


def starts(engine: Engine, count: int, seed: int = 11) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    with engine.connect() as conn:
        total = conn.execute(select(traveller_member.c.booking_id).limit(1)).first()
        assert total is not None, "no linked traveller stored"
        ids = conn.execute(select(traveller_member.c.booking_id, traveller_member.c.traveller_ref)
                           .order_by(traveller_member.c.booking_id).limit(200_000)).all()  # fmt: skip
    return [(r.booking_id, r.traveller_ref) for r in rng.sample(list(ids), min(count, len(ids)))]


Measured = tuple[list[float], list[int], list[float]]  # wall ms, people, this process's CPU ms


def run(engine: Engine, keystore: KeyStore, count: int, seed: int = 11) -> dict[str, Measured]:
    analyst, request_id = _desk(engine, keystore)
    audit = _audit(SystemClock())
    out: dict[str, Measured] = {}
    chosen = starts(engine, count, seed)
    for depth in (1, 2):
        lat: list[float] = []
        sizes: list[int] = []
        cpu: list[float] = []
        for bid, ref in chosen:
            t0, c0 = time.perf_counter(), time.process_time()
            view = links_for_request(request_id, bid, ref, depth=depth, user=analyst, engine=engine,
                                     keystore=keystore, audit=audit)  # fmt: skip
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            sizes.append(len(view.graph.persons) - 1)
        out[f"depth {depth}"] = (lat, sizes, cpu)
    return out


def baseline(engine: Engine, keystore: KeyStore, want: int) -> tuple[int, float]:
    """Decrypt `want` bookings and join them on clear phones and cards (what a link query
    without the blind index has to do over every stored booking)."""
    t0 = time.perf_counter()
    by_value: dict[str, set[str]] = {}
    with engine.connect() as conn:
        repo = BookingRepository(conn, keystore)
        q = select(booking.c.id).where(booking.c.state == "active").limit(want)
        ids = conn.execute(q).scalars().all()
        for bid in ids:
            b = repo.get(bid)
            for v in [c.value for c in b.contacts] + [p.card_number for p in b.payments]:
                by_value.setdefault(v, set()).add(bid)
    return len(ids), (time.perf_counter() - t0) * 1000


Row = tuple[str, int, str, list[float], list[int], int, float, list[float]]


def report(console: Console, rows: list[Row]) -> None:
    t = Table(title="link analysis under an open request (ms; every expansion logged, names decrypted; CPU: "
              "this process's, which for SQLite includes the database's work)")  # fmt: skip
    for col in ("database", "bookings", "query", "p50", "p95", "p99", "CPU p50", "CPU p95", "people (median)",
                "target p95 < 500",
                "baseline: decrypted", "baseline ms", "baseline at store size s"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("database", "query") else "right")
    for db, n, name, lat, sizes, scanned, base_ms, cpu in rows:
        p95 = _pct(lat, 95)
        t.add_row(db, f"{n:,}", name, f"{_pct(lat, 50):.1f}", f"{p95:.1f}", f"{_pct(lat, 99):.1f}",
                  f"{_pct(cpu, 50):.1f}", f"{_pct(cpu, 95):.1f}",
                  f"{statistics.median(sizes):.0f}", "ok" if p95 < 500 else "MISSED", f"{scanned:,}",
                  f"{base_ms:,.0f}", f"{base_ms / max(scanned, 1) * n / 1000:,.0f}")  # fmt: skip
    console.print(t)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bookings", type=int, default=1_000_000)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--pg", default=os.environ.get("PNRGUARD_BENCH_PG", DEFAULT_PG))
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--baseline-bookings", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=11,
                    help="which travellers to start from (new seed: not yet cached)")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the filled stores (prints where) for profiling")
    ap.add_argument("--store", action="append", default=[], metavar="DB=URL,KEYS",
                    help="measure a store kept by --keep instead of filling one (repeatable): "
                         "sqlite=sqlite:///x.db,keys.json or postgresql=SCHEMA,keys.json")  # fmt: skip
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    console = Console(width=200)
    rows: list[Row] = []
    for spec in args.store:
        db, rest = spec.split("=", 1)
        where, keys = rest.rsplit(",", 1)
        keystore = LocalKeyFileStore(Path(keys))
        if db == "sqlite":
            engine = make_engine(where)
        else:
            engine = make_engine(args.pg, connect_args={"options": f"-csearch_path={where}"})
        with engine.connect() as conn:
            stored = int(conn.execute(select(func.count()).select_from(booking)).scalar_one())
        console.print(f"{db}: kept store of {stored:,} bookings; {args.queries} neighbourhoods, depth 1, 2")
        measured = run(engine, keystore, args.queries, args.seed)
        scanned, base_ms = baseline(engine, keystore, args.baseline_bookings)
        for name, (lat, sizes, cpu) in measured.items():
            rows.append((db, stored, name, lat, sizes, scanned, base_ms, cpu))
        engine.dispose()
    if args.store:
        report(console, rows)
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="pnrguard-bench-links-"))
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        keystore = LocalKeyFileStore(workdir / f"keys-{db}.json", create_if_missing=True)
        schema = f"bench_links_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.pg)
        if db == "sqlite":
            engine = make_engine(f"sqlite:///{workdir / 'links.db'}")
        else:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine = make_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
        try:
            upgrade(engine)
            r = Result(db)
            probes: list[Probe] = []
            console.print(f"{db}: storing {args.bookings:,} bookings ({dt.datetime.now():%H:%M}) ...")
            load(engine, keystore, args.bookings, r, probes, console, shape=make_shape(args.bookings))
            if engine.dialect.name == "postgresql":
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
            console.print(f"{db}: {args.queries} neighbourhoods at depth 1 and 2 ...")
            measured = run(engine, keystore, args.queries, args.seed)
            scanned, base_ms = baseline(engine, keystore, args.baseline_bookings)
            for name, (lat, sizes, cpu) in measured.items():
                rows.append((db, r.bookings, name, lat, sizes, scanned, base_ms, cpu))
            report(console, [x for x in rows if x[0] == db])
        finally:
            engine.dispose()
            if args.keep:
                console.print(f"{db}: kept (schema {schema}, files in {workdir})")
            elif db != "sqlite":
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)  # the SQLite store and the key files
    report(console, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
