"""Messages from peers: verified, filed once, acknowledged with a signed receipt.

Split out of `service/exchange.py` (one concept per module); `service.exchange`
re-exports `Inbound`, `Outcome` and `receive_message`. Why it works this way
(docs/federation.md, "On the wire"): the first failed check refuses the message, files
nothing and commits a ``refusal`` entry; a known message id gets its original receipt and
writes nothing; what is filed is sealed at rest and its collection logged in the same
transaction, with the sender's id in ``peer-msg:`` so two DPOs can reconcile their logs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import InputError
from pnrguard.exchange import signatures as sig
from pnrguard.exchange.client import (
    LABEL,
    MESSAGE_ID_HEADER,
    REQUEST_COMPONENTS,
    TAG,
    authority_of,
    sign_response,
)
from pnrguard.exchange.identity import public_key_from_raw
from pnrguard.exchange.messages import REQUEST_KINDS, Envelope, MessageKind, parse_envelope
from pnrguard.exchange.peers import Peer, PeerKind
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import message_row
from pnrguard.store import exchange as store
from pnrguard.store.exchange import SqlPeerDirectory
from pnrguard.store.repository import new_id

__all__ = ["Inbound", "Outcome", "receive_message"]

_HEX32 = re.compile(r"[0-9a-f]{32}")


def _peer_actor(peer: Peer | None) -> str:
    return f"peer:{peer.name}" if peer is not None else "peer:unknown"


# --- receiving -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inbound:
    """A request as the peer API received it (the web shell only translates)."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the peer API answers: status, JSON body and signed headers."""

    status: int
    body: bytes
    headers: dict[str, str]


