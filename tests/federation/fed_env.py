"""Federation fixtures: real nodes, each its own database, key file and certificates.

Policy (see tests/conftest.py): nothing of ours is faked. Three nodes run `pnrguard peers
serve` as separate processes (Uvicorn, mutual TLS with ``CERT_REQUIRED``) with certificates
from trustme (one CA per nation, as in real life): A and B on SQLite files, C on a
PostgreSQL schema of its own. The test process opens each node's database directly to act
as that node's workspace (calling the same use cases the workspace calls) and to read its
audit log. Two extra identities, D and E, never serve: they only call A, for the refusal
cases (D gets revoked; E's registered certificate expires).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from pydantic import SecretStr
from sqlalchemy import text

from live_server import free_port
from pnrguard.config import Settings
from pnrguard.exchange.identity import IdentityCard
from pnrguard.exchange.peers import PeerKind
from pnrguard.formats.synth import generate
from pnrguard.service import accounts
from pnrguard.service import exchange as svc
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.store.db import make_engine

PG_URL = os.environ.get("PNRGUARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PNRGUARD = str(Path(sys.executable).with_name("pnrguard"))
#: E's registered certificate lives this long, so the test can see it expire.
SHORT_LIVED = dt.timedelta(seconds=8)


@dataclass
class Member:
    """One nation's node: settings, its open `Node`, its people, and its server process."""

    name: str
    settings: Settings
    env: dict[str, str]
    ca: trustme.CA
    node: Node
    users: dict[Role, Account] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _client: Any = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.settings.peer_api_port}"

    def card(self) -> IdentityCard:
        return svc.node_card(self.node)

    def client(self) -> Any:
        """The node's peer client (one per member, closed at teardown)."""
        if self._client is None:
            self._client = svc.make_client(self.node)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self.node.close()


def _tls(dirpath: Path, ca: trustme.CA, name: str, **kw: Any) -> tuple[Path, Path, Path]:
    leaf = ca.issue_cert("127.0.0.1", "localhost", common_name=name, **kw)
    cert, key, ca_pem = dirpath / "node.pem", dirpath / "node.key", dirpath / "ca.pem"
    dirpath.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(b"".join(p.bytes() for p in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    ca_pem.write_bytes(ca.cert_pem.bytes())
    return cert, key, ca_pem


def make_member(
    base: Path, name: str, db_url: str, *, country: str, ca: trustme.CA | None = None, **tls: Any
) -> Member:
    ca = ca or trustme.CA(organization_name=f"{name} PIU CA")
    d = base / name
    cert, key, ca_pem = _tls(d / "tls", ca, name, **tls)
    port = free_port()
    env = {
        "PNRGUARD_DATABASE_URL": db_url,
        "PNRGUARD_KEY_FILE": str(d / "keys.json"),
        "PNRGUARD_NODE_NAME": name,
        "PNRGUARD_NODE_COUNTRY": country,
        "PNRGUARD_TLS_CERT_FILE": str(cert),
        "PNRGUARD_TLS_KEY_FILE": str(key),
        "PNRGUARD_TLS_CA_FILE": str(ca_pem),
        "PNRGUARD_PEER_API_PORT": str(port),
        "PNRGUARD_PEER_API_URL": f"https://127.0.0.1:{port}",
    }
    settings = Settings(
        database_url=SecretStr(db_url),
        key_file=d / "keys.json",
        node_name=name,
        node_country=country,
        tls_cert_file=cert,
        tls_key_file=key,
        tls_ca_file=ca_pem,
        peer_api_port=port,
        peer_api_url=f"https://127.0.0.1:{port}",
    )
    node = Node.from_settings(settings)
    now = node.clock()
    users = {
        role: accounts.create_account(
            node.engine, username=f"{name.split('.')[0]}-{role.value}", role=role, password="x" * 16, now=now
        )
        for role in (Role.ANALYST, Role.SUPERVISOR, Role.DPO)
    }
    return Member(name, settings, env, ca, node, users)


def trust(a: Member, b: Member, kind: PeerKind = PeerKind.MEMBER_STATE, onward: str | None = None) -> None:
    """`a` registers `b`, the fingerprints confirmed out of band (here: read from b's card)."""
    card = b.card()
    svc.register_peer(
        card,
        cert_fingerprint=card.cert_fingerprint,
        key_fingerprint=card.keyid,
        kind=kind,
        onward_condition=onward,
        actor="operator",
        node=a.node,
    )


def start(m: Member) -> None:
    env = {**os.environ, **m.env}
    m.proc = subprocess.Popen(
        [PNRGUARD, "peers", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_ready(m: Member, timeout: float = 60) -> None:
    assert m.proc is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m.proc.poll() is not None:
            err = m.proc.stderr.read().decode() if m.proc.stderr else ""
            raise RuntimeError(f"{m.name} exited: {err[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", m.settings.peer_api_port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{m.name} did not start")


def stop(m: Member) -> None:
    if m.proc is not None and m.proc.poll() is None:
        m.proc.terminate()
        try:
            m.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            m.proc.kill()
            m.proc.wait()
    if m.proc is not None and m.proc.stderr is not None:
        m.proc.stderr.close()


@dataclass
class Federation:
    a: Member
    b: Member
    c: Member
    d: Member  # registered at A only; revoked by a test
    e: Member  # registered at A with a short-lived certificate
    e_renewed: tuple[Path, Path]  # E's renewed TLS certificate and key (same CA)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    base = tmp_path_factory.mktemp("fed")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    members: list[Member] = []
    try:
        a = make_member(base, "a.piu", f"sqlite:///{base / 'a.db'}", country="AT")
        b = make_member(base, "b.piu", f"sqlite:///{base / 'b.db'}", country="BE")
        c = make_member(base, "c.piu", f"{PG_URL}?options=-csearch_path%3D{schema}", country="EU")
        d = make_member(base, "d.piu", f"sqlite:///{base / 'd.db'}", country="DK")
        now = dt.datetime.now(dt.UTC)
        e = make_member(
            base, "e.piu", f"sqlite:///{base / 'e.db'}", country="EE", not_after=now + SHORT_LIVED
        )
        members = [a, b, c, d, e]
        trust(a, e)  # first: its certificate lives only SHORT_LIVED (a loaded machine is slow)
        renewed = _tls(base / "e.piu" / "renewed", e.ca, "e.piu")
        trust(a, b)
        trust(a, c, PeerKind.EUROPOL)
        trust(a, d)
        trust(b, a)
        trust(
            b,
            c,
            PeerKind.THIRD_COUNTRY,
            onward="Undertaking 2025-7: no onward transfer without express authorisation",
        )
        trust(c, a)
        trust(c, b)
        trust(d, a)
        trust(e, a)
        for push in generate(11, flights=1, base_date=dt.date(2025, 6, 1)):
            b.node.ingest(push.pnrgov.encode("utf-8"))
        for m in (a, b, c):
            start(m)
        for m in (a, b, c):
            wait_ready(m)
        yield Federation(a, b, c, d, e, (renewed[0], renewed[1]))
    finally:
        for m in members:
            stop(m)
            m.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
