"""Financing leads as use cases: found in payment digests, reviewed by a person, disclosed
to the financial intelligence unit under four eyes.

Why it works this way (docs/links.md, "Financing leads"):

- **Found from keyed digests only** (`detect_leads`): the card is its blind-index token,
  cash and third-party payments are tokens too (`links.tokens.LinkField.PAYMENT_FORM`),
  people are the link graph's opaque person ids, dates and routes are the booking's clear
  columns. Nothing is decrypted to find a lead; a run is one logged `combination`.
- **A lead is a reason to look, never a finding** (Art. 6(2)(a); C-817/19 para 203): an
  analyst opens it (a logged consultation: the names shown are decrypted then) and confirms
  or dismisses it with a reason code (no free text is stored), logged as an alteration.
- **Only a confirmed lead leaves, under four eyes** (`four_eyes.may_leave`, the rule every
  disclosure follows), to a registered national competent authority (the FIU), with a
  package holding payment information only (element 6 of Annex I: form, card as sent,
  holder, amount, billing address, and the booking reference and dates it concerns), as
  JSON and as a CSV the unit can load (`csvsafe`). The package is rebuilt on download,
  never stored; its SHA-256 at release is.
- **Masked and deleted bookings**: a lead naming a masked booking shows it as a count and
  leaves it out of the package; deletion takes the lead with it (`store.leads.forget_leads`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.csvsafe import safe_writer
from pnrguard.errors import N_, ConflictError, ForbiddenError, InputError, NotFoundError
from pnrguard.links.leads import (
    Lead,
    LeadKind,
    PaymentUse,
    card_many_unrelated,
    card_of_confirmed,
    cash_on_route,
)
from pnrguard.links.tokens import CASH, THIRD_PARTY, LinkField
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.blind_index import Field
from pnrguard.service.accounts import Account, Role
from pnrguard.service.four_eyes import Gate, Kind, may_leave
from pnrguard.service.links import IndexSource
from pnrguard.service.review import ReviewPolicy, consultation_purpose
from pnrguard.service.search_index import tokeniser, traveller_pairs
from pnrguard.store import leads as store
from pnrguard.store import screening as hits_store
from pnrguard.store import workspace as ws_store
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import HitStatus, hit
from pnrguard.store.tables import booking
from pnrguard.store.traveller import search_token

__all__ = [
    "PACKAGE_FORMAT",
    "LeadPackage",
    "LeadView",
    "approve_disclosure",
    "detect_leads",
    "detect_leads_scheduled",
    "disclosure_package",
    "lead_view",
    "list_leads",
    "propose_disclosure",
    "reject_disclosure",
    "review_lead",
]

AuditFactory = Callable[[Connection], AuditLog]
Clock = Callable[[], dt.datetime]
PACKAGE_FORMAT = "pnrguard-fiu-lead/1"
ANALYSTS = frozenset({Role.ANALYST, Role.SUPERVISOR})
#: Leads serve the prevention of terrorist financing (Art. 1(2): terrorist offences).
LEAD_PURPOSE = Purpose.TERRORIST_OFFENCES
#: Who a scheduled run is in the log (actor, role).
SYSTEM = ("system:leads", "system")
_CHUNK = 400
_BASIS = (
    "Directive (EU) 2016/681, Art. 6(2)(a) and 6(6): a pattern reviewed and confirmed by a person; "
    "payment information only (Annex I, element 6)"
)
_CONDITIONS = (
    "Processed only for the purpose stated (Art. 7(4)); no onward transfer without the PIU's permission; "
    "no decision with adverse legal effect on automated processing alone (Art. 7(6))."
)
_AIRPORT = re.compile(r"""["']([A-Z]{3})["']""")
#: The columns of the package's payments and of the CSV, in order: payment information only.
PAYMENT_COLUMNS = (
    "booking_id",
    "carrier",
    "record_locator",
    "reservation_date",
    "flight",
    "flight_date",
    "origin",
    "destination",
    "form",
    "card_vendor",
    "card_number",
    "card_expiry",
    "holder",
    "amount",
    "currency",
    "billing_street",
    "billing_city",
    "billing_postal_code",
    "billing_country",
)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _analyst(user: Account) -> None:
    if user.role not in ANALYSTS or not user.is_human:
        raise ForbiddenError(N_("financing leads are for analysts and supervisors"))


# --- detection ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The detectors' parameters (docs/links.md says why each)."""

    lookback_days: int = 30  # flights departed up to this many days ago ...
    ahead_days: int = 60  # ... and up to this many days ahead
    min_travellers: int = 3
    late_days: int = 3
    card_window_days: int = 30
    cash_min_bookings: int = 5
    cash_window_days: int = 7


def named_routes(conn: Connection, today: dt.date) -> dict[str, set[str]]:
    """Airports each active criterion names (quoted IATA codes in its expression), by rule id."""
    out: dict[str, set[str]] = {}
    for rule in hits_store.latest_rules(conn):
        if rule.is_active(today):
            airports = set(_AIRPORT.findall(rule.expression))
            if airports:
                out[rule.rule_id] = airports
    return out


class _Uses:
    """Payment uses of a set of bookings, built from the index and the booking columns."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.source = IndexSource(conn)
        self.rows: dict[str, Any] = {}
        self.members: dict[str, list[str]] = {}
        self.surnames: dict[tuple[str, str], frozenset[bytes]] = {}

    def load(self, booking_ids: Sequence[str]) -> None:
        todo = sorted({b for b in booking_ids if b not in self.rows})
        if not todo:
            return
        for chunk in _chunks(todo):
            q = select(
                booking.c.id,
                booking.c.created,
                booking.c.flight_date,
                booking.c.origin,
                booking.c.destination,
                booking.c.state,
            ).where(booking.c.id.in_(chunk))
            for r in self.conn.execute(q):
                if r.state == "active":
                    self.rows[r.id] = r
        alive = [b for b in todo if b in self.rows]
        members = self.source._members(alive)
        self.members.update({b: members.get(b, []) for b in alive})
        records = [(b, ref) for b in alive for ref in self.members[b]]
        tokens = self.source._identity_tokens(records)
        self.source._resolve(records)
        for rec in records:
            self.surnames[rec] = frozenset(tokens[rec].get(int(Field.SURNAME), set()))

    def uses(
        self, booking_id: str, *, card: bytes | None = None, form: str = "CC", third_party: bool = False
    ) -> list[PaymentUse]:
        r = self.rows.get(booking_id)
        if r is None:
            return []
        booked = r.created.date() if r.created is not None else None
        return [
            PaymentUse(
                person=self.source.person_of[(booking_id, ref)],
                booking_id=booking_id,
                form=form,
                card=card,
                booked=booked,
                departure=r.flight_date,
                route=(r.origin, r.destination),
                surnames=self.surnames.get((booking_id, ref), frozenset()),
                third_party=third_party,
            )
            for ref in self.members.get(booking_id, [])
        ]


def _fingerprint(lead: Lead) -> str:
    basis = lead.card or ("|".join(lead.route).encode() if lead.route else b"")
    h = hashlib.sha256(
        lead.kind.value.encode() + b"\x00" + basis + b"\x00" + "|".join(lead.bookings).encode()
    )
    return h.hexdigest()


def _tokens_of(conn: Connection, field: int, booking_ids: Sequence[str]) -> list[tuple[bytes, str]]:
    out: list[tuple[bytes, str]] = []
    for chunk in _chunks(sorted(set(booking_ids))):
        q = select(search_token.c.token, search_token.c.booking_id).where(
            search_token.c.field == field, search_token.c.booking_id.in_(chunk)
        )
        out += [(bytes(r.token), r.booking_id) for r in conn.execute(q)]
    return out


def _holders(conn: Connection, field: int, tokens: Sequence[bytes]) -> list[tuple[bytes, str]]:
    out: list[tuple[bytes, str]] = []
    for chunk in _chunks(sorted(set(tokens))):
        q = select(search_token.c.token, search_token.c.booking_id).where(
            search_token.c.field == field, search_token.c.token.in_(chunk)
        )
        out += [(bytes(r.token), r.booking_id) for r in conn.execute(q)]
    return out


def detect_leads(
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    thresholds: Thresholds = Thresholds(),
) -> list[str]:
    """Run the three detectors over the active bookings of the window and file the new
    leads (a rerun files nothing twice). Returns the new leads' ids. One `combination`
    entry in the log, with the leads' ids and counts."""
    if user.role not in ANALYSTS:
        raise ForbiddenError(N_("financing leads are for analysts and supervisors"))
    return _detect(
        (user.username, user.role.value), engine=engine, keystore=keystore, audit=audit, clock=clock,
        thresholds=thresholds,
    )  # fmt: skip


def detect_leads_scheduled(
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    thresholds: Thresholds = Thresholds(),
) -> list[str]:
    """The worker's periodic run (`GatewaySettings.leads_seconds`), logged as `system:leads`.
    Lawful without a person asking: the detectors are pre-determined criteria applied to
    the data carriers send (Art. 6(3)(b)), nothing is decrypted, and a lead is only a
    proposal that waits in the queue for an analyst's review, like a screening hit."""
    return _detect(SYSTEM, engine=engine, keystore=keystore, audit=audit, clock=clock, thresholds=thresholds)


def _detect(
    actor: tuple[str, str],
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    thresholds: Thresholds,
) -> list[str]:
    th = thresholds
    now = clock()
    today = now.date()
    card = int(Field.PAYMENT)
    with engine.begin() as conn:
        window = select(booking.c.id).where(
            booking.c.state == "active",
            booking.c.flight_date >= today - dt.timedelta(days=th.lookback_days),
            booking.c.flight_date <= today + dt.timedelta(days=th.ahead_days),
        )
        # 1. Cards paying for at least `min_travellers` bookings of the window.
        by_card: dict[bytes, set[str]] = defaultdict(set)
        q = select(search_token.c.token, search_token.c.booking_id).where(
            search_token.c.field == card, search_token.c.booking_id.in_(window)
        )
        for r in conn.execute(q):
            by_card[bytes(r.token)].add(r.booking_id)
        busy = {t: b for t, b in by_card.items() if len(b) >= th.min_travellers}
        # 2. Cards of the travellers of confirmed hits (all their stored bookings).
        uses = _Uses(conn)
        confirmed = conn.execute(
            select(hit.c.id, hit.c.booking_id, hit.c.traveller_ref)
            .join(booking, booking.c.id == hit.c.booking_id)
            .where(hit.c.status == HitStatus.CONFIRMED.value, booking.c.state == "active")
        ).all()
        hit_records = [(r.booking_id, r.traveller_ref) for r in confirmed]
        uses.source._resolve(hit_records)
        hit_person = {uses.source.person_of[(r.booking_id, r.traveller_ref)]: r.id for r in confirmed}
        person_records = uses.source._all_records(sorted(hit_person))
        hit_bookings = sorted({b for recs in person_records.values() for b, _ in recs})
        hit_cards = {t for t, _ in _tokens_of(conn, card, hit_bookings)}
        hit_card_uses = _holders(conn, card, sorted(hit_cards))
        # 3. Cash and third-party payments of the window on routes a criterion names.
        tok = tokeniser(conn, keystore, now=now)
        marks = {
            tok.token(int(LinkField.PAYMENT_FORM), CASH): CASH,
            tok.token(int(LinkField.PAYMENT_FORM), THIRD_PARTY): THIRD_PARTY,
        }
        cash: dict[str, set[str]] = defaultdict(set)
        q = select(search_token.c.token, search_token.c.booking_id).where(
            search_token.c.field == int(LinkField.PAYMENT_FORM),
            search_token.c.token.in_(sorted(marks)),
            search_token.c.booking_id.in_(window),
        )
        for r in conn.execute(q):
            cash[r.booking_id].add(marks[bytes(r.token)])
        airports = named_routes(conn, today)
        uses.load(sorted({b for bs in busy.values() for b in bs} | {b for _, b in hit_card_uses} | set(cash)))
        route_rule: dict[tuple[str, str], str] = {}
        cash_uses: list[PaymentUse] = []
        for bid, forms in sorted(cash.items()):
            row = uses.rows.get(bid)
            if row is None:
                continue
            rule = next(
                (rid for rid, aps in sorted(airports.items()) if {row.origin, row.destination} & aps), None
            )
            if rule is None:
                continue
            route_rule.setdefault((row.origin, row.destination), rule)
            cash_uses += uses.uses(
                bid, card=None, form="CA" if CASH in forms else "", third_party=THIRD_PARTY in forms
            )
        found: list[tuple[Lead, str | None, str | None]] = []
        card_uses = [u for t, bs in sorted(busy.items()) for b in sorted(bs) for u in uses.uses(b, card=t)]
        found += [
            (lead, None, None)
            for lead in card_many_unrelated(
                card_uses,
                min_travellers=th.min_travellers,
                late_days=th.late_days,
                window_days=th.card_window_days,
            )
        ]
        confirmed_uses = [u for t, b in hit_card_uses for u in uses.uses(b, card=t)]
        for lead in card_of_confirmed(confirmed_uses, hit_person):
            basis = next((hit_person[p] for p in lead.persons if p in hit_person), None)
            found.append((lead, basis, None))
        for lead in cash_on_route(
            cash_uses, route_rule, min_bookings=th.cash_min_bookings, window_days=th.cash_window_days
        ):
            found.append((lead, None, route_rule.get(lead.route) if lead.route else None))
        prints = {_fingerprint(lead): (lead, h, rule) for lead, h, rule in found}
        known = store.known_fingerprints(conn, sorted(prints))
        new: list[str] = []
        for fp, (lead, hit_id, rule_id) in sorted(prints.items()):
            if fp in known:
                continue
            rec = store.LeadRecord(
                id=new_id(),
                kind=lead.kind.value,
                fingerprint=fp,
                card_token=lead.card,
                origin=lead.route[0] if lead.route else None,
                destination=lead.route[1] if lead.route else None,
                first_day=lead.first,
                last_day=lead.last,
                persons=len(lead.persons),
                bookings=len(lead.bookings),
                hit_id=hit_id,
                rule_id=rule_id,
                purpose=LEAD_PURPOSE.value,
                status="open",
                found_at=now,
            )
            people, bids = set(lead.persons), set(lead.bookings)
            records = sorted(
                (b, ref, uses.source.person_of[(b, ref)])
                for b in bids
                for ref in uses.members.get(b, [])
                if uses.source.person_of.get((b, ref)) in people
            )
            if store.insert_lead(conn, rec, records):  # False: another worker recorded it just now
                new.append(rec.id)
        audit(conn).append(
            actor=actor[0],
            role=actor[1],
            operation=Operation.COMBINATION,
            purpose=LEAD_PURPOSE,
            record_ids=[f"lead:{i}" for i in new],
            counts={
                "leads.found": len(prints),
                "leads.new": len(new),
                "cards.read": len(by_card),
                "bookings.cash": len(cash),
            },
        )
    return new


# --- the queue and one lead ------------------------------------------------------------------------


def list_leads(
    engine: Engine, *, status: str | None, offset: int = 0, limit: int = 50
) -> tuple[list[store.LeadRecord], int]:
    with engine.connect() as conn:
        return store.list_leads(conn, status=status, offset=offset, limit=limit)


def summary(lead: store.LeadRecord) -> str:
    """What the lead says, in codes, counts and dates (no personal data)."""
    span = f"{lead.first_day} to {lead.last_day}" if lead.first_day else "dates unknown"
    if lead.kind == LeadKind.CASH_ON_ROUTE.value:
        return (
            f"{lead.bookings} bookings paid in cash or by a third party on {lead.origin}-{lead.destination}, "
            f"{span}"
        )
    if lead.kind == LeadKind.CARD_OF_CONFIRMED.value:
        return f"a card of a confirmed hit's traveller paid for {lead.persons - 1} other travellers, {span}"
    return f"one card paid for {lead.persons} unrelated travellers booked late, {span}"


@dataclass(frozen=True, slots=True)
class LeadRow:
    booking_id: str
    traveller_ref: str
    label: str  # "SURNAME, Given" for an active booking
    flight_date: dt.date | None
    route: str


@dataclass(frozen=True, slots=True)
class LeadView:
    lead: store.LeadRecord
    summary: str
    rows: list[LeadRow]
    withheld: int  # records on masked or deleted bookings: counted, never shown
    disclosures: list[store.DisclosureRecord] = field(default_factory=list)


def lead_view(
    lead_id: str, *, user: Account, engine: Engine, keystore: KeyStore, audit: AuditFactory
) -> LeadView:
    """A lead with the travellers it names (decrypted for the page: a logged consultation
    under the lead's purpose). Masked bookings are counted, not shown."""
    _analyst(user)
    with engine.begin() as conn:
        lead = store.get_lead(conn, lead_id)
        if lead is None:
            raise NotFoundError(N_("no such lead"))
        records = store.records_of(conn, lead_id)
        states = {}
        for chunk in _chunks(sorted({b for b, _, _ in records})):
            q = select(
                booking.c.id, booking.c.state, booking.c.flight_date, booking.c.origin, booking.c.destination
            ).where(booking.c.id.in_(chunk))
            states.update({r.id: r for r in conn.execute(q)})
        active = [(b, ref) for b, ref, _ in records if states[b].state == "active"]
        read = BookingRepository(conn, keystore).get_many([(b, None) for b in sorted({b for b, _ in active})])
        rows: list[LeadRow] = []
        for b, ref in active:
            bk = read.get(b)
            t = dict(traveller_pairs(bk)).get(ref) if bk is not None else None
            label = f"{t.surname}, {t.given_names}".strip(", ") if t is not None else "traveller"
            s = states[b]
            rows.append(LeadRow(b, ref, label, s.flight_date, f"{s.origin}-{s.destination}"))
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, Purpose(lead.purpose)),
            record_ids=sorted({b for b, _ in active}),
            reference=f"lead:{lead_id}",
            counts={"leads.opened": 1, "records.withheld": len(records) - len(active)},
        )
        disclosures = store.disclosures_of(conn, lead_id)
    return LeadView(lead, summary(lead), rows, len(records) - len(active), disclosures)


