"""Proof under faults and load, with real processes and real HTTP.

- SIGKILL: `pnrguard serve` (with its inline worker process) is killed mid-burst and
  restarted; carriers re-send what was not acknowledged, as they do. Afterwards every
  pushed interchange is stored exactly once by SHA-256, and nothing acknowledged is lost.
- A small bounded load: 4 carriers push 200 messages concurrently; nothing lost or
  duplicated once the workers drained the queue.
- Log scan: a full run of synthetic traffic through the gateway; no synthetic surname,
  given name or document number appears in the logs or in /metrics.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from gateway_env import PG_URL, RECIPIENT, gateway_env, synthetic_pushes, with_ref
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from live_server import free_port
from pnrguard.config import Settings
from pnrguard.service import account_admin, carrier_admin, totp
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.store.db import make_engine
from pnrguard.store.gateway import gateway_inbox
from pnrguard.store.tables import message
from pnrguard.web.carrier import PUSH_PATH
from pnrguard.web.logging import configure_logging

PNRGUARD = str(Path(sys.executable).with_name("pnrguard"))


def _traffic(
    copies: int, *, seed: int = 21, flights: int = 3, passengers: int = 10
) -> list[tuple[str, bytes]]:
    """(sender, body) pairs: synthetic PNRGOV and PAXLST pushes, each repeated `copies`
    times under fresh control references (distinct interchanges)."""
    out: list[tuple[str, bytes]] = []
    for push in synthetic_pushes(seed, flights=flights, passengers=passengers):
        bodies = [(push.pnrgov.encode(), push.control_ref)]
        if push.paxlst:
            bodies.append((push.paxlst.encode(), push.control_ref[:-1] + "2"))
        for body, ref in bodies:
            for _ in range(copies):
                out.append((push.sender, with_ref(body, ref, f"{seed:03d}{len(out):08d}")))
    return out


def _stored_once(engine: Engine, bodies: list[bytes]) -> None:
    digests = {hashlib.sha256(b).digest() for b in bodies}
    with engine.connect() as conn:
        stored = [bytes(d) for d in conn.execute(select(message.c.sha256)).scalars() if d is not None]
        receipts = conn.execute(select(func.count()).select_from(message)).scalar_one()
        pending = conn.execute(
            select(func.count()).select_from(gateway_inbox).where(gateway_inbox.c.status != "done")
        ).scalar_one()
    assert digests - set(stored) == set(), "an acknowledged message was lost"
    assert len(stored) == len(set(stored)) == len(digests), "a message was stored twice"
    assert receipts == len(digests), "a retry left a duplicate receipt"
    assert pending == 0


# --- SIGKILL during a burst ------------------------------------------------------------------


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'node.db'}"
        return
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:  # pragma: no cover
        return []
    return [int(x) for x in out.split()]


class _Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log_path = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [PNRGUARD, "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, self.log_path.read_text()[-3000:]
            time.sleep(0.1)
        raise AssertionError("server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        for child in _children(self.proc.pid):  # the inline worker, mid-ingest
            os.kill(child, signal.SIGKILL)
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _issue_tokens(url: str, key_file: Path, senders: set[str]) -> dict[str, str]:
    """A token per sender, issued by an administrator (`service.carrier_admin`, what
    `pnrguard carriers add --as` and `/admin/carriers` call)."""
    with Node.from_settings(Settings(database_url=SecretStr(url), key_file=key_file)) as node:
        admin = account_admin.provision_enrolled(
            node.engine, node.keystore, username="root", role=Role.ADMIN, password="p" * 16,
            totp_secret=totp.new_secret(), now=node.clock(),
        )  # fmt: skip
        return {s: carrier_admin.issue(node, actor=admin, carrier=s)[1] for s in sorted(senders)}


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_mid_burst_loses_and_duplicates_nothing(kind: str, tmp_path: Path) -> None:
    traffic = _traffic(copies=8)
    with _database(kind, tmp_path) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PNRGUARD_")}
        env.update(
            PNRGUARD_DATABASE_URL=url,
            PNRGUARD_KEY_FILE=str(tmp_path / "keys.json"),
            PNRGUARD_GATEWAY_RECIPIENTS=RECIPIENT,
            PNRGUARD_GATEWAY_INLINE_WORKERS="1",
            PNRGUARD_GATEWAY_LEASE_SECONDS="2",
            PNRGUARD_GATEWAY_POLL_SECONDS="0.1",
        )
        tokens = _issue_tokens(url, tmp_path / "keys.json", {s for s, _ in traffic})
        server = _Server(env, free_port(), tmp_path / "serve.log")
        server.start()
        acked: list[bytes] = []
        lock = threading.Lock()
        killed = threading.Event()
        deadline = time.monotonic() + 120

        def carrier(items: list[tuple[str, bytes]]) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
                for sender, body in items:
                    while time.monotonic() < deadline:  # a carrier re-sends until acknowledged
                        try:
                            auth = {"Authorization": f"Bearer {tokens[sender]}"}
                            r = client.post(PUSH_PATH, content=body, headers=auth)
                        except httpx.HTTPError:
                            time.sleep(0.05)
                            continue
                        assert r.status_code in (200, 202, 503), r.text
                        if r.status_code in (200, 202):
                            with lock:
                                acked.append(body)
                            break

        threads = [threading.Thread(target=carrier, args=(traffic[i::4],)) for i in range(4)]
        try:
            for t in threads:
                t.start()
            while len(acked) < len(traffic) // 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            server.kill()  # mid-burst: requests in flight, a message mid-ingest
            killed.set()
            time.sleep(0.5)
            server.start()
            for t in threads:
                t.join(timeout=max(1.0, deadline - time.monotonic()))
            assert len(acked) == len(traffic)
            # Let the restarted server's worker drain the queue (and re-claim the dead one's row).
            engine = make_engine(url)
            try:
                while time.monotonic() < deadline:
                    with engine.connect() as conn:
                        q = select(func.count()).select_from(gateway_inbox)
                        left = conn.execute(q.where(gateway_inbox.c.status != "done")).scalar_one()
                    if left == 0:
                        break
                    time.sleep(0.2)
                _stored_once(engine, acked)
            finally:
                engine.dispose()
        finally:
            server.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log


# --- bounded load ---------------------------------------------------------------------------


@pytest.mark.storage
def test_bounded_load_of_four_carriers(engine: Engine, tmp_path: Path) -> None:
    traffic = _traffic(copies=10, seed=33, flights=2, passengers=6)[:200]
    with gateway_env(engine, tmp_path) as gw:
        for sender in {s for s, _ in traffic}:
            gw.token_for(sender)
        gw.gateway.workers.threads = 1
        gw.gateway.workers.start()  # ingest runs while the burst comes in
        statuses: list[int] = []
        senders = sorted({s for s, _ in traffic})

        def carrier(mine: list[tuple[str, bytes]]) -> None:
            with httpx.Client(base_url=gw.base_url, timeout=30) as client:
                for sender, body in mine:
                    r = client.post(PUSH_PATH, content=body,
                                    headers={"Authorization": f"Bearer {gw.tokens[sender]}"})  # fmt: skip
                    statuses.append(r.status_code)

        groups = [[t for t in traffic if senders.index(t[0]) % 4 == i] for i in range(4)]
        threads = [threading.Thread(target=carrier, args=(g,)) for g in groups]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert statuses.count(202) == len(traffic)
        gw.gateway.workers.stop()
        gw.gateway.workers.drain()
        _stored_once(gw.node.engine, [b for _, b in traffic])


# --- no personal data in logs or metrics ------------------------------------------------------


def _personal_strings(pushes: list) -> set[str]:  # type: ignore[type-arg]
    out: set[str] = set()
    for push in pushes:
        for b in list(push.bookings) + list(push.paxlst_bookings):
            for t in b.travellers:
                out.update(x for x in (t.surname, t.given_names) if x and len(x) >= 3)
                out.update(part for part in (t.given_names or "").split() if len(part) >= 3)
                out.update(d.number for d in t.documents if d.number)
    return out


@pytest.mark.storage
def test_logs_and_metrics_hold_no_personal_data(engine: Engine, tmp_path: Path) -> None:
    pushes = synthetic_pushes(44, flights=3, passengers=25)
    personal = _personal_strings(pushes)
    assert len(personal) > 50
    buf = io.StringIO()
    handler = configure_logging(stream=buf, level=logging.DEBUG)
    try:
        with gateway_env(engine, tmp_path) as gw:
            for push in pushes:
                gw.token_for(push.sender)
                bodies = [push.pnrgov.encode()] + ([push.paxlst.encode()] if push.paxlst else [])
                for body in bodies:
                    assert gw.push(body, carrier=push.sender).status_code == 202
                    gw.push(body, carrier=push.sender)  # an identical re-send
                    gw.push(body[: len(body) // 2], carrier=push.sender)  # truncated: refused
                    gw.push(body.replace(b"UNOC", b"UNOY", 1) + b"\xe9", carrier=push.sender)  # charset
            gw.gateway.workers.drain()
            metrics = gw.client.get("/metrics").text
    finally:
        logging.getLogger().removeHandler(handler)
    logs = buf.getvalue()
    assert "message_processed" in logs
    assert "push_rejected" in logs
    assert "push_accepted" in logs
    leaked = sorted(p for p in personal if p in logs or p in metrics)
    assert leaked == []
