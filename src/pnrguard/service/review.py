"""Hit review for the workspace: the queue, the hit page, decisions, and the masking seam.

Why it is built this way:

- **A person decides** (Art. 6(5)): the queue lists every hit, the hit page puts the
  traveller, the booking, the list entry or rule and the per-feature explanation side by
  side, and the decision (confirm or dismiss, with a mandatory reason) is recorded by
  `service.screening.review_hit`, which also keeps the suppression of Art. 12(5).
- **Every look is logged**: opening a hit decrypts a booking, so it appends a
  *consultation* under the hit's purpose (the DPO's look is logged under
  `dpo_supervision`), in the same transaction as the read.
- **Masked stays masked**: `can_see_identity` is the one place that decides whether the
  identity fields of a booking (names, documents, contacts, payments, remarks, API data,
  history) may be decrypted for a viewer. For a masked booking it says no, and
  `booking_view` then never asks the key store for the identity key, so no view, export or
  API built on it can show them. The lifecycle work plugs judicial unmasking approvals in
  there (docs/workspace.md, "The unmasking seam").
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Operation, Purpose
from pnrguard.domain.model import Booking, Leg, Traveller, to_dict
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import Rule
from pnrguard.screening.criteria_view import booking_view as criteria_booking_view
from pnrguard.screening.criteria_view import to_utc, traveller_view
from pnrguard.screening.evidence import Condition
from pnrguard.screening.evidence import explain as explain_conditions
from pnrguard.screening.models import Feature, WatchlistEntry
from pnrguard.screening.score import explain
from pnrguard.screening.screener import Screener
from pnrguard.service import unmasking
from pnrguard.service.accounts import Account, Role
from pnrguard.service.hit_queue import PAGE_SIZE, QueueRow, hit_queue
from pnrguard.service.screening import ReviewDecision, person_query, review_hit
from pnrguard.service.traveller import Discrepancy, discrepancies
from pnrguard.store import screening as hits_store
from pnrguard.store.repository import BookingRepository, BookingSummary
from pnrguard.store.screening import HitKind, HitRecord, HitStatus
from pnrguard.store.tables import booking
from pnrguard.store.texts import TextKeys, open_text
from pnrguard.store.traveller import members_of_travellers, sources_of_hit

__all__ = [
    "MASKED",
    "PAGE_SIZE",
    "BookingView",
    "HitPage",
    "Page",
    "QueueRow",
    "ReviewPolicy",
    "booking_view",
    "can_see_identity",
    "consultation_purpose",
    "decide",
    "hit_page",
    "hit_queue",
]

#: What a view shows in place of a masked field.
MASKED = "masked"
AuditFactory = Callable[[Connection], AuditLog]
T = TypeVar("T")
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """How the node reviews and transmits.

    `four_eyes`: a transmission needs a second person, a supervisor, to approve it before
    anything leaves the node. On by default (the stricter reading); a node turns it off with
    ``PNRGUARD_FOUR_EYES=false``.
    """

    four_eyes: bool = True

    @classmethod
    def from_env(cls) -> ReviewPolicy:
        value = os.environ.get("PNRGUARD_FOUR_EYES", "true").strip().lower()
        return cls(four_eyes=value not in {"0", "false", "no", "off"})


# --- the masking seam --------------------------------------------------------------------


def can_see_identity(booking_id: str, *, user: Account, purpose: Purpose, conn: Connection) -> bool:
    """May `user` see the identity fields of this booking for `purpose`?

    Yes for an active booking; for a masked (or dormant) one only under a judicial approval
    that covers this booking, this requester, this purpose and now (Art. 12(3); see
    `service.unmasking`); never for a deleted one. Everything that shows identity data asks
    this function first and nothing else, so that one rule covers every view, export and API.
    """
    return unmasking.can_see_identity_on(booking_id, user=user, purpose=purpose, conn=conn)


def log_unmasking(log: AuditLog, view: BookingView, *, user: Account, purpose: Purpose) -> None:
    """Append the `unmasking` entry a view of masked data owes, naming the approved request.

    Called by every use case that shows a `BookingView`, beside its consultation entry."""
    if view.unmasked_under is None:
        return
    log.append(
        actor=user.username,
        role=user.role.value,
        operation=Operation.UNMASKING,
        purpose=consultation_purpose(user, purpose),
        record_ids=[view.summary.id],
        counts={"unmasking.view": 1},
        reference=view.unmasked_under,
    )


def consultation_purpose(user: Account, purpose: Purpose) -> Purpose:
    """The purpose a look is logged under: the DPO looks to supervise (Art. 6(7)), not to
    investigate, and the log should say so."""
    return Purpose.DPO_SUPERVISION if user.role is Role.DPO else purpose


# --- views -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moment:
    """A carrier time (local to its airport) with its UTC instant, for display."""

    local: dt.datetime
    airport: str
    utc: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "local": self.local.isoformat(timespec="minutes"),
            "airport": self.airport,
            "utc": self.utc.strftime("%Y-%m-%dT%H:%MZ") if self.utc else None,
        }


def moment(local: dt.datetime | None, airport: str) -> Moment | None:
    if local is None:
        return None
    return Moment(local.replace(tzinfo=None), airport, to_utc(local, airport))


@dataclass(frozen=True, slots=True)
class LegView:
    carrier: str
    flight_number: str
    origin: str
    destination: str
    departure: Moment | None
    arrival: Moment | None
    booking_class: str
    status: str
    operating: str

    @classmethod
    def of(cls, leg: Leg) -> LegView:
        operating = ""
        if leg.operating_carrier and leg.operating_carrier != leg.carrier:
            operating = f"{leg.operating_carrier}{leg.operating_flight_number}"
        return cls(
            leg.carrier,
            leg.flight_number,
            leg.origin,
            leg.destination,
            moment(leg.departure, leg.origin),
            moment(leg.arrival, leg.destination),
            leg.booking_class,
            leg.status,
            operating,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "flight_number": self.flight_number,
            "origin": self.origin,
            "destination": self.destination,
            "departure": self.departure.to_json() if self.departure else None,
            "arrival": self.arrival.to_json() if self.arrival else None,
            "booking_class": self.booking_class,
            "status": self.status,
            "operated_by": self.operating,
        }


#: Identity fields of a booking (`domain.annex.MASKED_AT_6_MONTHS`) as the views name them.
IDENTITY_SECTIONS = (
    "travellers",
    "addresses",
    "contacts",
    "payments",
    "remarks",
    "service_requests",
    "history",
)
#: Content fields shown in every state (itinerary and the rest are in their own fields).
CONTENT_SECTIONS = ("tickets", "seats", "bags", "check_ins")


@dataclass(frozen=True, slots=True)
class BookingView:
    """One booking version as a viewer may see it. When `identity_visible` is False the
    identity sections hold the string "masked" and nothing was decrypted with the identity
    key; `summary` holds only the clear columns."""

    summary: BookingSummary
    version: int
    identity_visible: bool
    reserved: dt.datetime | None
    ticketed: dt.date | None
    reported_flight: LegView | None
    itinerary: tuple[LegView, ...]
    agency: dict[str, Any] | None
    party_size: int | None
    sections: dict[str, Any]  # identity sections: lists of dicts, or MASKED
    content: dict[str, Any]  # content sections: lists of dicts
    #: The approved unmasking request that made a masked booking's identity visible.
    unmasked_under: str | None = None

    @property
    def state(self) -> str:
        return self.summary.state

    def travellers(self) -> list[dict[str, Any]]:
        value = self.sections["travellers"]
        return value if isinstance(value, list) else []

    def to_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "booking_id": s.id,
            "version": self.version,
            "state": s.state,
            "source": s.source.value,
            "carrier": s.carrier,
            "locator": s.locator,
            "reserved": self.reserved.isoformat() if self.reserved else None,
            "ticketed": self.ticketed.isoformat() if self.ticketed else None,
            "identity": "visible" if self.identity_visible else MASKED,
            "reported_flight": self.reported_flight.to_json() if self.reported_flight else None,
            "itinerary": [leg.to_json() for leg in self.itinerary],
            "agency": self.agency,
            # The number of travellers on the PNR is masked too (Art. 12(2)(a)).
            "party_size": self.party_size if self.identity_visible else MASKED,
            **self.sections,
            **self.content,
        }


def _plain(items: Sequence[Any]) -> list[dict[str, Any]]:
    out = to_dict(list(items))
    assert isinstance(out, list)
    return out


def booking_view(
    conn: Connection,
    keystore: KeyStore,
    booking_id: str,
    *,
    user: Account,
    purpose: Purpose,
    version: int | None = None,
) -> BookingView:
    """Decrypt a booking version for `user`: identity fields only if `can_see_identity`.

    Does not log: the caller logs the consultation in the same transaction."""
    b, visible, unmasked_under = visible_booking(
        conn, keystore, booking_id, user=user, purpose=purpose, version=version
    )
    summary = BookingRepository(conn, keystore).summary(booking_id)
    sections: dict[str, Any] = {}
    for name in IDENTITY_SECTIONS:
        sections[name] = _plain(getattr(b, name)) if visible else MASKED
    content = {name: _plain(getattr(b, name)) for name in CONTENT_SECTIONS}
    if not visible:
        # Seats, bags, tickets and check-ins name no one, but their traveller refs would
        # tell how many people travel together; the count is masked too.
        for items in content.values():
            for item in items:
                item.pop("traveller_ref", None)
    return BookingView(
        summary=summary,
        version=version or summary.latest_version,
        identity_visible=visible,
        reserved=b.created,
        ticketed=b.ticketed,
        reported_flight=LegView.of(b.reported_flight) if b.reported_flight else None,
        itinerary=tuple(LegView.of(leg) for leg in b.itinerary),
        agency=to_dict(b.agency) if b.agency else None,
        party_size=b.party_size if visible else None,
        sections=sections,
        content=content,
        unmasked_under=unmasked_under,
    )


def visible_booking(
    conn: Connection,
    keystore: KeyStore,
    booking_id: str,
    *,
    user: Account,
    purpose: Purpose,
    version: int | None = None,
) -> tuple[Booking, bool, str | None]:
    """The booking as `user` may see it: (booking, identity visible, covering request id).

    A masked booking's identity key is sealed (service.retention), so an admitted viewer
    reads it through `unmasking.read_visible`; anyone else gets content fields only."""
    if not can_see_identity(booking_id, user=user, purpose=purpose, conn=conn):
        repo = BookingRepository(conn, keystore)
        return repo.get(booking_id, version=version, include_identity=False), False, None
    b, request_id = unmasking.read_visible(
        conn, keystore, booking_id, user=user, purpose=purpose, version=version
    )
    return b, True, request_id


# --- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: `items`, the 1-based `number`, and the totals."""

    items: list[T]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


