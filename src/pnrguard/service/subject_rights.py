"""Erasure and restriction of processing on a traveller's request (Directive 2016/680 "LED"
Art. 16, which Directive 2016/681 Art. 13(1) applies to PNR data), and the register of
every request a traveller made (access, rectification, erasure, restriction).

The traveller is found by surname and date of birth (`person_lookup`), never by a free
search. Each use case takes the booking ids the DPO picked from that look-up and checks
them against it again, so nothing outside the person's own bookings can be acted on.

- **Erasure** crypto-shreds a booking on which the person is the only traveller (keys,
  sealed keys, versions; `store.lifecycle.delete_bookings`, the same end state as the
  retention run). On a booking shared with others, the person is removed: a new version
  without them and without the elements tied to them, and every earlier version deleted;
  the booking's keys live on for the fellow travellers (booking-level elements that cannot
  be attributed, such as a shared payment, stay). A booking with an **objective link**
  (confirmed hit, case, open request, transfer) is not erased: it must be kept as evidence
  (LED Art. 16(3)(b)), and the answer says so; the DPO may restrict it instead.
- **Restriction** sets `booking.restricted_at`: the booking is kept but left out of
  screening and of every search (`store.tables.not_restricted`), until the DPO lifts it.

Every answer is one `subject_request` row (kind, channel, status, number of bookings,
outcome code: never a name or a value) and audit entries naming the booking ids with the
request id as reference, purpose ``data_subject_request``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.service.clock import Clock
from pnrguard.service.ingest import AuditFactory, opaque
from pnrguard.service.person_lookup import LookupResult, find_bookings_for_person, traveller_matches
from pnrguard.store.lifecycle import StoreRetentionLinks, delete_bookings, write_rectified_version
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.rights import subject_request
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking, booking_version

__all__ = [
    "Person",
    "RequestKind",
    "RightsAnswer",
    "erase",
    "lift_restriction",
    "lookup",
    "own_bookings",
    "record_request",
    "restrict",
]

_ROLE = "dpo"
_BY_TRAVELLER = ("contacts", "service_requests", "remarks", "seats", "bags", "tickets", "check_ins")


class RequestKind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    RESTRICTION = "restriction"


@dataclass(frozen=True, slots=True)
class Person:
    """Who the request is about, as the traveller identified themselves."""

    surname: str
    date_of_birth: dt.date
    given_names: str = ""


@dataclass(slots=True)
class RightsAnswer:
    """What one request did (ids and codes; JSON-ready)."""

    request_id: str
    kind: str
    status: str
    outcome: str
    booking_ids: list[str] = field(default_factory=list)  # acted on
    kept_linked: list[str] = field(default_factory=list)  # not erased: evidence (Art. 16(3)(b))
    masked_not_searched: int = 0


def _audit_for(audit: AuditLog | AuditFactory, conn: Connection) -> AuditLog:
    return audit if isinstance(audit, AuditLog) else audit(conn)


def record_request(
    conn: Connection,
    *,
    kind: RequestKind,
    actor: str,
    channel: str,
    status: str,
    bookings: int,
    outcome: str,
    now: dt.datetime,
    request_id: str | None = None,
) -> str:
    """One row of the register (no content); returns its id."""
    rid = request_id or new_id()
    conn.execute(
        insert(subject_request).values(
            id=rid,
            kind=kind.value,
            received_at=now,
            channel=opaque(channel, default="unknown")[:16],
            recorded_by=opaque(actor)[:64],
            status=status,
            answered_at=now,
            bookings=bookings,
            outcome=outcome[:16],
        )
    )
    return rid


def lookup(
    *,
    dpo: str,
    person: Person,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    carrier: str | None = None,
    flight_from: dt.date | None = None,
    flight_to: dt.date | None = None,
) -> LookupResult:
    """Find the person's bookings for a request, audited as a ``consultation`` for
    ``data_subject_request`` with the ids found."""
    with engine.begin() as conn:
        found = find_bookings_for_person(
            conn, keystore, surname=person.surname, date_of_birth=person.date_of_birth,
            given_names=person.given_names, carrier=carrier, flight_from=flight_from, flight_to=flight_to,
        )  # fmt: skip
        _audit_for(audit, conn).append(
            actor=opaque(dpo),
            role=_ROLE,
            operation=Operation.CONSULTATION,
            purpose=Purpose.DATA_SUBJECT_REQUEST,
            record_ids=found.booking_ids,
            counts={"lookup.scanned": found.scanned, "lookup.found": len(found.matches)},
        )
    return found


def own_bookings(
    conn: Connection, keystore: KeyStore, person: Person, booking_ids: Sequence[str]
) -> dict[str, frozenset[str]]:
    """The person's traveller refs on each of `booking_ids`; `InputError` if an id is not
    one of theirs (checked again, whatever the caller picked)."""
    ids = list(dict.fromkeys(booking_ids))
    if not ids:
        raise InputError(N_("name at least one booking found for the person"))
    repo = BookingRepository(conn, keystore)
    found = repo.get_many([(b, None) for b in ids])
    out: dict[str, frozenset[str]] = {}
    for bid in ids:
        b = found.get(bid)
        refs = frozenset(
            t.ref
            for t in (b.travellers if b else [])
            if traveller_matches(
                t, surname=person.surname, date_of_birth=person.date_of_birth, given_names=person.given_names
            )
        )
        if not refs:
            raise NotFoundError(N_(
                "booking %(bid)s: no traveller of that name and birth date (or masked)"
            ), bid=bid)
        out[bid] = refs
    return out


def _without(b: Booking, refs: frozenset[str]) -> Booking:
    changes: dict[str, Any] = {"travellers": [t for t in b.travellers if t.ref not in refs]}
    for name in _BY_TRAVELLER:
        changes[name] = [i for i in getattr(b, name) if i.traveller_ref not in refs]
    return dataclasses.replace(b, **changes)


def erase(
    *,
    dpo: str,
    person: Person,
    booking_ids: Sequence[str],
    channel: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
) -> RightsAnswer:
    """Erase the person from `booking_ids` (module docstring)."""
    who = opaque(dpo)
    now = clock.now()
    rid = new_id()
    with engine.begin() as conn:
        own = own_bookings(conn, keystore, person, booking_ids)
        linked = StoreRetentionLinks(conn).linked(list(own), now=now)
        repo = BookingRepository(conn, keystore)
        shred: list[str] = []
        removed: list[str] = []
        for bid, refs in own.items():
            if bid in linked:
                continue
            current = repo.get(bid)
            if {t.ref for t in current.travellers} <= refs:
                shred.append(bid)
                continue
            version = write_rectified_version(conn, keystore, bid, _without(current, refs), at=now, actor=who)
            conn.execute(
                delete(booking_version).where(
                    booking_version.c.booking_id == bid, booking_version.c.version < version
                )
            )
            # Hits follow the version that remains; the person's own unreviewed ones are
            # withdrawn (their traveller is gone) and lose the keyed digest of her identity.
            conn.execute(update(hit).where(hit.c.booking_id == bid).values(booking_version=version))
            mine = (hit.c.booking_id == bid) & hit.c.traveller_ref.in_(sorted(refs))
            conn.execute(update(hit).where(mine).values(person_digest=None))
            conn.execute(update(hit).where(mine, hit.c.status == "open").values(status="withdrawn"))
            removed.append(bid)
        log = _audit_for(audit, conn)
        if shred:
            gone = delete_bookings(conn, shred, at=now)
            log.append(
                actor=who, role=_ROLE, operation=Operation.KEY_DESTRUCTION,
                purpose=Purpose.DATA_SUBJECT_REQUEST, record_ids=shred,
                counts={"keys.destroyed": gone.keys}, reference=rid,
            )  # fmt: skip
        if shred or removed:
            log.append(
                actor=who, role=_ROLE, operation=Operation.ERASURE, purpose=Purpose.DATA_SUBJECT_REQUEST,
                record_ids=shred + removed,
                counts={"bookings.deleted": len(shred), "travellers.removed": len(removed)},
                reference=rid,
            )  # fmt: skip
        kept = sorted(linked & set(own))
        outcome = "erased" if not kept else ("partial" if shred or removed else "linked")
        status = "refused" if outcome == "linked" else "answered"
        record_request(
            conn, kind=RequestKind.ERASURE, actor=who, channel=channel, status=status,
            bookings=len(shred) + len(removed), outcome=outcome, now=now, request_id=rid,
        )  # fmt: skip
    return RightsAnswer(rid, RequestKind.ERASURE.value, status, outcome, shred + removed, kept)


def _set_restriction(
    *,
    dpo: str,
    person: Person,
    booking_ids: Sequence[str],
    channel: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
    restricted: bool,
) -> RightsAnswer:
    who = opaque(dpo)
    now = clock.now()
    rid = new_id()
    with engine.begin() as conn:
        own = own_bookings(conn, keystore, person, booking_ids)
        ids = sorted(own)
        cond = booking.c.restricted_at.is_(None) if restricted else booking.c.restricted_at.is_not(None)
        changed = [
            r
            for r in conn.execute(select(booking.c.id).where(booking.c.id.in_(ids), cond)).scalars()
        ]
        if changed:
            conn.execute(
                update(booking)
                .where(booking.c.id.in_(changed))
                .values(restricted_at=now if restricted else None)
            )
            _audit_for(audit, conn).append(
                actor=who, role=_ROLE, operation=Operation.ALTERATION, purpose=Purpose.DATA_SUBJECT_REQUEST,
                record_ids=changed,
                counts={"restriction.set" if restricted else "restriction.lifted": len(changed)},
                reference=rid,
            )  # fmt: skip
        outcome = ("restricted" if restricted else "lifted") if changed else "unchanged"
        record_request(
            conn, kind=RequestKind.RESTRICTION, actor=who, channel=channel, status="answered",
            bookings=len(changed), outcome=outcome, now=now, request_id=rid,
        )  # fmt: skip
    return RightsAnswer(rid, RequestKind.RESTRICTION.value, "answered", outcome, changed)


def restrict(
    *,
    dpo: str,
    person: Person,
    booking_ids: Sequence[str],
    channel: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
) -> RightsAnswer:
    """Restrict processing of the person's bookings (kept; out of screening and search)."""
    return _set_restriction(
        dpo=dpo, person=person, booking_ids=booking_ids, channel=channel, engine=engine,
        keystore=keystore, audit=audit, clock=clock, restricted=True,
    )  # fmt: skip


def lift_restriction(
    *,
    dpo: str,
    person: Person,
    booking_ids: Sequence[str],
    channel: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditLog | AuditFactory,
    clock: Clock,
) -> RightsAnswer:
    """Lift a restriction (LED Art. 16(3): the traveller is told before; the DPO records it)."""
    return _set_restriction(
        dpo=dpo, person=person, booking_ids=booking_ids, channel=channel, engine=engine,
        keystore=keystore, audit=audit, clock=clock, restricted=False,
    )  # fmt: skip
