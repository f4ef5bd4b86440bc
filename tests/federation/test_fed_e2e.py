"""Three nodes on loopback, each its own process, database and certificates (see conftest):
requests, answers and transfers end to end, logged at both ends; every refusal case refused
with a clear error and logged as a refusal by the receiver; a bounded load test."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest
import trustme
from fed_env import Federation, Member
from sqlalchemy import func, select

from pnrguard.audit.models import AuditEntry, Operation, Purpose
from pnrguard.cli.users import synthetic_watchlist
from pnrguard.errors import ConflictError, ForbiddenError
from pnrguard.exchange.client import MESSAGE_PATH, PeerRefused, PeerUnreachable, sign_request
from pnrguard.exchange.identity import client_context
from pnrguard.exchange.messages import AnswerOutcome, Envelope, Evaluation, HandlingCode, MessageKind, Subject
from pnrguard.service import exchange as svc
from pnrguard.service import four_eyes, peer_answers
from pnrguard.service.accounts import Role
from pnrguard.service.requests import SearchCriteria
from pnrguard.service.screening import ReviewDecision, import_watchlist, review_hit
from pnrguard.store import exchange as store
from pnrguard.store.lifecycle import dpo_notification
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

A_ = Role.ANALYST
S_ = Role.SUPERVISOR
DRUGS = Purpose.ILLICIT_TRAFFICKING_IN_DRUGS
REASON = "Reasoned decision recorded for the test case file."
EVAL = Evaluation(source="B", accuracy="2")


@pytest.fixture(autouse=True)
def _one_approval(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the exchange itself with one approval (four eyes off, as a
    node may choose); `test_four_eyes_on_every_disclosure` runs with the default (on)."""
    monkeypatch.setenv("PNRGUARD_FOUR_EYES", "false")


def audit(m: Member, **kw: Any) -> list[AuditEntry]:
    with m.node.engine.connect() as conn:
        return m.node.audit(conn).entries(**kw)


def refusals(m: Member) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in audit(m, operation=Operation.REFUSAL):
        for k, v in e.counts.items():
            out[k] = out.get(k, 0) + v
    return out


def request(m: Member, peer: str, subject: Subject, **kw: Any) -> store.ExchangeRecord:
    return svc.send_request(
        user=m.users[A_],
        peer_name=peer,
        subject=subject,
        purpose=kw.pop("purpose", DRUGS),
        case_ref=kw.pop("case_ref", f"CASE-{new_id()[-8:]}"),
        legal_basis="Directive (EU) 2016/681 Art. 9(2)",
        reasoning="Suspected courier on a known route; booking linked to seized consignment.",
        node=m.node,
        client=m.client(),
        **kw,
    )