# The queue itself lives in `service.hit_queue` (re-exported here for callers).


# --- the hit page ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureRow:
    feature: str
    value: float
    explanation: str  # empty when the traveller's identity is masked


@dataclass(frozen=True, slots=True)
class SourceView:
    """Another record of the hit's traveller (the API record of a PNR traveller, or the
    reverse): how it was linked, its score if it matched too, the traveller as visible."""

    source: str
    booking_id: str
    traveller_ref: str
    linked_by: str
    matched_score: float | None
    traveller: dict[str, Any] | None  # None when masked
    booking: BookingView

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "booking_id": self.booking_id,
            "traveller_ref": self.traveller_ref,
            "linked_by": self.linked_by,
            "matched_score": self.matched_score,
            "traveller": self.traveller if self.traveller is not None else MASKED,
        }


@dataclass(frozen=True, slots=True)
class HitPage:
    """Everything a reviewer sees on one hit. Holds personal data: built per request."""

    hit: HitRecord
    booking: BookingView
    traveller: dict[str, Any] | None  # None when masked
    watchlist_name: str | None
    entry: WatchlistEntry | None
    rule: Rule | None
    features: tuple[FeatureRow, ...]
    explanation: str
    transmittable: bool = field(default=False)
    #: False for a masked booking (Art. 12(2)): the list entry is shown by list and id only,
    #: and neither the score nor the feature numbers, which would confirm who the traveller is.
    identifying: bool = field(default=True)
    #: A rule hit: each top-level condition, whether it held and the view values it read.
    conditions: tuple[Condition, ...] = ()
    conditions_op: str = ""
    #: The person's other records on this flight (the other source), and where they differ.
    sources: tuple[SourceView, ...] = ()
    discrepancies: tuple[Discrepancy, ...] = ()

    def to_json(self) -> dict[str, Any]:
        h = self.hit
        entry: dict[str, Any] | None = None
        if not self.identifying and h.entity_id is not None:
            entry = {"list": self.watchlist_name, "list_version": h.list_version, "entity_id": h.entity_id}
        elif self.entry is not None:
            e = self.entry
            entry = {
                "list": self.watchlist_name,
                "list_version": h.list_version,
                "entity_id": e.entity_id,
                "name": e.name,
                "aliases": list(e.aliases),
                "dobs": [d.isoformat() for d in e.dobs],
                "nationalities": list(e.nationalities),
                "documents": [
                    {"number": d.number, "kind": d.kind, "country": d.country} for d in e.documents
                ],
            }
        rule = None
        if self.rule is not None:
            r = self.rule
            rule = {
                "rule_id": r.rule_id,
                "version": r.version,
                "name": r.name,
                "expression": r.expression,
                "description": r.description,
                "owner": r.owner,
            }
        return {
            "hit_id": h.id,
            "status": h.status.value,
            "kind": h.kind.value,
            "purpose": h.purpose.value,
            "score": h.score if self.identifying else None,
            "traveller_ref": h.traveller_ref,
            "traveller": self.traveller if self.traveller is not None else MASKED,
            "watchlist_entry": entry,
            "rule": rule,
            "features": [
                {"feature": f.feature, "value": f.value, "explanation": f.explanation} for f in self.features
            ],
            "explanation": self.explanation,
            "assignee": h.assignee,
            "priority": h.priority,
            "review": {
                "by": h.reviewed_by,
                "at": h.reviewed_at.isoformat() if h.reviewed_at else None,
                "reason": h.review_reason,
            },
            "booking": self.booking.to_json(),
            "sources": [src.to_json() for src in self.sources],
            "discrepancies": [
                {"field": d.field, "values": [{"source": s, "value": v} for s, v in d.values]}
                for d in self.discrepancies
            ],
        }


