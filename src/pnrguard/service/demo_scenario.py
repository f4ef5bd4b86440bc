"""What `pnrguard demo` stages on top of the synthetic traffic, so every role's day shows.

The traffic is dated from today (flights in the coming days: an upcoming-departure queue).
On top of it, each piece a role would otherwise wait months for:

- **the past**: a smaller batch of flights received seven months ago (ingested under a clock
  set back to then), masked by a retention run under the Directive's own profile (masking
  at six months, Art. 12(2)); the C-817/19 default would delete the unlinked ones instead;
- **a criterion**: an enabled pre-determined criterion, run over the stored bookings of
  flights not yet departed, so rule hits sit in the queue beside the watchlist's;
- **a judge's queue**: a pending, reasoned unmasking request by the demo analyst naming
  masked bookings (those with hits first).

Each step is idempotent: a second `pnrguard demo` adds nothing it already added.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from pnrguard.audit.models import Purpose
from pnrguard.protection.retention import EU_2016_681
from pnrguard.screening.criteria import Rule
from pnrguard.service import screening
from pnrguard.service.accounts import get_account
from pnrguard.service.bootstrap import Node
from pnrguard.service.clock import Clock, FixedClock
from pnrguard.service.retention import run_retention
from pnrguard.service.unmasking import request_unmasking
from pnrguard.store.lifecycle import unmasking_request
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

__all__ = [
    "DEMO_CRITERION",
    "PAST",
    "enable_demo_criterion",
    "ingest_past",
    "mask_the_past",
    "request_demo_unmasking",
]

#: How long ago the past batch was received: beyond the six months after which bookings are masked.
PAST = dt.timedelta(days=214)
#: A criterion an analyst might write: one-way tickets booked within days of departure.
DEMO_CRITERION = "demo-late-one-way"
_REASON = (
    "The traveller's booking pattern matches a late one-way itinerary used by a network under "
    "investigation; the identity is needed to compare it with the case file."
)


def ingest_past(node: Node, files: list[Path]) -> int:
    """Ingest `files` as received `PAST` ago (their flights are dated from then)."""
    then = node.clock() - PAST
    past = Node(node.settings, node.engine, node.keystore, node.sensitive_filter, FixedClock(then))
    accepted = 0
    for path in files:
        result = past.ingest(path.read_bytes(), source_name="file", actor="demo", carriers=None)
        accepted += result.status.value == "accepted"
    return accepted


def mask_the_past(node: Node) -> int:
    """Mask what is older than six months, linked or not (the Directive's profile)."""
    summary = run_retention(
        engine=node.engine, keystore=node.keystore, audit=node.audit, clock=node.clock,
        profile=EU_2016_681, include_quarantine=False, include_audit_log=False,
    )  # fmt: skip
    return summary.masked


def enable_demo_criterion(node: Node, *, owner: str = "supervisor") -> Rule:
    """Save (once) and run the demo's criterion over the stored upcoming flights."""
    today = node.clock().date()
    rule = Rule(
        rule_id=DEMO_CRITERION,
        version=0,
        name="Late one-way booking",
        expression="booking.one_way && booking.days_booked_before_departure >= 0 "
        "&& booking.days_booked_before_departure <= 3",
        purpose=Purpose.ILLICIT_TRAFFICKING_IN_DRUGS,
        owner=owner,
        review_date=today + dt.timedelta(days=90),
        expires=today + dt.timedelta(days=365),
        description="Couriers often buy a one-way ticket days before the flight.",
    )
    existing = [r for r in screening.list_rules(engine=node.engine) if r.rule_id == DEMO_CRITERION]
    if existing:
        return existing[-1]
    return screening.save_rule(
        rule, actor=owner, engine=node.engine, audit=node.audit, clock=node.clock,
        role="supervisor", keystore=node.keystore,
    )  # fmt: skip


def request_demo_unmasking(
    node: Node, *, requester: str = "analyst", clock: Clock | None = None
) -> str | None:
    """A pending unmasking request naming up to two masked bookings (with hits first)."""
    clock = clock or node.clock
    with node.engine.connect() as conn:
        if conn.execute(
            select(func.count()).select_from(unmasking_request).where(unmasking_request.c.status == "pending")
        ).scalar_one():
            return None
        with_hits = select(hit.c.booking_id).join(booking, booking.c.id == hit.c.booking_id)
        masked = list(
            conn.execute(with_hits.where(booking.c.state == "masked").distinct().limit(2)).scalars()
        ) or list(conn.execute(select(booking.c.id).where(booking.c.state == "masked").limit(2)).scalars())
    if not masked:
        return None
    now = clock()
    start = dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC)
    return request_unmasking(
        requester=get_account(node.engine, requester), purpose=Purpose.ILLICIT_TRAFFICKING_IN_DRUGS,
        case_reference="DEMO-2026/41", reason=_REASON, booking_ids=masked, valid_from=start,
        valid_until=start + dt.timedelta(days=14), engine=node.engine, keystore=node.keystore, clock=clock,
    )  # fmt: skip
