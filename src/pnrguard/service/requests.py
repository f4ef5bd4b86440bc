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
- Search itself lives in `service/search.py`: candidates come from the blind index, only
  the page shown is decrypted, and masked bookings cannot be found by name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.accounts import Account, Role
from pnrguard.service.review import BookingView, Page, booking_view, consultation_purpose, log_unmasking
from pnrguard.service.search import SearchCriteria, SearchOutcome, find_summaries, search
from pnrguard.store import workspace as store
from pnrguard.store.repository import BookingSummary, new_id
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys, open_text, seal_text
from pnrguard.store.workspace import RequestRecord

#: The most bookings one search under a peer's request lists (a peer asks about a person or
#: a booking: more than this is a question to narrow, not an answer).
MAX_PEER_RESULTS = 500

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
_SEARCHERS = frozenset({Role.ANALYST, Role.SUPERVISOR})


def register_request(
    *,
    user: Account,
    authority_id: str,
    case_reference: str,
    purpose: Purpose | str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    clock: Clock,
) -> RequestRecord:
    """Register a competent authority's request. Validates that it is duly reasoned: a
    known authority, a case reference, an investigative purpose and a reason.

    The reason may name persons and concerns any number of bookings: it is stored under the
    month text key of its registration (`store.texts`), which dies with that month's
    bookings."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError(N_("only analysts and supervisors register requests"))
    try:
        purpose = Purpose(purpose)
    except ValueError:
        raise InputError(N_("unknown purpose")) from None
    if purpose not in INVESTIGATIVE_PURPOSES:
        raise InputError(N_("a request serves terrorism or an Annex II offence"))
    case_reference = case_reference.strip()
    if not _CASE_REF.fullmatch(case_reference):
        raise InputError(N_("a case reference is 1-64 letters, digits and . / : _ # - (no line breaks)"))
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise InputError(
            N_("a duly reasoned request states its reason (at least %(MIN_REASON)s characters)"),
            MIN_REASON=MIN_REASON,
        )
    if len(reason) > _MAX_TEXT:
        raise InputError(N_("a reason has at most %(MAX_TEXT)s characters"), MAX_TEXT=_MAX_TEXT)
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
            raise NotFoundError(N_("no such competent authority"))
        sealed = _seal(TextKeys(conn, keystore), rec, reason, "reason")
        store.insert_request(conn, replace(rec, reason=sealed))
    return rec


def _seal(keys: TextKeys, rec: RequestRecord, text: str, column: str) -> str:
    key = keys.for_month(rec.registered_at)
    return seal_text(key, text, table="authority_request", column=column, row_id=rec.id)


def _opened(keys: TextKeys, rec: RequestRecord) -> RequestRecord:
    def show(text: str | None, column: str) -> str | None:
        return open_text(keys, text, table="authority_request", column=column, row_id=rec.id)

    reason = show(rec.reason, "reason") or ""
    return replace(rec, reason=reason, decision_reason=show(rec.decision_reason, "decision_reason"))


def list_requests(
    engine: Engine, *, status: str | None, page: int, page_size: int = 25
) -> Page[RequestRecord]:
    page = max(page, 1)
    with engine.connect() as conn:
        items, total = store.list_requests(
            conn, status=status, offset=(page - 1) * page_size, limit=page_size
        )
    return Page(items, page, page_size, total)


def get_request(engine: Engine, request_id: str, *, keystore: KeyStore) -> RequestRecord:
    """A request with its texts opened for the viewer."""
    with engine.connect() as conn:
        rec = store.get_request(conn, request_id)
        if rec is None:
            raise NotFoundError(N_("no such request"))
        return _opened(TextKeys(conn, keystore), rec)


def decide_request(
    request_id: str,
    *,
    user: Account,
    answered: bool,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    clock: Clock,
) -> RequestRecord:
    """Close a request as answered or refused: the PIU's decision, with its reason."""
    if user.role not in _SEARCHERS:
        raise ForbiddenError(N_("only analysts and supervisors decide requests"))
    reason = reason.strip()
    if not reason:
        raise InputError(N_("a decision on a request needs a reason"))
    with engine.begin() as conn:
        status = "answered" if answered else "refused"
        rec = store.get_request(conn, request_id)
        if rec is None:
            raise NotFoundError(N_("no such request"))
        keys = TextKeys(conn, keystore)
        sealed = _seal(keys, rec, reason, "decision_reason")
        if not store.decide_request(
            conn, request_id, status=status, by=user.username, at=clock(), reason=sealed
        ):
            raise ConflictError(
                N_("request %(request_id)s is %(status)s"), request_id=request_id, status=rec.status
            )
        rec = store.get_request(conn, request_id)
        assert rec is not None
        return _opened(keys, rec)


# --- search (service/search.py: over the blind index, one logged page at a time) ------------


def find_bookings(
    conn: Connection, keystore: KeyStore, criteria: SearchCriteria
) -> tuple[list[BookingSummary], int, bool]:
    """The bookings `criteria` select, resolved from the blind index like every search of
    the node (`service.search`): (at most `MAX_PEER_RESULTS` bookings, identities decrypted
    to find them (always 0: nothing is decrypted to find), whether the list was cut). Peer
    requests (`service.peer_answers`) run it; what they found bounds what an answer names."""
    found, truncated = find_summaries(conn, keystore, criteria, limit=MAX_PEER_RESULTS)
    return found, 0, truncated


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
        raise ForbiddenError(N_("this role does not open records"))
    with engine.begin() as conn:
        req = store.get_request(conn, request_id)
        if req is None:
            raise NotFoundError(N_("no such request"))
        allowed = store.was_found(conn, request_id, booking_id)
        if allowed and req.status != "open" and user.role is not Role.DPO:
            allowed = False
    if not allowed:
        _refuse(
            booking_id, user=user, engine=engine, audit=audit, purpose=Purpose(req.purpose), ref=request_id
        )
        raise ForbiddenError(N_("this record was not found by this request's searches"))
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
    raise ForbiddenError(
        N_("a record opens only under a purpose: from a hit or a competent authority's request")
    )


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
