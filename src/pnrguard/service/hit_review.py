"""Reviewing a hit (Art. 6(5)): a person confirms or dismisses it with a reason (dismissing
stores a suppression, Art. 12(5)), and opens it to see the traveller, the list entry or
rule version that produced it and each contribution to the score, audited as a
consultation. Split from `service.screening` (issue 14).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation
from pnrguard.domain.model import Traveller
from pnrguard.errors import N_, ConflictError, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import Rule
from pnrguard.screening.models import Feature, WatchlistEntry
from pnrguard.screening.score import explain
from pnrguard.screening.screener import Screener
from pnrguard.service.hit_recording import (
    AuditPort,
    Clock,
    _audit_for,
    _travellers,
    person_query,
)
from pnrguard.store import screening as store
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import (
    HitKind,
    HitRecord,
    HitStatus,
)
from pnrguard.store.texts import TextKeys, seal_text

_MAX_REASON = 2000


# --- review --------------------------------------------------------------------------------


class ReviewDecision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"


def review_hit(
    hit_id: str,
    *,
    reviewer: str,
    decision: ReviewDecision | str,
    reason: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    role: str = "analyst",
) -> HitRecord:
    """A person's decision on an open hit (Art. 6(5)), with a mandatory reason.

    The reason may name the person: it is stored encrypted under the booking's identity key
    (`store.texts.seal_text`), in the hit and in the suppression, never in clear.

    Dismissing also stores a suppression for (person digest, match key), so the same person
    does not hit the same entry or rule again (Art. 12(5)); for a list entry it holds while
    the entry is unchanged. A hit whose traveller had no date of birth and no document has
    no digest and creates no suppression (it would silence every namesake). Raises
    `ConflictError` if the hit is no longer open, `InputError` without a reason.
    """
    decision = ReviewDecision(decision)
    reason = reason.strip()
    if not reason:
        raise InputError(N_("a review needs a reason"))
    if len(reason) > _MAX_REASON:
        raise InputError(N_("a review reason has at most %(MAX_REASON)s characters"), MAX_REASON=_MAX_REASON)
    status = HitStatus.CONFIRMED if decision is ReviewDecision.CONFIRM else HitStatus.DISMISSED
    now = clock()
    with engine.begin() as conn:
        h = store.get_hit(conn, hit_id, for_update=True)
        key = TextKeys(conn, keystore).for_booking(h.booking_id)
        sealed = seal_text(key, reason, table="hit", column="review_reason", row_id=hit_id)
        if h.status is not HitStatus.OPEN or not store.set_review(
            conn, hit_id, status=status, by=reviewer, at=now, reason=sealed
        ):
            raise ConflictError(
                N_("hit %(hit_id)s is %(status)s, not open"), hit_id=hit_id, status=h.status.value
            )
        suppressions = 0
        if status is HitStatus.DISMISSED and h.person_digest is not None:
            store.add_suppression(
                conn, hit_id=hit_id, person_digest=h.person_digest, match_key=h.match_key,
                fingerprint=h.fingerprint if h.kind is HitKind.WATCHLIST else None,
                at=now, by=reviewer,
                reason=seal_text(key, reason, table="suppression", column="reason", row_id=hit_id),
            )  # fmt: skip
            suppressions = 1
        _audit_for(audit, conn).append(
            actor=reviewer, role=role, operation=Operation.ALTERATION, purpose=h.purpose,
            record_ids=[hit_id, h.booking_id], reference=hit_id,
            counts={f"hits.{status.value}": 1, "suppressions.created": suppressions},
        )  # fmt: skip
    return dataclasses.replace(h, status=status, reviewed_by=reviewer, reviewed_at=now, review_reason=reason)


@dataclass(frozen=True, slots=True)
class HitView:
    """A hit as a reviewer sees it: the stored hit, the traveller, and what matched with the
    reasons. Holds personal data: built on request, audited, never stored."""

    hit: HitRecord
    traveller: Traveller
    entry: WatchlistEntry | None
    rule: Rule | None
    features: tuple[Feature, ...]
    explanation: str


def open_hit(
    hit_id: str,
    *,
    actor: str,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    role: str = "analyst",
) -> HitView:
    """Render a hit for review: decrypt the booking version and load the list entry or rule
    version that produced it, and explain the match feature by feature. Audited as a
    consultation under the hit's purpose. Raises `CryptoError` for a masked booking
    (unmasking needs judicial approval, Art. 12(3))."""
    with engine.begin() as conn:
        h = store.get_hit(conn, hit_id)
        b = BookingRepository(conn, keystore).get(h.booking_id, version=h.booking_version)
        traveller = dict(_travellers(b)).get(h.traveller_ref)
        if traveller is None:
            raise NotFoundError(N_("hit %(hit_id)s: traveller not in booking version"), hit_id=hit_id)
        entry: WatchlistEntry | None = None
        rule: Rule | None = None
        features: tuple[Feature, ...] = ()
        if h.kind is HitKind.WATCHLIST:
            assert h.watchlist_id is not None
            assert h.entity_id is not None
            assert h.list_version is not None
            found = store.entries_at(conn, h.watchlist_id, [h.entity_id], h.list_version)
            if h.entity_id not in found:
                raise NotFoundError(N_("hit %(hit_id)s: list entry not found"), hit_id=hit_id)
            entry = found[h.entity_id][0]
            query = person_query(h.traveller_ref, traveller)
            candidates = Screener.build([entry]).screen(query, threshold=0.0)
            if candidates:
                features = candidates[0].features
            explanation = f"{entry.list_name} {entry.entity_id}: " + explain(features)
        else:
            assert h.rule_id is not None
            assert h.rule_version is not None
            rule = store.rule_version(conn, h.rule_id, h.rule_version)
            if rule is None:
                raise NotFoundError(N_("hit %(hit_id)s: rule version not found"), hit_id=hit_id)
            explanation = f"rule {rule.rule_id} v{rule.version} ({rule.name}): {rule.expression}"
        _audit_for(audit, conn).append(
            actor=actor, role=role, operation=Operation.CONSULTATION, purpose=h.purpose,
            record_ids=[hit_id, h.booking_id], counts={"hits.opened": 1}, reference=hit_id,
        )  # fmt: skip
    return HitView(h, traveller, entry, rule, features, explanation)
