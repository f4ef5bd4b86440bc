"""Federation storage: registered peers, exchanged messages, and the replay cache.

What is stored in clear and why:

- `peer`: public material only (certificates, CA, the Ed25519 public key) and the flags
  that decide the rules (kind, revoked). Nothing secret, nothing personal.
- `exchange_message`: one row per message sent or received, with the facts two DPOs
  reconcile (direction, both sides' message ids, kind, purpose, case reference, handling
  and evaluation codes, status, who decided and why). The envelope itself holds personal
  data (a request's subject, an answer's bookings), so it is stored only encrypted, under a
  data key of its own wrapped by the key store (as a quarantined message is): deleting the
  wrapped key is the erasure. `(peer_id, direction, message_id)` is unique, which makes the
  receiver idempotent on the sender's message id.
- `replay_nonce`: every accepted signature nonce per keyid until its signature expires, in
  the database so it survives restarts and is shared by all workers (DESIGN.md).

The schema is created by `migrations/versions/0007_exchange.py` and
`0008_exchange_four_eyes.py` (the second approval of answers) only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from pnrguard.errors import N_, ConflictError
from pnrguard.exchange.peers import Peer, PeerDirectory, PeerKind
from pnrguard.store.db import in_values, metadata
from pnrguard.store.tables import ID_LENGTH, UTCDateTime

__all__ = [
    "DIRECTIONS",
    "MESSAGE_STATUSES",
    "ExchangeRecord",
    "SqlPeerDirectory",
    "exchange_message",
    "exchange_permission",
    "peer",
    "remember_nonce",
    "replay_nonce",
]

PEER_KINDS = tuple(k.value for k in PeerKind)
DIRECTIONS = ("in", "out")
#: awaiting_approval: an incoming request waits for a person. approved: a person approved an
#: outgoing answer or transfer, not delivered yet (delivery is retried with the same message
#: id). refused: a person refused an incoming request. sent: delivered, the peer's receipt
#: recorded. answered: a request (either side) has its answer. received: an incoming answer
#: or transfer, stored. failed: delivery was refused by the peer (see `error`).
#: awaiting_second: four eyes (`ReviewPolicy.four_eyes`): a person approved the answer to an
#: incoming request (both the request and the drafted answer carry this status) and a
#: supervisor other than that person must approve it before it leaves; deliberately not
#: ``approved``, so `retry_delivery` cannot send a draft past the second approval.
MESSAGE_STATUSES = (
    "awaiting_approval",
    "approved",
    "refused",
    "sent",
    "answered",
    "received",
    "failed",
    "awaiting_second",
)

LIFECYCLES = ("active", "masked", "deleted")


peer = Table(
    "peer",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("country", String(3), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("third_country", Boolean, nullable=False),
    Column("url", String(200), nullable=False),
    Column("keyid", String(64), nullable=False, unique=True),
    Column("signing_key", LargeBinary(32), nullable=False),
    Column("cert_pem", Text, nullable=False),
    Column("cert_fingerprint", String(64), nullable=False),
    Column("cert_not_after", UTCDateTime(), nullable=False),
    Column("ca_pem", Text, nullable=False),
    Column("onward_condition", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    CheckConstraint(in_values("kind", PEER_KINDS), name="kind"),
    CheckConstraint("third_country = (kind = 'third_country')", name="third_country"),
)

exchange_message = Table(
    "exchange_message",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("direction", String(3), nullable=False),
    Column("peer_id", String(ID_LENGTH), ForeignKey("peer.id"), nullable=False),
    # The id on the wire (the sender's), and the id the other node files it under.
    Column("message_id", String(ID_LENGTH), nullable=False),
    Column("peer_message_id", String(ID_LENGTH), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("case_ref", String(64), nullable=False),
    Column("in_reply_to", String(ID_LENGTH), ForeignKey("exchange_message.id"), nullable=True),
    # The inbound message whose data an outgoing transfer forwards (H2 is checked on it).
    Column("forwarded_from", String(ID_LENGTH), ForeignKey("exchange_message.id"), nullable=True),
    Column("handling", JSON, nullable=False),
    Column("evaluation", String(2), nullable=True),
    Column("outcome", String(8), nullable=True),
    Column("records", Integer, nullable=False),
    Column("masked_records", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Column("decision_reason", Text, nullable=True),
    # Four eyes on answers: the supervisor who gave the second approval (decided_by is the
    # first), so the row shows both people; the audit log has both entries too.
    Column("second_approver", String(64), nullable=True),
    Column("second_approved_at", UTCDateTime(), nullable=True),
    Column("sent_at", UTCDateTime(), nullable=True),
    Column("error", String(200), nullable=True),
    # The envelope, AES-GCM under a per-message data key wrapped by the key store.
    Column("kek_version", Integer, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    # 0010_dp_copies: the copy follows the life cycle of the bookings it carries (or, for a
    # received copy or a request, its own age): ``masked`` re-wraps the key under the sealed
    # payload context, ``deleted`` erases key and payload (store/copies.py).
    Column("lifecycle", String(8), nullable=False, server_default="active"),
    Column("lifecycle_at", UTCDateTime(), nullable=True),
    CheckConstraint(in_values("direction", DIRECTIONS), name="direction"),
    CheckConstraint(in_values("lifecycle", LIFECYCLES), name="lifecycle"),
    CheckConstraint(in_values("status", MESSAGE_STATUSES), name="status"),
    UniqueConstraint("peer_id", "direction", "message_id", name="uq_exchange_message_peer_direction_id"),
    Index("ix_exchange_message_status_created_at", "status", "created_at"),
    Index("ix_exchange_message_in_reply_to", "in_reply_to"),
    # 0023_exchange_ui: the inbox's folders and its count of what waits (store/exchange_inbox.py).
    Index("ix_exchange_message_waiting", "status", "decided_by", "direction", "kind"),
    Index("ix_exchange_message_folder", "direction", "kind", "created_at"),
    Index("ix_exchange_message_direction_created_at", "direction", "created_at"),
)

#: A recorded permission of the originator to pass data received under H2 on to one peer.
exchange_permission = Table(
    "exchange_permission",
    metadata,
    Column("id", String(ID_LENGTH), primary_key=True),
    Column("message_id", String(ID_LENGTH), ForeignKey("exchange_message.id"), nullable=False),
    Column("to_peer_id", String(ID_LENGTH), ForeignKey("peer.id"), nullable=False),
    Column("reference", String(64), nullable=False),  # the originator's letter or message id
    Column("recorded_by", String(64), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    UniqueConstraint("message_id", "to_peer_id", name="uq_exchange_permission_message_peer"),
)

replay_nonce = Table(
    "replay_nonce",
    metadata,
    Column("keyid", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_replay_nonce_expires_at", "expires_at"),
)


# --- peers -------------------------------------------------------------------------------


def _peer(r: Row[Any]) -> Peer:
    return Peer(
        id=r.id,
        name=r.name,
        country=r.country,
        kind=PeerKind(r.kind),
        url=r.url,
        keyid=r.keyid,
        signing_key=bytes(r.signing_key),
        cert_pem=r.cert_pem,
        cert_fingerprint=r.cert_fingerprint,
        cert_not_after=r.cert_not_after,
        ca_pem=r.ca_pem,
        created_at=r.created_at,
        revoked_at=r.revoked_at if r.revoked else None,
        onward_condition=r.onward_condition,
    )


class SqlPeerDirectory(PeerDirectory):
    """`PeerDirectory` over the `peer` table, bound to the caller's connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, p: Peer) -> None:
        values = {
            "id": p.id,
            "name": p.name,
            "country": p.country,
            "kind": p.kind.value,
            "third_country": p.kind is PeerKind.THIRD_COUNTRY,
            "url": p.url,
            "keyid": p.keyid,
            "signing_key": p.signing_key,
            "cert_pem": p.cert_pem,
            "cert_fingerprint": p.cert_fingerprint,
            "cert_not_after": p.cert_not_after,
            "ca_pem": p.ca_pem,
            "onward_condition": p.onward_condition,
            "created_at": p.created_at,
            "revoked": p.revoked_at is not None,
            "revoked_at": p.revoked_at,
        }
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(peer).values(**values))
        except IntegrityError:
            raise ConflictError(N_("a peer with this name or signing key is registered already")) from None

    def _one(self, *where: Any) -> Peer | None:
        r = self._conn.execute(select(peer).where(*where)).first()
        return _peer(r) if r is not None else None

    def by_keyid(self, keyid: str) -> Peer | None:
        return self._one(peer.c.keyid == keyid)

    def by_name(self, name: str) -> Peer | None:
        return self._one(peer.c.name == name)

    def by_id(self, peer_id: str) -> Peer | None:
        return self._one(peer.c.id == peer_id)

    def all(self) -> list[Peer]:
        return [_peer(r) for r in self._conn.execute(select(peer).order_by(peer.c.name))]

    def revoke(self, name: str, *, at: dt.datetime) -> bool:
        res = self._conn.execute(
            update(peer)
            .where(peer.c.name == name, peer.c.revoked.is_(False))
            .values(revoked=True, revoked_at=at)
        )
        return res.rowcount == 1


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExchangeRecord:
    """An `exchange_message` row without its payload."""

    id: str
    direction: str
    peer_id: str
    message_id: str
    peer_message_id: str | None
    kind: str
    purpose: str
    case_ref: str
    in_reply_to: str | None
    forwarded_from: str | None
    handling: tuple[str, ...]
    evaluation: str | None
    outcome: str | None
    records: int
    masked_records: int
    status: str
    created_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    sent_at: dt.datetime | None
    error: str | None
    second_approver: str | None = None
    second_approved_at: dt.datetime | None = None
    lifecycle: str = "active"

    @classmethod
    def from_row(cls, r: Row[Any]) -> ExchangeRecord:
        return cls(
            r.id,
            r.direction,
            r.peer_id,
            r.message_id,
            r.peer_message_id,
            r.kind,
            r.purpose,
            r.case_ref,
            r.in_reply_to,
            r.forwarded_from,
            tuple(r.handling),
            r.evaluation,
            r.outcome,
            r.records,
            r.masked_records,
            r.status,
            r.created_at,
            r.decided_by,
            r.decided_at,
            r.decision_reason,
            r.sent_at,
            r.error,
            r.second_approver,
            r.second_approved_at,
            r.lifecycle,
        )


