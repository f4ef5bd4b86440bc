"""Issue 11 §5 over real sockets: the peer API refuses a chunked body past its limit while
it streams (the server's memory stays small), operators' endpoints need their token, HSTS
over TLS."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from fastapi import FastAPI
from pydantic import SecretStr
from workspace_env import Env

from live_server import free_port, live_server
from pnrguard.config import Settings
from pnrguard.exchange.client import MESSAGE_PATH
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.web.carrier import CarrierGateway, carrier_router
from pnrguard.web.hsts import HstsMiddleware
from pnrguard.web.peer import MAX_ENVELOPE_BYTES

pytestmark = pytest.mark.storage

_PEER_SERVER = """
import sys, uvicorn
from pydantic import SecretStr
from pnrguard.config import Settings
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.web.peer import create_peer_app
url = SecretStr("sqlite:///" + sys.argv[1])
settings = Settings(database_url=url, key_file=sys.argv[2], node_name="t.piu")
node = Node.from_settings(settings)
uvicorn.run(create_peer_app(node), host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024  # MiB
    raise AssertionError(key)


def test_peer_api_refuses_a_chunked_body_past_the_limit_without_buffering_it(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _PEER_SERVER, str(tmp_path / "n.db"), str(tmp_path / "k.json"), str(port)],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        before = _vm(proc.pid, "VmRSS")
        sent = 0
        total = 256 * 1024 * 1024

        def body() -> Iterator[bytes]:  # no length: Transfer-Encoding: chunked
            nonlocal sent
            block = b"x" * (1024 * 1024)
            while sent < total:
                sent += len(block)
                yield block

        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}{MESSAGE_PATH}", content=body(),
                headers={"content-type": "application/json"}, timeout=60,
            )  # fmt: skip
            assert r.status_code == 413
        except httpx.TransportError:
            pass  # the server answered 413 and closed while we were still sending
        peak = _vm(proc.pid, "VmHWM")
        # The server read at most about the limit: its peak memory grew by far less than
        # the 256 MiB sent (it was ~500 MiB when the body was buffered whole).
        assert peak - before < 64 + MAX_ENVELOPE_BYTES // (1024 * 1024), (before, peak)
        assert proc.poll() is None  # still serving
        small = httpx.post(f"http://127.0.0.1:{port}{MESSAGE_PATH}", content=b"{}", timeout=10)
        assert small.status_code in (400, 401, 403)  # refused for its signature, not its size
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def sqlite_node(tmp_path: Path) -> Iterator[Node]:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'n.db'}"),
        key_file=tmp_path / "k.json",
        node_name="t.piu",
    )
    with Node.from_settings(settings) as node:
        yield node


def test_operators_endpoints_need_the_token(sqlite_node: Node) -> None:
    from pnrguard.service.gateway_settings import GatewaySettings

    settings = GatewaySettings(recipients="PIUDE", inline_workers=0, ops_token=SecretStr("s3cret-ops-token"))
    gw = CarrierGateway.build(sqlite_node, settings)
    app = FastAPI()
    app.include_router(carrier_router(sqlite_node, gateway=gw))
    try:
        with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as c:
            for path in ("/metrics", "/health/gateway"):
                assert c.get(path).status_code == 401
                assert c.get(path, headers={"authorization": "Bearer wrong"}).status_code == 401
                ok = c.get(path, headers={"authorization": "Bearer s3cret-ops-token"})
                assert ok.status_code == 200, path
    finally:
        gw.close()


def test_hsts_is_sent_over_tls_only(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/x")
    def x() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(HstsMiddleware)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    key, chain = tmp_path / "key.pem", tmp_path / "chain.pem"
    cert.private_key_pem.write_to_path(str(key))
    cert.cert_chain_pems[0].write_to_path(str(chain))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with live_server(app, ssl_keyfile=str(key), ssl_certfile=str(chain)) as base:
        r = httpx.get(
            base.replace("http://", "https://") + "/x", verify=ssl.create_default_context(cafile=ca_file)
        )
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
    with live_server(app) as base:
        assert "strict-transport-security" not in httpx.get(base + "/x").headers


def test_no_numeric_parameter_reaches_the_database_unbounded(env: Env) -> None:
    """Every GET route, as a role it admits, with hostile numbers in the query: 4xx or a
    page, never a 500 (`?page=99999999999999999999` was one)."""
    from test_route_walk import ACCESS, OWN_AUTH, PUBLIC, _concrete

    hostile = ("99999999999999999999", "-1", "0", "1e9", "NaN", "9" * 400)
    checked = 0
    clients = {role: env.session_client(env.users[role]) for role in env.users}
    try:
        for (method, path), access in ACCESS.items():
            if method != "GET" or access in (PUBLIC, OWN_AUTH) or path == "/static":
                continue
            assert isinstance(access, frozenset)
            client, _ = clients[sorted(access)[0]]
            for value in hostile:
                url = f"{_concrete(path)}?page={value}&limit={value}&offset={value}&year={value}"
                r = client.get(url)
                assert r.status_code < 500, (path, value, r.status_code)
                checked += 1
        r = clients[Role.ANALYST][0].get("/hits?page=99999999999999999999")
        assert r.status_code == 422
    finally:
        for c, _ in clients.values():
            c.close()
    assert checked > 100
