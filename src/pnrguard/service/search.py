"""The purpose-bound search under a competent authority's request, over the blind index.

Why it works this way (Art. 6(2)(b), C-817/19 paras 218-223; docs/workspace.md, "Search"):

- Searching runs only under an **open request** by an analyst or supervisor, and each page
  shown is a **consultation** logged under the request's purpose with the request's id
  as reference and the ids on the page. The ids shown join the request's results, which
  is what lets a record open under that request (`requests.open_record`).
- Candidates come from the **blind index** (keyed tokens, `service.search_index`) and the
  clear booking columns; **only the page shown is decrypted**, so a search costs the same
  over a day or over five years of bookings and has no hidden limit: results are paged.
- Masked bookings have no tokens: they are found by locator or flight only, and shown
  masked (their names need the judicial unmasking path).
- A person's **history** (other stored flights of a traveller a search found) is the same
  search, seeded by that traveller's document or name and birth date, under the same
  request: no other way to follow a person exists.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, func, literal, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field, Tokeniser, parse_flight
from pnrguard.service.accounts import Account, Role
from pnrguard.service.search_index import (
    Plan,
    Term,
    flight_condition,
    plan_count,
    plan_page,
    tokeniser,
    traveller_pairs,
)
from pnrguard.store import workspace as store
from pnrguard.store.repository import BookingRepository, BookingSummary
from pnrguard.store.tables import booking, not_restricted
from pnrguard.store.traveller import day_of
from pnrguard.store.workspace import RequestRecord

__all__ = [
    "PAGE_SIZE",
    "SearchCriteria",
    "SearchOutcome",
    "SearchRow",
    "find_summaries",
    "search",
    "search_page",
    "traveller_history",
]

AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
_SEARCHERS = frozenset({Role.ANALYST, Role.SUPERVISOR})
MASKED = "masked"


@dataclass(frozen=True, slots=True)
class SearchCriteria:
    """What an analyst may search by. Given fields combine with AND; at least one of
    locator, flight, surname, document, contact or card (a date of birth or given name
    alone would list strangers). Dates bound the flight date and are optional."""

    carrier: str = ""
    locator: str = ""
    flight_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    surname: str = ""
    given_names: str = ""
    sounds_like: bool = False
    date_of_birth: dt.date | None = None
    document_number: str = ""
    contact: str = ""
    card: str = ""

    def check(self) -> None:
        if not (
            self.locator
            or self.flight_number
            or self.surname
            or self.document_number
            or self.contact
            or self.card
        ):
            raise InputError(N_("search by locator, flight, surname, document, contact or card"))
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InputError(N_("the first date is after the last"))
        if self.flight_number and parse_flight(self.flight_number) is None:
            raise InputError(N_("a flight is like MU103, MU 103, 103 or 0103"))

    def terms(self, tok: Tokeniser) -> tuple[list[Term], list[Term]]:
        """(person terms, booking-wide terms) for the blind index."""
        person: list[Term] = []
        if self.surname:
            got = tok.name_terms(self.surname, sounds_like=self.sounds_like)
            if not got:
                raise InputError(N_("the surname has no letters"))
            person += got
        if self.given_names:
            person += tok.name_terms(self.given_names, given=True, sounds_like=self.sounds_like)
        if self.date_of_birth:
            person.append(tok.dob_term(self.date_of_birth))
        wide: list[Term] = []
        for value, term, what, per_person in (
            (self.document_number, tok.document_term(self.document_number), "document number", True),
            (self.contact, tok.contact_term(self.contact), "contact", False),
            (self.card, tok.card_term(self.card), "card number", False),
        ):
            if value and term is None:
                raise InputError(N_("the %(what)s has nothing to search by"), what=what)
            if term is not None:
                (person if per_person else wide).append(term)
        return person, wide


@dataclass(frozen=True, slots=True)
class Person:
    """A traveller as a result row shows them: enough to choose, no more."""

    ref: str
    name: str  # "SURNAME, Given" or MASKED
    date_of_birth: str  # ISO date, "" if not given, or MASKED


@dataclass(frozen=True, slots=True)
class SearchRow:
    booking: BookingSummary
    people: tuple[Person, ...]  # the matched traveller, or every traveller of the booking

    @property
    def flight(self) -> str:
        return f"{self.booking.flight_carrier}{self.booking.flight_number}"


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    rows: list[SearchRow]
    total: int  # (booking, traveller) matches, or bookings for a search by booking fields
    page: int
    page_size: int
    decrypted: int = 0  # bookings decrypted to show this page
    criteria: SearchCriteria | None = field(default=None, compare=False)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def results(self) -> list[BookingSummary]:
        return list({r.booking.id: r.booking for r in self.rows}.values())


def _check_request(conn: Connection, request_id: str, user: Account) -> RequestRecord:
    if user.role not in _SEARCHERS:
        raise ForbiddenError(N_("only analysts and supervisors search"))
    req = store.get_request(conn, request_id)
    if req is None:
        raise NotFoundError(N_("no such request"))
    if req.status != "open":
        raise ConflictError(
            N_("request %(request_id)s is %(status)s: no further searches"),
            request_id=request_id,
            status=req.status,
        )
    return req


def _filters(c: SearchCriteria) -> list[Any]:
    # A restricted booking (LED Art. 16(3)) is found by no search until the DPO lifts it.
    cond: list[Any] = [booking.c.state != "deleted", not_restricted()]
    if c.carrier:
        cond.append(booking.c.carrier == c.carrier.upper())
    if c.locator:
        cond.append(booking.c.locator == c.locator.upper())
    if c.flight_number:
        parsed = parse_flight(c.flight_number)
        assert parsed is not None  # check() ran
        cond += flight_condition(*parsed)
    if c.date_from:
        cond.append(booking.c.flight_date >= c.date_from)
    if c.date_to:
        cond.append(booking.c.flight_date <= c.date_to)
    return cond


def _people(b: Booking | None, ref: str | None) -> tuple[Person, ...]:
    if b is None:
        return (Person(ref or "", MASKED, MASKED),)
    out = []
    for r, t in traveller_pairs(b):
        if ref and r != ref:
            continue
        doc = t.documents[0] if t.documents else None
        dob = t.date_of_birth or (doc.date_of_birth if doc else None)
        surname = t.surname or (doc.surname if doc else "")
        given = t.given_names or (doc.given_names if doc else "")
        out.append(Person(r, f"{surname}, {given}".strip(", "), dob.isoformat() if dob else ""))
    return tuple(out)


def _page(
    conn: Connection,
    keystore: KeyStore,
    cand: Any,
    cond: Sequence[Any],
    *,
    page: int,
    page_size: int,
) -> tuple[list[SearchRow], int, int]:
    """One page of (booking, traveller) matches, decrypting only that page."""
    if cand is None:
        sub = None
        base = select(booking, literal("", String(32)).label("m_ref"))
    else:
        sub = cand.subquery()
        base = select(booking, sub.c.traveller_ref.label("m_ref")).join(sub, sub.c.booking_id == booking.c.id)
    base = base.where(*cond)
    total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar_one())
    rows = conn.execute(
        base.order_by(booking.c.flight_date.is_(None), booking.c.flight_date, booking.c.id, "m_ref")
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    repo = BookingRepository(conn, keystore)
    # The page's active bookings in one batch (two queries, not four a booking); a booking
    # whose key is gone is left out by `get_many` and shown masked.
    decrypted = repo.get_many([(r.id, None) for r in rows if r.state == "active"])
    out = [SearchRow(BookingSummary.from_row(r), _people(decrypted.get(r.id), r.m_ref or None)) for r in rows]
    return out, total, len(decrypted)


def _plan(c: SearchCriteria, person: Sequence[Term], wide: Sequence[Term]) -> Plan:
    """The index range of a search by tokens; the booking columns it names are checked per
    candidate (by key), the flight dates bound the range itself."""
    cond: list[Any] = []
    if c.carrier:
        cond.append(booking.c.carrier == c.carrier.upper())
    if c.locator:
        cond.append(booking.c.locator == c.locator.upper())
    if c.flight_number:
        parsed = parse_flight(c.flight_number)
        assert parsed is not None  # check() ran
        cond += flight_condition(*parsed)
    return Plan(
        person=tuple((t,) for t in person),
        wide=tuple((t,) for t in wide),
        day_from=day_of(c.date_from) if c.date_from else None,
        day_to=day_of(c.date_to) if c.date_to else None,
        booking_where=tuple(cond),
    )


def _token_page(
    conn: Connection, keystore: KeyStore, plan: Plan | Sequence[Plan], *, page: int, page_size: int
) -> tuple[list[SearchRow], int, int]:
    """One page of a token search: the count and the page are ranges of the index in
    flight-date order; only the page's bookings are read and decrypted (one batch)."""
    total = plan_count(conn, plan)
    hits = plan_page(conn, plan, offset=(page - 1) * page_size, limit=page_size)
    ids = sorted({b for b, _ in hits})
    found = {r.id: r for r in conn.execute(select(booking).where(booking.c.id.in_(ids)))} if ids else {}
    rows = [(found[b], ref) for b, ref in hits if b in found and found[b].state != "deleted"]
    decrypted = BookingRepository(conn, keystore).get_many(
        [(r.id, None) for r in {r.id: r for r, _ in rows}.values() if r.state == "active"]
    )
    out = [
        SearchRow(BookingSummary.from_row(r), _people(decrypted.get(r.id), ref or None)) for r, ref in rows
    ]
    return out, total, len(decrypted)


