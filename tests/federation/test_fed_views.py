"""The receive use case in-process (no server) and the workspace pages over real HTTP."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import httpx
import pytest

from conftest import make_member, trust
from live_server import live_server
from pnrguard.audit.models import Operation, Purpose
from pnrguard.exchange.client import MESSAGE_PATH, sign_request
from pnrguard.exchange.messages import Envelope, HandlingCode, MessageKind, Subject
from pnrguard.service import exchange as svc
from pnrguard.service.accounts import Role
from pnrguard.store.repository import new_id
from pnrguard.web.app import create_app

pytestmark = pytest.mark.storage
_CSRF = re.compile(r'name="(?:login_)?csrf_token" value="([^"]+)"')


def _login(c: httpx.Client, username: str) -> None:
    token = _CSRF.search(c.get("/login").text)
    assert token is not None
    r = c.post("/login", data={"username": username, "password": "x" * 16, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.status_code


def test_receive_then_queue_pages(tmp_path: Path) -> None:
    a = make_member(tmp_path, "a.piu", f"sqlite:///{tmp_path / 'a.db'}", country="AT")
    b = make_member(tmp_path, "b.piu", f"sqlite:///{tmp_path / 'b.db'}", country="BE")
    try:
        trust(a, b)
        env = Envelope(
            message_id=new_id(),
            kind=MessageKind.REQUEST,
            sender="b.piu",
            recipient="a.piu",
            sent_at=dt.datetime.now(dt.UTC),
            case_ref="BE-2025-9",
            purpose=Purpose.FRAUD,
            legal_basis="Art. 9(2)",
            handling=[HandlingCode.H0, HandlingCode.H3],
            handling_conditions="Not to be shared with customs.",
            reasoning="Ticket bought with a card reported stolen the same day.",
            subject=Subject(kind="person", surname="QUIRINUS"),
        )
        body = env.to_bytes()
        url = a.url + MESSAGE_PATH
        headers = sign_request(
            key=b.node.keystore.signing_key(),
            url=url,
            body=body,
            message_id=env.message_id,
            now=int(time.time()),
            window=300,
        )
        got = svc.receive_message(svc.Inbound("POST", url, list(headers.items()), body), node=a.node)
        assert got.status == 202
        again = svc.receive_message(svc.Inbound("POST", url, list(headers.items()), body), node=a.node)
        assert again.status == 401
        assert b'"replay"' in again.body
        (rec, peer), *_ = svc.list_queue(a.node, direction="in")
        assert rec.status == "awaiting_approval"
        assert peer.name == "b.piu"

        with live_server(create_app(a.node)) as base:
            with httpx.Client(base_url=base, headers={"accept": "text/html"}, timeout=30) as c:
                assert c.get("/exchange").status_code == 401
                _login(c, a.users[Role.ANALYST].username)
                page = c.get("/exchange")
                assert page.status_code == 200
                assert "BE-2025-9" in page.text
                assert "QUIRINUS" not in page.text  # the queue decrypts nothing
                detail = c.get(f"/exchange/{rec.id}")
                assert detail.status_code == 200
                assert "QUIRINUS" in detail.text
                assert "Not to be shared with customs." in detail.text
                assert c.post(f"/exchange/{rec.id}/refuse", data={"reason": "x" * 30}).status_code == 403
            with httpx.Client(base_url=base, headers={"accept": "application/json"}, timeout=30) as c:
                _login(c, a.users[Role.DPO].username)
                assert c.get(f"/exchange/{rec.id}").status_code == 200
                r = c.post(f"/exchange/{rec.id}/answer", data={"reason": "x" * 30})
                assert r.status_code == 403
                assert r.json()["error"] == "role_refused"
        with a.node.engine.connect() as conn:
            looks = a.node.audit(conn).entries(operation=Operation.CONSULTATION, reference=rec.id)
        assert [e.purpose for e in looks] == [Purpose.FRAUD, Purpose.DPO_SUPERVISION]
    finally:
        a.close()
        b.close()
