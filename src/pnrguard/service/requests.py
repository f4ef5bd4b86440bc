"""Requests from competent authorities and the purpose-bound search they open.

Why it works this way (Art. 6(2)(b), C-817/19 paras 218-223):

- A PIU processes data outside screening only to answer a **duly reasoned request**: who
  asks, for which case, for which purpose (terrorism or an Annex II offence) and why. The
  request is registered first; only then can anyone search.
- **Every search and every record opened is a consultation** logged under the request's
  purpose with the request's id as reference; the search logs the ids it found.
- **The purpose binds the records, not just the search**: a record opens under a request
  only if one of that request's searches found it (`request_result`). A record cannot be
  opened with no purpose at all: the attempt is refused and logged as a refusal.
- Searching by name decrypts identity fields, so it runs only over *active* bookings in a
  bounded window of flight dates: masked bookings cannot be found by name (their names
  are masked), and an unbounded name search would decrypt the whole store.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.names import normalise
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import BookingView, Page, booking_view, consultation_purpose, log_unmasking
from pnrguard.store import workspace as store
from pnrguard.store.repository import BookingRepository, BookingSummary, new_id
from pnrguard.store.tables import booking
from pnrguard.store.workspace import RequestRecord

__all__ = [
    "MIN_REASON",
    "SearchCriteria",
    "SearchOutcome",
    "decide_request",
    "list_requests",
    "open_record",
    "refuse_without_purpose",
    "register_request",
    "search",
]

AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]
#: A duly reasoned request says why in more than a word or two.
MIN_REASON = 20
_MAX_TEXT = 4000
_CASE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./:_#-]{0,63}")
_BOOKING_ID = re.compile(r"[0-9a-f]{32}")
#: Bookings a name search may decrypt at most; beyond, the analyst narrows the dates.
MAX_NAME_SCAN = 5000
MAX_NAME_WINDOW = dt.timedelta(days=31)
MAX_RESULTS = 200
_SEARCHERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


def register_request(
    *,
    user: Account,
    authority_id: str,
    case_reference: str,
    purpose: Purpose | str,
    reason: str,
    engine: Engine,
    clock: Clock,
) -> RequestRecord:
    """Register a competent authority's request. Validates that it is duly reasoned: a
    known authority, a case reference, an investigative purpose and a reason."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError("only analysts and supervisors register requests")
    try:
        purpose = Purpose(purpose)
    except ValueError:
        raise InputError("unknown purpose") from None
    if purpose not in INVESTIGATIVE_PURPOSES:
        raise InputError("a request serves terrorism or an Annex II offence")
    case_reference = case_reference.strip()
    if not _CASE_REF.fullmatch(case_reference):
        raise InputError("a case reference is 1-64 letters, digits and . / : _ # - (no line breaks)")
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise InputError(f"a duly reasoned request states its reason (at least {MIN_REASON} characters)")
    if len(reason) > _MAX_TEXT:
        raise InputError(f"a reason has at most {_MAX_TEXT} characters")
    now = clock()
    rec = RequestRecord(
        id=new_id(),
        authority_id=authority_id,
        case_reference=case_reference,
        purpose=purpose.value,
        reason=reason,
        status="open",
        registered_by=user.username,
        registered_at=now,
        decided_by=None,
        decided_at=None,
        decision_reason=None,
    )
    with engine.begin() as conn:
        if store.get_authority(conn, authority_id) is None:
            raise NotFoundError("no such competent authority")
        store.insert_request(conn, rec)
    return rec


def list_requests(
    engine: Engine, *, status: str | None, page: int, page_size: int = 25
) -> Page[RequestRecord]:
    page = max(page, 1)
    with engine.connect() as conn:
        items, total = store.list_requests(
            conn, status=status, offset=(page - 1) * page_size, limit=page_size
        )
    return Page(items, page, page_size, total)


