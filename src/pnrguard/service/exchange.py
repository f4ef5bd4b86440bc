"""Federation use cases: receive, queue, approve, send; logged at both ends.

Why it works this way (Directive 2016/681 Art. 9-11, REQUIREMENTS §6, DESIGN.md):

- **Only what a person approved leaves.** An incoming request waits in the workspace queue
  (`awaiting_approval`); `approve_answer` is a named person's decision with a reason, and
  only then is an answer built and sent. With four eyes (`ReviewPolicy.four_eyes`, the
  setting transmissions to authorities use) the drafted answer waits (`awaiting_second`)
  until a supervisor other than that person approves it (`second_approval`).
  A spontaneous transfer (`send_transfer`) sends a *confirmed* hit's booking, or data
  received earlier when its handling codes allow it.
- **Masked stays masked.** An answer or transfer reads each booking through the unmasking
  seam (`service.unmasking.can_see_identity_on`): a masked booking leaves only when an
  approved judicial unmasking covers this booking, approver and purpose (Art. 12(3));
  otherwise the whole message is refused and nothing leaves (issue 10, item 4). A copy
  filed before its booking was masked is sealed with it (`service.exchange_payload`).
- **Logged at both ends.** Every message sent is a ``disclosure`` in the sender's log and
  every message received a ``collection`` in the receiver's, each with the other side's
  message id in its record ids (``peer-msg:<id>``) and its own id as the reference, so two
  DPOs can match the two logs line by line. Every refusal (a bad signature, a replay, an
  unknown, revoked or expired peer, a message the rules forbid, a failed delivery) is a
  ``refusal`` entry, at the end that refused.
- **Idempotent on message id.** The receiver files a message once per (peer, message id);
  a re-delivery gets the original receipt and writes nothing. The sender keeps the message
  id when it retries, so a lost receipt never makes a second copy.
- **H2 in code.** Data received under H2 is forwarded to another peer only with a recorded
  permission of the originator (`record_onward_permission`); otherwise the forward is
  refused and the refusal logged.
- **Third countries (Art. 11).** Data goes to a third-country peer only when its registration
  records its undertaking not to pass the data on without express authorisation; the
  condition travels in the message, H2 is added, and the DPO gets a notification.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.domain.model import to_dict
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange import signatures as sig
from pnrguard.exchange.client import (
    LABEL,
    MESSAGE_ID_HEADER,
    REQUEST_COMPONENTS,
    TAG,
    PeerClient,
    PeerRefused,
    PeerUnreachable,
    authority_of,
    sign_response,
)
from pnrguard.exchange.identity import (
    public_key_from_raw,
)
from pnrguard.exchange.messages import (
    REQUEST_KINDS,
    AnswerOutcome,
    Envelope,
    Evaluation,
    HandlingCode,
    MessageKind,
    Record,
    Subject,
    parse_envelope,
)
from pnrguard.exchange.peers import Peer, PeerKind
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import check_live, file_links, open_payload, seal_payload
from pnrguard.service.exchange_peers import (
    list_peers,
    node_card,
    peer_api_url,
    peer_ca_bundle,
    register_peer,
    revoke_peer,
)
from pnrguard.service.four_eyes import Gate, Kind, kind_of_peer, may_leave
from pnrguard.service.peer_answers import require_found
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.unmasking import can_see_identity_on, read_visible
from pnrguard.store import exchange as store
from pnrguard.store import screening as hits_store
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory
from pnrguard.store.lifecycle import dpo_notification
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import HitStatus

__all__ = [
    "Inbound",
    "Outcome",
    "approve_answer",
    "list_peers",
    "list_queue",
    "make_client",
    "node_card",
    "open_message",
    "peer_api_url",
    "peer_ca_bundle",
    "receive_message",
    "record_onward_permission",
    "refuse_request",
    "register_peer",
    "retry_delivery",
    "return_answer",
    "revoke_peer",
    "second_approval",
    "send_request",
    "send_transfer",
]

_HEX32 = re.compile(r"[0-9a-f]{32}")
_DECIDERS = frozenset({Role.ANALYST, Role.SUPERVISOR})
MIN_REASON = 20


def make_client(node: Node) -> PeerClient:
    """The node's client for calling peers (its signing key and TLS certificate)."""
    s = node.settings
    return PeerClient(
        signing_key=node.keystore.signing_key(),
        cert_file=s.tls_cert_file,
        key_file=s.tls_key_file,
        clock=lambda: int(node.clock().timestamp()),
        window=s.signature_window,
    )


