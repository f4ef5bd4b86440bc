"""Spontaneous transfers to peers (Art. 9(1)), forwards of received data, and H2 in code.

Split out of `service/exchange.py` (one concept per module). A transfer sends a *confirmed*
hit's booking, or forwards data received from another peer with that data's handling
codes; data received under H2 is forwarded only with the originator's recorded permission
(`record_onward_permission`), else the forward is refused and the refusal logged. With four
eyes the transfer is sealed and waits for a supervisor (`four_eyes.approve_outgoing`),
whatever the recipient: peer, Europol or third country (Art. 11 terms added).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.client import PeerClient
from pnrguard.exchange.messages import Evaluation, HandlingCode, MessageKind
from pnrguard.exchange.peers import Peer
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_delivery import (
    build_envelope,
    deliver,
    file_outgoing,
    fresh_id,
    read_records,
    require_decider,
    require_reason,
    third_country_terms,
    usable_peer,
)
from pnrguard.service.exchange_payload import open_payload
from pnrguard.service.four_eyes import Gate, kind_of_peer, may_leave
from pnrguard.service.review import ReviewPolicy
from pnrguard.store import exchange as store
from pnrguard.store import screening as hits_store
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory
from pnrguard.store.repository import new_id
from pnrguard.store.screening import HitStatus

__all__ = ["record_onward_permission", "send_transfer"]


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
    require_decider(user)
    reason = require_reason(reason)
    if (hit_id is None) == (forward_message_id is None):
        raise InputError(N_("a transfer names either a confirmed hit or a received message to forward"))
    now = node.clock()
    local_id = fresh_id(local_id)
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
        peer = usable_peer(directory, name=peer_name)
        kind = kind_of_peer(
            third_country=peer.third_country, europol=peer.kind.value == "europol", answer=False
        )
        waits = may_leave(kind=kind, first=user.username, second=None, policy=policy) is Gate.AWAIT_SECOND
        if hit_id is not None:
            h = hits_store.get_hit(conn, hit_id)
            if h.status is not HitStatus.CONFIRMED:
                raise ConflictError(N_("only a hit a person confirmed is transferred"))
            purpose = h.purpose
            records = read_records(
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
                raise NotFoundError(N_("no received data under that id"))
            purpose = Purpose(src.purpose)
            if HandlingCode.H2.value in src.handling and not store.has_permission(
                conn, message_id=src.id, to_peer_id=peer.id
            ):
                raise _H2Blocked(src, peer)
            source_env = open_payload(conn, node.keystore, src.id)
            records = list(source_env.records)
            codes = list(dict.fromkeys([*codes, *source_env.handling]))
            if source_env.handling_conditions and not handling_conditions:
                handling_conditions = source_env.handling_conditions
            extra_ids = [f"msg:{src.id}"]
        if purpose not in INVESTIGATIVE_PURPOSES:
            raise InputError(N_("a transfer's purpose is terrorism or an Annex II offence"))
        onward = third_country_terms(conn, peer, codes, local_id=local_id, records=len(records), now=now)
        env = build_envelope(
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
        file_outgoing(
            conn,
            env,
            peer=peer,
            user=user,
            node=node,
            now=now,
            local_id=local_id,
            reason=reason,
            status="awaiting_second" if waits else "approved",
            forwarded_from=forward_message_id,
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
    return deliver(
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
        N_(
            "H2: the data was received under 'no onward transfer without permission' and no permission of "
            "the originator to pass it to %(name)s is recorded"
        ),
        name=peer.name,
    )


def record_onward_permission(
    local_id: str, *, to_peer_name: str, reference: str, user: Account, node: Node
) -> None:
    """Record the originator's permission (its letter or message id) to pass data received
    under H2 on to one named peer. Only a supervisor records it."""
    if user.role is not Role.SUPERVISOR:
        raise ForbiddenError(N_("only a supervisor records an onward-transfer permission"))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}", reference or ""):
        raise InputError(
            N_("the permission's reference is an opaque id (the originator's letter or message id)")
        )
    now = node.clock()
    with node.engine.begin() as conn:
        src = store.get_message(conn, local_id)
        if src is None or src.direction != "in":
            raise NotFoundError(N_("no such received message"))
        peer = usable_peer(SqlPeerDirectory(conn), name=to_peer_name)
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
