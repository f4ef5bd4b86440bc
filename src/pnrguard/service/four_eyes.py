"""Four eyes on every disclosure: one rule decides whether data may leave now.

Why (Directive 2016/681 Art. 6, 9-11; docs/security.md, "Four eyes on every disclosure"):
the node had three paths out (a transmission to a competent authority, an answer to a peer
PIU, a spontaneous transfer to a peer, Europol or a third country), and only the first
two waited for a second person, the second only when the caller passed the policy.
`may_leave` is now the single decision for all of them:

- the first person's approval (`second=None`) leaves at once only when four eyes is off;
- otherwise the disclosure waits for a *second* person, a supervisor who is not the first
  one; any other second approver is refused, whatever the kind of recipient;
- a caller that passes no policy gets the node's (`ReviewPolicy.from_env`), never "off".

The second person approves what leaves, not ids: `preview_outgoing` shows the sealed
message (the exact bytes that will be signed and sent, built once when the first person
approved) and `disclosure.preview_transmission` the authority package built by the same
function that builds it at release. Looking at a preview is a logged consultation.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, NotFoundError
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import ReviewPolicy
from pnrguard.store import exchange as store
from pnrguard.store.exchange import ExchangeRecord

if TYPE_CHECKING:
    from pnrguard.exchange.client import PeerClient
    from pnrguard.service.bootstrap import Node

__all__ = ["Gate", "Kind", "effective_policy", "may_leave"]


class Kind(StrEnum):
    """Where a disclosure goes. The rule is the same for every kind; the kind names it in
    messages and logs."""

    AUTHORITY = "authority"
    PEER_ANSWER = "peer_answer"
    PEER_TRANSFER = "peer_transfer"
    EUROPOL = "europol"
    THIRD_COUNTRY = "third_country"


class Gate(StrEnum):
    LEAVE_NOW = "leave_now"
    AWAIT_SECOND = "await_second"


class SecondApprovalRefused(ForbiddenError):
    code = "four_eyes"


def effective_policy(policy: ReviewPolicy | None) -> ReviewPolicy:
    """The policy a disclosure follows: the caller's, else the node's (never "off" by
    omission)."""
    return policy if policy is not None else ReviewPolicy.from_env()


def may_leave(*, kind: Kind, first: str, second: Account | None, policy: ReviewPolicy | None) -> Gate:
    """May this disclosure leave now? `first`: who approved it first (username);
    `second`: who approves now as the second person, or None for the first approval.

    Raises `SecondApprovalRefused` for a second approver who is not a supervisor or is the
    first person."""
    if second is None:
        return Gate.AWAIT_SECOND if effective_policy(policy).four_eyes else Gate.LEAVE_NOW
    if not second.is_human or second.role is not Role.SUPERVISOR:
        raise SecondApprovalRefused(
            N_("only a supervisor gives the second approval (%(kind)s)"), kind=kind.value
        )
    if second.username == first:
        raise SecondApprovalRefused(N_("four eyes: the second approval is someone else's"))
    return Gate.LEAVE_NOW


def kind_of_peer(*, third_country: bool, europol: bool, answer: bool) -> Kind:
    if third_country:
        return Kind.THIRD_COUNTRY
    if europol:
        return Kind.EUROPOL
    return Kind.PEER_ANSWER if answer else Kind.PEER_TRANSFER


# --- outgoing peer messages waiting for their second person ----------------------------------
# One way for every outgoing message: an answer drafted for a peer's request and a transfer
# (to a peer, Europol or a third country) are released or sent back by the same two
# functions; an answer also moves its request (both rows carry ``awaiting_second``).


def _waiting(conn: Connection, local_id: str) -> tuple[ExchangeRecord, ExchangeRecord | None]:
    """The outgoing message waiting for a second person, and the incoming request it answers
    (None for a transfer)."""
    rec = store.get_message(conn, local_id)
    if rec is None or rec.direction != "out":
        raise NotFoundError(N_("no such outgoing message"))
    if rec.status != "awaiting_second":
        raise ConflictError(
            N_("message %(local_id)s is %(status)s, not awaiting a second approval"),
            local_id=local_id,
            status=rec.status,
        )
    request = store.get_message(conn, rec.in_reply_to) if rec.in_reply_to else None
    if request is not None and request.status != "awaiting_second":
        raise ConflictError(
            N_("request %(id)s is %(status)s, not awaiting a second approval"),
            id=request.id,
            status=request.status,
        )
    return rec, request


def _kind(rec: ExchangeRecord, peer_kind: str, third_country: bool) -> Kind:
    if rec.kind == "answer":
        return Kind.PEER_ANSWER
    return kind_of_peer(third_country=third_country, europol=peer_kind == "europol", answer=False)


def preview_outgoing(local_id: str, *, user: Account, node: Node) -> str:
    """The sealed message exactly as it will leave (pretty-printed JSON of the bytes that
    are signed and sent), for the first approver and supervisors; a logged consultation."""
    from pnrguard.service.exchange_payload import open_payload

    if not user.is_human or user.role not in (Role.SUPERVISOR, Role.ANALYST):
        raise ForbiddenError(N_("only the approvers see what leaves"))
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "out":
            raise NotFoundError(N_("no such outgoing message"))
        env = open_payload(conn, node.keystore, rec.id)
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose(rec.purpose),
            record_ids=[f"msg:{rec.id}", *[r.ref for r in env.records][:100]],
            counts={"exchange.preview": 1, "bookings": len(env.records)},
            reference=rec.id,
        )
    return json.dumps(json.loads(env.to_bytes()), ensure_ascii=False, indent=2, sort_keys=True)


def approve_outgoing(
    local_id: str, *, user: Account, reason: str, node: Node, client: PeerClient
) -> ExchangeRecord:
    """The second approval of an outgoing message: a supervisor other than the first
    approver lets the sealed message leave unchanged.

    The approval is logged (``alteration``; for an answer under the request's id, as the
    first approval was) and committed before delivery, so a failed delivery leaves a
    retryable ``failed`` message, not a second draft; the disclosure is logged under the
    supervisor's name once the receipt is in hand."""
    from pnrguard.service.exchange_delivery import deliver, require_reason, usable_peer
    from pnrguard.service.exchange_payload import open_payload
    from pnrguard.store.exchange import SqlPeerDirectory

    now = node.clock()
    with node.engine.begin() as conn:
        rec, request = _waiting(conn, local_id)
        peer = usable_peer(SqlPeerDirectory(conn), peer_id=rec.peer_id)
        may_leave(kind=_kind(rec, peer.kind.value, peer.third_country), first=rec.decided_by or "",
                  second=user, policy=None)  # fmt: skip
        require_reason(reason)  # mandatory, like every decision; the log keeps no free text
        for row_id in [rec.id, *([request.id] if request else [])]:
            if not store.set_status(
                conn, row_id, expect=("awaiting_second",), status="approved",
                second_approver=user.username, second_approved_at=now,
            ):  # fmt: skip
                raise ConflictError(N_("message %(local_id)s was decided meanwhile"), local_id=local_id)
        if request is not None:
            ids = [f"peer:{peer.name}", f"peer-msg:{request.message_id}", f"msg:{rec.id}"]
            counts, reference = {"exchange.answer.second_approval": 1}, request.id
        else:
            ids, counts, reference = (
                [f"peer:{peer.name}", f"msg:{rec.id}"],
                {"exchange.transfer.second_approval": 1},
                rec.id,
            )
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=ids,
            counts=counts,
            reference=reference,
        )
        env = open_payload(conn, node.keystore, rec.id)
    out = deliver(
        rec.id,
        peer,
        env,
        user=user,
        node=node,
        client=client,
        record_ids=[r.ref for r in env.records],
        counts={
            f"exchange.{env.kind.value}.sent": 1,
            "bookings": len(env.records),
            "bookings.masked": sum(1 for r in env.records if r.masked),
        },
    )
    if request is not None:
        with node.engine.begin() as conn:
            store.set_status(conn, request.id, expect=("approved",), status="answered")
    return out