def test_request_waits_for_a_person_then_the_answer_is_logged_at_both_ends(federation: Federation) -> None:
    a, b = federation.a, federation.b
    with b.node.engine.begin() as conn:
        ids = list(
            conn.execute(
                select(booking.c.id).where(booking.c.state == "active").order_by(booking.c.id).limit(2)
            ).scalars()
        )
        repo = BookingRepository(conn, b.node.keystore)
        target = repo.summary(ids[0])
        second = repo.summary(ids[1])
        full = repo.get(ids[1])
        repo.mark_masked(ids[1], at=b.node.clock())
    out = request(
        a,
        "b.piu",
        Subject(kind="booking", carrier=target.carrier, locator=target.locator),
        handling=[HandlingCode.H0, HandlingCode.H2],
    )
    assert out.status == "sent"
    assert out.peer_message_id is not None

    # At B: waiting for a person, filed under the id A was told.
    waiting = {r.id: r for r, _ in svc.list_queue(b.node, direction="in", status="awaiting_approval")}
    assert out.peer_message_id in waiting
    inbound = waiting[out.peer_message_id]
    assert inbound.message_id == out.id
    assert inbound.handling == ("H0", "H2")
    _, peer, env = svc.open_message(inbound.id, user=b.users[A_], node=b.node)
    assert peer.name == "a.piu"
    assert env.subject is not None
    assert env.subject.locator == target.locator

    # An answer names only what the request's searches found (issue 11 §5).
    found = peer_answers.search_peer_request(inbound.id, user=b.users[A_], node=b.node)
    assert ids[0] in [f.id for f in found]
    assert ids[1] not in [f.id for f in found]
    with pytest.raises(ForbiddenError, match="not found by this request"):
        svc.approve_answer(
            inbound.id, user=b.users[S_], reason=REASON, booking_ids=ids, evaluation=EVAL,
            node=b.node, client=b.client(),
        )  # fmt: skip
    # The analyst searches further under the request (logged), and finds the second one.
    more = SearchCriteria(carrier=second.carrier, locator=second.locator)
    assert ids[1] in [
        f.id
        for f in peer_answers.search_peer_request(inbound.id, user=b.users[A_], node=b.node, criteria=more)
    ]

    # Nothing leaves without a person: an operator-less answer is refused, a short reason too.
    with pytest.raises(ForbiddenError):
        svc.approve_answer(
            inbound.id,
            user=b.users[Role.DPO],
            reason=REASON,
            booking_ids=ids,
            evaluation=EVAL,
            node=b.node,
            client=b.client(),
        )
    with pytest.raises(Exception, match="reasoned"):
        svc.approve_answer(
            inbound.id,
            user=b.users[S_],
            reason="ok",
            booking_ids=ids,
            evaluation=EVAL,
            node=b.node,
            client=b.client(),
        )
    # A masked booking leaves only under a decided judicial unmasking (Art. 12(3)): the
    # answer naming it is refused whole, and nothing is filed or sent.
    with pytest.raises(ForbiddenError, match="masked"):
        svc.approve_answer(
            inbound.id,
            user=b.users[S_],
            reason=REASON,
            booking_ids=ids,
            evaluation=EVAL,
            handling=[HandlingCode.H0, HandlingCode.H1],
            node=b.node,
            client=b.client(),
        )
    answer = svc.approve_answer(
        inbound.id,
        user=b.users[S_],
        reason=REASON,
        booking_ids=ids[:1],
        evaluation=EVAL,
        handling=[HandlingCode.H0, HandlingCode.H1],
        node=b.node,
        client=b.client(),
    )
    assert answer.status == "sent"
    assert answer.records == 1
    assert answer.masked_records == 0
    with pytest.raises(ConflictError):  # decided once
        svc.approve_answer(
            inbound.id,
            user=b.users[S_],
            reason=REASON,
            booking_ids=ids[:1],
            evaluation=EVAL,
            node=b.node,
            client=b.client(),
        )

    # At A: the request is answered; the masked booking did not come at all.
    with a.node.engine.connect() as conn:
        asked = store.get_message(conn, out.id)
    assert asked is not None
    assert asked.status == "answered"
    received = [r for r, _ in svc.list_queue(a.node, direction="in") if r.in_reply_to == out.id]
    assert len(received) == 1
    assert received[0].peer_message_id == answer.id
    assert received[0].evaluation == "B2"
    _, _, got = svc.open_message(received[0].id, user=a.users[A_], node=a.node)
    by_ref = {r.ref: r for r in got.records}
    assert by_ref[ids[0]].masked is False
    assert any(t.get("surname") for t in by_ref[ids[0]].booking["travellers"])
    assert ids[1] not in by_ref
    assert full.travellers

    # Logged at both ends, each with the other side's message id.
    sent_a = audit(a, operation=Operation.DISCLOSURE, reference=out.id)
    assert len(sent_a) == 1
    assert f"peer-msg:{inbound.id}" in sent_a[0].record_ids
    got_b = audit(b, operation=Operation.COLLECTION, reference=inbound.id)
    assert len(got_b) == 1
    assert f"peer-msg:{out.id}" in got_b[0].record_ids
    assert got_b[0].actor == "peer:a.piu"
    sent_b = audit(b, operation=Operation.DISCLOSURE, reference=answer.id)
    assert len(sent_b) == 1
    assert f"peer-msg:{received[0].id}" in sent_b[0].record_ids
    assert ids[0] in sent_b[0].record_ids
    assert ids[1] not in sent_b[0].record_ids
    assert sent_b[0].counts["bookings.masked"] == 0
    got_a = audit(a, operation=Operation.COLLECTION, reference=received[0].id)
    assert f"peer-msg:{answer.id}" in got_a[0].record_ids
    assert audit(b, operation=Operation.CONSULTATION, reference=inbound.id)  # the look and the read


