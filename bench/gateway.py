"""Carrier gateway load benchmark: acknowledged PNRGOV messages per second and ack latency.

    .venv/bin/python bench/gateway.py [--messages 3000] [--carriers 8] [--concurrency 32]
                                      [--rate 500] [--quick] [--no-pg | --no-sqlite] [--pg URL]

What runs, on loopback only, bounded in count and time:

- the server is `pnrguard serve` in its own process (Uvicorn, one event loop), on a fresh
  SQLite file or a fresh PostgreSQL schema, with its own key file;
- the load generator is this process: `--concurrency` keep-alive HTTP/1.1 connections
  spread over `--carriers` carriers (each with its own token and UNB sender), speaking raw
  asyncio streams so that the client costs as little CPU as possible on the shared cores;
- traffic: synthetic PNRGOV pushes (`formats.synth`, about 50 bookings each, ~40 KB),
  rendered before the clock starts; each message gets its carrier's UNB sender and a
  unique control reference, so every push is a distinct interchange.

Runs per database:

1. *saturation*: every connection pushes as fast as acknowledgements come back; reports
   messages/s and p50/p99 acknowledgement latency. Workers are off (`INLINE_WORKERS=0`),
   so this is the intake alone;
2. *target rate*: `--rate` messages/s offered open-loop (a push every 1/rate s, whatever
   the answers), with one inline worker ingesting at the same time on the same 2 cores;
   reports achieved rate and p50/p99;
3. *drain and verify*: two `pnrguard worker --drain` processes empty the queue; then every
   acknowledged push must be in the inbox exactly once by SHA-256, nothing lost, no
   duplicate receipt.
4. *baseline*: the peer design, "direct synchronous ingest per request": a FastAPI
   endpoint that parses, protects, stores and audits before answering (`Node.ingest`),
   same server setup, same client, `--baseline-messages` pushes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select, text
from starlette.concurrency import run_in_threadpool

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RECIPIENT = "PIUDE"
PNRGUARD = str(Path(sys.executable).with_name("pnrguard"))


# --- traffic ---------------------------------------------------------------------------------


def templates(count: int, *, bookings: int = 50) -> list[tuple[str, str, str]]:
    """(text, sender, control_ref) of synthetic PNRGOV pushes with about `bookings` bookings."""
    from pnrguard.formats.synth import generate

    out: list[tuple[str, str, str]] = []
    base = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)
    seed = 7
    while len(out) < count:
        pushes = generate(seed, flights=20, passengers_per_flight=(90, 110), base_date=base, piu_country="DE")
        for push in pushes:
            if abs(len(push.bookings) - bookings) <= 6:
                out.append((push.pnrgov, push.sender, push.control_ref))
        seed += 1
    return out[:count]


def rebrand(text_: str, *, sender: str, old_sender: str, old_ref: str, new_ref: str) -> bytes:
    """The interchange with another UNB sender and control reference (envelope segments only)."""
    seg = text_[8] if text_.startswith("UNA") else "'"
    elem = text_[4] if text_.startswith("UNA") else "+"
    parts = text_.split(seg)
    for i, part in enumerate(parts):
        stripped = part.lstrip()
        if stripped[:3] in ("UNB", "UNG", "UNE", "UNZ"):
            fields_ = part.split(elem)
            fields_ = [new_ref if f == old_ref else f for f in fields_]
            if stripped.startswith("UNB") and fields_[2] == old_sender:
                fields_[2] = sender
            parts[i] = elem.join(fields_)
    return seg.join(parts).encode("utf-8")


@dataclass(slots=True)
class Traffic:
    bodies: list[bytes]
    carriers: list[str]  # carrier of each body


def build_traffic(n: int, carriers: list[str], *, distinct: int = 60, tag: str = "") -> Traffic:
    tpl = templates(distinct)
    bodies: list[bytes] = []
    owners: list[str] = []
    for i in range(n):
        text_, sender, ref = tpl[i % len(tpl)]
        carrier = carriers[i % len(carriers)]
        bodies.append(rebrand(text_, sender=carrier, old_sender=sender, old_ref=ref, new_ref=f"{tag}{i:09d}"))
        owners.append(carrier)
    return Traffic(bodies, owners)


# --- server processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(slots=True)
class Db:
    name: str
    url: str
    workdir: Path
    cleanup: Any = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PNRGUARD_")}
        env.update(
            PNRGUARD_DATABASE_URL=self.url,
            PNRGUARD_KEY_FILE=str(self.workdir / "keys.json"),
            PNRGUARD_GATEWAY_RECIPIENTS=RECIPIENT,
            **extra,
        )
        return env


@contextmanager
def database(kind: str, pg_url: str) -> Any:
    from pnrguard.store.db import make_engine

    with tempfile.TemporaryDirectory(prefix="pnrguard-bench-gw-") as tmp:
        work = Path(tmp)
        if kind == "sqlite":
            yield Db("SQLite", f"sqlite:///{work / 'node.db'}", work)
            return
        schema = f"bench_gw_{uuid.uuid4().hex[:10]}"
        admin = make_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            sep = "&" if "?" in pg_url else "?"
            yield Db("PostgreSQL", f"{pg_url}{sep}options=-csearch_path%3D{schema}", work)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def add_carriers(db: Db, carriers: list[str]) -> dict[str, str]:
    tokens = {}
    for c in carriers:
        out = subprocess.run(
            [PNRGUARD, "carriers", "add", c], env=db.env(), capture_output=True, text=True, check=True
        )
        tokens[c] = out.stdout.strip().splitlines()[-1]
    return tokens


@contextmanager
def server(db: Db, *, inline_workers: int, baseline: bool = False) -> Any:
    port = free_port()
    cmd = (
        [sys.executable, __file__, "--serve-baseline", "--port", str(port)]
        if baseline
        else [PNRGUARD, "serve", "--port", str(port)]
    )
    log = open(db.workdir / f"server-{port}.log", "wb")  # noqa: SIM115 — closed below
    proc = subprocess.Popen(
        cmd, env=db.env(PNRGUARD_GATEWAY_INLINE_WORKERS=str(inline_workers)), stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None:
                    tail = (db.workdir / f"server-{port}.log").read_text()[-2000:]
                    raise RuntimeError(f"server exited: {tail}") from None
                time.sleep(0.1)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# --- the load generator ----------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acked: list[int] = field(default_factory=list)  # indexes of bodies acknowledged as accepted
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.acked) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
) -> int:
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    port: int,
    traffic: Traffic,
    tokens: dict[str, str],
    *,
    concurrency: int,
    rate: float | None = None,
    path: str = "/carrier/v1/messages",
    time_limit: float = 120.0,
) -> Result:
    """Push every body once. Closed loop (as fast as answers come) or open loop at `rate`."""
    res = Result()
    n = len(traffic.bodies)
    next_index = 0
    start = time.perf_counter()
    deadline = start + time_limit

    def head(i: int) -> bytes:
        token = tokens[traffic.carriers[i]]
        return (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/edifact\r\nAccept: application/json\r\n"
            f"Content-Length: {len(traffic.bodies[i])}\r\n\r\n"
        ).encode("ascii")

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, i: int, t0: float) -> None:
        status = await _request(reader, writer, head(i), traffic.bodies[i])
        res.latencies.append(time.perf_counter() - t0)
        res.statuses[status] = res.statuses.get(status, 0) + 1
        if status in (200, 202):
            res.acked.append(i)

    async def closed(conn_no: int) -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < n and time.perf_counter() < deadline:
                i = next_index
                next_index += 1
                await one(reader, writer, i, time.perf_counter())
        finally:
            writer.close()

    if rate is None:
        await asyncio.gather(*(closed(c) for c in range(concurrency)))
    else:
        # Open loop: push i is due at start + i/rate; it waits for a free connection, and its
        # latency counts from when it was due (so queueing in the client is not hidden).
        pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        for _ in range(concurrency):
            pool.put_nowait(await asyncio.open_connection("127.0.0.1", port))

        async def scheduled(i: int, due: float) -> None:
            conn = await pool.get()
            try:
                await one(conn[0], conn[1], i, due)
            finally:
                pool.put_nowait(conn)

        tasks = []
        for i in range(n):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if time.perf_counter() > deadline:
                break
            tasks.append(asyncio.create_task(scheduled(i, due)))
        await asyncio.gather(*tasks)
        while not pool.empty():
            pool.get_nowait()[1].close()
    res.seconds = time.perf_counter() - start
    res.sent = len(res.latencies)
    return res


def load(port: int, traffic: Traffic, tokens: dict[str, str], **kw: Any) -> Result:
    try:
        import uvloop

        return uvloop.run(run_load(port, traffic, tokens, **kw))
    except ImportError:  # pragma: no cover
        return asyncio.run(run_load(port, traffic, tokens, **kw))


# --- verification ----------------------------------------------------------------------------


def drain(db: Db, processes: int = 2) -> float:
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([PNRGUARD, "worker", "--drain"], env=db.env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]  # fmt: skip
    for p in procs:
        p.wait(1800)
    return time.perf_counter() - t0


def verify(db: Db, bodies: list[bytes]) -> dict[str, int]:
    """Acknowledged bodies against the store: each must be in the inbox once, by SHA-256."""
    from pnrguard.store.db import make_engine
    from pnrguard.store.gateway import gateway_inbox
    from pnrguard.store.tables import message

    digests = {hashlib.sha256(b).digest() for b in bodies}
    engine = make_engine(db.url)
    try:
        with engine.connect() as conn:
            q = select(message.c.sha256).where(message.c.sha256.is_not(None))
            stored = {bytes(d) for d in conn.execute(q).scalars()}
            push_rows = conn.execute(
                select(func.count()).select_from(message).where(message.c.channel == "push")
            ).scalar_one()
            dup_rows = conn.execute(
                select(func.count()).select_from(message).where(message.c.status == "duplicate")
            ).scalar_one()
            pending = conn.execute(
                select(func.count()).select_from(gateway_inbox).where(gateway_inbox.c.status != "done")
            ).scalar_one()
    finally:
        engine.dispose()
    return {
        "acked": len(digests),
        "lost": len(digests - stored),
        "inbox_rows_push": int(push_rows),
        "duplicate_receipts": int(dup_rows),
        "not_done": int(pending),
    }


# --- the baseline server ---------------------------------------------------------------------


def serve_baseline(port: int) -> None:
    """The peer design: ingest synchronously inside the request, answer when stored."""
    import uvicorn

    from pnrguard.service.bootstrap import Node

    node = Node.from_settings()
    app = FastAPI()

    @app.post("/carrier/v1/messages")
    async def push_async(request: Request) -> Response:
        raw = await request.body()
        result = await run_in_threadpool(node.ingest, raw, source_name="push", role="carrier")
        return Response(
            f'{{"status":"{result.status.value}","receipt":"{result.message_id}"}}',
            status_code=202 if result.status.value != "quarantined" else 400,
            media_type="application/json",
        )

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--carriers", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rate", type=float, default=500.0)
    ap.add_argument("--baseline-messages", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="600 messages, 100 for the baseline")
    ap.add_argument("--pg", default=os.environ.get("PNRGUARD_TEST_PG_URL", DEFAULT_PG))
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-drain", action="store_true")
    ap.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_baseline:
        serve_baseline(args.port)
        return
    if args.quick:
        args.messages, args.baseline_messages = 600, 100
    console = Console()
    carriers = [f"C{i:02d}" for i in range(args.carriers)]
    console.print(f"rendering {args.messages} synthetic PNRGOV pushes (~50 bookings each)...")
    traffic = build_traffic(args.messages, carriers, tag="S")
    paced = build_traffic(args.messages, carriers, tag="R")
    base_traffic = build_traffic(args.baseline_messages, carriers, tag="B")
    avg = sum(map(len, traffic.bodies)) / len(traffic.bodies)
    console.print(f"average push {avg / 1024:.1f} KB")
    kinds = [k for k, off in (("sqlite", args.no_sqlite), ("postgresql", args.no_pg)) if not off]
    table = Table(title="Carrier gateway: acknowledged pushes (PNRGOV, ~50 bookings each)")
    for col in ("database", "run", "pushes", "msgs/s", "p50 ms", "p99 ms", "statuses", "lost", "dup"):
        table.add_column(col, justify="right" if col not in ("database", "run", "statuses") else "left")
    for kind in kinds:
        with database(kind, args.pg) as db:
            tokens = add_carriers(db, carriers)
            with server(db, inline_workers=0) as port:
                sat = load(port, traffic, tokens, concurrency=args.concurrency)
            with server(db, inline_workers=1) as port:
                tgt = load(port, paced, tokens, concurrency=args.concurrency, rate=args.rate)
            lost = dup = "-"
            if not args.no_drain:
                console.print(f"{db.name}: draining {len(sat.acked) + len(tgt.acked)} queued pushes...")
                secs = drain(db)
                acked = [traffic.bodies[i] for i in sat.acked] + [paced.bodies[i] for i in tgt.acked]
                v = verify(db, acked)
                console.print(f"{db.name}: drained in {secs:.0f} s; {v}")
                lost = str(v["lost"])
                dup = str(v["duplicate_receipts"] + max(0, v["inbox_rows_push"] - v["acked"]))
            for name, r in (("gateway, saturation (intake only)", sat),
                            (f"gateway, offered {args.rate:g}/s + 1 inline worker", tgt)):  # fmt: skip
                table.add_row(db.name, name, str(r.sent), f"{r.rate:.0f}", f"{r.pct(0.5):.1f}",
                              f"{r.pct(0.99):.1f}", str(dict(sorted(r.statuses.items()))),
                              lost, dup)  # fmt: skip
        with database(kind, args.pg) as db:
            tokens = add_carriers(db, carriers)
            with server(db, inline_workers=0, baseline=True) as port:
                base = load(port, base_traffic, tokens, concurrency=args.concurrency)
            table.add_row(db.name, "baseline: synchronous ingest per request", str(base.sent),
                          f"{base.rate:.0f}", f"{base.pct(0.5):.1f}", f"{base.pct(0.99):.1f}",
                          str(dict(sorted(base.statuses.items()))), "-", "-")  # fmt: skip
    console.print(table)
    console.print(
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {args.carriers} carriers, "
        f"{args.concurrency} connections; latencies are from send (or due time) to full response"
    )


if __name__ == "__main__":
    main()