def return_outgoing(local_id: str, *, user: Account, reason: str, node: Node) -> None:
    """A supervisor stops an outgoing message waiting for them: nothing leaves. A drafted
    answer's request returns to the queue for a new decision (approve again, or refuse)."""
    from pnrguard.service.exchange_delivery import require_reason

    now = node.clock()
    with node.engine.begin() as conn:
        rec, request = _waiting(conn, local_id)
        kind = Kind.PEER_ANSWER if request is not None else Kind.PEER_TRANSFER
        may_leave(kind=kind, first=rec.decided_by or "", second=user, policy=None)
        reason = require_reason(reason)
        if not store.set_status(
            conn, rec.id, expect=("awaiting_second",), status="refused",
            second_approver=user.username, second_approved_at=now, error=f"sent back: {reason}"[:200],
        ) or (request is not None and not store.set_status(
            conn, request.id, expect=("awaiting_second",), status="awaiting_approval",
            decided_by=None, decided_at=None, decision_reason=None,
        )):  # fmt: skip
            raise ConflictError(N_("message %(local_id)s was decided meanwhile"), local_id=local_id)
        if request is not None:
            ids, counts, reference = (
                [f"peer-msg:{request.message_id}", f"msg:{rec.id}"],
                {"exchange.answer.returned": 1},
                request.id,
            )
        else:
            ids, counts, reference = [f"msg:{rec.id}"], {"exchange.transfer.returned": 1}, rec.id
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=ids,
            counts=counts,
            reference=reference,
        )
