"""Our requests to peer PIUs (Art. 9(2); Europol's under Art. 10).

Split out of `service/exchange.py` (one concept per module). A request carries only the
subject we ask about; it leaves on one person's reasoned decision (no four eyes: no booking
of ours leaves with it), is filed sealed and delivered like every outgoing message
(`service.exchange_delivery`), and the peer's answer comes back through
`service.exchange_inbound`, which marks it ``answered``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pnrguard.audit.models import Purpose
from pnrguard.errors import N_, InputError
from pnrguard.exchange.client import PeerClient
from pnrguard.exchange.messages import REQUEST_KINDS, HandlingCode, MessageKind, Subject
from pnrguard.service.accounts import Account
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_delivery import (
    build_envelope,
    deliver,
    file_outgoing,
    fresh_id,
    require_decider,
    third_country_terms,
    usable_peer,
)
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory

__all__ = ["send_request"]


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
    require_decider(user)
    if kind not in REQUEST_KINDS:
        raise InputError(N_("send_request sends requests"))
    now = node.clock()
    local_id = fresh_id(local_id)
    codes = list(dict.fromkeys(handling))
    with node.engine.begin() as conn:
        peer = usable_peer(SqlPeerDirectory(conn), name=peer_name)
        onward = third_country_terms(conn, peer, codes, local_id=local_id, records=0, now=now)
        env = build_envelope(
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
        file_outgoing(
            conn,
            env,
            peer=peer,
            user=user,
            node=node,
            now=now,
            local_id=local_id,
            status="approved",
            reason=reasoning,
        )
    return deliver(
        local_id, peer, env, user=user, node=node, client=client, counts={f"exchange.{kind.value}.sent": 1}
    )