_META = [c for c in exchange_message.c if c.name not in ("kek_version", "wrapped_key", "payload")]
#: The clear columns (everything but the sealed envelope), for other metadata queries.
META_COLUMNS = _META


def get_message(conn: Connection, local_id: str) -> ExchangeRecord | None:
    r = conn.execute(select(*_META).where(exchange_message.c.id == local_id)).first()
    return ExchangeRecord.from_row(r) if r is not None else None


def find_message(conn: Connection, *, peer_id: str, direction: str, message_id: str) -> ExchangeRecord | None:
    r = conn.execute(
        select(*_META).where(
            exchange_message.c.peer_id == peer_id,
            exchange_message.c.direction == direction,
            exchange_message.c.message_id == message_id,
        )
    ).first()
    return ExchangeRecord.from_row(r) if r is not None else None


def list_messages(
    conn: Connection, *, direction: str | None = None, status: str | None = None, limit: int = 200
) -> list[ExchangeRecord]:
    q = (
        select(*_META)
        .order_by(exchange_message.c.created_at.desc(), exchange_message.c.id.desc())
        .limit(limit)
    )
    if direction is not None:
        q = q.where(exchange_message.c.direction == direction)
    if status is not None:
        q = q.where(exchange_message.c.status == status)
    return [ExchangeRecord.from_row(r) for r in conn.execute(q)]


