"""Where the blind-index hook's CPU goes: bench/search.py's ingest measurement, phase by phase.

    .venv/bin/python bench/upkeep_phases.py [--db sqlite|postgresql] [--seeds 11,12,13]
                                            [--collector on|off|frozen] [--watchlist FILE]

Ingests 6 flights of real PNRGOV and PAXLST messages per seed (bench/search.py's
`measure_ingest` traffic) into a fresh store and prints, per seed, the CPU of the whole
ingest and of `service.traveller.index_and_link`, then the hook's phases in ms a booking:
tokenising, inserting, the diff read of new versions, linking (and its reads and writes),
and the cyclic collector's passes that fell inside the hook. `--collector off` measures
the work alone (the collector's full passes cost ~0.1 s each and fall where they fall: a
single run of bench/search.py moves by several points with them); `frozen` settles the
heap first, as `pnrguard worker` does (`service.worker.settle_heap`).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import gc
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

import pnrguard.service.ingest as ingest_module
import pnrguard.service.search_index as search_index
import pnrguard.service.traveller as traveller
from pnrguard.formats.synth import generate
from pnrguard.protection.keystore import LocalKeyFileStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import SystemClock
from pnrguard.service.worker import settle_heap
from pnrguard.store.db import make_engine, upgrade
from search import BASE_DATE, DEFAULT_PG, _audit, load_list, time_in_place

Spent = collections.defaultdict[str, float]


def _timed(module: Any, name: str, label: str, spent: Spent) -> None:
    """Add the CPU of every call of `module.name` to `spent[label]` (for the whole run)."""

    def record(wall: float, cpu: float, args: tuple[Any, ...], out: Any) -> None:
        spent[label] += cpu

    time_in_place(module, name, record, [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    ap.add_argument("--pg", default=os.environ.get("PNRGUARD_BENCH_PG", DEFAULT_PG))
    ap.add_argument("--seeds", default="11,12,13")
    ap.add_argument("--collector", default="on", choices=["on", "off", "frozen"])
    ap.add_argument("--watchlist", type=Path, default=None)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    work = Path(tempfile.mkdtemp(prefix="pnrguard-bench-phases-"))
    keystore = LocalKeyFileStore(work / "keys.json", create_if_missing=True)
    schema = f"bench_phases_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.pg) if args.db == "postgresql" else None
    if admin is not None:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = make_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
    else:
        engine = make_engine(f"sqlite:///{work / 'phases.db'}")
    spent: Spent = collections.defaultdict(float)
    passes: collections.Counter[int] = collections.Counter()
    inside = [False]
    started = [0.0]

    def collector(phase: str, info: dict[str, int]) -> None:
        if not inside[0]:
            return
        if phase == "start":
            started[0] = time.process_time()
        else:
            spent["collector"] += time.process_time() - started[0]
            passes[info["generation"]] += 1

    try:
        upgrade(engine)
        if args.watchlist is not None:
            load_list(engine, keystore, args.watchlist)
        _timed(search_index, "booking_tokens", "tokens", spent)
        _timed(search_index, "insert_tokens", "insert", spent)
        _timed(search_index, "existing_tokens", "diff read", spent)
        _timed(traveller, "link_indexed", "link", spent)
        _timed(traveller, "_OtherSide", "link: other source", spent)
        _timed(traveller, "_others", "link: flight", spent)
        _timed(traveller, "insert_members", "link: insert", spent)
        hook = traveller.index_and_link

        def measured(*a: Any, **k: Any) -> Any:
            c = time.process_time()
            inside[0] = True
            try:
                return hook(*a, **k)
            finally:
                inside[0] = False
                spent["hook"] += time.process_time() - c

        ingest_module.index_and_link = measured  # type: ignore[attr-defined]  # instrumentation only
        gc.callbacks.append(collector)
        clock, sf = SystemClock(), SensitiveFilter.load()
        if args.collector == "off":
            gc.disable()
        elif args.collector == "frozen":
            settle_heap()
        for seed in (int(s) for s in args.seeds.split(",")):
            messages: list[bytes] = []
            for push in generate(seed, flights=6, base_date=BASE_DATE - dt.timedelta(days=30 + seed)):
                messages.append(push.pnrgov.encode("utf-8"))
                if push.paxlst:
                    messages.append(push.paxlst.encode("utf-8"))
            spent.clear()
            passes.clear()
            n, c0 = 0, time.process_time()
            for m in messages:
                r = ingest_module.ingest(
                    m, engine=engine, keystore=keystore, audit=_audit(clock), sensitive_filter=sf, clock=clock
                )
                n += r.bookings_new + r.bookings_new_version
            total = time.process_time() - c0
            hook_s = spent["hook"]
            if n == 0:  # a seed given twice: its messages are all duplicates the second time
                print(f"seed {seed}: no new booking or version (seed repeated?), skipped")
                continue
            print(
                f"seed {seed}: {n} bookings, ingest {total:.2f} s CPU, hook {hook_s:.2f} s "
                f"({100 * hook_s / total:.1f}%), hook {1000 * hook_s / n:.3f} ms a booking, "
                f"rest {1000 * (total - hook_s) / n:.3f}; full collections in the hook: {passes[2]}"
            )
            phases = "  ".join(f"{k}={1000 * v / n:.3f}" for k, v in sorted(spent.items()))
            print(f"    {phases} ms a booking")
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
