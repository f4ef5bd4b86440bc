"""Pure rules of triage: when a suppression ends, how a time to departure reads."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from pnrguard.protection.retention import months_before
from pnrguard.service.hit_queue import countdown
from pnrguard.service.triage import _masked_at

_TIMES = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 12, 31)).map(
    lambda t: t.replace(tzinfo=dt.UTC)
)


@given(_TIMES, st.integers(min_value=1, max_value=120))
def test_a_suppression_ends_exactly_when_the_retention_run_masks_the_booking(
    first_seen: dt.datetime, months: int
) -> None:
    ends = _masked_at(first_seen, months)
    assert months_before(ends, months) >= first_seen  # due at `ends` ...
    assert months_before(ends - dt.timedelta(microseconds=1), months) < first_seen  # ... not before


def test_month_ends_clamp_like_the_retention_run() -> None:
    ends = _masked_at(dt.datetime(2026, 8, 31, 15, 0, tzinfo=dt.UTC), 6)
    assert ends == dt.datetime(2027, 3, 1, tzinfo=dt.UTC)


def test_countdown_reads_as_people_say_it() -> None:
    assert countdown(dt.timedelta(minutes=42)) == "in 42 min"
    assert countdown(dt.timedelta(hours=2, minutes=5)) == "in 2 h 05 min"
    assert countdown(dt.timedelta(hours=30)) == "in 30 h 00 min"
    assert countdown(dt.timedelta(days=3, hours=4)) == "in 3 d 4 h"
    assert countdown(-dt.timedelta(hours=3)) == "departed 3 h 00 min ago"
    assert countdown(None) == ""