def _other_sources(
    conn: Connection, keystore: KeyStore, h: HitRecord, *, user: Account, log: AuditLog
) -> list[tuple[SourceView, Traveller | None]]:
    """The hit traveller's other records, each as `user` may see it (masked stays masked)."""
    if not h.traveller_id:
        return []
    scores = {(b, r): sc for b, r, sc in sources_of_hit(conn, h.id)}
    out: list[tuple[SourceView, Traveller | None]] = []
    for m in members_of_travellers(conn, [h.traveller_id]).get(h.traveller_id, []):
        if (m.booking_id, m.traveller_ref) == (h.booking_id, h.traveller_ref):
            continue
        view = booking_view(conn, keystore, m.booking_id, user=user, purpose=h.purpose)
        log_unmasking(log, view, user=user, purpose=h.purpose)
        t: Traveller | None = None
        if view.identity_visible:
            full, _, _ = visible_booking(conn, keystore, m.booking_id, user=user, purpose=h.purpose)
            t = traveller_refs(full).get(m.traveller_ref)
        out.append(
            (
                SourceView(
                    m.source, m.booking_id, m.traveller_ref, m.linked_by,
                    scores.get((m.booking_id, m.traveller_ref)), to_dict(t) if t else None, view,
                ),
                t,
            )
        )  # fmt: skip
    return out