# --- sealing envelopes at rest -------------------------------------------------------------


_seal = seal_payload


def _unseal(conn: Connection, keystore: KeyStore, local_id: str) -> Envelope:
    return open_payload(conn, keystore, local_id)


def _file_outgoing(
    conn: Connection,
    env: Envelope,
    *,
    local_id: str,
    peer: Peer,
    user: Account,
    node: Node,
    now: dt.datetime,
    status: str,
    reason: str,
    in_reply_to: str | None = None,
    forwarded_from: str | None = None,
) -> None:
    """Store an outgoing message a person decided, its envelope encrypted (the one way every
    request, answer, refusal and transfer is filed before delivery)."""
    store.insert_message(
        conn,
        _row(
            local_id=local_id,
            direction="out",
            peer=peer,
            env=env,
            status=status,
            now=now,
            keystore=node.keystore,
            data=env.to_bytes(),
            in_reply_to=in_reply_to,
            forwarded_from=forwarded_from,
            decided_by=user.username,
            reason=reason,
        ),
    )
    file_links(conn, env, local_id=local_id)


def _row(
    *,
    local_id: str,
    direction: str,
    peer: Peer,
    env: Envelope,
    status: str,
    now: dt.datetime,
    keystore: KeyStore,
    data: bytes,
    peer_message_id: str | None = None,
    in_reply_to: str | None = None,
    forwarded_from: str | None = None,
    decided_by: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    masked = sum(1 for r in env.records if r.masked)
    return {
        "id": local_id,
        "direction": direction,
        "peer_id": peer.id,
        "message_id": env.message_id,
        "peer_message_id": peer_message_id,
        "kind": env.kind.value,
        "purpose": env.purpose.value,
        "case_ref": env.case_ref,
        "in_reply_to": in_reply_to,
        "forwarded_from": forwarded_from,
        "handling": [h.value for h in env.handling],
        "evaluation": env.evaluation.code if env.evaluation else None,
        "outcome": env.outcome.value if env.outcome else None,
        "records": len(env.records),
        "masked_records": masked,
        "status": status,
        "created_at": now,
        "decided_by": decided_by,
        "decided_at": now if decided_by else None,
        "decision_reason": reason,
        "sent_at": None,
        "error": None,
        **_seal(keystore, local_id, data, at=now),
    }


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
        _row(
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


def list_queue(
    node: Node, *, direction: str | None = None, status: str | None = None
) -> list[tuple[ExchangeRecord, Peer]]:
    """Messages (metadata only: no decryption, nothing to log) with their peers."""
    with node.engine.connect() as conn:
        peers = {p.id: p for p in SqlPeerDirectory(conn).all()}
        return [(r, peers[r.peer_id]) for r in store.list_messages(conn, direction=direction, status=status)]


def _human(user: Account) -> None:
    if not user.is_human:
        raise ForbiddenError("only a person opens or decides exchange messages")


def open_message(local_id: str, *, user: Account, node: Node) -> tuple[ExchangeRecord, Peer, Envelope]:
    """A message with its decrypted envelope, for a person; the look is a logged consultation
    (under ``dpo_supervision`` for the DPO)."""
    _human(user)
    if user.role not in (Role.ANALYST, Role.SUPERVISOR, Role.DPO):
        raise ForbiddenError(f"the {user.role.value} role does not read exchanged data")
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None:
            raise NotFoundError("no such exchange message")
        peer = SqlPeerDirectory(conn).by_id(rec.peer_id)
        assert peer is not None
        env = _unseal(conn, node.keystore, local_id)
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose.DPO_SUPERVISION if user.role is Role.DPO else env.purpose,
            record_ids=[f"msg:{local_id}", *[f"peer-booking:{r.ref}" for r in env.records[:100]]],
            counts={"exchange.opened": 1},
            reference=local_id,
        )
    return rec, peer, env


# --- sending -------------------------------------------------------------------------------


def _reason(text: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON:
        raise InputError(f"a decision is reasoned (at least {MIN_REASON} characters)")
    return text[:2000]


def _decider(user: Account) -> None:
    if user.role not in _DECIDERS:
        raise ForbiddenError("only an analyst or a supervisor decides what leaves the node")


def _usable_peer(directory: SqlPeerDirectory, *, name: str | None = None, peer_id: str | None = None) -> Peer:
    p = directory.by_name(name) if name is not None else directory.by_id(peer_id or "")
    if p is None:
        raise NotFoundError("no such peer")
    if p.revoked:
        raise ForbiddenError(f"peer {p.name} is revoked")
    return p


def _third_country_terms(
    conn: Connection,
    peer: Peer,
    handling: list[HandlingCode],
    *,
    local_id: str,
    records: int,
    now: dt.datetime,
) -> str | None:
    """Art. 11: the recorded onward-transfer condition, H2 added, the DPO informed."""
    if not peer.third_country:
        return None
    if not peer.onward_condition:
        raise ForbiddenError(
            f"peer {peer.name} is a third country without a recorded onward-transfer condition; "
            "register its undertaking first"
        )
    if HandlingCode.H2 not in handling:
        handling.append(HandlingCode.H2)
    conn.execute(
        insert(dpo_notification).values(
            id=new_id(),
            created_at=now,
            kind="third_country_transfer",
            reference=local_id,
            counts={"bookings": records, "messages": 1},
        )
    )
    return peer.onward_condition


def _deliver(
    local_id: str,
    peer: Peer,
    env: Envelope,
    *,
    user: Account,
    node: Node,
    client: PeerClient,
    record_ids: Sequence[str] = (),
    counts: dict[str, int],
) -> ExchangeRecord:
    """Send an approved outgoing message; log the disclosure only once the peer's signed
    receipt is in hand, or log the failure (the message stays retryable)."""
    try:
        receipt = client.deliver(peer, env)
    except (PeerRefused, PeerUnreachable) as exc:
        code = exc.peer_code if isinstance(exc, PeerRefused) else "unreachable"
        with node.engine.begin() as conn:
            store.set_status(
                conn, local_id, expect=("approved", "failed"), status="failed", error=str(exc)[:200]
            )
            node.audit(conn).append(
                actor=user.username,
                role=user.role.value,
                operation=Operation.REFUSAL,
                purpose=env.purpose,
                record_ids=[f"peer:{peer.name}", f"msg:{local_id}"],
                counts={f"exchange.delivery_failed.{re.sub('[^a-z0-9_]', '_', code.lower())[:40]}": 1},
                reference=local_id,
            )
        raise
    now = node.clock()
    with node.engine.begin() as conn:
        if store.set_status(
            conn,
            local_id,
            expect=("approved", "failed"),
            status="sent",
            peer_message_id=receipt.peer_message_id,
            sent_at=now,
            error=None,
        ):
            node.audit(conn).append(
                actor=user.username,
                role=user.role.value,
                operation=Operation.DISCLOSURE,
                purpose=env.purpose,
                record_ids=[
                    *record_ids,
                    f"peer:{peer.name}",
                    f"msg:{local_id}",
                    f"peer-msg:{receipt.peer_message_id}",
                ],
                counts=counts,
                reference=local_id,
            )
        rec = store.get_message(conn, local_id)
    assert rec is not None
    return rec


def _envelope(
    *,
    local_id: str,
    kind: MessageKind,
    node: Node,
    peer: Peer,
    case_ref: str,
    purpose: Purpose,
    legal_basis: str,
    handling: Sequence[HandlingCode],
    handling_conditions: str | None,
    now: dt.datetime,
    **rest: Any,
) -> Envelope:
    try:
        return Envelope(
            message_id=local_id,
            kind=kind,
            sender=node.settings.node_name,
            recipient=peer.name,
            sent_at=now,
            case_ref=case_ref,
            purpose=purpose,
            legal_basis=legal_basis,
            handling=list(handling),
            handling_conditions=handling_conditions,
            **rest,
        )
    except ValueError as exc:
        raise InputError(
            f"the message is incomplete: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}"
        ) from None


def send_request(
    *,
    user: Account,
    peer_name: str,
    subject: Subject,
    purpose: Purpose,
    case_ref: str,
    legal_basis: str,
    reasoning: str,
    handling: Sequence[HandlingCode] = (HandlingCode.H0,),
    handling_conditions: str | None = None,
    kind: MessageKind = MessageKind.REQUEST,
    node: Node,
    client: PeerClient,
    local_id: str | None = None,
) -> ExchangeRecord:
    """Send a duly reasoned request (Art. 9(2); Europol's with ``kind=europol_request``).

    The subject is personal data: it is disclosed to the peer, so the delivery is logged as
    a disclosure (no personal content: ids and counts). `local_id` lets a caller (the
    workspace) know the message's id before delivery, so a failed delivery, which raises,
    can still be shown and retried."""
    _decider(user)
    if kind not in REQUEST_KINDS:
        raise InputError("send_request sends requests")
    now = node.clock()
    local_id = _fresh_id(local_id)
    codes = list(dict.fromkeys(handling))
    with node.engine.begin() as conn:
        peer = _usable_peer(SqlPeerDirectory(conn), name=peer_name)
        onward = _third_country_terms(conn, peer, codes, local_id=local_id, records=0, now=now)
        env = _envelope(
            local_id=local_id,
            kind=kind,
            node=node,
            peer=peer,
            case_ref=case_ref,
            purpose=purpose,
            legal_basis=legal_basis,
            handling=codes,
            handling_conditions=handling_conditions,
            now=now,
            reasoning=reasoning,
            subject=subject,
            onward_transfer_condition=onward,
        )
        _file_outgoing(
            conn, env, peer=peer, user=user, node=node, now=now,
            local_id=local_id, status="approved", reason=reasoning,
        )
    return _deliver(
        local_id, peer, env, user=user, node=node, client=client, counts={f"exchange.{kind.value}.sent": 1}
    )


def _fresh_id(local_id: str | None) -> str:
    if local_id is None:
        return new_id()
    if not _HEX32.fullmatch(local_id):
        raise InputError("a message id is 32 hex characters")
    return local_id


def _read_records(
    conn: Connection,
    node: Node,
    booking_ids: Sequence[str],
    *,
    user: Account,
    purpose: Purpose,
    now: dt.datetime,
    reference: str,
) -> list[Record]:
    """The bookings as they may leave: whole if the viewer may see identity data (active,
    or masked under a covering unmasking approval), else masked. Logged as consultation
    (and unmasking where an approval was used)."""
    records: list[Record] = []
    repo = BookingRepository(conn, node.keystore)
    log = node.audit(conn)
    for bid in dict.fromkeys(booking_ids):
        if not _HEX32.fullmatch(bid):
            raise InputError("booking ids are 32 hex characters")
        if can_see_identity_on(bid, user=user, purpose=purpose, conn=conn, now=now):
            b, approval = read_visible(conn, node.keystore, bid, user=user, purpose=purpose, now=now)
            if approval is not None:
                log.append(
                    actor=user.username,
                    role=user.role.value,
                    operation=Operation.UNMASKING,
                    purpose=purpose,
                    record_ids=[bid],
                    counts={"unmasking.view": 1},
                    reference=approval,
                )
            records.append(Record(ref=bid, masked=False, booking=to_dict(b)))
        else:
            repo.summary(bid)  # NotFoundError for an unknown booking
            # Art. 12(3) (issue 10, item 4): a masked booking leaves only under a decided
            # judicial unmasking that covers it, this person and this purpose.
            raise ForbiddenError(
                f"booking {bid} is masked or deleted (Art. 12(2)): it is transmitted only under a "
                "decided judicial unmasking (Art. 12(3)); request one, or leave it out"
            )
    if records:
        log.append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=purpose,
            record_ids=[r.ref for r in records],
            counts={"bookings": len(records)},
            reference=reference,
        )
    return records


def approve_answer(
    local_id: str,
    *,
    user: Account,
    reason: str,
    booking_ids: Sequence[str],
    evaluation: Evaluation,
    handling: Sequence[HandlingCode] = (HandlingCode.H0,),
    handling_conditions: str | None = None,
    node: Node,
    client: PeerClient,
    policy: ReviewPolicy | None = None,
) -> ExchangeRecord:
    """A person approves the answer to an incoming request; only then does it leave.

    `booking_ids` are the bookings the person found and decided to send (none: the answer is
    ``no_data``). Masked bookings leave masked unless `can_see_identity_on` admits this
    person for the request's purpose (an approved unmasking request).

    With ``policy.four_eyes`` the answer is built and sealed now (what the first person saw
    is what leaves) but waits, with its request, in ``awaiting_second`` for a supervisor's
    `second_approval`; nothing is delivered and the first approval is logged. Without a
    policy the node's applies (`four_eyes.may_leave`: never "off" by omission)."""
    _decider(user)
    reason = _reason(reason)
    now = node.clock()
    answer_id = new_id()
    codes = list(dict.fromkeys(handling))
    gate = may_leave(kind=Kind.PEER_ANSWER, first=user.username, second=None, policy=policy)
    four_eyes = gate is Gate.AWAIT_SECOND
    status = "awaiting_second" if four_eyes else "approved"
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError("no such incoming request")
        peer = _usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        purpose = Purpose(rec.purpose)
        require_found(conn, local_id, booking_ids)  # only what the request's searches found
        records = _read_records(
            conn, node, booking_ids, user=user, purpose=purpose, now=now, reference=local_id
        )
        onward = _third_country_terms(conn, peer, codes, local_id=answer_id, records=len(records), now=now)
        env = _envelope(
            local_id=answer_id,
            kind=MessageKind.ANSWER,
            node=node,
            peer=peer,
            case_ref=rec.case_ref,
            purpose=purpose,
            legal_basis="Directive (EU) 2016/681 Art. 9(2)",
            handling=codes,
            handling_conditions=handling_conditions,
            now=now,
            in_reply_to=rec.message_id,
            outcome=AnswerOutcome.DATA if records else AnswerOutcome.NO_DATA,
            records=records,
            evaluation=evaluation if records else None,
            onward_transfer_condition=onward,
        )
        if not store.set_status(
            conn,
            local_id,
            expect=("awaiting_approval",),
            status=status,
            decided_by=user.username,
            decided_at=now,
            decision_reason=reason,
        ):
            raise ConflictError(f"request {local_id} is {rec.status}, not awaiting approval")
        _file_outgoing(
            conn, env, peer=peer, user=user, node=node, now=now,
            local_id=answer_id, status=status, reason=reason, in_reply_to=local_id,
        )
        if four_eyes:
            node.audit(conn).append(
                actor=user.username,
                role=user.role.value,
                operation=Operation.ALTERATION,
                purpose=purpose,
                record_ids=[f"peer:{peer.name}", f"peer-msg:{rec.message_id}", f"msg:{answer_id}"],
                counts={"exchange.answer.first_approval": 1, "bookings": len(records)},
                reference=local_id,
            )
    if four_eyes:
        with node.engine.connect() as conn:
            draft = store.get_message(conn, answer_id)
        assert draft is not None
        return draft
    out = _deliver(
        answer_id,
        peer,
        env,
        user=user,
        node=node,
        client=client,
        record_ids=[r.ref for r in records],
        counts={
            "exchange.answer.sent": 1,
            "bookings": len(records),
            "bookings.masked": sum(1 for r in records if r.masked),
        },
    )
    with node.engine.begin() as conn:
        store.set_status(conn, local_id, expect=("approved",), status="answered")
    return out


def _second_decider(user: Account, reason: str) -> str:
    if not user.is_human or user.role is not Role.SUPERVISOR:
        raise ForbiddenError("only a supervisor gives the second approval of an answer")
    return _reason(reason)


def _awaiting_second(conn: Connection, local_id: str, user: Account) -> tuple[ExchangeRecord, ExchangeRecord]:
    """The incoming request and its drafted answer, checked for a second decision by `user`."""
    rec = store.get_message(conn, local_id)
    if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
        raise NotFoundError("no such incoming request")
    draft = store.draft_answer(conn, local_id)
    if rec.status != "awaiting_second" or draft is None:
        raise ConflictError(f"request {local_id} is {rec.status}, not awaiting a second approval")
    may_leave(kind=Kind.PEER_ANSWER, first=draft.decided_by or "", second=user, policy=None)
    return rec, draft


def second_approval(
    local_id: str, *, user: Account, reason: str, node: Node, client: PeerClient
) -> ExchangeRecord:
    """Four eyes: a supervisor other than the first approver lets the drafted answer to the
    incoming request `local_id` leave, exactly as the first person built it.

    The approval is logged (``alteration``) and committed before delivery, so a failed
    delivery leaves a retryable ``failed`` answer (`retry_delivery`), not a second draft;
    the disclosure is logged under the supervisor's name when the receipt is in hand."""
    reason = _second_decider(user, reason)
    now = node.clock()
    with node.engine.begin() as conn:
        rec, draft = _awaiting_second(conn, local_id, user)
        peer = _usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        for row_id in (draft.id, local_id):
            if not store.set_status(
                conn,
                row_id,
                expect=("awaiting_second",),
                status="approved",
                second_approver=user.username,
                second_approved_at=now,
            ):
                raise ConflictError(f"request {local_id} was decided meanwhile")
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=[f"peer:{peer.name}", f"peer-msg:{rec.message_id}", f"msg:{draft.id}"],
            counts={"exchange.answer.second_approval": 1},
            reference=local_id,
        )
        env = _unseal(conn, node.keystore, draft.id)
    out = _deliver(
        draft.id,
        peer,
        env,
        user=user,
        node=node,
        client=client,
        record_ids=[r.ref for r in env.records],
        counts={
            "exchange.answer.sent": 1,
            "bookings": len(env.records),
            "bookings.masked": sum(1 for r in env.records if r.masked),
        },
    )
    with node.engine.begin() as conn:
        store.set_status(conn, local_id, expect=("approved",), status="answered")
    return out