def _log(
    conn: Connection,
    audit: AuditFactory,
    req: RequestRecord,
    user: Account,
    rows: Sequence[SearchRow],
    *,
    total: int,
    decrypted: int,
    clock: Clock,
    kind: str,
) -> None:
    ids = list(dict.fromkeys(r.booking.id for r in rows))
    store.add_results(conn, req.id, ids, at=clock())
    audit(conn).append(
        actor=user.username,
        role=user.role.value,
        operation=Operation.CONSULTATION,
        purpose=Purpose(req.purpose),
        record_ids=ids,
        counts={f"{kind}.results": total, f"{kind}.shown": len(ids), f"{kind}.decrypted": decrypted},
        reference=req.id,
    )


def find_summaries(
    conn: Connection, keystore: KeyStore, criteria: SearchCriteria, *, limit: int
) -> tuple[list[BookingSummary], bool]:
    """The bookings `criteria` select, from the index and the clear columns only (nothing is
    decrypted): at most `limit`, and whether the list was cut. For callers that list
    bookings rather than show people (a peer's request); they log what they show."""
    criteria.check()
    person, wide = criteria.terms(tokeniser(conn, keystore))
    if not (person or wide):  # locator or flight: the booking table's own indexes
        q = select(booking).where(*_filters(criteria))
        rows = conn.execute(q.order_by(booking.c.flight_date, booking.c.id).limit(limit + 1)).all()
        return [BookingSummary.from_row(r) for r in rows[:limit]], len(rows) > limit
    # The search's own index range (`search_index.Plan`), read in flight-date order until
    # `limit + 1` bookings (a booking may match on two of its travellers).
    plan = _plan(criteria, person, wide)
    ids: list[str] = []
    offset, step = 0, limit + 1
    while len(ids) <= limit:
        hits = plan_page(conn, plan, offset=offset, limit=step)
        ids += [b for b in dict.fromkeys(b for b, _ in hits) if b not in ids]
        if len(hits) < step:
            break
        offset += step
    found = {r.id: r for r in conn.execute(select(booking).where(booking.c.id.in_(ids[: limit + 1])))}
    rows = [found[b] for b in ids[: limit + 1] if b in found and found[b].state != "deleted"]
    return [BookingSummary.from_row(r) for r in rows[:limit]], len(rows) > limit


