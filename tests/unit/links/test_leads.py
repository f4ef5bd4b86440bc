"""Financing leads: which payment patterns raise a lead, and which ordinary ones do not."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.links.leads import (
    LeadKind,
    PaymentUse,
    card_many_unrelated,
    card_of_confirmed,
    cash_on_route,
)

pytestmark = pytest.mark.unit

D = dt.date(2026, 5, 10)


def use(person: str, *, card: bytes | None = b"card-1", surname: str = "", booked_days_before: int = 1,
        departure: dt.date = D, booking: str = "", form: str = "CC", route: tuple[str, str] = ("IST", "FRA"),
        third_party: bool = False) -> PaymentUse:  # fmt: skip
    return PaymentUse(
        person=person, booking_id=booking or f"b-{person}", form=form, card=card,
        booked=departure - dt.timedelta(days=booked_days_before), departure=departure, route=route,
        surnames=frozenset({(surname or person).encode()}), third_party=third_party,
    )  # fmt: skip


def test_one_card_for_three_unrelated_late_bookings_is_a_lead() -> None:
    later = [D + dt.timedelta(days=4), D + dt.timedelta(days=9)]
    uses = [use("p1"), use("p2", departure=later[0]), use("p3", departure=later[1])]
    [lead] = card_many_unrelated(uses)
    assert lead.kind is LeadKind.CARD_MANY_UNRELATED
    assert lead.persons == ("p1", "p2", "p3")
    assert (lead.first, lead.last) == (D, D + dt.timedelta(days=9))
    assert "3 unrelated travellers" in lead.summary


def test_families_early_bookings_and_spread_out_trips_are_not_leads() -> None:
    family = [use("p1", surname="ROSSI"), use("p2", surname="ROSSI"), use("p3", surname="ROSSI")]
    early = [use(f"p{i}", booked_days_before=40) for i in range(5)]
    spread = [use(f"p{i}", departure=D + dt.timedelta(days=45 * i)) for i in range(5)]
    one_booking = [use(f"p{i}", booking="b-group") for i in range(5)]
    for uses in (family, early, spread, one_booking):
        assert card_many_unrelated(uses) == []


ROWS = st.tuples(st.sampled_from(["p1", "p2", "p3", "p4", "p5"]), st.integers(0, 60), st.integers(0, 10))


@given(st.lists(ROWS, max_size=20))
def test_a_lead_always_holds_what_it_claims(rows: list[tuple[str, int, int]]) -> None:
    uses = [use(p, departure=D + dt.timedelta(days=d), booked_days_before=b, booking=f"b{i}")
            for i, (p, d, b) in enumerate(rows)]  # fmt: skip
    for lead in card_many_unrelated(uses, min_travellers=3, late_days=3, window_days=30):
        assert len(lead.persons) >= 3
        assert lead.first is not None
        assert lead.last is not None
        assert (lead.last - lead.first).days <= 30


def test_a_card_of_a_confirmed_hit_paying_for_others() -> None:
    uses = [use("hit-person", card=b"c9"), use("other", card=b"c9"), use("stranger", card=b"c7")]
    [lead] = card_of_confirmed(uses, ["hit-person"])
    assert lead.persons == ("hit-person", "other")
    assert card_of_confirmed([use("hit-person", card=b"c9")], ["hit-person"]) == []


def test_cash_clustered_on_a_route_named_in_a_criterion() -> None:
    cash = [use(f"p{i}", card=None, form="CA", departure=D + dt.timedelta(days=i)) for i in range(5)]
    [lead] = cash_on_route(cash, [("IST", "FRA")])
    assert (lead.kind, lead.route, len(lead.bookings)) == (LeadKind.CASH_ON_ROUTE, ("IST", "FRA"), 5)
    assert cash_on_route(cash, [("CDG", "JFK")]) == []  # a route no criterion names
    by_card = [use(f"p{i}", departure=D + dt.timedelta(days=i)) for i in range(5)]
    assert cash_on_route(by_card, [("IST", "FRA")]) == []
    third = [use(f"p{i}", third_party=True, departure=D + dt.timedelta(days=i)) for i in range(5)]
    assert len(cash_on_route(third, [("IST", "FRA")])) == 1