def return_answer(local_id: str, *, user: Account, reason: str, node: Node) -> ExchangeRecord:
    """Four eyes, the other way: a supervisor sends a drafted answer back. Nothing leaves;
    the draft is marked ``refused`` and the request returns to the queue for a new decision
    (approve again, or refuse the request)."""
    reason = _second_decider(user, reason)
    now = node.clock()
    with node.engine.begin() as conn:
        rec, draft = _awaiting_second(conn, local_id, user)
        if not store.set_status(
            conn,
            draft.id,
            expect=("awaiting_second",),
            status="refused",
            second_approver=user.username,
            second_approved_at=now,
            error=f"sent back: {reason}"[:200],  # for the first approver, on the draft's page
        ) or not store.set_status(
            conn,
            local_id,
            expect=("awaiting_second",),
            status="awaiting_approval",
            decided_by=None,
            decided_at=None,
            decision_reason=None,
        ):
            raise ConflictError(f"request {local_id} was decided meanwhile")
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=[f"peer-msg:{rec.message_id}", f"msg:{draft.id}"],
            counts={"exchange.answer.returned": 1},
            reference=local_id,
        )
        back = store.get_message(conn, local_id)
    assert back is not None
    return back


def refuse_request(
    local_id: str, *, user: Account, reason: str, node: Node, client: PeerClient
) -> ExchangeRecord:
    """A person refuses an incoming request; the peer is told (a signed ``refused`` answer,
    without the reason text, which may name internal matters)."""
    _decider(user)
    reason = _reason(reason)
    now = node.clock()
    answer_id = new_id()
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError("no such incoming request")
        peer = _usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        if not store.set_status(
            conn,
            local_id,
            expect=("awaiting_approval",),
            status="refused",
            decided_by=user.username,
            decided_at=now,
            decision_reason=reason,
        ):
            raise ConflictError(f"request {local_id} is {rec.status}, not awaiting approval")
        env = _envelope(
            local_id=answer_id,
            kind=MessageKind.ANSWER,
            node=node,
            peer=peer,
            case_ref=rec.case_ref,
            purpose=Purpose(rec.purpose),
            legal_basis="Directive (EU) 2016/681 Art. 9(2)",
            handling=[HandlingCode.H0],
            handling_conditions=None,
            now=now,
            in_reply_to=rec.message_id,
            outcome=AnswerOutcome.REFUSED,
        )
        _file_outgoing(
            conn, env, peer=peer, user=user, node=node, now=now,
            local_id=answer_id, status="approved", reason=reason, in_reply_to=local_id,
        )
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.REFUSAL,
            purpose=Purpose(rec.purpose),
            record_ids=[f"peer:{peer.name}", f"peer-msg:{rec.message_id}"],
            counts={"exchange.request.refused": 1},
            reference=local_id,
        )
    return _deliver(
        answer_id, peer, env, user=user, node=node, client=client, counts={"exchange.answer.sent": 1}
    )


