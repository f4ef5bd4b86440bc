"""An answer to a peer names only what the request's searches found; a second answer to
one request is an explicit supplement.

Why (issue 11 §5; docs/security.md, "Rogue peer"): the answering person used to type any
booking ids into the answer, so an answer could carry bookings that had nothing to do
with the request. Now, as for an authority's request (`service.requests`):

- `search_peer_request` runs the node's one search (`requests.find_bookings`) under an
  incoming request, from its subject (a booking: carrier and locator; a person: surname
  and a flight-date window) or from criteria the analyst gives, and remembers the ids
  found (`store.peer_results`), logged as a consultation under the request;
- `search_request_page` is the workspace's form of it: the purpose-bound search of
  `service.search` (`search_page`: one page, only that page decrypted, so the person sees
  names and dates of birth to choose from), each page a consultation under the request's
  purpose whose ids join what the request found;
- `open_found` shows one found booking whole (like a record under an authority's request),
  a consultation; a booking the request's searches did not find is refused;
- `require_found` refuses an answer naming a booking those searches did not find;
- on the receiving side, `exchange._file` accepts a second answer to one of our requests
  only when the envelope says ``supplement: true``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.messages import REQUEST_KINDS, Subject
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.exchange_payload import open_payload
from pnrguard.service.requests import SearchCriteria, find_bookings
from pnrguard.service.review import BookingView, booking_view, consultation_purpose, log_unmasking
from pnrguard.service.search import SearchOutcome, search_page
from pnrguard.store import exchange as store
from pnrguard.store import peer_results
from pnrguard.store.repository import BookingSummary
from pnrguard.store.tables import booking

__all__ = [
    "NAME_WINDOW",
    "criteria_from_subject",
    "found_summaries",
    "open_found",
    "require_found",
    "search_peer_request",
    "search_request_page",
]

#: A person named with a flight date is searched on flights of that day +- this.
NAME_WINDOW = dt.timedelta(days=3)
_SEARCHERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


def _criteria_from_subject(node: Node, conn: Connection, local_id: str) -> SearchCriteria:
    return criteria_from_subject(open_payload(conn, node.keystore, local_id).subject)


def criteria_from_subject(s: Subject | None) -> SearchCriteria:
    """The search a request's subject asks for (the starting point the form offers)."""
    if s is None:
        raise InputError(N_("the request names no subject"))
    if s.kind == "booking":
        return SearchCriteria(carrier=s.carrier or "", locator=s.locator or "")
    if s.document_number and not s.flight_date:
        return SearchCriteria(document_number=s.document_number, date_of_birth=s.date_of_birth)
    if not (s.surname and s.flight_date):
        raise InputError(N_("a person is searched by surname and flight date: give criteria"))
    return SearchCriteria(
        surname=s.surname,
        given_names=s.given_names or "",
        date_from=s.flight_date - NAME_WINDOW,
        date_to=s.flight_date + NAME_WINDOW,
    )


def search_peer_request(
    local_id: str, *, user: Account, node: Node, criteria: SearchCriteria | None = None
) -> list[BookingSummary]:
    """Search under an incoming peer request awaiting a decision; remember and log what
    was found (ids only)."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError(N_("only analysts and supervisors search"))
    now = node.clock()
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError(N_("no such incoming request"))
        if rec.status != "awaiting_approval":
            raise ConflictError(
                N_("request %(local_id)s is %(status)s: no further searches"),
                local_id=local_id,
                status=rec.status,
            )
        found, scanned, _ = find_bookings(
            conn, node.keystore, criteria or _criteria_from_subject(node, conn, local_id)
        )
        ids = [b.id for b in found]
        peer_results.add_found(conn, local_id, ids, at=now)
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose(rec.purpose),
            record_ids=ids,
            counts={"search.results": len(ids), "search.scanned": scanned},
            reference=local_id,
        )
    return found


def require_found(conn: Connection, local_id: str, booking_ids: Sequence[str]) -> None:
    """Refuse an answer naming a booking the request's searches did not find."""
    found = set(peer_results.found_for(conn, local_id))
    outside = [b for b in dict.fromkeys(booking_ids) if b not in found]
    if outside:
        raise ForbiddenError(
            N_("%(n)s booking(s) were not found by this request's searches: search first"), n=len(outside)
        )


def _incoming_request(conn: Connection, local_id: str, *, open_only: bool) -> store.ExchangeRecord:
    rec = store.get_message(conn, local_id)
    if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
        raise NotFoundError(N_("no such incoming request"))
    if open_only and rec.status != "awaiting_approval":
        raise ConflictError(
            N_("request %(local_id)s is %(status)s: no further searches"),
            local_id=local_id,
            status=rec.status,
        )
    return rec


def search_request_page(
    local_id: str, criteria: SearchCriteria, *, user: Account, node: Node, page: int = 1
) -> SearchOutcome:
    """One page of the purpose-bound search under an incoming peer request awaiting a
    decision: the page's ids join what the request found, and the page is a consultation
    under the request's purpose (reference: the request's local id)."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError(N_("only analysts and supervisors search"))
    now = node.clock()
    with node.engine.begin() as conn:
        rec = _incoming_request(conn, local_id, open_only=True)
        outcome = search_page(conn, node.keystore, criteria, page=page)
        ids = [b.id for b in outcome.results]
        peer_results.add_found(conn, local_id, ids, at=now)
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose(rec.purpose),
            record_ids=ids,
            counts={
                "search.results": outcome.total,
                "search.shown": len(ids),
                "search.decrypted": outcome.decrypted,
            },
            reference=local_id,
        )
    return outcome


def found_summaries(node: Node, local_id: str) -> list[BookingSummary]:
    """What this request's searches found (clear columns only: nothing decrypted)."""
    with node.engine.connect() as conn:
        ids = peer_results.found_for(conn, local_id)
        if not ids:
            return []
        rows = conn.execute(select(booking).where(booking.c.id.in_(ids[:1000]))).all()
    by_id = {r.id: BookingSummary.from_row(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def open_found(
    local_id: str, booking_id: str, *, user: Account, node: Node
) -> tuple[store.ExchangeRecord, BookingView]:
    """One booking the request's searches found, whole as this person may see it (masked
    stays masked); a consultation under the request's purpose. Anything else is refused."""
    if user.role not in (*_SEARCHERS, Role.DPO):
        raise ForbiddenError(N_("only analysts, supervisors and the DPO open records"))
    with node.engine.begin() as conn:
        rec = _incoming_request(conn, local_id, open_only=False)
        purpose = Purpose(rec.purpose)
        log = node.audit(conn)
        if booking_id in set(peer_results.found_for(conn, local_id)):
            view = booking_view(conn, node.keystore, booking_id, user=user, purpose=purpose)
            log_unmasking(log, view, user=user, purpose=purpose)
            log.append(
                actor=user.username,
                role=user.role.value,
                operation=Operation.CONSULTATION,
                purpose=consultation_purpose(user, purpose),
                record_ids=[booking_id],
                counts={"records.opened": 1, "identity.masked": 0 if view.identity_visible else 1},
                reference=local_id,
            )
            return rec, view
    with node.engine.begin() as conn:  # the refusal is logged even though nothing opened
        node.audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.REFUSAL,
            purpose=consultation_purpose(user, purpose),
            # Only a well-formed id goes into the log: the path is typed by whoever asks.
            record_ids=[booking_id] if re.fullmatch(r"[0-9a-f]{32}", booking_id) else [],
            counts={"records.refused": 1},
            reference=local_id,
        )
    raise ForbiddenError(N_("this record was not found by this request's searches"))