def get_request(engine: Engine, request_id: str) -> RequestRecord:
    with engine.connect() as conn:
        rec = store.get_request(conn, request_id)
    if rec is None:
        raise NotFoundError("no such request")
    return rec


def decide_request(
    request_id: str, *, user: Account, answered: bool, reason: str, engine: Engine, clock: Clock
) -> RequestRecord:
    """Close a request as answered or refused: the PIU's decision, with its reason."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError("only analysts and supervisors decide requests")
    reason = reason.strip()
    if not reason:
        raise InputError("a decision on a request needs a reason")
    with engine.begin() as conn:
        status = "answered" if answered else "refused"
        if not store.decide_request(
            conn, request_id, status=status, by=user.username, at=clock(), reason=reason
        ):
            rec = store.get_request(conn, request_id)
            if rec is None:
                raise NotFoundError("no such request")
            raise ConflictError(f"request {request_id} is {rec.status}")
        rec = store.get_request(conn, request_id)
    assert rec is not None
    return rec


# --- search --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """What an analyst may search by. Given fields combine with AND; at least one of
    locator, flight number or surname. A surname needs a flight-date window (at most 31
    days): a name search decrypts every active booking in the window."""

    carrier: str = ""
    locator: str = ""
    flight_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    surname: str = ""
    given_names: str = ""

    def check(self) -> None:
        if not (self.locator or self.flight_number or self.surname):
            raise InputError("search by locator, flight number or surname")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError("the first date is after the last")
        if self.surname:
            if not (self.date_from and self.date_to):
                raise InputError("a name search needs a window of flight dates")
            if self.date_to - self.date_from > MAX_NAME_WINDOW:
                raise InputError(f"a name search covers at most {MAX_NAME_WINDOW.days} days of flights")


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    results: list[BookingSummary]
    scanned: int  # bookings whose identity was decrypted to compare names
    truncated: bool


def search(
    request_id: str,
    criteria: SearchCriteria,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
) -> SearchOutcome:
    """Search under an open request; logged as a consultation with the ids found."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError("only analysts and supervisors search")
    criteria.check()
    with engine.begin() as conn:
        req = store.get_request(conn, request_id)
        if req is None:
            raise NotFoundError("no such request")
        if req.status != "open":
            raise ConflictError(f"request {request_id} is {req.status}: no further searches")
        found, scanned, truncated = find_bookings(conn, keystore, criteria)
        ids = [s.id for s in found]
        store.add_results(conn, request_id, ids, at=clock())
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=Purpose(req.purpose),
            record_ids=ids,
            counts={"search.results": len(ids), "search.scanned": scanned},
            reference=request_id,
        )
    return SearchOutcome(found, scanned, truncated)