def send_transfer(
    *,
    user: Account,
    peer_name: str,
    case_ref: str,
    reason: str,
    evaluation: Evaluation,
    hit_id: str | None = None,
    forward_message_id: str | None = None,
    handling: Sequence[HandlingCode] = (HandlingCode.H0,),
    handling_conditions: str | None = None,
    legal_basis: str = "Directive (EU) 2016/681 Art. 9(1)",
    node: Node,
    client: PeerClient,
    local_id: str | None = None,
    policy: ReviewPolicy | None = None,
) -> ExchangeRecord:
    """A spontaneous transfer (Art. 9(1)) of a confirmed hit's booking, or the forward of
    data received from another peer (`forward_message_id`), which carries that data's
    handling codes on and is refused under H2 without a recorded permission. `local_id`:
    as for `send_request`. With four eyes (`four_eyes.may_leave`, the node's policy when
    none is given) it is sealed and waits in ``awaiting_second`` for a supervisor
    (`four_eyes.approve_outgoing`), whatever the recipient: peer, Europol, third country."""
    _decider(user)
    reason = _reason(reason)
    if (hit_id is None) == (forward_message_id is None):
        raise InputError("a transfer names either a confirmed hit or a received message to forward")
    now = node.clock()
    local_id = _fresh_id(local_id)
    codes = list(dict.fromkeys(handling))
    try:
        return _send_transfer(
            user=user,
            peer_name=peer_name,
            case_ref=case_ref,
            reason=reason,
            evaluation=evaluation,
            hit_id=hit_id,
            forward_message_id=forward_message_id,
            codes=codes,
            handling_conditions=handling_conditions,
            legal_basis=legal_basis,
            node=node,
            client=client,
            local_id=local_id,
            now=now,
            policy=policy,
        )
    except _H2Blocked as blocked:
        # Logged after the use case's transaction ended (SQLite has one writer at a time).
        _refuse_h2(node, user=user, src=blocked.src, peer=blocked.peer)
        raise AssertionError("unreachable") from None


