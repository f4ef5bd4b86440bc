"""The pure retention rules: calendar months and what is due when, per profile."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.protection.retention import (
    EU_2016_681,
    EU_2016_681_STRICT,
    EU_US_2012,
    Action,
    RetentionProfile,
    due,
    get_profile,
    months_before,
)

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 8, 31, 12, 0, tzinfo=dt.UTC)


def test_months_are_calendar_months_with_clamped_days() -> None:
    assert months_before(NOW, 6) == dt.datetime(2026, 2, 28, 12, 0, tzinfo=dt.UTC)
    assert months_before(dt.datetime(2028, 8, 31, tzinfo=dt.UTC), 6) == dt.datetime(
        2028, 2, 29, tzinfo=dt.UTC
    )
    assert months_before(NOW, 60) == dt.datetime(2021, 8, 31, 12, 0, tzinfo=dt.UTC)
    assert months_before(NOW, 0) == NOW


@given(
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)), st.integers(0, 240)
)
def test_months_before_is_monotonic_and_close(at: dt.datetime, months: int) -> None:
    at = at.replace(tzinfo=dt.UTC)
    back = months_before(at, months)
    assert back <= at
    assert abs((at - back).days - months * 30.44) <= 3 + months * 0.01 + 1


def _due(profile: RetentionProfile, age: dt.timedelta, **kw: object) -> Action | None:
    args: dict[str, object] = {"state": "active", "dormant": False, "linked": False}
    args.update(kw)
    return due(profile, first_seen=NOW - age, now=NOW, **args)  # type: ignore[arg-type]


def test_eu_profile_masks_at_six_months_and_deletes_at_five_years() -> None:
    six = NOW - months_before(NOW, 6)
    assert _due(EU_2016_681, six - dt.timedelta(seconds=1)) is None
    assert _due(EU_2016_681, six) is Action.MASK
    assert _due(EU_2016_681, six, state="masked") is None
    five = NOW - months_before(NOW, 60)
    assert _due(EU_2016_681, five - dt.timedelta(days=1), state="masked") is None
    assert _due(EU_2016_681, five, state="masked") is Action.DELETE
    assert _due(EU_2016_681, five, state="active") is Action.DELETE  # straight to deletion
    assert _due(EU_2016_681, five * 3, state="deleted") is None


def test_c817_option_deletes_unlinked_at_six_months_and_keeps_linked() -> None:
    six = NOW - months_before(NOW, 6)
    assert _due(EU_2016_681_STRICT, six, linked=False) is Action.DELETE
    assert _due(EU_2016_681_STRICT, six, linked=True) is Action.MASK
    assert _due(EU_2016_681, six, linked=False) is Action.MASK  # the looser profile masks all
    assert get_profile("eu-2016-681", delete_unlinked_at_mask=True).delete_unlinked_at_mask


def test_eu_us_profile_goes_dormant_at_five_and_is_deleted_at_ten_years() -> None:
    five = NOW - months_before(NOW, 60)
    ten = NOW - months_before(NOW, 120)
    assert _due(EU_US_2012, five - dt.timedelta(days=1), state="masked") is None
    assert _due(EU_US_2012, five, state="masked") is Action.DORMANT
    assert _due(EU_US_2012, five, state="active") is Action.DORMANT
    assert _due(EU_US_2012, five, state="masked", dormant=True) is None
    assert _due(EU_US_2012, ten - dt.timedelta(days=1), state="masked", dormant=True) is None
    assert _due(EU_US_2012, ten, state="masked", dormant=True) is Action.DELETE


def test_profiles_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="masks before"):
        RetentionProfile(name="x", description="", mask_after_months=70, delete_after_months=60)
    with pytest.raises(ValueError, match="dormancy"):
        RetentionProfile(name="x", description="", dormant_after_months=60, delete_after_months=60)
    with pytest.raises(ValueError, match="unknown retention profile"):
        get_profile("nope")