def test_refused_request_tells_the_requester(federation: Federation) -> None:
    a, b = federation.a, federation.b
    out = request(a, "b.piu", Subject(kind="person", surname="NOBODY", date_of_birth=dt.date(1980, 1, 1)))
    assert out.peer_message_id is not None
    svc.refuse_request(out.peer_message_id, user=b.users[A_], reason=REASON, node=b.node, client=b.client())
    answers = [r for r, _ in svc.list_queue(a.node, direction="in") if r.in_reply_to == out.id]
    assert [r.outcome for r in answers] == ["refused"]
    assert audit(b, operation=Operation.REFUSAL, reference=out.peer_message_id)


def test_transfer_of_a_confirmed_hit_h2_and_third_country(federation: Federation) -> None:
    a, b, c = federation.a, federation.b, federation.c
    import_watchlist(
        synthetic_watchlist(b.node, people=6),
        name="fed-list",
        fmt="csv",
        purpose=DRUGS,
        engine=b.node.engine,
        keystore=b.node.keystore,
        audit=b.node.audit,
        clock=b.node.clock,
        actor="test",
        role="admin",
    )
    with b.node.engine.connect() as conn:
        hit_ids = list(
            conn.execute(select(hit.c.id).where(hit.c.status == "open").order_by(hit.c.id)).scalars()
        )
    assert len(hit_ids) >= 2
    with pytest.raises(ConflictError):  # an unreviewed hit never leaves
        svc.send_transfer(
            user=b.users[A_],
            peer_name="a.piu",
            case_ref="BE-T-1",
            reason=REASON,
            evaluation=EVAL,
            hit_id=hit_ids[0],
            node=b.node,
            client=b.client(),
        )
    review_hit(
        hit_ids[0],
        reviewer=b.users[A_].username,
        decision=ReviewDecision.CONFIRM,
        reason=REASON,
        engine=b.node.engine, keystore=b.node.keystore,
        audit=b.node.audit,
        clock=b.node.clock,
    )
    sent = svc.send_transfer(
        user=b.users[A_],
        peer_name="a.piu",
        case_ref="BE-T-1",
        reason=REASON,
        evaluation=EVAL,
        hit_id=hit_ids[0],
        handling=[HandlingCode.H0, HandlingCode.H2],
        node=b.node,
        client=b.client(),
    )
    assert sent.status == "sent"
    with a.node.engine.connect() as conn:
        got = store.find_message(conn, peer_id=_peer_id(a, "b.piu"), direction="in", message_id=sent.id)
    assert got is not None
    assert got.kind == "transfer"
    assert "H2" in got.handling

    # H2: A may not pass it on to C without B's recorded permission.
    before = refusals(a).get("exchange.refused.h2", 0)
    with pytest.raises(ForbiddenError, match="H2"):
        svc.send_transfer(
            user=a.users[A_],
            peer_name="c.piu",
            case_ref="AT-F-1",
            reason=REASON,
            evaluation=EVAL,
            forward_message_id=got.id,
            node=a.node,
            client=a.client(),
        )
    assert refusals(a)["exchange.refused.h2"] == before + 1
    with pytest.raises(ForbiddenError):  # an analyst does not record permissions
        svc.record_onward_permission(
            got.id, to_peer_name="c.piu", reference="BE-LETTER-42", user=a.users[A_], node=a.node
        )
    svc.record_onward_permission(
        got.id, to_peer_name="c.piu", reference="BE-LETTER-42", user=a.users[S_], node=a.node
    )
    fwd = svc.send_transfer(
        user=a.users[A_],
        peer_name="c.piu",
        case_ref="AT-F-1",
        reason=REASON,
        evaluation=EVAL,
        forward_message_id=got.id,
        node=a.node,
        client=a.client(),
    )
    assert fwd.status == "sent"
    assert "H2" in fwd.handling  # the restriction travels on
    with c.node.engine.connect() as conn:
        at_c = store.find_message(conn, peer_id=_peer_id(c, "a.piu"), direction="in", message_id=fwd.id)
    assert at_c is not None
    assert "H2" in at_c.handling

    # Third country (C is registered at B as one): the condition travels, H2 added, DPO told.
    review_hit(
        hit_ids[1],
        reviewer=b.users[A_].username,
        decision=ReviewDecision.CONFIRM,
        reason=REASON,
        engine=b.node.engine, keystore=b.node.keystore,
        audit=b.node.audit,
        clock=b.node.clock,
    )
    tc = svc.send_transfer(
        user=b.users[A_],
        peer_name="c.piu",
        case_ref="BE-T-2",
        reason=REASON,
        evaluation=EVAL,
        hit_id=hit_ids[1],
        node=b.node,
        client=b.client(),
    )
    assert "H2" in tc.handling
    with b.node.engine.connect() as conn:
        kinds = conn.execute(
            select(dpo_notification.c.kind).where(dpo_notification.c.reference == tc.id)
        ).scalars()
        assert list(kinds) == ["third_country_transfer"]
    with c.node.engine.connect() as conn:
        row = store.find_message(conn, peer_id=_peer_id(c, "b.piu"), direction="in", message_id=tc.id)
    assert row is not None
    _, _, env = svc.open_message(row.id, user=c.users[A_], node=c.node)
    assert env.onward_transfer_condition is not None
    assert "Undertaking 2025-7" in env.onward_transfer_condition


