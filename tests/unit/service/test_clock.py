from __future__ import annotations

import datetime as dt

import pytest

from pnrguard.service.clock import FixedClock, SystemClock


def test_fixed_clock_is_utc_and_advances() -> None:
    clock = FixedClock(dt.datetime(2026, 1, 1, 13, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    assert clock.now() == dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    clock.advance(dt.timedelta(days=1))
    assert clock() == dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(dt.datetime(2026, 1, 1))  # the naive value is the point


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().utcoffset() == dt.timedelta(0)
