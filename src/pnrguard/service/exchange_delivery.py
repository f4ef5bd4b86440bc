"""Outgoing exchange messages: filed before delivery, delivered, retried with the same id.

Split out of `service/exchange.py` (one concept per module). Every request, answer, refusal
and transfer a person decided goes through `file_outgoing` (stored, its envelope sealed)
and then `deliver`: the disclosure is logged only once the peer's signed receipt is in
hand; a refused or unreachable delivery is logged as a ``refusal`` and stays ``failed``,
retryable by a person (`retry_delivery`) under the same message id, which the receiver's
idempotency makes harmless after a lost receipt. The checks every sender applies (a
reasoned decision, an analyst or supervisor, a usable peer, Art. 11 terms for a third
country) and the reading of bookings as they may leave (`read_records`: whole, or refused
when masked without a covering judicial unmasking) live here too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import to_dict
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.client import PeerClient, PeerRefused, PeerUnreachable
from pnrguard.exchange.messages import Envelope, HandlingCode, MessageKind, Record
from pnrguard.exchange.peers import Peer
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import check_live, file_links, message_row, open_payload, seal_reason
from pnrguard.service.unmasking import can_see_identity_on, read_visible
from pnrguard.store import exchange as store
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory
from pnrguard.store.lifecycle import dpo_notification
from pnrguard.store.repository import BookingRepository, new_id

__all__ = [
    "MIN_REASON",
    "build_envelope",
    "deliver",
    "file_outgoing",
    "fresh_id",
    "make_client",
    "read_records",
    "require_decider",
    "require_reason",
    "retry_delivery",
    "third_country_terms",
    "usable_peer",
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


def file_outgoing(
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
        message_row(
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
            reason=seal_reason(conn, node.keystore, local_id, reason, at=now) if reason else reason,
        ),
    )
    file_links(conn, env, local_id=local_id)


def require_reason(text: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON:
        raise InputError(
            N_("a decision is reasoned (at least %(MIN_REASON)s characters)"), MIN_REASON=MIN_REASON
        )
    return text[:2000]


def require_decider(user: Account) -> None:
    if user.role not in _DECIDERS:
        raise ForbiddenError(N_("only an analyst or a supervisor decides what leaves the node"))


def usable_peer(directory: SqlPeerDirectory, *, name: str | None = None, peer_id: str | None = None) -> Peer:
    p = directory.by_name(name) if name is not None else directory.by_id(peer_id or "")
    if p is None:
        raise NotFoundError(N_("no such peer"))
    if p.revoked:
        raise ForbiddenError(N_("peer %(name)s is revoked"), name=p.name)
    return p


def third_country_terms(
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
            N_(
                "peer %(name)s is a third country without a recorded onward-transfer condition; register "
                "its undertaking first"
            ),
            name=peer.name,
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


def deliver(
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


def build_envelope(
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
            N_("the message is incomplete: %(value)s"),
            value=exc.errors()[0]["msg"] if hasattr(exc, "errors") else exc,
        ) from None


def fresh_id(local_id: str | None) -> str:
    if local_id is None:
        return new_id()
    if not _HEX32.fullmatch(local_id):
        raise InputError(N_("a message id is 32 hex characters"))
    return local_id


def read_records(
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
            raise InputError(N_("booking ids are 32 hex characters"))
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
                N_(
                    "booking %(bid)s is masked or deleted (Art. 12(2)): it is transmitted only under a "
                    "decided judicial unmasking (Art. 12(3)); request one, or leave it out"
                ),
                bid=bid,
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


def retry_delivery(local_id: str, *, user: Account, node: Node, client: PeerClient) -> ExchangeRecord:
    """Deliver a failed or undelivered outgoing message again, with the same message id (the
    receiver's idempotency makes a retry after a lost receipt harmless)."""
    require_decider(user)
    with node.engine.connect() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "out":
            raise NotFoundError(N_("no such outgoing message"))
        if rec.status not in ("approved", "failed"):
            raise ConflictError(
                N_("message %(local_id)s is %(status)s"), local_id=local_id, status=rec.status
            )
        check_live(conn, local_id)  # never resend a copy of a masked or deleted booking
        peer = usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        env = open_payload(conn, node.keystore, local_id)
    out = deliver(
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