def review_lead(
    lead_id: str,
    *,
    decision: str,
    code: str,
    user: Account,
    engine: Engine,
    audit: AuditFactory,
    clock: Clock,
) -> store.LeadRecord:
    """Confirm or dismiss an open lead with a reason code; logged as an alteration."""
    _analyst(user)
    status = {"confirm": "confirmed", "dismiss": "dismissed"}.get(decision)
    if status is None:
        raise InputError(N_("confirm or dismiss"))
    if code not in store.REVIEW_CODES[status]:
        raise InputError(N_("a reason is one of %(items)s"), items=", ".join(store.REVIEW_CODES[status]))
    now = clock()
    with engine.begin() as conn:
        lead = store.get_lead(conn, lead_id)
        if lead is None:
            raise NotFoundError(N_("no such lead"))
        if not store.set_review(conn, lead_id, status=status, by=user.username, at=now, code=code):
            raise ConflictError(N_("lead %(lead_id)s is %(status)s"), lead_id=lead_id, status=lead.status)
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(lead.purpose),
            record_ids=[f"lead:{lead_id}", *sorted({b for b, _, _ in store.records_of(conn, lead_id)})],
            reference=f"lead:{lead_id}",
            counts={f"leads.{status}": 1},
        )
        out = store.get_lead(conn, lead_id)
    assert out is not None
    return out


