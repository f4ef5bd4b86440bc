"""The exchange inbox: what peers sent and what we sent, what waits, and received data shown
like a booking.

Split out of `service/exchange.py` (one concept per module). Why it works this way (issue
15, "Exchange with peers, usable"; docs/federation.md, "In the workspace"):

- **Folders and counts from metadata only.** Received requests, answers and transfers, and
  what we sent, are listed from the clear columns of `exchange_message`: nothing is
  decrypted to list or count them, so listing logs nothing. The menu's count is what waits
  for a person: requests awaiting a decision, answers waiting for a second approval (for
  supervisors) and received answers and transfers nobody has opened yet.
- **Opening is a consultation.** `open_message` decrypts one envelope for a person and logs
  it (under ``dpo_supervision`` for the DPO). The first analyst or supervisor who opens a
  received answer or transfer is recorded on the row (``decided_by``/``decided_at``, unused
  otherwise for those kinds), which is how the inbox knows it was read.
- **Received bookings look like bookings, under the same masking rules.** `received_view`
  turns a record of an answer or transfer into the `BookingView` the booking template
  renders: a record the sender masked shows its identity sections as ``masked`` (nothing of
  them travelled); a received copy older than the masking age is sealed by the retention
  run (`store.copies.age_copies`) and is not opened at all (`copy_masked` says so, and the
  page shows the message's metadata only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import booking_from_dict, reporting_leg
from pnrguard.errors import N_, ForbiddenError, NotFoundError
from pnrguard.exchange.messages import Envelope, Record
from pnrguard.exchange.peers import Peer
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import open_payload
from pnrguard.service.review import CONTENT_SECTIONS, IDENTITY_SECTIONS, MASKED, BookingView, LegView
from pnrguard.store import exchange as store
from pnrguard.store import exchange_inbox as inbox_store
from pnrguard.store.copies import copy_state
from pnrguard.store.exchange import ExchangeRecord, SqlPeerDirectory
from pnrguard.store.repository import BookingSummary

__all__ = [
    "Folder",
    "InboxCounts",
    "copy_masked",
    "inbox_counts",
    "list_folder",
    "list_queue",
    "open_message",
    "received_view",
    "require_human",
]

READERS = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.DPO})
#: The state a record shows when its sender withheld the identity fields.
MASKED_BY_SENDER = "masked by the sender"


class Folder(StrEnum):
    """The inbox's folders: received requests, answers and transfers, and what we sent."""

    REQUESTS = "requests"
    ANSWERS = "answers"
    TRANSFERS = "transfers"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class InboxCounts:
    """What waits, per folder (numbers only)."""

    requests: int  # incoming requests awaiting a person's decision
    second: int  # drafted answers and transfers awaiting a supervisor's second approval
    answers: int  # received answers nobody opened yet
    transfers: int  # received transfers nobody opened yet
    failed: int  # our messages not delivered (retry from their page)

    def waiting_for(self, role: Role) -> int:
        """The menu's figure for a person of `role`: what they can act on."""
        if role not in (Role.ANALYST, Role.SUPERVISOR):
            return 0
        n = self.requests + self.answers + self.transfers + self.failed
        return n + (self.second if role is Role.SUPERVISOR else 0)


def inbox_counts(node: Node) -> InboxCounts:
    with node.engine.connect() as conn:
        c = inbox_store.counts(conn)
    return InboxCounts(
        requests=c.get("requests", 0),
        second=c.get("second", 0),
        answers=c.get("answers", 0),
        transfers=c.get("transfers", 0),
        failed=c.get("failed", 0),
    )


def list_queue(
    node: Node, *, direction: str | None = None, status: str | None = None
) -> list[tuple[ExchangeRecord, Peer]]:
    """Messages (metadata only: no decryption, nothing to log) with their peers."""
    with node.engine.connect() as conn:
        peers = {p.id: p for p in SqlPeerDirectory(conn).all()}
        return [(r, peers[r.peer_id]) for r in store.list_messages(conn, direction=direction, status=status)]