def search(
    request_id: str,
    criteria: SearchCriteria,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchOutcome:
    """One page of a search under an open request; logged as a consultation of the page."""
    criteria.check()
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    with engine.begin() as conn:
        req = _check_request(conn, request_id, user)
        outcome = search_page(conn, keystore, criteria, page=page, page_size=page_size)
        _log(
            conn, audit, req, user, outcome.rows, total=outcome.total, decrypted=outcome.decrypted,
            clock=clock, kind="search",
        )  # fmt: skip
    return outcome


def search_page(
    conn: Connection, keystore: KeyStore, criteria: SearchCriteria, *, page: int, page_size: int = PAGE_SIZE
) -> SearchOutcome:
    """One page of matches for `criteria`, decrypting only that page. The caller has checked
    the scope it searches under (an authority's open request, a peer's request awaiting a
    decision) and logs the page under that scope's purpose in the same transaction."""
    criteria.check()
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    person, wide = criteria.terms(tokeniser(conn, keystore))
    if person or wide:
        rows, total, decrypted = _token_page(
            conn, keystore, _plan(criteria, person, wide), page=page, page_size=page_size
        )
    else:  # locator or flight: the booking table's own indexes
        rows, total, decrypted = _page(
            conn, keystore, None, _filters(criteria), page=page, page_size=page_size
        )
    return SearchOutcome(rows, total, page, page_size, decrypted, criteria)


def traveller_history(
    request_id: str,
    booking_id: str,
    traveller_ref: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchOutcome:
    """The stored flights of a traveller a search under this request found: bookings with
    the same document, or the same surname, given name and date of birth. Same rules as
    `search` (open request, logged page); refused for a booking the request did not find."""
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    with engine.begin() as conn:
        req = _check_request(conn, request_id, user)
        if not store.was_found(conn, request_id, booking_id):
            raise ForbiddenError(N_("this record was not found by this request's searches"))
        summary = BookingRepository(conn, keystore).summary(booking_id)
        if summary.state != "active":
            raise ConflictError(N_("the history of a masked traveller needs the unmasking path"))
        b = BookingRepository(conn, keystore).get(booking_id)
        t = dict(traveller_pairs(b)).get(traveller_ref)
        if t is None:
            raise NotFoundError(N_("no such traveller in this booking"))
        tok = tokeniser(conn, keystore)
        values = tok.traveller_values(t)
        alternatives: list[list[Term]] = [
            [(Field.DOCUMENT, tok.token(Field.DOCUMENT, v))] for f, v in values if f is Field.DOCUMENT
        ]
        dobs = [v for f, v in values if f is Field.DOB]
        surname = tok.name_terms(t.surname) if t.surname else []
        given = tok.name_terms(t.given_names, given=True)[:1] if t.given_names else []
        for dob in dobs:
            if surname:
                alternatives.append([*surname, *given, (Field.DOB, tok.token(Field.DOB, dob))])
        if not alternatives:
            raise InputError(N_("this traveller has no document or date of birth to follow"))
        # One index range per alternative, their union paged in flight-date order: the
        # same query as a search (restricted bookings left out, nothing decrypted to find).
        plans = [Plan(person=tuple((t,) for t in alt)) for alt in alternatives]
        rows, total, decrypted = _token_page(conn, keystore, plans, page=page, page_size=page_size)
        _log(conn, audit, req, user, rows, total=total, decrypted=decrypted, clock=clock, kind="history")
    return SearchOutcome(rows, total, page, page_size, decrypted)
