"""Back-testing a draft criterion: how selective would it be, before it touches anyone?

Why it exists and what it may show (C-817/19, paras 198-201, and Directive 2016/681
Art. 6(4)): pre-determined criteria must be targeted, specific, reliable and regularly
reviewed so that false positives stay few. The only honest way to know a rule's
selectivity before it runs is to count what it would have matched in the stored data.

What keeps that lawful:

- **Numbers only.** The result holds counts per flight and per day; no traveller, booking
  id or hit is produced or stored, so a back-test cannot flag anyone. A person is assessed
  only by a rule that was saved and enabled (`service.screening.save_rule`).
- **The criteria view, nothing else.** Bookings are decrypted in memory, page by page, only
  to build the criteria view (which holds no identity, sensitive or discriminatory field);
  nothing decrypted is kept, shown or logged. Masked bookings are not read at all (only
  active bookings are paged), as for screening.
- **Logged.** Each run is a `combination` under the rule's purpose, with the number of
  bookings and travellers it looked at and the rule's expression digest as reference.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation
from pnrguard.domain.model import reporting_leg
from pnrguard.errors import N_, InputError
from pnrguard.protection.keystore import KeyStore
from pnrguard.screening.criteria import CriteriaEngine, Rule, compile_rule
from pnrguard.store.repository import BookingRepository

__all__ = ["MAX_DAYS", "BacktestResult", "backtest"]

#: The longest look-back: the masking horizon (6 months). Older bookings are masked, and a
#: criterion is tested on data like the data it will see.
MAX_DAYS = 183
_BATCH = 500

Clock = Callable[[], dt.datetime]
AuditFactory = Callable[[Connection], AuditLog]


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """What a draft rule would have matched: aggregates only."""

    days: int
    since: dt.date
    bookings: int
    travellers: int
    matched_travellers: int
    errors: int  # evaluations that failed on the data (a rule to fix)
    per_day: list[tuple[dt.date, int]] = field(default_factory=list)
    per_flight: list[tuple[str, dt.date, int]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Share of travellers matched: the figure a reviewer compares across rules."""
        return self.matched_travellers / self.travellers if self.travellers else 0.0


def backtest(
    rule: Rule,
    *,
    days: int,
    engine: Engine,
    keystore: KeyStore,
    audit: AuditFactory,
    clock: Clock,
    actor: str,
    role: str,
) -> BacktestResult:
    """Run `rule` (saved or not) over the active bookings whose reported flight departs on
    or after `days` days ago (today's and later flights included: those are what it will
    screen). Raises `CriteriaError` for an invalid rule, `InputError` for a bad window."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError(N_("a back-test looks back 1 to %(MAX_DAYS)s days"), MAX_DAYS=MAX_DAYS)
    compile_rule(rule)
    started = time.perf_counter()
    today = clock().date()
    since = today - dt.timedelta(days=days)
    # Validity window and the enabled flag are the draft's business, not the test's.
    probe = dataclasses.replace(rule, enabled=True, expires=dt.date.max)
    criteria = CriteriaEngine([probe], today=today)
    bookings = travellers = errors = 0
    matched: Counter[tuple[str, dt.date]] = Counter()
    after = ""
    with engine.connect() as conn:
        repo = BookingRepository(conn, keystore, now=clock())
        while True:
            page = repo.active_refs(after=after, limit=_BATCH, departing_from=since)
            if not page:
                break
            readable = repo.get_many(page)
            for b in readable.values():
                run = criteria.run(b)
                bookings += 1
                travellers += len(b.travellers)
                errors += sum(run.errors.values())
                leg = reporting_leg(b)
                if leg is None or leg.departure is None:
                    continue
                flight = f"{leg.carrier}{leg.flight_number}"
                matched[(flight, leg.departure.date())] += len({h.traveller_ref for h in run.hits})
            after = page[-1][0]
            if len(page) < _BATCH:
                break
    per_day: Counter[dt.date] = Counter()
    for (_, day), n in matched.items():
        per_day[day] += n
    digest = hashlib.sha256(rule.expression.encode("utf-8")).hexdigest()[:16]
    with engine.begin() as conn:
        audit(conn).append(
            actor=actor, role=role, operation=Operation.COMBINATION, purpose=rule.purpose,
            record_ids=[f"rule:{rule.rule_id}:backtest"], reference=f"backtest:{digest}",
            counts={"bookings.backtested": bookings, "travellers.backtested": travellers,
                    "travellers.matched": sum(matched.values())},
        )  # fmt: skip
    return BacktestResult(
        days=days, since=since, bookings=bookings, travellers=travellers,
        matched_travellers=sum(matched.values()), errors=errors,
        per_day=sorted((d, n) for d, n in per_day.items() if n),
        per_flight=sorted(((f, d, n) for (f, d), n in matched.items() if n),
                          key=lambda x: (-x[2], x[1], x[0])),
        seconds=time.perf_counter() - started,
    )  # fmt: skip