def list_folder(
    node: Node, folder: Folder, *, page: int = 1, page_size: int = 25
) -> tuple[list[tuple[ExchangeRecord, Peer]], int]:
    """One page of a folder, newest first, with the total (metadata only, nothing logged)."""
    page = max(page, 1)
    with node.engine.connect() as conn:
        peers = {p.id: p for p in SqlPeerDirectory(conn).all()}
        rows, total = inbox_store.folder(conn, folder.value, offset=(page - 1) * page_size, limit=page_size)
    return [(r, peers[r.peer_id]) for r in rows], total


def require_human(user: Account) -> None:
    if not user.is_human:
        raise ForbiddenError(N_("only a person opens or decides exchange messages"))


def copy_masked(node: Node, local_id: str) -> str:
    """``active``, ``masked`` or ``deleted``: whether this message's data may still open."""
    with node.engine.connect() as conn:
        if store.get_message(conn, local_id) is None:
            raise NotFoundError(N_("no such exchange message"))
        return copy_state(conn, local_id)


def open_message(local_id: str, *, user: Account, node: Node) -> tuple[ExchangeRecord, Peer, Envelope]:
    """A message with its decrypted envelope, for a person; the look is a logged consultation
    (under ``dpo_supervision`` for the DPO). The first analyst or supervisor to open a
    received answer or transfer marks it read."""
    require_human(user)
    if user.role not in READERS:
        raise ForbiddenError(N_("the %(role)s role does not read exchanged data"), role=user.role.value)
    now = node.clock()
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None:
            raise NotFoundError(N_("no such exchange message"))
        peer = SqlPeerDirectory(conn).by_id(rec.peer_id)
        assert peer is not None
        env = open_payload(conn, node.keystore, local_id)
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose.DPO_SUPERVISION if user.role is Role.DPO else env.purpose,
            record_ids=[f"msg:{local_id}", *[f"peer-booking:{r.ref}" for r in env.records[:100]]],
            counts={"exchange.opened": 1},
            reference=local_id,
        )
        if user.role is not Role.DPO and inbox_store.mark_read(conn, local_id, by=user.username, at=now):
            rec = store.get_message(conn, local_id) or rec
    return rec, peer, env


def received_view(record: Record) -> BookingView:
    """A booking a peer sent, as the booking template shows a local one. Identity sections
    are ``masked`` when the sender withheld them; nothing else is inferred."""
    b = booking_from_dict(record.booking)
    visible = not record.masked
    first = reporting_leg(b)
    at = b.created or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    summary = BookingSummary(
        id=record.ref,
        source=b.source,
        carrier=b.carrier,
        locator=b.locator,
        created=b.created,
        flight_carrier=first.carrier if first else "",
        flight_number=first.flight_number if first else "",
        flight_date=first.departure.date() if first and first.departure else None,
        origin=first.origin if first else "",
        destination=first.destination if first else "",
        first_seen=at,
        last_seen=at,
        state="received" if visible else MASKED_BY_SENDER,
        masked_at=None,
        latest_version=1,
    )
    data: dict[str, Any] = record.booking
    sections = {name: (list(data.get(name) or []) if visible else MASKED) for name in IDENTITY_SECTIONS}
    content = {name: [dict(x) for x in data.get(name) or []] for name in CONTENT_SECTIONS}
    if not visible:
        for items in content.values():
            for item in items:
                item.pop("traveller_ref", None)
    return BookingView(
        summary=summary,
        version=1,
        identity_visible=visible,
        reserved=b.created,
        ticketed=b.ticketed,
        reported_flight=LegView.of(b.reported_flight) if b.reported_flight else None,
        itinerary=tuple(LegView.of(leg) for leg in b.itinerary),
        agency=data.get("agency") or None,
        party_size=b.party_size if visible else None,
        sections=sections,
        content=content,
    )