# --- disclosure to the financial intelligence unit --------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadPackage:
    disclosure: store.DisclosureRecord
    data: dict[str, Any]
    json_bytes: bytes
    sha256: bytes

    def csv(self) -> bytes:
        """The payments as a CSV the unit can load (one row per payment; formula-safe)."""
        out = io.StringIO()
        w = safe_writer(out, lineterminator="\r\n")
        w.writerow(PAYMENT_COLUMNS)
        for p in self.data["payments"]:
            w.writerow([p.get(c) if p.get(c) is not None else "" for c in PAYMENT_COLUMNS])
        return out.getvalue().encode("utf-8")


def propose_disclosure(
    lead_id: str,
    *,
    authority_id: str,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    node_name: str,
    policy: ReviewPolicy | None,
) -> store.DisclosureRecord:
    """Propose disclosing a confirmed lead to a national competent authority (the FIU).
    With four eyes (the default) it waits for a supervisor other than the proposer."""
    _analyst(user)
    now = clock()
    with engine.begin() as conn:
        lead = store.get_lead(conn, lead_id)
        if lead is None:
            raise NotFoundError(N_("no such lead"))
        if lead.status != "confirmed":
            raise ConflictError(
                N_("lead %(lead_id)s is %(status)s: only a confirmed lead is disclosed"),
                lead_id=lead_id,
                status=lead.status,
            )
        authority = ws_store.get_authority(conn, authority_id)
        if authority is None:
            raise NotFoundError(N_("no such competent authority"))
        if authority.kind != "national":
            raise InputError(N_("a financing lead goes to a national competent authority (the FIU)"))
        rec = store.DisclosureRecord(
            new_id(), lead_id, authority_id, lead.purpose, "pending", user.username, now
        )
        store.insert_disclosure(conn, rec)
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(lead.purpose),
            record_ids=[f"lead:{lead_id}", f"authority:{authority.code}"],
            reference=rec.id,
            counts={"leads.disclosure_proposed": 1},
        )
        if (
            may_leave(kind=Kind.AUTHORITY, first=user.username, second=None, policy=policy)
            is Gate.AWAIT_SECOND
        ):
            return rec
        return _release(conn, keystore, rec, user=user, node_name=node_name, log=audit(conn), at=now)


