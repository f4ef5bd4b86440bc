"""Two of three names and the exact date of birth are a hit even when the given name that
matched is common on the list (issue 14: "exact agreement able to lift a two-of-three name
match"); without the date, or with another year, the namesake is spared."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pnrguard.screening.models import PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener

pytestmark = pytest.mark.unit

DOB = dt.date(1975, 3, 4)
# KARIM and OMAR in many listed names (common on this list), each beside its own surname.
FILLERS = [
    WatchlistEntry(f"F{i}", "t", f"{given} {a}{b}{c}ENKO", dobs=(PartialDate(1950 + i % 30),))
    for i, (given, (a, b, c)) in enumerate(
        zip(itertools.cycle(["Karim", "Omar"]), itertools.product("BDFGKLMPRT", "AEIOU", "VWXZ")),
    )
][:60]
LISTED = [
    WatchlistEntry("NA", "t", "Karim Abdel NASSAR", dobs=(PartialDate(1975, 3, 4),)),
    WatchlistEntry("NB", "t", "Omar Khalid BARAKAT", dobs=(PartialDate(1970, 5, 6),)),
]


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.build(FILLERS + LISTED)


def hit(screener: Screener, surname: str, given: str, dob: dt.date | None) -> str | None:
    for c in screener.screen(PersonQuery("q", surname, given, dob=dob), threshold=DEFAULT_THRESHOLD):
        if c.entity_id in ("NA", "NB"):
            return c.explanation
    return None


def test_two_of_three_names_and_the_exact_date_hit(screener: Screener) -> None:
    why = hit(screener, "NASSAR", "KARIM YOUSSEF", DOB)
    assert why is not None
    assert "one distinctive name matched, 1 listed not, but the exact DOB agrees (+0.00)" in why
    assert hit(screener, "BARAKAT", "OMAR HASSAN", dt.date(1970, 5, 6)) is not None


def test_the_namesake_without_the_date_is_spared(screener: Screener) -> None:
    assert hit(screener, "NASSAR", "KARIM YOUSSEF", None) is None
    assert hit(screener, "NASSAR", "KARIM YOUSSEF", dt.date(1981, 3, 4)) is None  # another year
    assert hit(screener, "NASSAR", "KARIM YOUSSEF", dt.date(1975, 9, 20)) is None  # another day
    assert hit(screener, "NASSAR", "KARIM YOUSSEF", dt.date(1975, 1, 1)) is None  # the year only


_NAMES = st.text(alphabet="BCDFGHJKLMNPRSTVZ", min_size=3, max_size=3).map(lambda s: f"{s[0]}A{s[1]}I{s[2]}O")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(surname=_NAMES, extra=_NAMES, day=st.dates(dt.date(1940, 1, 1), dt.date(2005, 12, 31)))
def test_the_exact_date_decides_for_any_distinctive_surname(
    screener: Screener, surname: str, extra: str, day: dt.date
) -> None:
    """Whatever the distinctive surname and the third name, two of three names plus the exact
    date are proposed, and the same names with a date of another year are not."""
    assume(extra != surname and (day.month, day.day) != (1, 1))  # 1 January counts as a year
    listed_dob = PartialDate(day.year, day.month, day.day)
    entry = WatchlistEntry("S", "t", f"Karim Abdel {surname}", dobs=(listed_dob,))
    listed = Screener.build([*FILLERS, entry])
    query = PersonQuery("q", surname, f"KARIM {extra}", dob=day)
    assert "S" in {c.entity_id for c in listed.screen(query)}
    five_years_off = dt.date(day.year - 5, day.month, min(day.day, 28))
    other = PersonQuery("q", surname, f"KARIM {extra}", dob=five_years_off)
    assert "S" not in {c.entity_id for c in listed.screen(other)}
