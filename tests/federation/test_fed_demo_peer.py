"""`pnrguard demo-peer`'s synthetic peer (service/demo_peer.py) against a real node: both
trust each other, the peer asks the node about one of its travellers, and answers the
node's requests with what its search from the subject found."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from fed_env import PNRGUARD, make_member, start, stop, wait_ready

from live_server import free_port
from pnrguard.audit.models import Purpose
from pnrguard.exchange.messages import Subject
from pnrguard.formats.synth import generate
from pnrguard.service import demo_peer
from pnrguard.service import exchange as svc
from pnrguard.service import exchange_inbox as inbox
from pnrguard.service.accounts import Role
from pnrguard.service.bootstrap import Node
from pnrguard.store import exchange as store
from pnrguard.store.repository import BookingRepository

pytestmark = [pytest.mark.storage, pytest.mark.e2e]


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("the synthetic peer's API did not start")


def test_synthetic_peer_asks_and_answers(tmp_path: Path) -> None:
    main = make_member(tmp_path, "main.piu", f"sqlite:///{tmp_path / 'main.db'}", country="AT")
    for push in generate(3, flights=1, base_date=dt.date.today() + dt.timedelta(days=2)):
        main.node.ingest(push.pnrgov.encode("utf-8"))
    spec = demo_peer.peer_settings(tmp_path / "peer", port=free_port())
    demo_peer.ensure_pki(spec.settings)
    peer = Node.from_settings(spec.settings)
    proc = None
    client = None
    try:
        robot = demo_peer.prepare(main.node, peer)
        assert demo_peer.prepare(main.node, peer).username == robot.username  # idempotent
        assert {p.name for p in svc.list_peers(main.node)} == {demo_peer.PEER_NAME}
        start(main)
        env = {**os.environ, **demo_peer.peer_env(spec.settings)}
        proc = subprocess.Popen([PNRGUARD, "peers", "serve"], env=env, stderr=subprocess.DEVNULL)
        wait_ready(main)
        _wait_port(spec.settings.peer_api_port)
        client = svc.make_client(peer)

        asked = demo_peer.ask_demo(main.node, peer, robot, client)
        assert asked is not None
        assert asked.status == "sent"
        assert inbox.inbox_counts(main.node).requests == 1

        with peer.engine.connect() as conn:
            bid = conn.exec_driver_sql("SELECT id FROM booking ORDER BY id LIMIT 1").scalar_one()
            b = BookingRepository(conn, peer.keystore).get(bid)
        assert b.itinerary[0].departure is not None
        subject = Subject(
            kind="person", surname=b.travellers[0].surname, flight_date=b.itinerary[0].departure.date()
        )
        ours = svc.send_request(
            user=main.users[Role.ANALYST], peer_name=demo_peer.PEER_NAME, subject=subject,
            purpose=Purpose.TERRORIST_OFFENCES, case_ref="AT-DEMO-1", legal_basis="Art. 9(2)",
            reasoning="Synthetic: the traveller shares an itinerary with a courier network.",
            node=main.node, client=main.client(),
        )  # fmt: skip
        assert ours.status == "sent"
        assert demo_peer.answer_waiting(peer, robot, client) == 1
        with main.node.engine.connect() as conn:
            done = store.get_message(conn, ours.id)
        assert done is not None
        assert done.status == "answered"
        assert inbox.inbox_counts(main.node).answers == 1
    finally:
        if client is not None:
            client.close()
        if main._client is not None:  # keep-alive connections would hold the servers' shutdown
            main._client.close()
            main._client = None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stop(main)
        main.close()
        peer.close()