class _Refusal(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status, self.code, self.detail = status, code, detail
        super().__init__(detail)


_SIG_STATUS = {sig.Reason.REVOKED: 403, sig.Reason.CERT_EXPIRED: 403}


def _respond(
    node: Node, status: int, payload: dict[str, Any], *, message_id: str, in_reply_to: str
) -> Outcome:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = sign_response(
        key=node.keystore.signing_key(),
        status=status,
        body=body,
        message_id=message_id,
        in_reply_to=in_reply_to,
        now=int(node.clock().timestamp()),
        window=node.settings.signature_window,
    )
    return Outcome(status, body, headers)


def receive_message(inbound: Inbound, *, node: Node) -> Outcome:
    """Verify, file and acknowledge one peer message (the peer API's one use case).

    Order of checks: signature (known, non-revoked peer with an unexpired registered
    certificate; every required component covered; time window), content digest, our own
    authority, the nonce (replay), then the envelope and the rules of its kind. The first
    failure refuses the message: nothing is filed, a ``refusal`` entry is committed, and the
    signed answer names the reason. A message id seen before from the same peer gets its
    original receipt (``duplicate: true``) and writes nothing.
    """
    now = node.clock()
    headers = [(k.lower(), v) for k, v in inbound.headers]
    hdr_id = next((v for k, v in headers if k == MESSAGE_ID_HEADER), "")
    wire_id = hdr_id if _HEX32.fullmatch(hdr_id) else "unknown"
    msg = sig.HttpMessage.of(headers, method=inbound.method, target_uri=inbound.url)
    found: dict[str, Peer] = {}
    try:
        with node.engine.begin() as conn:
            directory = SqlPeerDirectory(conn)

            def key_for(keyid: str) -> Any:
                p = directory.by_keyid(keyid)
                if p is None:
                    raise sig.SignatureError(
                        sig.Reason.UNKNOWN_KEY, "no peer is registered with this signing key"
                    )
                found["peer"] = p
                if p.revoked:
                    raise sig.SignatureError(sig.Reason.REVOKED, "this peer's registration is revoked")
                if p.cert_not_after <= now:
                    raise sig.SignatureError(
                        sig.Reason.CERT_EXPIRED,
                        "the certificate registered for this peer has expired; register its renewed identity",
                    )
                return public_key_from_raw(p.signing_key)

            window = node.settings.signature_window
            try:
                params = sig.verify(
                    msg,
                    label=LABEL,
                    key_for=key_for,
                    required=REQUEST_COMPONENTS,
                    now=int(now.timestamp()),
                    max_age=window,
                    tag=TAG,
                )
                sig.verify_content_digest(
                    next((v for k, v in headers if k == "content-digest"), None), inbound.body
                )
                own = node.settings.peer_api_url
                if own and authority_of(inbound.url) != authority_of(own):
                    raise sig.SignatureError(
                        sig.Reason.WRONG_AUTHORITY, "the message was signed for another node"
                    )
                # verify() requires both (require_nonce, require_expires default to True).
                assert params.nonce is not None
                assert params.expires is not None
                if len(params.nonce) > 64 or not store.remember_nonce(
                    conn,
                    keyid=params.keyid,
                    nonce=params.nonce,
                    expires_at=dt.datetime.fromtimestamp(params.expires, dt.UTC),
                    now=now,
                ):
                    raise sig.SignatureError(
                        sig.Reason.REPLAY, "this signature's nonce was used before (replay)"
                    )
            except sig.SignatureError as exc:
                raise _Refusal(_SIG_STATUS.get(exc.reason, 401), exc.reason.value, exc.detail) from None
            peer = found["peer"]
            try:
                env = parse_envelope(inbound.body)
            except InputError as exc:
                raise _Refusal(400, "bad_envelope", str(exc)) from None
            if env.message_id != hdr_id:
                raise _Refusal(
                    400, "bad_envelope", "the envelope's message id differs from the signed header"
                )
            if env.recipient != node.settings.node_name or env.sender != peer.name:
                raise _Refusal(400, "misaddressed", "sender or recipient does not match the registered names")
            if env.kind is MessageKind.EUROPOL_REQUEST and peer.kind is not PeerKind.EUROPOL:
                raise _Refusal(
                    403, "not_europol", "only a peer registered as Europol sends a europol_request"
                )
            previous = store.find_message(conn, peer_id=peer.id, direction="in", message_id=env.message_id)
            if previous is not None:
                payload = {"receipt": previous.id, "duplicate": True, "message_id": env.message_id}
                return _respond(node, 200, payload, message_id=previous.id, in_reply_to=env.message_id)
            local_id = new_id()
            try:
                with conn.begin_nested():
                    _file(conn, node, peer, env, local_id=local_id, data=inbound.body, now=now)
            except IntegrityError:
                # A concurrent delivery of the same message id won the race: same receipt.
                previous = store.find_message(
                    conn, peer_id=peer.id, direction="in", message_id=env.message_id
                )
                if previous is None:
                    raise
                payload = {"receipt": previous.id, "duplicate": True, "message_id": env.message_id}
                return _respond(node, 200, payload, message_id=previous.id, in_reply_to=env.message_id)
        payload = {"receipt": local_id, "duplicate": False, "message_id": env.message_id}
        return _respond(node, 202, payload, message_id=local_id, in_reply_to=env.message_id)
    except _Refusal as r:
        refusal_id = new_id()
        with node.engine.begin() as conn:
            node.audit(conn).append(
                actor=_peer_actor(found.get("peer")),
                role="peer",
                operation=Operation.REFUSAL,
                purpose=Purpose.SYSTEM_SECURITY,
                record_ids=[f"peer-msg:{wire_id}"] if wire_id != "unknown" else [],
                counts={f"exchange.refused.{r.code}": 1},
                reference=refusal_id,
            )
        payload = {"error": r.code, "detail": r.detail, "refusal": refusal_id}
        return _respond(node, r.status, payload, message_id=refusal_id, in_reply_to=wire_id)


def _file(
    conn: Connection, node: Node, peer: Peer, env: Envelope, *, local_id: str, data: bytes, now: dt.datetime
) -> None:
    """Store a verified envelope and log its collection (inside the receive transaction)."""
    counts: dict[str, int] = {f"exchange.{env.kind.value}.received": 1}
    in_reply_to = None
    if env.kind in REQUEST_KINDS:
        status = "awaiting_approval"
    else:
        status = "received"
        counts["bookings"] = len(env.records)
        counts["bookings.masked"] = sum(1 for r in env.records if r.masked)
        if env.kind is MessageKind.ANSWER:
            assert env.in_reply_to is not None
            asked = store.get_message(conn, env.in_reply_to)
            if (
                asked is None
                or asked.direction != "out"
                or asked.peer_id != peer.id
                or asked.kind not in (MessageKind.REQUEST.value, MessageKind.EUROPOL_REQUEST.value)
            ):
                raise _Refusal(409, "unknown_request", "the answer refers to no request we sent to this peer")
            if asked.status == "answered" and not env.supplement:
                raise _Refusal(409, "already_answered", "a further answer must be marked as a supplement")
            in_reply_to = asked.id
            store.set_status(conn, asked.id, expect=("sent", "answered"), status="answered")
    store.insert_message(
        conn,
        message_row(
            local_id=local_id,
            direction="in",
            peer=peer,
            env=env,
            status=status,
            now=now,
            keystore=node.keystore,
            data=data,
            peer_message_id=env.message_id,
            in_reply_to=in_reply_to,
        ),
    )
    node.audit(conn).append(
        actor=_peer_actor(peer),
        role="peer",
        operation=Operation.COLLECTION,
        purpose=env.purpose,
        record_ids=[f"peer:{peer.name}", f"peer-msg:{env.message_id}"],
        counts=counts,
        reference=local_id,
    )


# --- the queue and opening a message --------------------------------------------------------