def approve_disclosure(
    disclosure_id: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    node_name: str,
) -> store.DisclosureRecord:
    """The second approval: a supervisor who did not propose it releases it."""
    may_leave(kind=Kind.AUTHORITY, first="", second=user, policy=None)  # the role, before any read
    now = clock()
    with engine.begin() as conn:
        rec = store.get_disclosure(conn, disclosure_id)
        if rec is None:
            raise NotFoundError(N_("no such disclosure"))
        may_leave(kind=Kind.AUTHORITY, first=rec.proposed_by, second=user, policy=None)
        if rec.status != "pending":
            raise ConflictError(
                N_("disclosure %(disclosure_id)s is %(status)s"),
                disclosure_id=disclosure_id,
                status=rec.status,
            )
        return _release(conn, keystore, rec, user=user, node_name=node_name, log=audit(conn), at=now)


def reject_disclosure(
    disclosure_id: str, *, user: Account, engine: Engine, audit: AuditFactory, clock: Clock
) -> store.DisclosureRecord:
    """A supervisor stops a pending disclosure: nothing leaves."""
    if user.role is not Role.SUPERVISOR:
        raise ForbiddenError(N_("only a supervisor rejects a disclosure"))
    now = clock()
    with engine.begin() as conn:
        rec = store.get_disclosure(conn, disclosure_id)
        if rec is None:
            raise NotFoundError(N_("no such disclosure"))
        if not store.decide_disclosure(conn, disclosure_id, status="rejected", by=user.username, at=now):
            raise ConflictError(
                N_("disclosure %(disclosure_id)s is %(status)s"),
                disclosure_id=disclosure_id,
                status=rec.status,
            )
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.ALTERATION,
            purpose=Purpose(rec.purpose),
            record_ids=[f"lead:{rec.lead_id}"],
            reference=rec.id,
            counts={"leads.disclosure_rejected": 1},
        )
        out = store.get_disclosure(conn, disclosure_id)
    assert out is not None
    return out


