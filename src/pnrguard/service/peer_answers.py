"""An answer to a peer names only what the request's searches found; a second answer to
one request is an explicit supplement.

Why (issue 11 §5; docs/security.md, "Rogue peer"): the answering person used to type any
booking ids into the answer, so an answer could carry bookings that had nothing to do
with the request. Now, as for an authority's request (`service.requests`):

- `search_peer_request` runs the node's one search (`requests.find_bookings`) under an
  incoming request, from its subject (a booking: carrier and locator; a person: surname
  and a flight-date window) or from criteria the analyst gives, and remembers the ids
  found (`store.peer_results`), logged as a consultation under the request;
- `require_found` refuses an answer naming a booking those searches did not find;
- on the receiving side, `exchange._file` accepts a second answer to one of our requests
  only when the envelope says ``supplement: true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.engine import Connection

from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.exchange.messages import REQUEST_KINDS
from pnrguard.service.accounts import Account, Role
from pnrguard.service.bootstrap import Node
from pnrguard.service.requests import SearchCriteria, find_bookings
from pnrguard.store import exchange as store
from pnrguard.store import peer_results
from pnrguard.store.repository import BookingSummary

__all__ = ["NAME_WINDOW", "require_found", "search_peer_request"]

#: A person named with a flight date is searched on flights of that day +- this.
NAME_WINDOW = dt.timedelta(days=3)
_SEARCHERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


def _criteria_from_subject(node: Node, conn: Connection, local_id: str) -> SearchCriteria:
    from pnrguard.service.exchange import _unseal  # here: exchange imports this module

    env = _unseal(conn, node.keystore, local_id)
    s = env.subject
    if s is None:
        raise InputError("the request names no subject")
    if s.kind == "booking":
        return SearchCriteria(carrier=s.carrier or "", locator=s.locator or "")
    if not (s.surname and s.flight_date):
        raise InputError("a person is searched by surname and flight date: give criteria")
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
        raise ForbiddenError("only analysts and supervisors search")
    now = node.clock()
    with node.engine.begin() as conn:
        rec = store.get_message(conn, local_id)
        if rec is None or rec.direction != "in" or rec.kind not in {k.value for k in REQUEST_KINDS}:
            raise NotFoundError("no such incoming request")
        if rec.status != "awaiting_approval":
            raise ConflictError(f"request {local_id} is {rec.status}: no further searches")
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
            f"{len(outside)} booking(s) were not found by this request's searches: search first"
        )
