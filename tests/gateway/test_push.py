"""The push API over real HTTP on SQLite and PostgreSQL: durable before acknowledged, every
hostile input refused with a reason and a quarantine entry, never a 500."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable

import pytest
from gateway_env import MAX_BYTES, RECIPIENT, GatewayEnv, synthetic_pushes, with_ref
from sqlalchemy import func, select

from pnrguard.service.clock import FixedClock
from pnrguard.service.gateway import ProcessStatus, process_next
from pnrguard.service.gateway_credentials import revoke_credential
from pnrguard.store.gateway import carrier_credential, gateway_inbox, gateway_quarantine
from pnrguard.store.tables import message
from pnrguard.web.carrier import PUSH_PATH

pytestmark = pytest.mark.storage

PUSHES = synthetic_pushes()
FIRST = PUSHES[0]
BODY = FIRST.pnrgov.encode("utf-8")
SENDER = FIRST.sender


def _quarantine_reasons(env: GatewayEnv) -> list[str]:
    with env.node.engine.connect() as conn:
        return list(conn.execute(select(gateway_quarantine.c.reason_code)).scalars())


def _inbox_count(env: GatewayEnv) -> int:
    with env.node.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(gateway_inbox)).scalar_one())


def test_accepted_push_is_committed_before_the_acknowledgement(gw: GatewayEnv) -> None:
    gw.token_for(SENDER)
    r = gw.push(BODY, carrier=SENDER, json=False)
    # The row must be visible to *another* connection the moment the response is here.
    with gw.node.engine.connect() as other:
        q = select(gateway_inbox).where(gateway_inbox.c.control_ref == FIRST.control_ref)
        row = other.execute(q).one()
    assert r.status_code == 202
    assert r.headers["content-type"].startswith("application/edifact")
    assert f"UCI+{FIRST.control_ref}+{SENDER}+{RECIPIENT}+7'" in r.text
    assert "CONTRL:4:1:UN" in r.text
    assert r.headers["location"] == f"{PUSH_PATH}/{row.id}"
    assert row.status == "queued"
    assert bytes(row.sha256) == hashlib.sha256(BODY).digest()
    # The queued bytes are encrypted: no traveller name appears in the stored payload.
    surname = FIRST.bookings[0].travellers[0].surname.encode()
    assert surname in BODY
    assert surname not in bytes(row.payload)
    assert BODY[:200] not in bytes(row.payload)


def test_worker_ingests_and_forgets_the_payload(gw: GatewayEnv) -> None:
    gw.token_for(SENDER)
    receipt = gw.push(BODY, carrier=SENDER).json()["receipt"]
    assert gw.gateway.workers.drain() == 1
    with gw.node.engine.connect() as conn:
        row = conn.execute(select(gateway_inbox).where(gateway_inbox.c.id == receipt)).one()
        stored = conn.execute(select(message).where(message.c.sha256 == hashlib.sha256(BODY).digest())).one()
    assert (row.status, row.outcome, row.payload, row.wrapped_key) == ("done", "accepted", None, None)
    assert row.message_id == stored.id
    assert stored.channel == "push"
    status = gw.client.get(f"{PUSH_PATH}/{receipt}", headers={"Authorization": f"Bearer {gw.tokens[SENDER]}"})
    assert status.status_code == 200
    assert status.json()["status"] == "done"
    # Scoped to the carrier: another carrier's token does not see it.
    other = next(p.sender for p in PUSHES if p.sender != SENDER)
    gw.token_for(other)
    assert gw.client.get(
        f"{PUSH_PATH}/{receipt}", headers={"Authorization": f"Bearer {gw.tokens[other]}"}
    ).status_code == 404


def test_resend_is_idempotent_and_replay_is_refused(gw: GatewayEnv) -> None:
    gw.token_for(SENDER)
    first = gw.push(BODY, carrier=SENDER).json()
    again = gw.push(BODY, carrier=SENDER)
    assert again.status_code == 200
    assert again.json()["receipt"] == first["receipt"]
    assert again.json()["duplicate"] is True
    # Same control reference, other content: a replay.
    other = PUSHES[2].pnrgov.encode()
    forged = with_ref(other, PUSHES[2].control_ref, FIRST.control_ref).replace(
        f"+{PUSHES[2].sender}+".encode(), f"+{SENDER}+".encode(), 1
    )
    # Its bookings re-labelled as the sender's own (else it is refused for naming another
    # carrier's bookings, test_carrier_scope.py, before the replay is seen).
    for tag in ("RCI", "ORG"):
        forged = forged.replace(f"{tag}+{PUSHES[2].sender}".encode(), f"{tag}+{SENDER}".encode())
    r = gw.push(forged, carrier=SENDER)
    assert r.status_code == 409
    assert r.json()["reason"] == "replay"
    assert r.json()["contrl"] == {"action": "4", "error": "26", "segment": "UNB"}
    assert _quarantine_reasons(gw) == ["replay"]
    assert _inbox_count(gw) == 1


def _unb(body: bytes, fn: Callable[[list[str]], None]) -> bytes:
    text = body.decode()
    m = re.search(r"UNB\+[^']*'", text)
    assert m is not None
    fields = m.group(0)[:-1].split("+")
    fn(fields)
    return (text[: m.start()] + "+".join(fields) + "'" + text[m.end() :]).encode()


def _set(i: int, value: str) -> Callable[[list[str]], None]:
    def fn(fields: list[str]) -> None:
        fields[i] = value

    return fn


HOSTILE: dict[str, tuple[bytes, dict[str, str], int, str]] = {
    "empty": (b"", {}, 400, "not_edifact"),
    "not edifact": (b"GET / HTTP/1.1\r\n\r\n", {}, 400, "not_edifact"),
    "binary": (bytes(range(256)) * 4, {}, 415, "charset"),
    "utf-16": (BODY.decode().encode("utf-16"), {}, 415, "charset"),
    "unknown syntax": (BODY.replace(b"UNOC", b"UNOZ", 1), {}, 415, "charset"),
    "declared utf-8, is latin-1": (
        BODY.replace(b"UNOC", b"UNOY", 1).replace(b"MSG+", b"MSG+\xe9", 1), {}, 415, "charset"
    ),
    "media type": (BODY, {"Content-Type": "application/json"}, 415, "media_type"),
    "charset parameter": (BODY, {"Content-Type": "text/plain; charset=utf-16"}, 415, "media_type"),
    "too large": (BODY + b" " * MAX_BYTES, {}, 413, "too_large"),
    "truncated at the end": (BODY[: BODY.rindex(b"UNZ")], {}, 400, "truncated"),
    "truncated in a message": (BODY[: len(BODY) // 2], {}, 400, "truncated"),
    "wrong UNZ count": (BODY.replace(b"UNZ+1+", b"UNZ+7+"), {}, 400, "count_mismatch"),
    "wrong UNZ reference": (
        BODY.replace(f"UNZ+1+{FIRST.control_ref}".encode(), b"UNZ+1+999"), {}, 400, "reference_mismatch"
    ),
    "no message": (
        f"UNB+UNOC:4+{SENDER}+{RECIPIENT}+{dt.datetime.now(dt.UTC):%y%m%d:%H%M}+77'UNZ+0+77'".encode(),
        {}, 400, "no_message",
    ),
    "for another node": (_unb(BODY, _set(3, "PIUFR")), {}, 400, "wrong_recipient"),
    "sender of another carrier": (_unb(BODY, _set(2, "ZZ")), {}, 403, "sender_not_allowed"),
    "old replay": (_unb(BODY, _set(4, "010101:1200")), {}, 409, "stale"),
    "prepared in the future": (
        _unb(BODY, _set(4, f"{dt.datetime.now(dt.UTC) + dt.timedelta(days=10):%y%m%d}:1200")),
        {}, 400, "prepared_in_future",
    ),
    "no control reference": (_unb(BODY, _set(5, "")), {}, 400, "bad_envelope"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input_is_refused_with_a_reason_and_a_quarantine_entry(gw: GatewayEnv, case: str) -> None:
    body, headers, status, reason = HOSTILE[case]
    gw.token_for(SENDER)
    r = gw.push(body, carrier=SENDER, **headers)
    assert r.status_code == status, r.text
    ack = r.json()
    assert (ack["status"], ack["reason"], ack["receipt"]) == ("rejected", reason, None)
    assert ack["contrl"]["action"] == "4"
    assert _quarantine_reasons(gw) == [reason]
    assert _inbox_count(gw) == 0
    # The EDIFACT form says the same.
    edi = gw.push(body, carrier=SENDER, json=False, **headers)
    assert edi.status_code == status
    assert f"+4+{ack['contrl']['error']}" in edi.text


def test_unauthenticated_pushes_leave_no_row(gw: GatewayEnv) -> None:
    for headers in ({}, {"Authorization": "Bearer pgw_nope"}, {"Authorization": "Basic eDp5"}):
        r = gw.client.post(PUSH_PATH, content=BODY, headers={"Accept": "application/json", **headers})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["reason"] == "unauthenticated"
    assert _quarantine_reasons(gw) == []
    assert _inbox_count(gw) == 0


def test_a_revoked_token_stops_working(gw: GatewayEnv) -> None:
    gw.token_for(SENDER)
    assert gw.push(BODY, carrier=SENDER).status_code == 202
    with gw.node.engine.connect() as conn:
        cred_id = conn.execute(select(carrier_credential.c.id)).scalar_one()
    assert revoke_credential(gw.node.engine, cred_id, clock=gw.node.clock)
    assert gw.push(BODY, carrier=SENDER).status_code == 401  # cache TTL is 0 in tests


def test_a_retried_row_is_stored_once(gw: GatewayEnv) -> None:
    """Crash after ingest committed but before the row was marked done: the retry finds the
    message by its digest and only completes the row (no second receipt)."""
    gw.token_for(SENDER)
    gw.push(BODY, carrier=SENDER)
    node, settings = gw.node, gw.gateway.settings

    def ingest_then_crash(data: bytes, **kw: object) -> object:
        node.ingest(data, **kw)  # type: ignore[arg-type]
        raise RuntimeError("worker died after ingest committed")

    first = process_next(engine=node.engine, keystore=node.keystore, ingest=ingest_then_crash,  # type: ignore[arg-type]
                         clock=node.clock, settings=settings)  # fmt: skip
    assert first is not None
    assert first.status is ProcessStatus.RETRY
    clock = FixedClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))  # past the back-off
    again = process_next(engine=node.engine, keystore=node.keystore, ingest=node.ingest, clock=clock,
                         settings=settings)  # fmt: skip
    assert again is not None
    assert again.status is ProcessStatus.ALREADY
    with node.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message)).scalar_one() == 1
        assert conn.execute(select(gateway_inbox.c.status)).scalar_one() == "done"


def test_a_dead_workers_claim_is_taken_over_after_its_lease(gw: GatewayEnv) -> None:
    from pnrguard.store.gateway import GatewayRepository

    gw.token_for(SENDER)
    gw.push(BODY, carrier=SENDER)
    node = gw.node
    now = dt.datetime.now(dt.UTC)
    with node.engine.begin() as conn:  # a worker claims, then dies without a trace
        lease = now + dt.timedelta(seconds=60)
        assert GatewayRepository(conn).claim(now=now, lease_until=lease, token="dead")
    assert process_next(engine=node.engine, keystore=node.keystore, ingest=node.ingest, clock=node.clock,
                        settings=gw.gateway.settings) is None  # fmt: skip  # still leased
    later = FixedClock(now + dt.timedelta(seconds=61))
    done = process_next(engine=node.engine, keystore=node.keystore, ingest=node.ingest, clock=later,
                        settings=gw.gateway.settings)  # fmt: skip
    assert done is not None
    assert done.status is ProcessStatus.INGESTED
    with node.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message)).scalar_one() == 1


def test_health_and_metrics(gw: GatewayEnv) -> None:
    gw.token_for(SENDER)
    gw.push(BODY, carrier=SENDER)
    gw.push(b"nonsense", carrier=SENDER)
    health = gw.client.get("/health/gateway").json()
    assert health["queue"]["queued"] == 1
    assert health["screening_lag_seconds"] >= 0
    text = gw.client.get("/metrics").text
    assert f'pnrguard_gateway_messages_total{{carrier="{SENDER}",result="queued"}} 1.0' in text
    assert 'pnrguard_gateway_rejections_total{reason="not_edifact"} 1.0' in text
    assert 'pnrguard_gateway_queue_depth{status="queued"} 1.0' in text
    assert "pnrguard_gateway_screening_lag_seconds" in text