def _release(
    conn: Connection,
    keystore: KeyStore,
    rec: store.DisclosureRecord,
    *,
    user: Account,
    node_name: str,
    log: AuditLog,
    at: dt.datetime,
) -> store.DisclosureRecord:
    released = store.DisclosureRecord(
        **{
            **_fields(rec),
            "status": "released",
            "decided_by": user.username,
            "decided_at": at,
            "released_at": at,
        }
    )
    pkg = _package(conn, keystore, released, node_name=node_name)
    if not store.decide_disclosure(
        conn, rec.id, status="released", by=user.username, at=at, sha256=pkg.sha256
    ):
        raise ConflictError(N_("disclosure %(id)s is no longer pending"), id=rec.id)
    authority = ws_store.get_authority(conn, rec.authority_id)
    assert authority is not None
    bids = [p["booking_id"] for p in pkg.data["payments"]]
    log.append(
        actor=user.username,
        role=user.role.value,
        operation=Operation.DISCLOSURE,
        purpose=Purpose(rec.purpose),
        record_ids=[*sorted(set(bids)), f"lead:{rec.lead_id}", f"authority:{authority.code}"],
        reference=rec.id,
        counts={"leads.disclosed": 1, "bookings.disclosed": len(set(bids)), "payments.disclosed": len(bids)},
    )
    out = store.get_disclosure(conn, rec.id)
    assert out is not None
    return out


