"""Pre-determined criteria: only the criteria view is visible, expired rules never run."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.audit.models import Purpose
from pnrguard.domain.model import (
    Booking,
    Document,
    FrequentFlyer,
    Leg,
    Payment,
    Remark,
    Ticket,
    Traveller,
    TravellerType,
)
from pnrguard.screening.criteria import CriteriaEngine, CriteriaError, Rule, compile_rule
from pnrguard.screening.criteria_view import VIEW_FIELDS, criteria_views

TODAY = dt.date(2026, 11, 25)


def rule(expression: str, **kw: object) -> Rule:
    fields: dict[str, object] = {
        "rule_id": "r1",
        "version": 1,
        "name": "one-way cash",
        "expression": expression,
        "purpose": Purpose.ILLICIT_TRAFFICKING_IN_DRUGS,
        "owner": "analyst.one",
        "review_date": TODAY + dt.timedelta(days=90),
        "expires": TODAY + dt.timedelta(days=365),
    }
    fields.update(kw)
    return Rule(**fields)  # type: ignore[arg-type]


def booking(*, form: str = "CA", one_way: bool = True, created_days_before: int = 1) -> Booking:
    dep = dt.datetime(2026, 12, 1, 9, 15)
    return Booking(
        carrier="DL",
        locator="ABC123",
        created=dep - dt.timedelta(days=created_days_before),
        itinerary=[Leg(carrier="DL", flight_number="324", origin="LHR", destination="JFK", departure=dep)],
        travellers=[
            Traveller(
                ref="1",
                surname="SMITH",
                given_names="JOHN",
                nationality="GBR",
                gender="M",
                date_of_birth=dt.date(1964, 7, 12),
                documents=[Document(doc_type="P", number="123456789", nationality="GBR")],
                frequent_flyers=[FrequentFlyer(airline="DL", number="1234567890")],
            ),
            Traveller(
                ref="2",
                surname="SMITH",
                given_names="ANNA",
                traveller_type=TravellerType.INFANT,
                accompanied_by_ref="1",
            ),
        ],
        payments=[Payment(form=form)],
        tickets=[Ticket(number="0062120234533", traveller_ref="1", one_way=one_way)],
        remarks=[Remark(kind="OSI", text="THIS PASSENGER IS A VIP")],
    )


ONE_WAY_CASH = "booking.one_way && 'CA' in booking.payment_forms && booking.days_booked_before_departure <= 2"


def test_a_rule_hits_matching_travellers_and_names_its_purpose() -> None:
    engine = CriteriaEngine([rule(ONE_WAY_CASH)], today=TODAY)
    run = engine.run(booking())
    assert [(h.rule_id, h.traveller_ref, h.purpose) for h in run.hits] == [
        ("r1", "1", Purpose.ILLICIT_TRAFFICKING_IN_DRUGS),
        ("r1", "2", Purpose.ILLICIT_TRAFFICKING_IN_DRUGS),
    ]


@pytest.mark.parametrize(
    "changed",
    [booking(form="CC"), booking(one_way=False), booking(created_days_before=30)],
)
def test_a_rule_does_not_hit_when_one_condition_fails(changed: Booking) -> None:
    assert CriteriaEngine([rule(ONE_WAY_CASH)], today=TODAY).run(changed).hits == []


def test_traveller_level_conditions_select_travellers() -> None:
    r = rule("traveller.type == 'A' && traveller.with_infant && traveller.has_frequent_flyer")
    run = CriteriaEngine([r], today=TODAY).run(booking())
    assert [h.traveller_ref for h in run.hits] == ["1"]


def test_itinerary_uses_countries_and_utc_departure() -> None:
    r = rule(
        "itinerary.exists(l, l.origin_country == 'GB' && l.destination_country == 'US'"
        " && l.departure == timestamp('2026-12-01T09:15:00Z'))"
    )
    # 09:15 at LHR on 1 December is 09:15 UTC (no summer time).
    assert len(CriteriaEngine([r], today=TODAY).run(booking()).hits) == 2


@pytest.mark.parametrize(
    "expression",
    [
        "traveller.surname == 'SMITH'",  # names are masked data
        "traveller.nationality == 'GBR'",  # discriminatory
        "traveller.gender == 'M'",
        "traveller.date_of_birth < timestamp('1970-01-01T00:00:00Z')",
        "booking.remarks.exists(r, r.text.contains('VIP'))",
        "booking.contacts.size() > 0",
        "booking.locator == 'ABC123'",
        "itinerary.exists(l, l.meal == 'MOML')",
        "size(documents) > 0",
    ],
)
def test_rules_cannot_name_data_outside_the_view(expression: str) -> None:
    with pytest.raises(CriteriaError, match="not in the criteria view"):
        compile_rule(rule(expression))


def test_view_holds_no_personal_or_sensitive_value() -> None:
    b = booking()
    for _ref, view in criteria_views(b):
        flat = repr(view)
        for secret in ("SMITH", "JOHN", "ANNA", "GBR", "123456789", "1234567890", "VIP", "1964"):
            assert secret not in flat
        assert set(view["booking"]) == set(VIEW_FIELDS["booking"])
        assert set(view["traveller"]) == set(VIEW_FIELDS["traveller"])


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("booking.one_way &&", "not valid CEL"),
        ("booking.traveller_count + 1", "true or false"),
        ("booking.traveller_count + 1.5 > 1", "incompatible types"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(expression: str, reason: str) -> None:
    with pytest.raises(CriteriaError, match=reason):
        compile_rule(rule(expression))


def test_a_criterion_must_serve_an_offence() -> None:
    with pytest.raises(CriteriaError, match="Annex II"):
        compile_rule(rule("true", purpose=Purpose.INGEST))


def test_expired_and_disabled_rules_do_not_run() -> None:
    expired = rule(ONE_WAY_CASH, rule_id="old", review_date=TODAY - dt.timedelta(days=10), expires=TODAY)
    disabled = rule(ONE_WAY_CASH, rule_id="off", enabled=False)
    live = rule(ONE_WAY_CASH, rule_id="live")
    engine = CriteriaEngine([expired, disabled, live], today=TODAY)
    assert [r.rule_id for r in engine.rules] == ["live"]
    assert {h.rule_id for h in engine.run(booking()).hits} == {"live"}


def test_review_due_is_reported_without_stopping_the_rule() -> None:
    r = rule(ONE_WAY_CASH, review_date=TODAY)
    assert r.needs_review(TODAY)
    assert CriteriaEngine([r], today=TODAY).run(booking()).hits


def test_data_dependent_errors_are_counted_not_hits() -> None:
    r = rule("itinerary.all(l, l.departure > timestamp('2026-01-01T00:00:00Z'))")
    b = booking()
    b.itinerary[0].departure = None
    run = CriteriaEngine([r], today=TODAY).run(b)
    assert run.hits == []
    assert run.errors == {"r1": 2}


@given(
    form=st.sampled_from(["CA", "CC", "MS", ""]),
    one_way=st.booleans(),
    days=st.integers(min_value=0, max_value=400),
)
def test_engine_agrees_with_the_rule_written_in_python(form: str, one_way: bool, days: int) -> None:
    b = booking(form=form, one_way=one_way, created_days_before=days)
    hit = bool(CriteriaEngine([rule(ONE_WAY_CASH)], today=TODAY).run(b).hits)
    assert hit == (one_way and form == "CA" and days <= 2)
