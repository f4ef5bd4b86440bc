"""The receive use case in-process (no server) and the workspace pages over real HTTP."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fed_env import Member, make_member, start, stop, trust, wait_ready
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from live_server import live_server
from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.exchange.client import MESSAGE_PATH, sign_request
from pnrguard.exchange.messages import Envelope, HandlingCode, MessageKind, Subject
from pnrguard.service import accounts
from pnrguard.service import exchange as svc
from pnrguard.service.accounts import Role
from pnrguard.service.review import ReviewPolicy
from pnrguard.store import exchange as store
from pnrguard.store.exchange import exchange_message
from pnrguard.store.repository import new_id
from pnrguard.web.app import create_app

pytestmark = pytest.mark.storage
_CSRF = re.compile(r'name="(?:login_)?csrf_token" value="([^"]+)"')


_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_SEALED = re.compile(r'name="sealed" value="([^"]+)"')
_SECRETS: dict[tuple[str, str], str] = {}


def _login(c: httpx.Client, username: str, engine: Engine) -> None:
    """Password, then the second factor (enrolled from the page on the first login; the
    last used step is cleared so one person can log in twice within 30 s)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE account SET totp_last_step = NULL WHERE username = :u"), {"u": username})
    token = _CSRF.search(c.get("/login").text)
    assert token is not None
    r = c.post("/login", data={"username": username, "password": "x" * 16, "csrf_token": token.group(1)})
    assert r.status_code == 303, r.status_code
    page = c.get(r.headers["location"])
    csrf = _CSRF.search(page.text)
    assert csrf is not None
    data = {"csrf_token": csrf.group(1)}
    key = (str(c.base_url), username)
    shown, sealed = _SECRET.search(page.text), _SEALED.search(page.text)
    if shown and sealed:
        _SECRETS[key] = shown.group(1)
        data["sealed"] = sealed.group(1)
    data["code"] = pyotp.TOTP(_SECRETS[key]).now()
    r = c.post("/login/totp", data=data)
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
                _login(c, a.users[Role.ANALYST].username, a.node.engine)
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
                _login(c, a.users[Role.DPO].username, a.node.engine)
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


# --- the send forms and four eyes on answers (issue 6) ----------------------------------------

_REASONING = "Ticket paid with a card reported stolen; same itinerary as two seized couriers."
_ANSWER_REASON = "Searched our bookings for the subject: nothing relevant on file."


def _token(c: httpx.Client, path: str) -> str:
    found = _CSRF.search(c.get(path).text)
    assert found is not None, path
    return found.group(1)


def _status(m: Member, local_id: str) -> str:
    with m.node.engine.connect() as conn:
        rec = store.get_message(conn, local_id)
    assert rec is not None
    return rec.status


def _entries(m: Member, operation: Operation, reference: str) -> list[AuditEntry]:
    with m.node.engine.connect() as conn:
        return list(m.node.audit(conn).entries(operation=operation, reference=reference))


