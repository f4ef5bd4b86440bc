"""The Art. 8(3) schedule classes and the content figures of one message (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from edifact_inputs import ADULT, DOCS_ADULT, DOCS_INFANT, pnr
from pnrguard.domain.model import Leg
from pnrguard.formats.reader import read_message
from pnrguard.service.quality import counts_of, push_class

pytestmark = pytest.mark.unit

# FRA is UTC+1 in winter: 12:00 local is 11:00 UTC.
FLIGHT = Leg(
    carrier="LH",
    flight_number="400",
    origin="FRA",
    destination="JFK",
    departure=dt.datetime(2026, 1, 10, 12, 0),
)
DEP_UTC = dt.datetime(2026, 1, 10, 11, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (dt.timedelta(hours=49), "early"),
        (dt.timedelta(hours=48), "window_24_48h"),
        (dt.timedelta(hours=30), "window_24_48h"),
        (dt.timedelta(hours=24), "window_24_48h"),
        (dt.timedelta(hours=23, minutes=59), "between"),
        (dt.timedelta(hours=1, minutes=1), "between"),
        (dt.timedelta(hours=1), "closure"),
        (dt.timedelta(0), "closure"),
        (dt.timedelta(hours=-2), "closure"),
        (dt.timedelta(hours=-2, minutes=-1), "late"),
    ],
)
def test_push_classes_follow_the_schedule_in_the_airports_time(before: dt.timedelta, expected: str) -> None:
    assert push_class(FLIGHT, DEP_UTC - before) == expected


def test_untimed_without_departure_or_known_airport() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert push_class(None, now) == "untimed"
    assert push_class(Leg(origin="FRA"), now) == "untimed"
    assert push_class(Leg(origin="ZZZ", departure=dt.datetime(2026, 1, 2)), now) == "untimed"


def test_content_figures_count_travellers_and_elements_only() -> None:
    result = read_message(pnr(ADULT, DOCS_ADULT, DOCS_INFANT))
    counts = counts_of(result, dt.datetime(2019, 8, 24, 20, 20, tzinfo=dt.UTC))
    assert counts["travellers"] == 2  # the adult and the infant known from its DOCS
    assert counts["travellers.element.18"] == 2  # both have API data
    assert counts["travellers.element.04"] == 2
    assert counts["push.window_24_48h"] == 1  # 26 Aug 12:20 FRA is 10:20 UTC: 38 h later
    assert all(isinstance(v, int) for v in counts.values())
