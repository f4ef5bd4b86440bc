"""Peers witness each other's audit logs (C2SP tlog-witness over the peer channel).

As a **witness**, the node answers ``POST /peer/v1/witness/add-checkpoint`` on its mutual-TLS
peer listener. The request is signed like every peer message (RFC 9421, the registered
identity key; nonce, window, authority); the body is the tlog-witness submission. The
node cosigns only a checkpoint of the *sender's own* log (origin = the registered peer
name), signed by that peer's registered key, that is a consistent extension of the last
one it cosigned for it (`audit.witness.decide`, checked and updated in one locked
transaction). It answers a cosignature/v1 line by its own identity key. A refused fork or
inconsistent extension is kept as evidence (`witness_evidence`), logged at ERROR, counted
and audited.

As an **origin**, after signing a checkpoint the node asks each registered peer to cosign it
(`request_cosignatures`), sending the proof from the size that peer last cosigned, and
stores each valid cosignature (`audit_cosignature`). A witness that answers with another
size (409) gets one retry from that size. Nothing here writes audit entries on success:
each entry would make a new checkpoint to cosign, a loop between peers.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from sqlalchemy.engine import Connection

from pnrguard.audit.checkpoint import Checkpoint, Verifier, _split_note
from pnrguard.audit.cosignature import Cosigner, CosignerKey, signature_lines
from pnrguard.audit.models import Operation, Purpose
from pnrguard.audit.witness import WitnessRefusal, decide, parse_submission, submission_body
from pnrguard.errors import AuditError, PnrguardError
from pnrguard.exchange import signatures as sig
from pnrguard.exchange.client import (
    LABEL,
    MESSAGE_ID_HEADER,
    REQUEST_COMPONENTS,
    TAG,
    PeerClient,
    authority_of,
    sign_response,
)
from pnrguard.exchange.identity import public_key_from_raw
from pnrguard.exchange.peers import Peer, PeerKind
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange import Inbound, Outcome
from pnrguard.store import exchange as exstore
from pnrguard.store import witness as store
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.exchange import SqlPeerDirectory
from pnrguard.store.repository import new_id

__all__ = [
    "ADD_CHECKPOINT_PATH",
    "WITNESS_REQUESTS",
    "CosignOutcome",
    "add_checkpoint",
    "request_cosignatures",
]

log = logging.getLogger("pnrguard.witness")

ADD_CHECKPOINT_PATH = "/peer/v1/witness/add-checkpoint"
SUBMISSION_TYPE = "text/plain; charset=utf-8"
SIZE_TYPE = "text/x.tlog.size"
_HEX32 = re.compile(r"[0-9a-f]{32}")

#: Registered into each app's metrics registry by `web.metrics`.
WITNESS_REQUESTS = Counter(
    "pnrguard_audit_witness_requests",
    "add-checkpoint requests, as witness (role=witness) and as origin (role=origin), by result",
    ["role", "result"],
    registry=None,
)


# --- the witness ---------------------------------------------------------------------------


def _respond(node: Node, status: int, body: bytes, ctype: str, *, in_reply_to: str) -> Outcome:
    headers = sign_response(
        key=node.keystore.signing_key(),
        status=status,
        body=body,
        message_id=new_id(),
        in_reply_to=in_reply_to,
        now=int(node.clock().timestamp()),
        window=node.settings.signature_window,
        content_type=ctype,
    )
    return Outcome(status, body, headers)


def _authenticate(conn: Connection, node: Node, inbound: Inbound, now: dt.datetime) -> Peer:
    """The registered peer that signed this request (the peer API's RFC 9421 profile)."""
    headers = [(k.lower(), v) for k, v in inbound.headers]
    msg = sig.HttpMessage.of(headers, method=inbound.method, target_uri=inbound.url)
    directory = SqlPeerDirectory(conn)
    found: dict[str, Peer] = {}

    def key_for(keyid: str) -> Any:
        p = directory.by_keyid(keyid)
        if p is None:
            raise sig.SignatureError(sig.Reason.UNKNOWN_KEY, "no peer is registered with this key")
        if p.revoked:
            raise sig.SignatureError(sig.Reason.REVOKED, "this peer's registration is revoked")
        if p.cert_not_after <= now:
            raise sig.SignatureError(sig.Reason.CERT_EXPIRED, "the peer's registered certificate expired")
        found["peer"] = p
        return public_key_from_raw(p.signing_key)

    params = sig.verify(
        msg,
        label=LABEL,
        key_for=key_for,
        required=REQUEST_COMPONENTS,
        now=int(now.timestamp()),
        max_age=node.settings.signature_window,
        tag=TAG,
    )
    sig.verify_content_digest(next((v for k, v in headers if k == "content-digest"), None), inbound.body)
    own = node.settings.peer_api_url
    if own and authority_of(inbound.url) != authority_of(own):
        raise sig.SignatureError(sig.Reason.WRONG_AUTHORITY, "the request was signed for another node")
    assert params.nonce is not None
    assert params.expires is not None
    if len(params.nonce) > 64 or not exstore.remember_nonce(
        conn,
        keyid=params.keyid,
        nonce=params.nonce,
        expires_at=dt.datetime.fromtimestamp(params.expires, dt.UTC),
        now=now,
    ):
        raise sig.SignatureError(sig.Reason.REPLAY, "this signature's nonce was used before (replay)")
    return found["peer"]


def _origin_of(note: str) -> str:
    try:
        body, _ = _split_note(note)
        return Checkpoint.from_body(body).origin
    except AuditError:
        raise WitnessRefusal(400, "bad_request", "the checkpoint cannot be read") from None


def add_checkpoint(inbound: Inbound, *, node: Node) -> Outcome:
    """The witness's one use case: check a submission, cosign it or refuse it (signed)."""
    now = node.clock()
    hdr = next((v for k, v in inbound.headers if k.lower() == MESSAGE_ID_HEADER), "")
    wire_id = hdr if _HEX32.fullmatch(hdr) else "unknown"
    peer: Peer | None = None
    sub = None
    try:
        with node.engine.begin() as conn:
            try:
                peer = _authenticate(conn, node, inbound, now)
            except sig.SignatureError as exc:
                raise WitnessRefusal(
                    403 if exc.reason in (sig.Reason.REVOKED, sig.Reason.CERT_EXPIRED) else 401,
                    exc.reason.value,
                    exc.detail,
                ) from None
            sub = parse_submission(inbound.body)
            origin = _origin_of(sub.note)
            if origin != peer.name:
                raise WitnessRefusal(404, "unknown_log", "a peer submits only its own log's checkpoints")
            log_key = Verifier(name=peer.name, public_key=public_key_from_raw(peer.signing_key))
            last = store.lock_witness_state(conn, origin)
            cp = decide(sub, log_key=log_key, origin=origin, last=last)
            line = Cosigner(node.settings.node_name, node.keystore.signing_key()).cosign(
                cp.body(), int(now.timestamp())
            )
            store.save_witness_state(
                conn,
                origin=origin,
                tree_size=cp.size,
                root=cp.root,
                note=sub.note,
                now=now,
                existed=last is not None,
            )
        WITNESS_REQUESTS.labels("witness", "cosigned").inc()
        return _respond(node, 200, line.encode("utf-8"), SUBMISSION_TYPE, in_reply_to=wire_id)
    except WitnessRefusal as r:
        WITNESS_REQUESTS.labels("witness", r.code).inc()
        if r.status == 409 and r.code == "old_size_mismatch":  # the origin lost track: no alarm
            body = f"{r.size}\n".encode("ascii")
            return _respond(node, 409, body, SIZE_TYPE, in_reply_to=wire_id)
        _witness_alarm(node, r, peer=peer, sub_note=sub.note if sub else None, old=sub.old_size if sub else 0)
        body = json.dumps({"error": r.code, "detail": r.detail}).encode()
        return _respond(node, r.status, body, "application/json", in_reply_to=wire_id)


def _witness_alarm(
    node: Node, r: WitnessRefusal, *, peer: Peer | None, sub_note: str | None, old: int
) -> None:
    """A refused submission: an audit refusal; a fork or inconsistent extension signed by the
    peer's key is also kept as evidence and logged at ERROR."""
    now = node.clock()
    evidence = r.code in ("fork", "inconsistent") and peer is not None and sub_note is not None
    with node.engine.begin() as conn:
        if evidence:
            assert peer is not None
            assert sub_note is not None
            body, _ = _split_note(sub_note)
            store.record_evidence(
                conn,
                id=new_id(),
                origin=peer.name,
                old_size=old,
                tree_size=Checkpoint.from_body(body).size,
                reason=r.code,
                note=sub_note,
                now=now,
            )
        node.audit(conn).append(
            actor=f"peer:{peer.name}" if peer else "peer:unknown",
            role="peer",
            operation=Operation.REFUSAL,
            purpose=Purpose.SYSTEM_SECURITY,
            record_ids=[f"peer:{peer.name}"] if peer else [],
            counts={f"witness.refused.{r.code}": 1},
        )
    level = logging.ERROR if evidence else logging.WARNING
    log.log(
        level,
        "witness_refused",
        extra={"fields": {"peer": peer.name if peer else "unknown", "code": r.code, "status": r.status}},
    )


# --- the origin ----------------------------------------------------------------------------


def witnesses_of(peers: Sequence[Peer]) -> list[Peer]:
    """The peers asked to witness our log: registered, not revoked, and EU PIUs (member
    states). Third countries and Europol are not asked: a checkpoint tells the log's growth,
    i.e. how much the PIU processes, which is not theirs to follow."""
    return [p for p in peers if not p.revoked and p.kind is PeerKind.MEMBER_STATE]


@dataclass(frozen=True, slots=True)
class CosignOutcome:
    """What one peer answered: ``cosigned``, ``up_to_date`` or a refusal code."""

    peer: str
    result: str
    detail: str = ""


def _proof(node: Node, old: int, new: int, known: tuple[int, list[bytes]] | None) -> list[bytes]:
    if known is not None and known[0] == old:
        return known[1]
    with node.engine.connect() as conn:
        return SqlAuditLog(conn, origin=node.settings.node_name).consistency_proof(old_size=old, new_size=new)


def _ask(client: PeerClient, peer: Peer, note: str, old: int, proof: list[bytes]) -> tuple[int, str]:
    r = client.post_signed(
        peer,
        ADD_CHECKPOINT_PATH,
        submission_body(old_size=old, proof=proof, note=note),
        content_type=SUBMISSION_TYPE,
    )
    return r.status_code, r.text


def request_cosignatures(
    node: Node,
    client: PeerClient,
    *,
    note: str,
    known_proof: tuple[int, list[bytes]] | None = None,
    peers: Sequence[Peer] | None = None,
) -> list[CosignOutcome]:
    """Ask every registered peer (or `peers`) that has not cosigned `note` yet to cosign it;
    store valid cosignatures. `known_proof` = (old size, proof) saves reading the log for
    the usual case (the witness cosigned the previous checkpoint)."""
    body, _ = _split_note(note)
    cp = Checkpoint.from_body(body)
    with node.engine.connect() as conn:
        if peers is None:
            peers = witnesses_of(SqlPeerDirectory(conn).all())
        done = store.last_cosigned_sizes(conn)
    out: list[CosignOutcome] = []
    for peer in peers:
        old = done.get(peer.name, 0)
        if old >= cp.size:
            out.append(CosignOutcome(peer.name, "up_to_date"))
            continue
        try:
            status, text = _ask(client, peer, note, old, _proof(node, old, cp.size, known_proof))
            if status == 409 and text.strip().isdigit() and int(text.strip()) <= cp.size:
                old = int(text.strip())  # the witness knows another size of ours: one retry
                status, text = _ask(client, peer, note, old, _proof(node, old, cp.size, known_proof))
            out.append(_take(node, peer, cp, status, text))
        except PnrguardError as exc:
            WITNESS_REQUESTS.labels("origin", "unreachable").inc()
            log.warning("witness_unreachable", extra={"fields": {"peer": peer.name, "error": exc.code}})
            out.append(CosignOutcome(peer.name, "unreachable", type(exc).__name__))
    return out


def _take(node: Node, peer: Peer, cp: Checkpoint, status: int, text: str) -> CosignOutcome:
    if status != 200:
        code = "size_conflict" if status == 409 and text.strip().isdigit() else _code(text, status)
        WITNESS_REQUESTS.labels("origin", code).inc()
        # A witness that refuses our own checkpoint as a fork or an inconsistent extension
        # has seen another history of this log: an alarm, not a retry.
        level = logging.ERROR if code in ("fork", "inconsistent", "size_conflict") else logging.WARNING
        log.log(
            level,
            "witness_refused_our_checkpoint",
            extra={"fields": {"peer": peer.name, "code": code, "size": cp.size}},
        )
        return CosignOutcome(peer.name, code, text.strip()[:200])
    key = CosignerKey(name=peer.name, public_key=public_key_from_raw(peer.signing_key))
    stored = 0
    try:
        lines = signature_lines(text)
    except AuditError:
        lines = []
    now = node.clock()
    with node.engine.begin() as conn:
        for name, blob in lines:
            if name != key.name:
                continue
            ts = key.verify(cp.body(), blob)
            if ts is None:
                continue
            line = next(ln for ln in text.splitlines() if ln.endswith(_b64(blob)))
            store.record_cosignature(
                conn,
                tree_size=cp.size,
                witness=peer.name,
                line=line + "\n",
                cosigned_at=dt.datetime.fromtimestamp(ts, dt.UTC),
                now=now,
            )
            stored += 1
    result = "cosigned" if stored else "bad_cosignature"
    WITNESS_REQUESTS.labels("origin", result).inc()
    return CosignOutcome(peer.name, result)


def _b64(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def _code(text: str, status: int) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return f"http_{status}"
    err = data.get("error") if isinstance(data, dict) else None
    return str(err) if isinstance(err, str) and len(err) <= 40 else f"http_{status}"


def sign_and_witness(
    node: Node, *, client: PeerClient | None = None, peer_names: Sequence[str] | None = None
) -> list[CosignOutcome]:
    """The worker's periodic step: sign the tree head (as a proven extension of the last
    checkpoint, `audit_signing.sign`; raises `CheckpointRefused`), then ask the registered
    peers (or those named) that have not cosigned the newest checkpoint to do so."""
    from pnrguard.service import audit_signing
    from pnrguard.service.exchange import make_client

    result = audit_signing.sign(node)
    state = result.state if result is not None else audit_signing.load_state(node)
    if not state.note:
        return []
    with node.engine.connect() as conn:
        peers = [
            p
            for p in witnesses_of(SqlPeerDirectory(conn).all())
            if peer_names is None or p.name in peer_names
        ]
    if not peers:
        return []
    own = client is None
    try:
        client = client or make_client(node)
    except PnrguardError as exc:  # no TLS identity configured: nobody to ask
        log.warning("witness_skipped", extra={"fields": {"error": exc.code}})
        return []
    try:
        known = (result.previous.size, result.proof) if result is not None else None
        return request_cosignatures(node, client, note=state.note, known_proof=known, peers=peers)
    finally:
        if own:
            client.close()
