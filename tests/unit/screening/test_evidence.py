"""Rule-hit evidence: each condition of a criterion, whether it held, and what it read."""

from __future__ import annotations

import datetime as dt

import cel
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.screening.criteria_view import sample_view
from pnrguard.screening.evidence import explain, split_conditions

pytestmark = pytest.mark.unit


def test_each_condition_with_its_values() -> None:
    view = sample_view()
    view["booking"]["payment_forms"] = ["CA"]
    view["booking"]["one_way"] = True
    view["booking"]["days_booked_before_departure"] = 9
    op, conditions = explain(
        'booking.one_way && "CA" in booking.payment_forms && booking.days_booked_before_departure < 3',
        view,
    )
    assert op == "&&"
    assert [c.held for c in conditions] == [True, True, False]
    assert conditions[0].values == (("booking.one_way", "true"),)
    assert conditions[1].values == (("booking.payment_forms", "CA"),)
    assert conditions[2].values == (("booking.days_booked_before_departure", "9"),)


def test_loop_variables_show_the_itinerary_values() -> None:
    view = sample_view()
    leg = view["itinerary"][0]
    view["itinerary"] = [dict(leg, origin_country="TR"), dict(leg, origin_country="SY")]
    _, [cond] = explain('itinerary.exists(l, l.origin_country == "SY")', view)
    assert cond.held is True
    assert cond.values == (("itinerary.origin_country", "TR, SY"),)


def test_strings_and_parentheses_do_not_split() -> None:
    expr = '(booking.carrier == "X&&Y" || booking.carrier == "Z") && traveller.type == "A"'
    op, parts = split_conditions(expr)
    assert op == "&&"
    assert parts == ['(booking.carrier == "X&&Y" || booking.carrier == "Z")', 'traveller.type == "A"']
    # Mixed operators at the top level: precedence decides, so it is one condition.
    assert split_conditions("a && b || c") == ("", ["a && b || c"])


def test_a_condition_that_cannot_be_evaluated_is_shown_as_unknown() -> None:
    view = sample_view()
    view["itinerary"][0]["departure"] = None
    _, [cond] = explain("itinerary[0].departure < timestamp('2030-01-01T00:00:00Z')", view)
    assert cond.held is None
    _, [hidden] = explain('traveller.nationality == "SY"', view)  # not in the view: never evaluated
    assert hidden.held is None
    assert hidden.values == ()


CONDITIONS = ["booking.one_way", "!booking.split", "traveller.checked_in", 'booking.carrier == "XX"',
              "booking.bag_count > 0", "booking.leg_count > 3"]


@given(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=5))
def test_a_conjunction_holds_exactly_when_every_condition_holds(parts: list[str]) -> None:
    view = sample_view()
    view["booking"]["created"] = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    _, conditions = explain(" && ".join(parts), view)
    assert len(conditions) == len(parts)
    whole = cel.compile(" && ".join(parts)).execute(cel.Context(variables=view))
    assert whole == all(c.held for c in conditions)