def find_bookings(
    conn: Connection, keystore: KeyStore, criteria: SearchCriteria
) -> tuple[list[BookingSummary], int, bool]:
    """The bookings `criteria` select (at most MAX_RESULTS), how many identities were
    decrypted to compare names, and whether the list was cut. The one search of the node:
    authority requests and peer requests (`service.peer_answers`) both run it."""
    criteria.check()
    q = select(booking).where(booking.c.state != "deleted")
    if criteria.carrier:
        q = q.where(booking.c.carrier == criteria.carrier.upper())
    if criteria.locator:
        q = q.where(booking.c.locator == criteria.locator.upper())
    if criteria.flight_number:
        number = criteria.flight_number.upper().replace(" ", "")
        m = re.fullmatch(r"([A-Z0-9]{2}[A-Z]?)?(\d{1,4}[A-Z]?)", number)
        if m is None:
            raise InputError("a flight number is like LH123 or 123")
        if m.group(1):
            q = q.where(booking.c.flight_carrier == m.group(1))
        q = q.where(booking.c.flight_number.in_({m.group(2), m.group(2).lstrip("0")}))
    if criteria.date_from:
        q = q.where(booking.c.flight_date >= criteria.date_from)
    if criteria.date_to:
        q = q.where(booking.c.flight_date <= criteria.date_to)
    scanned = 0
    if criteria.surname:
        q = q.where(booking.c.state == "active")
        rows = conn.execute(
            q.order_by(booking.c.flight_date, booking.c.id).limit(MAX_NAME_SCAN + 1)
        ).all()
        if len(rows) > MAX_NAME_SCAN:
            raise InputError("too many bookings in that window: narrow the dates or add a flight")
        repo = BookingRepository(conn, keystore)
        want_surname = normalise(criteria.surname)
        want_given = normalise(criteria.given_names) if criteria.given_names else ""
        found: list[BookingSummary] = []
        for r in rows:
            scanned += 1
            b = repo.get(r.id)
            for t in b.travellers:
                names = {(normalise(t.surname), normalise(t.given_names))}
                names |= {
                    (normalise(d.surname), normalise(d.given_names)) for d in t.documents if d.surname
                }
                if any(
                    s == want_surname and (not want_given or g.startswith(want_given)) for s, g in names
                ):
                    found.append(BookingSummary.from_row(r))
                    break
    else:
        rows = conn.execute(q.order_by(booking.c.flight_date, booking.c.id).limit(MAX_RESULTS + 1)).all()
        found = [BookingSummary.from_row(r) for r in rows]
    truncated = len(found) > MAX_RESULTS
    found = found[:MAX_RESULTS]
    return found, scanned, truncated


def found_so_far(engine: Engine, request_id: str) -> list[BookingSummary]:
    """The bookings this request's searches found (clear columns only)."""
    with engine.connect() as conn:
        ids = store.results_of(conn, request_id)
        if not ids:
            return []
        rows = conn.execute(select(booking).where(booking.c.id.in_(ids[:1000]))).all()
    by_id = {r.id: BookingSummary.from_row(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def open_record(
    request_id: str,
    booking_id: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
) -> tuple[RequestRecord, BookingView]:
    """Open a booking under a request. Allowed only for a booking the request's searches
    found; otherwise refused, and the refusal is logged."""
    if user.role not in (*_SEARCHERS, Role.DPO):
        raise ForbiddenError("this role does not open records")
    with engine.begin() as conn:
        req = store.get_request(conn, request_id)
        if req is None:
            raise NotFoundError("no such request")
        allowed = store.was_found(conn, request_id, booking_id)
        if allowed and req.status != "open" and user.role is not Role.DPO:
            allowed = False
    if not allowed:
        _refuse(
            booking_id, user=user, engine=engine, audit=audit, purpose=Purpose(req.purpose), ref=request_id
        )
        raise ForbiddenError("this record was not found by this request's searches")
    purpose = Purpose(req.purpose)
    with engine.begin() as conn:
        view = booking_view(conn, keystore, booking_id, user=user, purpose=purpose)
        log = audit(conn)
        log_unmasking(log, view, user=user, purpose=purpose)
        log.append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, purpose),
            record_ids=[booking_id],
            counts={"records.opened": 1, "identity.masked": 0 if view.identity_visible else 1},
            reference=request_id,
        )
    return req, view


def refuse_without_purpose(booking_id: str, *, user: Account, engine: Engine, audit: AuditFactory) -> None:
    """Log the refusal to open a record without a purpose, then raise `ForbiddenError`."""
    _refuse(booking_id, user=user, engine=engine, audit=audit, purpose=Purpose.SYSTEM_SECURITY, ref=None)
    raise ForbiddenError("a record opens only under a purpose: from a hit or a competent authority's request")


def _refuse(
    booking_id: str, *, user: Account, engine: Engine, audit: AuditFactory, purpose: Purpose, ref: str | None
) -> None:
    # Only a well-formed id goes into the log: the path is typed by whoever asks.
    ids = [booking_id] if _BOOKING_ID.fullmatch(booking_id) else []
    with engine.begin() as conn:
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.REFUSAL,
            purpose=purpose,
            record_ids=ids,
            counts={"records.refused": 1},
            reference=ref,
        )
