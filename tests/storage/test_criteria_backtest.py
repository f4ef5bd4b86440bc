"""Back-testing a draft criterion on SQLite and PostgreSQL: the counts equal what the rule
would match booking by booking, only the window's flights count, and nothing is flagged."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.audit.models import Operation, Purpose
from pnrguard.errors import InputError
from pnrguard.formats.synth import generate
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.screening.criteria import CriteriaEngine, CriteriaError, Rule
from pnrguard.service.clock import FixedClock
from pnrguard.service.criteria_backtest import backtest
from pnrguard.service.ingest import ingest
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.repository import BookingRepository
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SENSITIVE = SensitiveFilter.load()


class Node:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.keystore = InMemoryKeyStore()
        self.clock = FixedClock(NOW)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="test.invalid/piu", clock=self.clock)


@pytest.fixture
def node(engine: Engine) -> Node:
    n = Node(engine)
    # Flights 40 days ago (outside a 30-day window) and 5 days ago (inside).
    for base in (NOW.date() - dt.timedelta(days=40), NOW.date() - dt.timedelta(days=5)):
        for push in generate(3, flights=2, passengers_per_flight=(20, 40), base_date=base):
            ingest(push.pnrgov.encode(), engine=engine, keystore=n.keystore, audit=n.audit,
                   sensitive_filter=SENSITIVE, clock=n.clock)  # fmt: skip
    return n


def _rule(expression: str) -> Rule:
    return Rule(
        rule_id="draft-1", version=0, name="draft", expression=expression,
        purpose=Purpose.ILLICIT_TRAFFICKING_IN_DRUGS, owner="unit-drugs",
        review_date=dt.date(2026, 6, 1), expires=dt.date(2026, 12, 31), enabled=False,
    )  # fmt: skip


def _expected(node: Node, rule: Rule, since: dt.date) -> tuple[int, Counter[dt.date]]:
    """What the rule matches, booking by booking through the ordinary read path."""
    engine = CriteriaEngine([dataclasses.replace(rule, enabled=True)], today=NOW.date())
    travellers = 0
    per_day: Counter[dt.date] = Counter()
    with node.engine.connect() as conn:
        repo = BookingRepository(conn, node.keystore)
        ids = conn.execute(select(booking.c.id).where(booking.c.flight_date >= since)).scalars()
        for bid in ids:
            b = repo.get(bid)
            travellers += len(b.travellers)
            leg = b.reported_flight or b.itinerary[0]
            assert leg.departure is not None
            per_day[leg.departure.date()] += len({h.traveller_ref for h in engine.run(b).hits})
    return travellers, +per_day


def test_counts_equal_the_rule_run_booking_by_booking(node: Node) -> None:
    rule = _rule('traveller.type == "A" && booking.traveller_count >= 2')
    result = backtest(rule, days=30, engine=node.engine, keystore=node.keystore, audit=node.audit,
                      clock=node.clock, actor="sup-1", role="supervisor")  # fmt: skip
    travellers, per_day = _expected(node, rule, result.since)
    assert result.matched_travellers > 0
    assert result.travellers == travellers
    assert dict(result.per_day) == dict(per_day)
    assert sum(n for _, _, n in result.per_flight) == result.matched_travellers
    # The 40-day-old flights are outside the window: a longer window sees more bookings.
    longer = backtest(rule, days=60, engine=node.engine, keystore=node.keystore, audit=node.audit,
                      clock=node.clock, actor="sup-1", role="supervisor")  # fmt: skip
    assert longer.bookings > result.bookings
    assert min(d for d, _ in longer.per_day) < result.since


def test_a_backtest_flags_no_one_and_logs_counts_only(node: Node) -> None:
    backtest(_rule('traveller.type == "A"'), days=30, engine=node.engine, keystore=node.keystore,
             audit=node.audit, clock=node.clock, actor="sup-1", role="supervisor")  # fmt: skip
    with node.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(hit)).scalar_one() == 0
        booking_ids = set(conn.execute(select(booking.c.id)).scalars())
        [entry] = SqlAuditLog(conn, origin="test.invalid/piu").entries(operation=Operation.COMBINATION)
    assert entry.actor == "sup-1"
    assert entry.purpose is Purpose.ILLICIT_TRAFFICKING_IN_DRUGS
    assert not booking_ids & set(entry.record_ids)
    assert entry.counts["travellers.matched"] > 0


def test_a_rule_on_a_field_outside_the_view_is_refused_by_name(node: Node) -> None:
    with pytest.raises(CriteriaError, match=r"traveller\.nationality"):
        backtest(_rule('traveller.nationality == "SY"'), days=30, engine=node.engine, keystore=node.keystore,
                 audit=node.audit, clock=node.clock, actor="sup-1", role="supervisor")  # fmt: skip
    with pytest.raises(InputError):
        backtest(_rule('traveller.type == "A"'), days=400, engine=node.engine, keystore=node.keystore,
                 audit=node.audit, clock=node.clock, actor="sup-1", role="supervisor")  # fmt: skip
