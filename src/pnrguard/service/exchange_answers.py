"""Answering a peer's request: a person's reasoned decision, four eyes, or a refusal.

Split out of `service/exchange.py` (one concept per module). An incoming request leaves the
queue only by a person's decision (docs/federation.md, "Human approval"): `approve_answer`
names only bookings the request's searches found (`service.peer_answers`), reads them as
they may leave (`exchange_delivery.read_records`) and, with four eyes, seals the answer and
waits for a supervisor; `second_approval` / `return_answer` are that supervisor's decision,
the same one way every outgoing message takes (`four_eyes.approve_outgoing` /
`four_eyes.return_outgoing`); `refuse_request` tells the peer, without the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, NotFoundError
from pnrguard.exchange.client import PeerClient
from pnrguard.exchange.messages import REQUEST_KINDS, AnswerOutcome, Evaluation, HandlingCode, MessageKind
from pnrguard.service import four_eyes as _four_eyes
from pnrguard.service.accounts import Account
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_delivery import (
    build_envelope,
    deliver,
    file_outgoing,
    read_records,
    require_decider,
    require_reason,
    third_country_terms,
    usable_peer,
)
from pnrguard.service.exchange_payload import seal_reason
from pnrguard.service.four_eyes import Gate, Kind, may_leave
from pnrguard.service.peer_answers import require_found
from pnrguard.service.review import ReviewPolicy
from pnrguard.store import exchange as store
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory
from pnrguard.store.repository import new_id

__all__ = ["approve_answer", "refuse_request", "return_answer", "second_approval"]


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
    require_decider(user)
    reason = require_reason(reason)
    now = node.clock()
    answer_id = new_id()
    codes = list(dict.fromkeys(handling))
    gate = may_leave(kind=Kind.PEER_ANSWER, first=user.username, second=None, policy=policy)
    four_eyes = gate is Gate.AWAIT_SECOND
    status = "awaiting_second" if four_eyes else "approved"
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError(N_("no such incoming request"))
        peer = usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        purpose = Purpose(rec.purpose)
        require_found(conn, local_id, booking_ids)  # only what the request's searches found
        records = read_records(
            conn, node, booking_ids, user=user, purpose=purpose, now=now, reference=local_id
        )
        onward = third_country_terms(conn, peer, codes, local_id=answer_id, records=len(records), now=now)
        env = build_envelope(
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
            decision_reason=seal_reason(conn, node.keystore, local_id, reason, at=now),
        ):
            raise ConflictError(
                N_("request %(local_id)s is %(status)s, not awaiting approval"),
                local_id=local_id,
                status=rec.status,
            )
        file_outgoing(
            conn,
            env,
            peer=peer,
            user=user,
            node=node,
            now=now,
            local_id=answer_id,
            status=status,
            reason=reason,
            in_reply_to=local_id,
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
    out = deliver(
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


def _draft_of(local_id: str, node: Node) -> str:
    """The drafted answer waiting for a second person on the incoming request `local_id`."""
    with node.engine.connect() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError(N_("no such incoming request"))
        draft = store.draft_answer(conn, local_id)
    if rec.status != "awaiting_second" or draft is None:
        raise ConflictError(
            N_("request %(local_id)s is %(status)s, not awaiting a second approval"),
            local_id=local_id,
            status=rec.status,
        )
    return draft.id


def second_approval(
    local_id: str, *, user: Account, reason: str, node: Node, client: PeerClient
) -> ExchangeRecord:
    """Four eyes: a supervisor other than the first approver lets the drafted answer to the
    incoming request `local_id` leave, exactly as the first person built it (the one way
    every outgoing message is released: `four_eyes.approve_outgoing`)."""
    return _four_eyes.approve_outgoing(
        _draft_of(local_id, node), user=user, reason=reason, node=node, client=client
    )


def return_answer(local_id: str, *, user: Account, reason: str, node: Node) -> ExchangeRecord:
    """Four eyes, the other way: a supervisor sends a drafted answer back. Nothing leaves;
    the draft is marked ``refused`` and the request returns to the queue for a new decision
    (approve again, or refuse the request)."""
    _four_eyes.return_outgoing(_draft_of(local_id, node), user=user, reason=reason, node=node)
    with node.engine.connect() as conn:
        back = store.get_message(conn, local_id)
    assert back is not None
    return back


def refuse_request(
    local_id: str, *, user: Account, reason: str, node: Node, client: PeerClient
) -> ExchangeRecord:
    """A person refuses an incoming request; the peer is told (a signed ``refused`` answer,
    without the reason text, which may name internal matters)."""
    require_decider(user)
    reason = require_reason(reason)
    now = node.clock()
    answer_id = new_id()
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError(N_("no such incoming request"))
        peer = usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        if not store.set_status(
            conn,
            local_id,
            expect=("awaiting_approval",),
            status="refused",
            decided_by=user.username,
            decided_at=now,
            decision_reason=seal_reason(conn, node.keystore, local_id, reason, at=now),
        ):
            raise ConflictError(
                N_("request %(local_id)s is %(status)s, not awaiting approval"),
                local_id=local_id,
                status=rec.status,
            )
        env = build_envelope(
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
        file_outgoing(
            conn,
            env,
            peer=peer,
            user=user,
            node=node,
            now=now,
            local_id=answer_id,
            status="approved",
            reason=reason,
            in_reply_to=local_id,
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
    return deliver(
        answer_id, peer, env, user=user, node=node, client=client, counts={"exchange.answer.sent": 1}
    )