class _H2Blocked(Exception):
    def __init__(self, src: ExchangeRecord, peer: Peer) -> None:
        self.src, self.peer = src, peer
        super().__init__("H2")


def _send_transfer(
    *,
    user: Account,
    peer_name: str,
    case_ref: str,
    reason: str,
    evaluation: Evaluation,
    hit_id: str | None,
    forward_message_id: str | None,
    codes: list[HandlingCode],
    handling_conditions: str | None,
    legal_basis: str,
    node: Node,
    client: PeerClient,
    local_id: str,
    now: dt.datetime,
    policy: ReviewPolicy | None = None,
) -> ExchangeRecord:
    with node.engine.begin() as conn:
        directory = SqlPeerDirectory(conn)
        peer = _usable_peer(directory, name=peer_name)
        kind = kind_of_peer(
            third_country=peer.third_country, europol=peer.kind.value == "europol", answer=False
        )
        waits = may_leave(kind=kind, first=user.username, second=None, policy=policy) is Gate.AWAIT_SECOND
        if hit_id is not None:
            h = hits_store.get_hit(conn, hit_id)
            if h.status is not HitStatus.CONFIRMED:
                raise ConflictError("only a hit a person confirmed is transferred")
            purpose = h.purpose
            records = _read_records(
                conn, node, [h.booking_id], user=user, purpose=purpose, now=now, reference=local_id
            )
            extra_ids = [h.booking_id, f"hit:{h.id}"]
        else:
            assert forward_message_id is not None
            src = store.get_message(conn, forward_message_id)
            if (
                src is None
                or src.direction != "in"
                or src.kind not in ("answer", "transfer")
                or src.records == 0
            ):
                raise NotFoundError("no received data under that id")
            purpose = Purpose(src.purpose)
            if HandlingCode.H2.value in src.handling and not store.has_permission(
                conn, message_id=src.id, to_peer_id=peer.id
            ):
                raise _H2Blocked(src, peer)
            source_env = _unseal(conn, node.keystore, src.id)
            records = list(source_env.records)
            codes = list(dict.fromkeys([*codes, *source_env.handling]))
            if source_env.handling_conditions and not handling_conditions:
                handling_conditions = source_env.handling_conditions
            extra_ids = [f"msg:{src.id}"]
        if purpose not in INVESTIGATIVE_PURPOSES:
            raise InputError("a transfer's purpose is terrorism or an Annex II offence")
        onward = _third_country_terms(conn, peer, codes, local_id=local_id, records=len(records), now=now)
        env = _envelope(
            local_id=local_id,
            kind=MessageKind.TRANSFER,
            node=node,
            peer=peer,
            case_ref=case_ref,
            purpose=purpose,
            legal_basis=legal_basis,
            handling=codes,
            handling_conditions=handling_conditions,
            now=now,
            records=records,
            evaluation=evaluation,
            onward_transfer_condition=onward,
        )
        _file_outgoing(
            conn, env, peer=peer, user=user, node=node, now=now, local_id=local_id, reason=reason,
            status="awaiting_second" if waits else "approved", forwarded_from=forward_message_id,
        )
        if waits:
            node.audit(conn).append(
                actor=user.username,
                role=user.role.value,
                operation=Operation.ALTERATION,
                purpose=purpose,
                record_ids=[f"peer:{peer.name}", f"msg:{local_id}", *extra_ids],
                counts={"exchange.transfer.first_approval": 1, "bookings": len(records)},
                reference=local_id,
            )
    if waits:
        with node.engine.connect() as conn:
            draft = store.get_message(conn, local_id)
        assert draft is not None
        return draft
    return _deliver(
        local_id,
        peer,
        env,
        user=user,
        node=node,
        client=client,
        record_ids=extra_ids,
        counts={
            "exchange.transfer.sent": 1,
            "bookings": len(records),
            "bookings.masked": sum(1 for r in records if r.masked),
        },
    )