def test_send_forms_and_four_eyes_on_answers(tmp_path: Path) -> None:
    """A's workspace sends a request to B through the form (and to Z, who never listens: a
    failed, retryable message); B's requests to A are answered under four eyes."""
    a = make_member(tmp_path, "a.piu", f"sqlite:///{tmp_path / 'a.db'}", country="AT")
    b = make_member(tmp_path, "b.piu", f"sqlite:///{tmp_path / 'b.db'}", country="BE")
    z = make_member(tmp_path, "z.piu", f"sqlite:///{tmp_path / 'z.db'}", country="LU")
    second = accounts.create_account(
        a.node.engine, username="a-supervisor-2", role=Role.SUPERVISOR, password="x" * 16, now=a.node.clock()
    )
    urls: list[str] = []
    app: FastAPI | None = None
    try:
        trust(a, b)
        trust(a, z)
        trust(b, a)
        start(a)
        start(b)
        wait_ready(a)
        wait_ready(b)
        app = create_app(a.node)
        app.state.review_policy = ReviewPolicy(four_eyes=True)
        hooks = {"request": [lambda req: urls.append(str(req.url))]}
        with live_server(app) as base:

            def client() -> httpx.Client:
                return httpx.Client(
                    base_url=base, headers={"accept": "text/html"}, timeout=30, event_hooks=hooks
                )

            # 1. The send-request form: CSRF, then a real send to B.
            with client() as c:
                _login(c, a.users[Role.ANALYST].username, a.node.engine)
                form = c.get("/exchange/new/request")
                assert form.status_code == 200
                assert "b.piu" in form.text
                assert "z.piu" in form.text
                assert "personal data" in form.text
                data = {
                    "peer": "b.piu", "purpose": Purpose.FRAUD.value, "case_ref": "AT-2025-17",
                    "legal_basis": "Directive (EU) 2016/681 Art. 9(2)", "reasoning": _REASONING,
                    "subject_kind": "person", "surname": "QUIRINUS", "date_of_birth": "1980-02-03",
                    "handling": ["H0", "H2"],
                }  # fmt: skip
                refused = c.post("/exchange/requests", data=data)
                assert refused.status_code == 403
                assert svc.list_queue(a.node, direction="out") == []
                token = _token(c, "/exchange/new/request")
                sent = c.post("/exchange/requests", data={**data, "csrf_token": token})
                assert sent.status_code == 303
                location = sent.headers["location"]
                found = re.fullmatch(r"/exchange/([0-9a-f]{32})\?done=sent", location)
                assert found is not None, location
                out_id = found.group(1)
                page = c.get(location)
                assert "Delivered" in page.text
                assert "QUIRINUS" in page.text
                bad = c.post("/exchange/requests", data={**data, "surname": "", "csrf_token": token})
                assert bad.status_code == 400
                assert "subject" in bad.text

                # A peer that does not listen: stored as failed, audited, offered for retry.
                token = _token(c, "/exchange/new/request")
                failed = c.post("/exchange/requests", data={**data, "peer": "z.piu", "csrf_token": token})
                assert failed.status_code == 303
                assert failed.headers["location"].endswith("?done=failed")
                failed_id = failed.headers["location"].split("/")[2].split("?")[0]
                page = c.get(failed.headers["location"])
                assert "Not delivered" in page.text
                assert "Retry the delivery" in page.text
                token = _token(c, f"/exchange/{failed_id}")
                again = c.post(f"/exchange/{failed_id}/retry", data={"csrf_token": token})
                assert again.status_code == 303
                assert again.headers["location"].endswith("?done=failed")
                assert _status(a, failed_id) == "failed"

            assert _status(a, out_id) == "sent"
            with a.node.engine.connect() as conn:
                payload = conn.execute(
                    select(exchange_message.c.payload).where(exchange_message.c.id == out_id)
                ).scalar_one()
            assert b"QUIRINUS" not in payload
            assert b"1980-02-03" not in payload
            (disclosed,) = _entries(a, Operation.DISCLOSURE, out_id)
            assert disclosed.actor == a.users[Role.ANALYST].username
            assert disclosed.counts == {"exchange.request.sent": 1}
            assert "peer:b.piu" in disclosed.record_ids
            assert [e.counts for e in _entries(a, Operation.REFUSAL, failed_id)] == [
                {"exchange.delivery_failed.unreachable": 1}
            ] * 2
            assert not any("QUIRINUS" in u or "1980" in u for u in urls)
            queued = {
                r.message_id for r, _ in svc.list_queue(b.node, direction="in", status="awaiting_approval")
            }
            assert out_id in queued

            # 2. Four eyes: B asks A twice; an analyst's approval alone sends nothing.
            asked = [
                svc.send_request(
                    user=b.users[Role.ANALYST],
                    peer_name="a.piu",
                    subject=Subject(kind="person", surname="X"),
                    purpose=Purpose.TERRORIST_OFFENCES,
                    case_ref=f"BE-4E-{i}",
                    legal_basis="Art. 9(2)",
                    reasoning=_REASONING,
                    node=b.node,
                    client=b.client(),
                )
                for i in (1, 2)
            ]
            first, other = (r.peer_message_id for r in asked)
            assert first is not None
            assert other is not None
            answer = {"reason": _ANSWER_REASON, "booking_ids": "", "source": "B", "accuracy": "2"}
            with client() as c:
                _login(c, a.users[Role.ANALYST].username, a.node.engine)
                assert "Four eyes" in c.get(f"/exchange/{first}").text
                r = c.post(f"/exchange/{first}/answer", data={**answer, "csrf_token": _token(c, "/exchange")})
                assert r.status_code == 303
                assert r.headers["location"].endswith("?done=awaiting_second")
                assert _status(a, first) == "awaiting_second"
                r = c.post(
                    f"/exchange/{first}/second-approval",
                    data={
                        "decision": "approve",
                        "reason": _ANSWER_REASON,
                        "csrf_token": _token(c, "/exchange"),
                    },
                )
                assert r.status_code == 403  # an analyst gives no second approval
            with a.node.engine.connect() as conn:
                draft = store.draft_answer(conn, first)
            assert draft is not None
            assert draft.decided_by == a.users[Role.ANALYST].username
            assert _status(b, asked[0].id) == "sent"  # nothing reached B
            assert _entries(a, Operation.DISCLOSURE, draft.id) == []
            (approval,) = _entries(a, Operation.ALTERATION, first)
            assert approval.counts == {"exchange.answer.first_approval": 1, "bookings": 0}

            # The supervisor's second approval sends it.
            with client() as c:
                _login(c, a.users[Role.SUPERVISOR].username, a.node.engine)
                assert "Send it back" in c.get(f"/exchange/{first}").text
                r = c.post(
                    f"/exchange/{first}/second-approval",
                    data={
                        "decision": "approve",
                        "reason": _ANSWER_REASON,
                        "csrf_token": _token(c, "/exchange"),
                    },
                )
                assert r.status_code == 303
                assert r.headers["location"].endswith("?done=answered")

                # The same person twice is refused: the supervisor approves B's second request
                # first, then cannot give the second approval.
                r = c.post(f"/exchange/{other}/answer", data={**answer, "csrf_token": _token(c, "/exchange")})
                assert r.headers["location"].endswith("?done=awaiting_second")
                page = c.get(f"/exchange/{other}")
                assert "Send it back" not in page.text  # no second-approval form for the first approver
                r = c.post(
                    f"/exchange/{other}/second-approval",
                    data={
                        "decision": "approve",
                        "reason": _ANSWER_REASON,
                        "csrf_token": _token(c, "/exchange"),
                    },
                )
                assert r.status_code == 403
                assert "four eyes" in r.text
            assert _status(a, first) == "answered"
            assert _status(a, draft.id) == "sent"
            assert _status(b, asked[0].id) == "answered"
            with a.node.engine.connect() as conn:
                sent_answer = store.get_message(conn, draft.id)
            assert sent_answer is not None
            assert sent_answer.second_approver == a.users[Role.SUPERVISOR].username
            (disclosed,) = _entries(a, Operation.DISCLOSURE, draft.id)
            assert disclosed.actor == a.users[Role.SUPERVISOR].username
            steps = [(e.actor, e.counts) for e in _entries(a, Operation.ALTERATION, first)]
            assert steps == [
                (a.users[Role.ANALYST].username, {"exchange.answer.first_approval": 1, "bookings": 0}),
                (a.users[Role.SUPERVISOR].username, {"exchange.answer.second_approval": 1}),
            ]
            assert _status(a, other) == "awaiting_second"
            assert _status(b, asked[1].id) == "sent"

            # Another supervisor sends that draft back: nothing leaves, the request is queued again.
            with client() as c:
                _login(c, second.username, a.node.engine)
                r = c.post(
                    f"/exchange/{other}/second-approval",
                    data={
                        "decision": "return",
                        "reason": _ANSWER_REASON,
                        "csrf_token": _token(c, "/exchange"),
                    },
                )
                assert r.headers["location"].endswith("?done=returned")
            assert _status(a, other) == "awaiting_approval"
            assert _status(b, asked[1].id) == "sent"
        assert not any("QUIRINUS" in u for u in urls)
    finally:
        web_client = getattr(app.state, "peer_client", None) if app is not None else None
        if web_client is not None:
            web_client.close()
        for m in (a, b):
            stop(m)
        for m in (a, b, z):
            m.close()