def traveller_refs(b: Booking) -> dict[str, Traveller]:
    """Travellers by the ref screening gave them (`service.screening` numbers refless ones
    `#1`, `#2`, ... by position, and renumbers duplicates the same way)."""
    out: dict[str, Traveller] = {}
    for i, t in enumerate(b.travellers, start=1):
        ref = t.ref[:32] if t.ref else f"#{i}"
        if ref in out:
            ref = f"#{i}"
        out[ref] = t
    return out


def hit_page(
    hit_id: str, *, user: Account, engine: Engine, keystore: KeyStore, audit: AuditFactory
) -> HitPage:
    """Load a hit for review and log the consultation (hit and booking ids, the purpose).

    For a masked booking the traveller stays masked and the explanation shows numbers only:
    the feature texts compare the traveller's name and documents with the entry's."""
    with engine.begin() as conn:
        h = hits_store.get_hit(conn, hit_id)
        view = booking_view(
            conn, keystore, h.booking_id, user=user, purpose=h.purpose, version=h.booking_version
        )
        traveller_data: dict[str, Any] | None = None
        traveller: Traveller | None = None
        log_unmasking(audit(conn), view, user=user, purpose=h.purpose)
        if view.identity_visible:
            full, _, _ = visible_booking(
                conn, keystore, h.booking_id, user=user, purpose=h.purpose, version=h.booking_version
            )
            traveller = traveller_refs(full).get(h.traveller_ref)
            if traveller is not None:
                traveller_data = to_dict(traveller)
        entry: WatchlistEntry | None = None
        rule: Rule | None = None
        wl_name: str | None = None
        features: tuple[FeatureRow, ...] = tuple(FeatureRow(f, v, "") for f, v in h.features)
        explanation = ""
        conditions_op: str = ""
        conditions: list[Condition] = []
        if h.kind is HitKind.WATCHLIST and h.watchlist_id is not None and h.entity_id is not None:
            wl_name = next((w.name for w in hits_store.list_watchlists(conn) if w.id == h.watchlist_id), None)
            found = hits_store.entries_at(conn, h.watchlist_id, [h.entity_id], h.list_version or 0)
            if h.entity_id in found:
                entry = found[h.entity_id][0]
                if traveller is not None:
                    cands = Screener.build([entry]).screen(
                        person_query(h.traveller_ref, traveller), threshold=0.0
                    )
                    if cands:
                        feats: tuple[Feature, ...] = cands[0].features
                        features = tuple(FeatureRow(f.feature, f.value, f.explanation) for f in feats)
                        explanation = explain(feats)
        elif h.kind is HitKind.RULE and h.rule_id is not None and h.rule_version is not None:
            rule = hits_store.rule_version(conn, h.rule_id, h.rule_version)
            if rule is not None:
                explanation = f"rule {rule.rule_id} v{rule.version}: {rule.expression}"
                if traveller is not None:
                    # Which conditions held, with the values the criterion saw (the criteria
                    # view only: nothing identifying or sensitive is in it).
                    bview, legs = criteria_booking_view(full)
                    seen = {"booking": bview, "itinerary": legs, "traveller": traveller_view(full, traveller)}
                    conditions_op, conditions = explain_conditions(rule.expression, seen)
        others = _other_sources(conn, keystore, h, user=user, log=audit(conn))
        differ: list[Discrepancy] = []
        if traveller is not None and others and all(t is not None for _, t in others):
            own = hits_store_source(conn, h.booking_id)
            differ = discrepancies([(own, traveller)] + [(sv.source, t) for sv, t in others if t is not None])
        audit(conn).append(
            actor=user.username,
            role=user.role.value,
            operation=Operation.CONSULTATION,
            purpose=consultation_purpose(user, h.purpose),
            record_ids=[h.id, h.booking_id, *(sv.booking_id for sv, _ in others)],
            counts={
                "hits.opened": 1,
                "identity.masked": 0 if view.identity_visible else 1,
                "sources.linked": len(others),
            },
            reference=h.id,
        )
    identifying = view.identity_visible
    with engine.connect() as conn:  # a decided judicial unmasking (logged above) opens a masked one
        keys = TextKeys(conn, keystore, unsealed=[h.booking_id] if view.unmasked_under is not None else ())
        reason = open_text(
            keys, h.review_reason, table="hit", column="review_reason", row_id=h.id, booking_id=h.booking_id
        )
    h = replace(h, review_reason=reason)
    if not identifying:
        # Issue 10 item 4: the entry's name, dates of birth and documents, the score and the
        # feature numbers would confirm who the masked traveller is.
        entry, features = None, ()
    return HitPage(
        h,
        view,
        traveller_data,
        wl_name,
        entry,
        rule,
        features,
        explanation,
        transmittable=h.status is HitStatus.CONFIRMED,
        identifying=identifying,
        conditions=tuple(conditions),
        conditions_op=conditions_op,
        sources=tuple(sv for sv, _ in others),
        discrepancies=tuple(differ),
    )


def hits_store_source(conn: Connection, booking_id: str) -> str:
    """The source (PNR or API) of a booking, from its clear column."""
    return str(conn.execute(select(booking.c.source).where(booking.c.id == booking_id)).scalar_one())


def decide(
    hit_id: str,
    *,
    user: Account,
    decision: ReviewDecision | str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
) -> HitRecord:
    """Confirm or dismiss an open hit with a mandatory reason (`service.screening.review_hit`:
    the alteration is logged under the hit's purpose and a dismissal is remembered)."""
    return review_hit(
        hit_id,
        reviewer=user.username,
        decision=decision,
        reason=reason,
        engine=engine,
        keystore=keystore,
        audit=audit,
        clock=clock,
        role=user.role.value,
    )


def investigative_purposes() -> list[Purpose]:
    """Purposes a request or a transmission may name, terrorism first, then Annex II order."""
    return [p for p in Purpose if p in INVESTIGATIVE_PURPOSES]