def _refuse_h2(node: Node, *, user: Account, src: ExchangeRecord, peer: Peer) -> None:
    """Log the blocked forward in its own transaction (the caller's rolls back), then raise."""
    with node.engine.begin() as conn:
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.REFUSAL,
            purpose=Purpose(src.purpose),
            record_ids=[f"msg:{src.id}", f"peer:{peer.name}"],
            counts={"exchange.refused.h2": 1},
            reference=src.id,
        )
    raise ForbiddenError(
        "H2: the data was received under 'no onward transfer without permission' and no permission "
        f"of the originator to pass it to {peer.name} is recorded"
    )


def record_onward_permission(
    local_id: str, *, to_peer_name: str, reference: str, user: Account, node: Node
) -> None:
    """Record the originator's permission (its letter or message id) to pass data received
    under H2 on to one named peer. Only a supervisor records it."""
    if user.role is not Role.SUPERVISOR:
        raise ForbiddenError("only a supervisor records an onward-transfer permission")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", reference or ""):
        raise InputError("the permission's reference is an opaque id (the originator's letter or message id)")
    now = node.clock()
    with node.engine.begin() as conn:
        src = store.get_message(conn, local_id)
        if src is None or src.direction != "in":
            raise NotFoundError("no such received message")
        peer = _usable_peer(SqlPeerDirectory(conn), name=to_peer_name)
        store.add_permission(
            conn,
            {
                "id": new_id(),
                "message_id": local_id,
                "to_peer_id": peer.id,
                "reference": reference,
                "recorded_by": user.username,
                "recorded_at": now,
            },
        )
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(src.purpose),
            record_ids=[f"msg:{local_id}", f"peer:{peer.name}"],
            counts={"exchange.permission.recorded": 1},
            reference=reference,
        )


def retry_delivery(local_id: str, *, user: Account, node: Node, client: PeerClient) -> ExchangeRecord:
    """Deliver a failed or undelivered outgoing message again, with the same message id (the
    receiver's idempotency makes a retry after a lost receipt harmless)."""
    _decider(user)
    with node.engine.connect() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "out":
            raise NotFoundError("no such outgoing message")
        if rec.status not in ("approved", "failed"):
            raise ConflictError(f"message {local_id} is {rec.status}")
        check_live(conn, local_id)  # never resend a copy of a masked or deleted booking
        peer = _usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        env = _unseal(conn, node.keystore, local_id)
    out = _deliver(
        local_id,
        peer,
        env,
        user=user,
        node=node,
        client=client,
        record_ids=[r.ref for r in env.records],
        counts={f"exchange.{env.kind.value}.sent": 1, "bookings": len(env.records)},
    )
    if rec.in_reply_to is not None:
        with node.engine.begin() as conn:
            store.set_status(conn, rec.in_reply_to, expect=("approved",), status="answered")
    return out