def test_europol_requests_only_from_europol(federation: Federation) -> None:
    a, b, c = federation.a, federation.b, federation.c
    subject = Subject(kind="person", surname="EXAMPLE", document_number="X1234567")
    ok = request(c, "a.piu", subject, kind=MessageKind.EUROPOL_REQUEST)
    assert ok.status == "sent"
    with pytest.raises(PeerRefused) as e:
        request(b, "a.piu", subject, kind=MessageKind.EUROPOL_REQUEST)
    assert e.value.peer_code == "not_europol"
    assert refusals(a).get("exchange.refused.not_europol") == 1
    assert refusals(b).get("exchange.delivery_failed.not_europol") == 1  # the sender logs it too
    with b.node.engine.connect() as conn:
        failed = store.list_messages(conn, direction="out", status="failed")
    assert failed


# --- refusals at the door ----------------------------------------------------------------


def _peer_id(m: Member, name: str) -> str:
    p = next(p for p in svc.list_peers(m.node) if p.name == name)
    return p.id


def _envelope(sender: str, recipient: str = "a.piu") -> Envelope:
    return Envelope(
        message_id=new_id(),
        kind=MessageKind.REQUEST,
        sender=sender,
        recipient=recipient,
        sent_at=dt.datetime.now(dt.UTC),
        case_ref="PROBE-1",
        purpose=DRUGS,
        legal_basis="Art. 9(2)",
        handling=[HandlingCode.H0],
        reasoning="A probe of the door, reasoned at length.",
        subject=Subject(kind="person", surname="PROBE"),
    )


def _raw(
    sender: Member,
    to: Member,
    *,
    key: Any = None,
    cert: tuple[Any, Any] | None = None,
    keyid_of: Any = None,
    env: Envelope | None = None,
) -> tuple[httpx.Client, str, bytes, dict[str, str]]:
    env = env or _envelope(sender.name)
    body = env.to_bytes()
    url = to.url + MESSAGE_PATH
    signing = key or sender.node.keystore.signing_key()
    headers = sign_request(
        key=signing, url=url, body=body, message_id=env.message_id, now=int(time.time()), window=300
    )
    if keyid_of is not None:  # claim another key's id (a forgery)
        from pnrguard.exchange.identity import key_fingerprint

        headers["signature-input"] = headers["signature-input"].replace(
            key_fingerprint(signing), key_fingerprint(keyid_of)
        )
    cert_file, key_file = cert or (sender.settings.tls_cert_file, sender.settings.tls_key_file)
    ctx = client_context(cert_file=cert_file, key_file=key_file, peer_ca_pem=to.ca.cert_pem.bytes().decode())
    return httpx.Client(verify=ctx, timeout=10, trust_env=False), url, body, headers


