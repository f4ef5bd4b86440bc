"""Criteria rules: versions saved and audited, a new active version run over the stored
bookings whose flight has not departed, and each rule's figures for its periodic review.
Split from `service.screening` (issue 14).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation
from pnrguard.errors import N_, InputError, NotFoundError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import CriteriaEngine, Rule, compile_rule
from pnrguard.service.hit_recording import (
    RESCREEN_BATCH,
    AuditPort,
    Clock,
    _append_chunked,
    _audit_for,
    _PersonDigest,
    _record,
    _rule_hits,
    _rule_key,
    _travellers,
)
from pnrguard.store import screening as store
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import (
    HitRecord,
    HitStatus,
)

#: Rule ids end up in audit record ids (at most 64 characters).
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


# --- criteria rules ------------------------------------------------------------------------


def _same_rule(a: Rule, b: Rule) -> bool:
    return dataclasses.replace(a, version=0) == dataclasses.replace(b, version=0)


@dataclass(frozen=True, slots=True)
class RuleRescreenResult:
    """One rule version run over the stored active bookings whose flight has not departed."""

    rule_id: str
    version: int
    bookings: int = 0
    travellers: int = 0
    unreadable: int = 0  # keys gone meanwhile (masked or shredded)
    hits_new: int = 0
    hits_refreshed: int = 0
    suppressed: int = 0
    errors: int = 0  # evaluations that failed on the data (see `CriteriaRun.errors`)
    seconds: float = 0.0


def save_rule(
    rule: Rule,
    *,
    actor: str,
    engine: Engine,
    audit: AuditPort,
    clock: Clock,
    role: str = "operator",
    keystore: KeyStore | None = None,
    batch_size: int = RESCREEN_BATCH,
) -> Rule:
    """Store a rule as its next version (`rule.version` is ignored; the stored rule with its
    version is returned). Validated by `compile_rule` first (raises `CriteriaError`). Saving
    a rule identical to its current version stores nothing. Disabling is saving a version
    with `enabled=False`: rows are never updated, so every hit names the exact rule.

    With the `keystore`, a new version that is active is then run over the stored bookings
    whose flight has not departed yet (`rescreen_rule`, after the version is committed);
    without it only bookings ingested from now on are assessed by it."""
    if not RULE_ID.fullmatch(rule.rule_id):
        raise InputError(N_("a rule id is 1-40 of A-Z a-z 0-9 . _ - (starting with a letter or digit)"))
    compile_rule(rule)
    now = clock()
    with engine.begin() as conn:
        current = store.latest_rule(conn, rule.rule_id)
        stored = dataclasses.replace(rule, version=(current.version if current else 0) + 1)
        if current is not None and _same_rule(current, stored):
            return current
        store.insert_rule(conn, stored, at=now, by=actor)
        _audit_for(audit, conn).append(
            actor=actor, role=role, operation=Operation.ALTERATION, purpose=stored.purpose,
            record_ids=[f"rule:{stored.rule_id}:{stored.version}"], counts={"rules.saved": 1},
            reference=_rule_key(stored.rule_id),
        )  # fmt: skip
    if keystore is not None and stored.is_active(now.date()):
        rescreen_rule(
            stored.rule_id, stored.version, engine=engine, keystore=keystore, audit=audit, clock=clock,
            actor=actor, role=role, batch_size=batch_size,
        )  # fmt: skip
    return stored


def rescreen_rule(
    rule_id: str,
    version: int,
    *,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditPort,
    clock: Clock,
    actor: str,
    role: str = "operator",
    batch_size: int = RESCREEN_BATCH,
) -> RuleRescreenResult:
    """Run one rule version over every stored active booking whose reported flight departs
    today or later (node clock, fixed at the start of the run), one transaction per
    `batch_size` bookings, each audited as a `combination` under the rule's purpose.

    Why only flights not yet departed (proportionality): pre-determined criteria serve the
    assessment of travellers before their arrival or departure (Art. 6(2)(a), (3)(b)).
    Running a new criterion over past travel would profile everyone stored after the fact,
    for no decision still to be taken at a border; past data is for duly reasoned requests
    (Art. 6(2)(b)). Bookings without a flight date are left out for the same reason. The
    day is the unit because the flight date is the only clear column (a flight that left
    this morning is still screened: the error is on the side of the assessment the rule
    was made for). Idempotent: open hits are brought up to the new version, decisions
    stand, suppressions apply. An interrupted run is not resumed by itself: run it again."""
    started = time.perf_counter()
    with engine.connect() as conn:
        rule = store.rule_version(conn, rule_id, version)
    if rule is None:
        raise NotFoundError(
            N_("rule %(rule_id)s version %(version)s not found"), rule_id=rule_id, version=version
        )
    today = clock().date()
    criteria = CriteriaEngine([rule], today=today)
    ref = f"rule:{rule_id}:{version}"
    bookings = travellers = unreadable = hits_new = refreshed = suppressed = 0
    errors: dict[str, int] = {}
    after = ""
    while criteria.compiled:
        now = clock()
        with engine.begin() as conn:
            repo = BookingRepository(conn, keystore, now=now)
            page = repo.active_refs(after=after, limit=batch_size, departing_from=today)
            if not page:
                break
            readable = repo.get_many(page)
            unreadable += len(page) - len(readable)
            digest = _PersonDigest(conn, keystore, now)
            proposed: list[HitRecord] = []
            screened: list[str] = []
            batch_travellers = 0
            for booking_id, booking_version in page:
                b = readable.get(booking_id)
                if b is None:
                    continue
                screened.append(booking_id)
                pairs = _travellers(b)
                batch_travellers += len(pairs)
                proposed += _rule_hits(
                    criteria, b, pairs, booking_id=booking_id, booking_version=booking_version,
                    digest=digest, errors=errors, now=now,
                )  # fmt: skip
            recorded = _record(conn, proposed)
            new_ids = [h.id for h in recorded.new]
            _append_chunked(
                _audit_for(audit, conn), actor=actor, role=role, operation=Operation.COMBINATION,
                purpose=rule.purpose, record_ids=screened + new_ids, reference=ref,
                counts={
                    "bookings.screened": len(screened), "travellers.screened": batch_travellers,
                    "hits.new": len(new_ids), "hits.refreshed": recorded.refreshed,
                    "hits.suppressed": recorded.suppressed,
                },
            )  # fmt: skip
            bookings += len(screened)
            travellers += batch_travellers
            hits_new += len(new_ids)
            refreshed += recorded.refreshed
            suppressed += recorded.suppressed
        after = page[-1][0]
        if len(page) < batch_size:
            break
    return RuleRescreenResult(
        rule_id=rule_id, version=version, bookings=bookings, travellers=travellers,
        unreadable=unreadable, hits_new=hits_new, hits_refreshed=refreshed, suppressed=suppressed,
        errors=sum(errors.values()), seconds=time.perf_counter() - started,
    )  # fmt: skip


def list_rules(*, engine: Engine) -> list[Rule]:
    """The current version of every rule."""
    with engine.connect() as conn:
        return store.latest_rules(conn)


@dataclass(frozen=True, slots=True)
class RuleStatistics:
    """One rule's figures for its periodic review (hits over all its versions)."""

    rule: Rule
    active: bool
    needs_review: bool
    hits: int
    open: int
    confirmed: int
    dismissed: int

    @property
    def confirmed_rate(self) -> float | None:
        """Confirmed among decided hits: a low rate is a rule producing false positives."""
        decided = self.confirmed + self.dismissed
        return self.confirmed / decided if decided else None


def rule_statistics(today: dt.date, *, engine: Engine) -> list[RuleStatistics]:
    """Per rule: hits, open, confirmed, dismissed, whether it runs and whether its review is
    due (expired rules are listed too: their history is what the review looks at)."""
    with engine.connect() as conn:
        rules = store.latest_rules(conn)
        counts = store.rule_hit_counts(conn)
    out: list[RuleStatistics] = []
    for r in rules:
        c = counts.get(r.rule_id, Counter())
        out.append(
            RuleStatistics(
                rule=r,
                active=r.is_active(today),
                needs_review=r.needs_review(today),
                hits=sum(c.values()),
                open=c[HitStatus.OPEN.value],
                confirmed=c[HitStatus.CONFIRMED.value],
                dismissed=c[HitStatus.DISMISSED.value],
            )
        )
    return out