def _fields(rec: store.DisclosureRecord) -> dict[str, Any]:
    return {k: getattr(rec, k) for k in store.DisclosureRecord.__dataclass_fields__}


def disclosure_package(
    disclosure_id: str,
    *,
    user: Account,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    node_name: str,
) -> LeadPackage:
    """Rebuild a released disclosure's package for download (and, for the second approver,
    a pending one's preview); a logged consultation."""
    _analyst(user)
    with engine.begin() as conn:
        rec = store.get_disclosure(conn, disclosure_id)
        if rec is None:
            raise NotFoundError(N_("no such disclosure"))
        if rec.status == "rejected":
            raise ConflictError(
                N_("disclosure %(disclosure_id)s was rejected: nothing leaves"), disclosure_id=disclosure_id
            )
        pkg = _package(conn, keystore, rec, node_name=node_name)
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, Purpose(rec.purpose)),
            record_ids=sorted({p["booking_id"] for p in pkg.data["payments"]}),
            reference=rec.id,
            counts={"packages.downloaded" if rec.status == "released" else "packages.previewed": 1},
        )
    return pkg


def _package(
    conn: Connection, keystore: KeyStore, rec: store.DisclosureRecord, *, node_name: str
) -> LeadPackage:
    lead = store.get_lead(conn, rec.lead_id)
    authority = ws_store.get_authority(conn, rec.authority_id)
    assert lead is not None
    assert authority is not None
    bids = sorted({b for b, _, _ in store.records_of(conn, rec.lead_id)})
    active = set(
        conn.execute(
            select(booking.c.id).where(booking.c.id.in_(bids), booking.c.state == "active")
        ).scalars()
    )
    read = BookingRepository(conn, keystore).get_many([(b, None) for b in sorted(active)])
    payments: list[dict[str, Any]] = []
    for bid in sorted(read):
        b = read[bid]
        f = b.reported_flight
        for p in b.payments:
            a = p.billing_address
            payments.append(
                {
                    "booking_id": bid,
                    "carrier": b.carrier,
                    "record_locator": b.locator,
                    "reservation_date": b.created.date().isoformat() if b.created else None,
                    "flight": f"{f.carrier}{f.flight_number}" if f else None,
                    "flight_date": f.departure.date().isoformat() if f and f.departure else None,
                    "origin": f.origin if f else None,
                    "destination": f.destination if f else None,
                    "form": p.form,
                    "card_vendor": p.card_vendor,
                    "card_number": p.card_number,
                    "card_expiry": p.card_expiry,
                    "holder": p.holder,
                    "amount": p.amount,
                    "currency": p.currency,
                    "billing_street": a.street if a else None,
                    "billing_city": a.city if a else None,
                    "billing_postal_code": a.postal_code if a else None,
                    "billing_country": a.country if a else None,
                }
            )
    approvals: list[dict[str, str | None]] = [
        {"step": "proposed", "by": rec.proposed_by, "at": rec.proposed_at.isoformat()}
    ]
    if rec.decided_by and rec.decided_at:
        approvals.append({"step": rec.status, "by": rec.decided_by, "at": rec.decided_at.isoformat()})
    data: dict[str, Any] = {
        "format": PACKAGE_FORMAT,
        "disclosure_id": rec.id,
        "node": node_name,
        "released_at": rec.released_at.isoformat() if rec.released_at else None,
        "recipient": {"code": authority.code, "name": authority.name, "kind": authority.kind},
        "purpose": {"code": rec.purpose},
        "legal_basis": _BASIS,
        "conditions": _CONDITIONS,
        "approvals": approvals,
        "lead": {
            "lead_id": lead.id,
            "kind": lead.kind,
            "summary": summary(lead),
            "reviewed_by": lead.reviewed_by,
            "review_code": lead.review_code,
            "first_flight_date": lead.first_day.isoformat() if lead.first_day else None,
            "last_flight_date": lead.last_day.isoformat() if lead.last_day else None,
        },
        "payments": payments,
        "withheld": {"bookings_masked_or_deleted": len(bids) - len(active)},
    }
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    return LeadPackage(rec, data, raw, hashlib.sha256(raw).digest())
