"""Annex I minimisation: every model field has an element, bookings hold nothing else, and
what readers dropped is counted for the audit log by tag only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
from collections import Counter
from dataclasses import dataclass

import pytest

from pnrguard.domain import model
from pnrguard.domain.annex import FIELD_ELEMENTS, Element
from pnrguard.domain.model import (
    Address,
    Agency,
    Bag,
    Booking,
    CheckIn,
    Contact,
    Document,
    FrequentFlyer,
    HistoryEntry,
    Leg,
    Payment,
    Remark,
    Seat,
    ServiceRequest,
    Ticket,
    Traveller,
)
from pnrguard.formats.result import ReadResult
from pnrguard.protection.minimise import (
    AnnexViolation,
    assert_annex_only,
    minimisation_counts,
    unmapped_fields,
)
from pure_build import NO_SUBCLASS, compiled

pytestmark = pytest.mark.unit


def _model_dataclasses() -> list[type]:
    return [
        cls
        for _, cls in inspect.getmembers(model, inspect.isclass)
        if dataclasses.is_dataclass(cls) and cls.__module__ == model.__name__
    ]


def test_every_field_of_every_model_dataclass_has_an_annex_element() -> None:
    classes = _model_dataclasses()
    assert len(classes) >= 16
    missing = [
        f"{cls.__name__}.{f.name}"
        for cls in classes
        for f in dataclasses.fields(cls)
        if (cls.__name__, f.name) not in FIELD_ELEMENTS
    ]
    assert missing == [], f"add these to domain/annex.py FIELD_ELEMENTS: {missing}"
    assert unmapped_fields() == []


def test_the_annex_map_names_no_field_the_model_lacks() -> None:
    fields = {(cls.__name__, f.name) for cls in _model_dataclasses() for f in dataclasses.fields(cls)}
    assert set(FIELD_ELEMENTS) - fields == set()
    assert set(FIELD_ELEMENTS.values()) >= set(Element) - {Element.DATES_OF_TRAVEL}  # derived


def _full_booking() -> Booking:
    when = dt.datetime(2024, 3, 1, 10, 30)
    leg = Leg("XX", "1", "AAA", "BBB", when, when, "Y", "HK", 2, "YY", "2", "320")
    traveller = Traveller(
        ref="1",
        surname="DOE",
        documents=[Document("P", "X1", "GBR", dt.date(2030, 1, 1), date_of_birth=dt.date(1980, 1, 1))],
        addresses=[Address(kind="R", city="C")],
        frequent_flyers=[FrequentFlyer("XX", "123")],
    )
    return Booking(
        carrier="XX",
        locator="ABC123",
        created=when,
        ticketed=dt.date(2024, 2, 1),
        reported_flight=leg,
        travellers=[traveller],
        itinerary=[leg],
        addresses=[Address(street="S")],
        contacts=[Contact("email", "x@example.org", "1")],
        payments=[Payment(form="CC", billing_address=Address(city="B"))],
        agency=Agency(iata_number="123"),
        check_ins=[CheckIn("1", 0, "CKIN", when)],
        split_from=["DEF456"],
        remarks=[Remark("RMK", "OK")],
        tickets=[Ticket("123", "1", one_way=True)],
        seats=[Seat("12A", "1", 0)],
        bags=[Bag("1", 0, 1, tag_numbers=["0001"])],
        service_requests=[ServiceRequest("VGML")],
        party_size=1,
        history=[HistoryEntry("CHG")],
    )


COMPILED_MODEL = compiled("pnrguard.domain.model")


def test_a_booking_built_from_the_model_passes() -> None:
    assert_annex_only(_full_booking())
    assert_annex_only(Booking())


@dataclass(slots=True)
class _LeakyTraveller(Traveller):
    religion: str = ""


@pytest.mark.skipif(COMPILED_MODEL, reason=NO_SUBCLASS)
def test_a_subclass_that_grew_a_field_is_refused() -> None:
    booking = _full_booking()
    booking.travellers.append(_LeakyTraveller(ref="2", religion="SECRET"))
    with pytest.raises(AnnexViolation) as err:
        assert_annex_only(booking)
    assert "SECRET" not in str(err.value)


@pytest.mark.parametrize(
    "smuggle",
    [
        lambda b: setattr(b, "locator", {"raw": "SEGMENT"}),
        lambda b: b.remarks.append(("RMK", "SEGMENT")),
        lambda b: setattr(b.travellers[0], "documents", [["SEGMENT"]]),
        lambda b: setattr(b, "agency", object()),
    ],
)
def test_values_of_foreign_types_are_refused(smuggle: object) -> None:
    booking = _full_booking()
    try:
        smuggle(booking)  # type: ignore[operator]
    except TypeError:  # the compiled model (make compile) refuses it at assignment already
        assert COMPILED_MODEL
        return
    with pytest.raises(AnnexViolation) as err:
        assert_annex_only(booking)
    assert "SEGMENT" not in str(err.value)


def test_minimisation_counts_are_audit_keys_by_tag_only() -> None:
    result = ReadResult(
        message_type="PNRGOV",
        version="13.1",
        bookings=[],
        unknown_segments=Counter({"EBD": 2, "XYZ": 1, "LT": 3, "ZZ0": 0, "bad tag": 4, "O'B": 1}),
    )
    assert minimisation_counts(result) == {
        "dropped.segment.ebd": 2,
        "dropped.segment.invalid": 5,
        "dropped.segment.lt": 3,
        "dropped.segment.xyz": 1,
    }


def test_nothing_dropped_gives_no_counts() -> None:
    assert minimisation_counts(ReadResult("PAXLST", "02B", [])) == {}