def draft_answer(conn: Connection, request_id: str) -> ExchangeRecord | None:
    """The answer drafted for an incoming request that waits for its second approval."""
    r = conn.execute(
        select(*_META).where(
            exchange_message.c.in_reply_to == request_id,
            exchange_message.c.direction == "out",
            exchange_message.c.status == "awaiting_second",
        )
    ).first()
    return ExchangeRecord.from_row(r) if r is not None else None


def answers_to(conn: Connection, request_id: str) -> list[ExchangeRecord]:
    """Every outgoing answer (sent, failed, drafted or sent back) to an incoming request."""
    q = (
        select(*_META)
        .where(exchange_message.c.in_reply_to == request_id, exchange_message.c.direction == "out")
        .order_by(exchange_message.c.created_at, exchange_message.c.id)
    )
    return [ExchangeRecord.from_row(r) for r in conn.execute(q)]


def insert_message(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(insert(exchange_message).values(**values))


def sealed_payload(conn: Connection, local_id: str) -> tuple[int, bytes, bytes]:
    r = conn.execute(
        select(
            exchange_message.c.kek_version, exchange_message.c.wrapped_key, exchange_message.c.payload
        ).where(exchange_message.c.id == local_id)
    ).one()
    return r.kek_version, bytes(r.wrapped_key), bytes(r.payload)


def set_status(conn: Connection, local_id: str, *, expect: tuple[str, ...], **values: Any) -> bool:
    """Compare-and-set on the status: False when the row was not in one of `expect`."""
    res = conn.execute(
        update(exchange_message)
        .where(exchange_message.c.id == local_id, exchange_message.c.status.in_(expect))
        .values(**values)
    )
    return res.rowcount == 1


def add_permission(conn: Connection, values: dict[str, Any]) -> None:
    try:
        with conn.begin_nested():
            conn.execute(insert(exchange_permission).values(**values))
    except IntegrityError:
        raise ConflictError(N_("a permission for this message and peer is recorded already")) from None


def has_permission(conn: Connection, *, message_id: str, to_peer_id: str) -> str | None:
    return conn.execute(
        select(exchange_permission.c.id).where(
            exchange_permission.c.message_id == message_id, exchange_permission.c.to_peer_id == to_peer_id
        )
    ).scalar()


# --- replay cache ------------------------------------------------------------------------


def remember_nonce(
    conn: Connection, *, keyid: str, nonce: str, expires_at: dt.datetime, now: dt.datetime
) -> bool:
    """Record a nonce; False if this keyid used it before (a replay).

    Expired nonces are pruned on the way: a signature past its `expires` is refused by the
    time check anyway, so its nonce no longer needs remembering.
    """
    try:
        with conn.begin_nested():
            conn.execute(insert(replay_nonce).values(keyid=keyid, nonce=nonce, expires_at=expires_at))
    except IntegrityError:
        return False
    if int(now.timestamp()) % 16 == 0:  # prune now and then, not on every message
        conn.execute(delete(replay_nonce).where(replay_nonce.c.expires_at < now - dt.timedelta(minutes=5)))
    return True
