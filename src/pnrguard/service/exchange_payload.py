"""Exchange envelopes at rest: sealed under a message key, opened only while the copy is live.

Split out of `service/exchange.py` (one concept per module). An envelope holds personal
data (a request's subject, an answer's or a transfer's bookings), so it is stored only
encrypted under a data key of its own, wrapped by the key store under
`store.copies.PAYLOAD_CONTEXT` + the message's local id.

A copy follows the bookings it carries (issue 10, item 1; Art. 12(2)-(3) of Directive
(EU) 2016/681): once any of them is masked (or the copy itself is 6 months old) the key is
re-wrapped under the sealed context, and once deleted it is erased (`store.copies`). So
`open_payload` refuses a masked copy (only a decided judicial unmasking may open it, which
this path does not check) and a deleted one, and says which, without content.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import Connection

from pnrguard.errors import N_, ForbiddenError, NotFoundError
from pnrguard.exchange.messages import Envelope
from pnrguard.exchange.peers import Peer
from pnrguard.protection.crypto import (
    AssociatedData,
    decrypt_field,
    encrypt_field,
    new_data_key,
    receipt_period,
)
from pnrguard.protection.keystore import KeyStore, WrappedKey
from pnrguard.store import exchange as store
from pnrguard.store.copies import PAYLOAD_CONTEXT, copy_state, link_copy
from pnrguard.store.texts import MASKED_TEXT, TextKeys, open_text, seal_text

__all__ = ["check_live", "file_links", "message_row", "open_payload", "seal_payload"]


def _aad(local_id: str) -> AssociatedData:
    return AssociatedData("exchange_message", "payload", local_id, 1)


def seal_payload(keystore: KeyStore, local_id: str, data: bytes, *, at: dt.datetime) -> dict[str, Any]:
    """The three stored columns of an envelope: KEK version, wrapped key, ciphertext. The
    key is wrapped under the KEK of the month it was filed (`at`), which dies with that
    month's bookings (issue 10, item 8)."""
    dk = new_data_key()
    wrapped = keystore.wrap(dk, context=PAYLOAD_CONTEXT + local_id.encode("ascii"), period=receipt_period(at))
    blob = encrypt_field(dk, data, aad=_aad(local_id))
    return {"kek_version": wrapped.kek_version, "wrapped_key": wrapped.blob, "payload": blob}


def check_live(conn: Connection, local_id: str) -> None:
    """Raise unless the copy and every booking it carries are still active."""
    state = copy_state(conn, local_id)
    if state == "deleted":
        raise NotFoundError(N_("the data of this exchange message was deleted at the end of its retention"))
    if state == "masked":
        raise ForbiddenError(
            N_(
                "this exchange message carries masked data (Art. 12(2)): it is neither opened nor sent "
                "again without a decided judicial unmasking (Art. 12(3))"
            )
        )


def open_payload(conn: Connection, keystore: KeyStore, local_id: str) -> Envelope:
    """The envelope of a live copy (`check_live` first)."""
    check_live(conn, local_id)
    kek_version, wrapped, blob = store.sealed_payload(conn, local_id)
    dk = keystore.unwrap(WrappedKey(kek_version, wrapped), context=PAYLOAD_CONTEXT + local_id.encode("ascii"))
    return Envelope.model_validate_json(decrypt_field(dk, blob, aad=_aad(local_id)))


def file_links(conn: Connection, env: Envelope, *, local_id: str) -> None:
    """Link an outgoing copy to the local bookings it carries (their refs are our ids)."""
    link_copy(conn, exchange_id=local_id, booking_ids=[r.ref for r in env.records])


def message_row(
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
        **seal_payload(keystore, local_id, data, at=now),
    }


# --- the decider's reason ------------------------------------------------------------------
# A person's reason for sending, answering or refusing may name the traveller (issue 10,
# item 1): encrypted at its first write under the month text key of the message's filing
# (store/texts.py), shown only while the copy is active, erased with it (store/copies.py).


def seal_reason(conn: Connection, keystore: KeyStore, local_id: str, reason: str, *, at: dt.datetime) -> str:
    """What is stored in ``exchange_message.decision_reason`` for `reason`."""
    key = TextKeys(conn, keystore).for_month(at)
    return seal_text(key, reason, table="exchange_message", column="decision_reason", row_id=local_id)


def shown_reason(conn: Connection, keystore: KeyStore, rec: store.ExchangeRecord) -> str | None:
    """The decider's reason as a page shows it: masked once the copy is sealed or erased."""
    if not rec.decision_reason:
        return rec.decision_reason
    if copy_state(conn, rec.id) != "active":
        return MASKED_TEXT
    return open_text(
        TextKeys(conn, keystore), rec.decision_reason, table="exchange_message", column="decision_reason",
        row_id=rec.id,
    )  # fmt: skip