def test_refusals_are_clear_and_logged_by_the_receiver(federation: Federation) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    a, b, d, e = federation.a, federation.b, federation.d, federation.e
    before = refusals(a)

    def refused(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        with client:
            r = client.post(url, content=body, headers=headers)
        assert r.status_code in (400, 401, 403), r.status_code
        assert r.headers["signature-input"]  # refusals are signed too
        data: dict[str, Any] = r.json()
        return data

    # Replay: the same signed bytes twice.
    client, url, body, headers = _raw(b, a)
    with client:
        assert client.post(url, content=body, headers=headers).status_code == 202
        r = client.post(url, content=body, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "replay"
    assert "replay" in r.json()["detail"]

    # Forged: signed with another key under B's keyid.
    data = refused(*_raw(b, a, key=Ed25519PrivateKey.generate(), keyid_of=b.node.keystore.signing_key()))
    assert data["error"] == "bad_signature"

    # Unknown peer: a trusted CA, an unregistered signing key.
    data = refused(*_raw(d, a, key=Ed25519PrivateKey.generate()))
    assert data["error"] == "unknown_peer"

    # Revoked peer: D is fine, then revoked, with no restart. A connection D opened before
    # gets a signed, logged refusal for its next message; a new connection is refused at
    # the TLS handshake (the running server no longer trusts D's CA).
    cl, u, bd, hd = _raw(d, a)
    with cl:
        assert cl.post(u, content=bd, headers=hd).status_code == 202
        assert svc.revoke_peer("d.piu", actor="operator", node=a.node)
        unused, u2, bd2, hd2 = _raw(d, a)
        unused.close()
        r = cl.post(u2, content=bd2, headers=hd2)
    assert r.status_code == 403, r.status_code
    assert r.headers["signature-input"]
    assert r.json()["error"] == "revoked_peer"
    fresh, u3, bd3, hd3 = _raw(d, a)
    with fresh, pytest.raises(httpx.TransportError):
        fresh.post(u3, content=bd3, headers=hd3)

    # Expired certificate: E's registered certificate expires; E calls with a renewed one
    # (same CA, so TLS admits it) and the app refuses the stale registration.
    left = next(p for p in svc.list_peers(a.node) if p.name == "e.piu").cert_not_after - dt.datetime.now(
        dt.UTC
    )
    time.sleep(max(0.0, left.total_seconds()) + 0.5)
    data = refused(*_raw(e, a, cert=federation.e_renewed))
    assert data["error"] == "certificate_expired"
    assert "expired" in data["detail"]

    after = refusals(a)
    for code in ("replay", "bad_signature", "unknown_peer", "revoked_peer", "certificate_expired"):
        key = f"exchange.refused.{code}"
        assert after.get(key, 0) == before.get(key, 0) + 1, key
    assert all(
        e.purpose is Purpose.SYSTEM_SECURITY
        for e in audit(a, operation=Operation.REFUSAL)
        if any(k.startswith("exchange.refused.") and k != "exchange.refused.h2" for k in e.counts)
    )


def test_tls_refuses_expired_and_foreign_certificates(federation: Federation) -> None:
    a, e = federation.a, federation.e
    peer_a = next(p for p in svc.list_peers(e.node) if p.name == "a.piu")
    left = next(p for p in svc.list_peers(a.node) if p.name == "e.piu").cert_not_after - dt.datetime.now(
        dt.UTC
    )
    time.sleep(max(0.0, left.total_seconds()) + 0.5)
    env = _envelope("e.piu")
    # E's own TLS certificate has expired: A's TLS stack refuses it...
    client, url, body, headers = _raw(e, a)
    with client, pytest.raises(httpx.TransportError):
        client.post(url, content=body, headers=headers)
    # ...and E's client says why before trying (TLS 1.3 would only show a closed connection).
    with pytest.raises(PeerUnreachable, match="TLS certificate expired"):
        svc.make_client(e.node).post(peer_a, env.to_bytes(), env.message_id)
    # A certificate from a CA that no registered peer uses never reaches the app.
    stranger = trustme.CA().issue_cert("127.0.0.1")
    d = e.settings.tls_cert_file.parent.parent / "stranger"
    d.mkdir()
    (d / "c.pem").write_bytes(b"".join(p.bytes() for p in stranger.cert_chain_pems))
    (d / "k.pem").write_bytes(stranger.private_key_pem.bytes())
    client, url, body, headers = _raw(e, a, cert=(d / "c.pem", d / "k.pem"))
    with client, pytest.raises(httpx.TransportError):
        client.post(url, content=body, headers=headers)


# --- load ----------------------------------------------------------------------------------


def test_load_1000_signed_requests_from_two_peers(federation: Federation) -> None:
    a, b, c = federation.a, federation.b, federation.c
    n_each = 500
    subject = Subject(kind="person", surname="LOAD")
    senders = [(b, b.client()), (c, c.client())]

    def one(args: tuple[Member, Any]) -> store.ExchangeRecord:
        m, client = args
        return svc.send_request(
            user=m.users[A_],
            peer_name="a.piu",
            subject=subject,
            purpose=DRUGS,
            case_ref="LOAD-1",
            legal_basis="Art. 9(2)",
            reasoning="Bounded load test of the federation path.",
            node=m.node,
            client=client,
        )

    with a.node.engine.connect() as conn:
        start_count = conn.execute(select(func.count()).select_from(store.exchange_message)).scalar_one()
    t0 = time.perf_counter()
    jobs = [senders[i % 2] for i in range(2 * n_each)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        sent = list(pool.map(one, jobs))
    elapsed = time.perf_counter() - t0
    # Re-deliver 50 of them (a lost receipt): same message id, fresh signature.
    for rec in sent[:50]:
        m, client = senders[0] if rec.peer_id == _peer_id(b, "a.piu") else senders[1]
        with m.node.engine.connect() as conn:
            env = svc._unseal(conn, m.node.keystore, rec.id)
        peer = next(p for p in svc.list_peers(m.node) if p.name == "a.piu")
        receipt = client.post(peer, env.to_bytes(), env.message_id)
        assert receipt.duplicate
        assert receipt.peer_message_id == rec.peer_message_id
    rate = len(sent) / elapsed
    print(f"\nfederation load: {len(sent)} signed requests in {elapsed:.1f}s = {rate:.0f}/s (mTLS, 2 peers)")
    assert elapsed < 120
    assert all(r.status == "sent" for r in sent)
    assert len({r.peer_message_id for r in sent}) == 2 * n_each  # none processed twice
    with a.node.engine.connect() as conn:
        rows = (
            conn.execute(
                select(store.exchange_message.c.message_id).where(
                    store.exchange_message.c.case_ref == "LOAD-1"
                )
            )
            .scalars()
            .all()
        )
        total = conn.execute(select(func.count()).select_from(store.exchange_message)).scalar_one()
    assert sorted(rows) == sorted(r.id for r in sent)  # none lost, none twice
    assert total - start_count == 2 * n_each
    collected = [
        e for e in audit(a, operation=Operation.COLLECTION) if "exchange.request.received" in e.counts
    ]
    refs = {e.reference for e in collected}
    assert {r.peer_message_id for r in sent} <= refs
    for m in (b, c):
        with m.node.engine.connect() as conn:
            n = conn.execute(
                select(func.count())
                .select_from(store.exchange_message)
                .where(
                    store.exchange_message.c.case_ref == "LOAD-1", store.exchange_message.c.status == "sent"
                )
            ).scalar_one()
        assert n == n_each


def test_four_eyes_on_every_disclosure(federation: Federation, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11 §4: with four eyes on (the default, also for a caller that passes no
    policy), one analyst alone sends nothing to a peer and approves no third-country
    transfer; the supervisor sees the sealed message itself, then it leaves unchanged."""
    monkeypatch.delenv("PNRGUARD_FOUR_EYES", raising=False)
    a, b, c = federation.a, federation.b, federation.c
    with b.node.engine.connect() as conn:
        open_hits = list(
            conn.execute(select(hit.c.id).where(hit.c.status == "open").order_by(hit.c.id)).scalars()
        )
    if len(open_hits) < 2:
        import_watchlist(
            synthetic_watchlist(b.node, people=6), name="fed-list-4eyes", fmt="csv", purpose=DRUGS,
            engine=b.node.engine, keystore=b.node.keystore, audit=b.node.audit, clock=b.node.clock,
            actor="test", role="admin",
        )  # fmt: skip
        with b.node.engine.connect() as conn:
            open_hits = list(conn.execute(select(hit.c.id).where(hit.c.status == "open")).scalars())
    review_hit(
        open_hits[0], reviewer=b.users[A_].username, decision=ReviewDecision.CONFIRM, reason=REASON,
        engine=b.node.engine, keystore=b.node.keystore, audit=b.node.audit, clock=b.node.clock,
    )  # fmt: skip
    # A transfer to C, a third country at B: the analyst's approval alone sends nothing.
    tc = svc.send_transfer(
        user=b.users[A_], peer_name="c.piu", case_ref="BE-4E-1", reason=REASON, evaluation=EVAL,
        hit_id=open_hits[0], node=b.node, client=b.client(),
    )  # fmt: skip
    assert tc.status == "awaiting_second"
    with c.node.engine.connect() as conn:
        assert (
            store.find_message(conn, peer_id=_peer_id(c, "b.piu"), direction="in", message_id=tc.id) is None
        )
    with pytest.raises(ForbiddenError):  # the analyst cannot approve it, not even as "second"
        four_eyes.approve_outgoing(tc.id, user=b.users[A_], reason=REASON, node=b.node, client=b.client())
    # The supervisor sees what leaves: the booking's content, not only its id.
    preview = four_eyes.preview_outgoing(tc.id, user=b.users[S_], node=b.node)
    body = json.loads(preview)
    assert body["records"]
    assert body["records"][0]["booking"]["travellers"]
    assert body["onward_transfer_condition"]
    sent = four_eyes.approve_outgoing(tc.id, user=b.users[S_], reason=REASON, node=b.node, client=b.client())
    assert sent.status == "sent"
    assert sent.second_approver == b.users[S_].username
    with c.node.engine.connect() as conn:
        assert store.find_message(conn, peer_id=_peer_id(c, "b.piu"), direction="in", message_id=tc.id)
    # A supervisor who approved first cannot be the second person either.
    review_hit(
        open_hits[1], reviewer=b.users[A_].username, decision=ReviewDecision.CONFIRM, reason=REASON,
        engine=b.node.engine, keystore=b.node.keystore, audit=b.node.audit, clock=b.node.clock,
    )  # fmt: skip
    own = svc.send_transfer(
        user=b.users[S_], peer_name="a.piu", case_ref="BE-4E-2", reason=REASON, evaluation=EVAL,
        hit_id=open_hits[1], node=b.node, client=b.client(),
    )  # fmt: skip
    assert own.status == "awaiting_second"
    with pytest.raises(ForbiddenError, match="someone else"):
        four_eyes.approve_outgoing(own.id, user=b.users[S_], reason=REASON, node=b.node, client=b.client())
    # An answer to a peer, approved by one analyst through the service with no policy, waits too.
    out = request(a, "b.piu", Subject(kind="person", surname="NOBODY", date_of_birth=dt.date(1981, 2, 3)))
    assert out.peer_message_id is not None
    draft = svc.approve_answer(
        out.peer_message_id, user=b.users[A_], reason=REASON, booking_ids=[], evaluation=EVAL,
        node=b.node, client=b.client(),
    )  # fmt: skip
    assert draft.status == "awaiting_second"
    assert not [r for r, _ in svc.list_queue(a.node, direction="in") if r.in_reply_to == out.id]


def test_a_second_answer_is_accepted_only_as_an_explicit_supplement(federation: Federation) -> None:
    a, b = federation.a, federation.b
    out = request(a, "b.piu", Subject(kind="person", surname="NOBODY", date_of_birth=dt.date(1979, 3, 4)))
    assert out.peer_message_id is not None
    svc.approve_answer(
        out.peer_message_id, user=b.users[S_], reason=REASON, booking_ids=[], evaluation=EVAL,
        node=b.node, client=b.client(),
    )  # fmt: skip

    def another(supplement: bool | None) -> httpx.Response:
        env = Envelope(
            message_id=new_id(), kind=MessageKind.ANSWER, sender="b.piu", recipient="a.piu",
            sent_at=dt.datetime.now(dt.UTC), case_ref=out.case_ref, purpose=DRUGS, legal_basis="Art. 9(2)",
            handling=[HandlingCode.H0], in_reply_to=out.id, outcome=AnswerOutcome.NO_DATA,
            supplement=supplement,
        )  # fmt: skip
        client, url, body, headers = _raw(b, a, env=env)
        with client:
            return client.post(url, content=body, headers=headers)

    second = another(None)
    assert second.status_code == 409
    assert "already_answered" in second.text
    assert another(True).status_code == 202
