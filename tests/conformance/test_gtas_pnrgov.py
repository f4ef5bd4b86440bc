"""The GTAS PNRGOV samples (shared/conformance/gtas/pnr-messages-*): all parse, and the facts
below, checked by reading each file, come out right."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pnrguard.domain.model import Booking, TravellerType
from pnrguard.formats.pnrgov import read_pnrgov
from pnrguard.formats.reader import read_message
from pnrguard.formats.result import ReadResult

GTAS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "gtas"
FILES = sorted(GTAS.glob("pnr-messages-*")) if GTAS.is_dir() else []


@pytest.fixture(scope="module")
def gtas() -> Path:
    """The samples live beside the repository (`<repo>/../shared`), as in CI."""
    if not FILES:
        pytest.skip(f"conformance samples not found at {GTAS} (expected <repo>/../shared/conformance)")
    return GTAS


def _read(gtas: Path, name: str) -> ReadResult:
    return read_pnrgov((gtas / name).read_bytes())


def _booking(result: ReadResult, locator: str) -> Booking:
    return next(b for b in result.bookings if b.locator == locator)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_sample_parses(gtas: Path, path: Path) -> None:
    result = read_message(path.read_bytes())
    assert result.message_type == "PNRGOV"
    assert result.bookings
    assert result.flight is not None
    assert result.flight.carrier
    for b in result.bookings:
        assert b.locator
        assert b.travellers
        assert b.reported_flight == result.flight
        assert b.party_size == len(b.travellers)


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("pnr-messages-2_pnrs_basic.edi", [2, 2]),
        ("pnr-messages-3_pnrs.edi", [1, 3, 9]),
        ("pnr-messages-adult_and_infant.edi", [2]),
        ("pnr-messages-codeshare.edi", [1, 1]),
        ("pnr-messages-infant.edi", [2]),
        ("pnr-messages-multiple_flight_leg_pnr.txt", [2]),
        ("pnr-messages-no_pnr_history.edi", [1, 1, 2]),
        ("pnr-messages-pnr1.txt", [2]),
        ("pnr-messages-pnr2.txt", [2]),
        ("pnr-messages-pnr3.txt", [4]),
        ("pnr-messages-pnr4.txt", [1]),
        ("pnr-messages-pnrMessageExample.txt", [5]),
        ("pnr-messages-pnr_split.edi", [2, 1]),
    ],
)
def test_bookings_and_travellers(gtas: Path, name: str, counts: list[int]) -> None:
    assert [len(b.travellers) for b in _read(gtas, name).bookings] == counts


def test_two_pnrs_basic(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-2_pnrs_basic.edi")
    assert result.version == "10.1"
    b = _booking(result, "MFN4TI")
    smith = b.traveller("1")
    assert smith is not None
    assert smith.surname == "SMITHJR"
    assert smith.given_names == "JOHNMR"
    assert smith.documents[0].number == "123456789"  # wrapped over two lines in the file
    assert smith.documents[0].surname == "SMITHJR"
    assert smith.documents[0].date_of_birth == dt.date(1964, 7, 12)
    assert smith.frequent_flyers[0].tier == "ELITE"
    assert [(s.seat, s.traveller_ref, s.leg_index, s.cabin) for s in b.seats][:2] == [
        ("15A", "1", 0, "Y"),  # SSR SEAT confirmed by SSD
        ("15B", "2", 0, ""),
    ]
    assert b.split_from == ["ABCDEF"]
    assert len(b.itinerary) == 2  # the hotel (MSG+8, TVL) is not a flight ...
    assert result.unknown_segments["MSG"] == 1  # ... and is counted, not kept
    assert len(b.history) == 13  # the ABI group and 12 SAC changes
    assert b.history[1].text.startswith("SAC+++X'TVL+101210")
    assert b.bags[0].count == 4  # EBD
    assert b.contacts[0].value == "00115555555555"
    assert b.agency is not None
    assert b.agency.iata_number == "52519950"
    assert b.tickets[0].fare_calculation.startswith("LHR DL X/JFK")
    assert b.payments[0].holder == "TIMOTHY SIMS"
    assert b.check_ins[0].at == dt.datetime(2010, 12, 11, 9, 15)
    second = _booking(result, "23456")
    assert [t.surname for t in second.travellers] == ["WAYNE", "COOPER"]  # history TIFs are history
    assert len(second.history) == 3


def test_three_pnrs_infant_and_group(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-3_pnrs.edi")
    b = _booking(result, "D1RGHI")
    infant = b.traveller("43578I")
    assert infant is not None
    assert infant.traveller_type is TravellerType.INFANT
    assert infant.accompanied_by_ref == "43578"
    assert infant.documents[0].number == "654321987"
    assert infant.documents[0].gender == "MI"
    assert infant.date_of_birth == dt.date(2012, 4, 15)
    dolan = b.traveller("43577")
    assert dolan is not None
    assert dolan.addresses[0].kind == "D"
    assert dolan.addresses[0].city == "BROADBEACH"
    assert len(b.itinerary) == 4
    assert ("54A", "43577", 1) in [(s.seat, s.traveller_ref, s.leg_index) for s in b.seats]
    group = _booking(result, "GBFKSK")
    assert "ACME TEAM PARTY" not in [t.surname for t in group.travellers]  # a group name
    assert result.unknown_segments["TIF"] == 1


def test_adult_and_infant_docs_on_the_adult(gtas: Path) -> None:
    (b,) = _read(gtas, "pnr-messages-adult_and_infant.edi").bookings
    adult, infant = b.travellers
    assert infant.accompanied_by_ref == adult.ref == "1.1"
    assert [d.number for d in adult.documents] == ["52263000"]
    assert [d.number for d in infant.documents] == ["AO234000"]  # sent with the adult's ref
    assert len(b.itinerary) == 3


def test_codeshare(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-codeshare.edi")
    assert (result.flight.carrier, result.flight.flight_number) == ("SQ", "609")  # type: ignore[union-attr]
    first = _booking(result, "2LS6KP")
    leg = first.itinerary[0]
    assert (leg.carrier, leg.operating_carrier, leg.operating_flight_number) == ("KE", "SQ", "303")
    assert first.seats[0].seat == "039G"
    assert first.bags[0].count == 2
    assert first.bags[0].pool == "member"
    assert len(first.history) == 5
    second = _booking(result, "X49V9U")
    assert second.itinerary[0].operating_carrier == "SQ"
    assert second.itinerary[0].operating_flight_number == "752"


def test_infant_sample(gtas: Path) -> None:
    path = gtas / "pnr-messages-infant.edi"
    (b,) = read_pnrgov(path.read_bytes()).bookings
    adult, infant = b.travellers
    assert infant.traveller_type is TravellerType.INFANT
    assert infant.accompanied_by_ref == adult.ref
    assert {d.number for d in infant.documents} == {"512731999"}
    assert [d.number for d in adult.documents] == ["509229987"]
    assert b.bags[0].pool == "head"
    assert b.bags[0].count == 3
    assert [(c.traveller_ref, c.leg_index) for c in b.check_ins] == [("2", 0), ("3", 0)]
    # One LTS line lacks its terminator, so it and the next are one segment: 49 - 1.
    assert len(b.history) == path.read_text(encoding="utf-8").count("LTS+") - 1 == 48


def test_multiple_flight_legs(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-multiple_flight_leg_pnr.txt")
    (b,) = result.bookings
    assert b.created == dt.datetime(2018, 3, 11, 22, 20)  # the date in the wrong component
    assert [(leg.carrier, leg.flight_number, leg.operating_carrier, leg.operating_flight_number)
            for leg in b.itinerary] == [
        ("UA", "989", "", ""),
        ("UA", "8749", "LH", "624"),
        ("UA", "8750", "LH", "625"),
        ("UA", "988", "", ""),
    ]
    bag = b.bags[0]
    assert (bag.traveller_ref, bag.leg_index, bag.count, bag.weight, bag.tag_numbers) == (
        "1", 0, 1, "37", ["UA0683"],
    )
    assert b.contacts[0].kind == "email"
    assert "eqn_count_mismatch" in [d.code for d in result.deviations]  # EQN+2, one PNR


def test_several_record_locators(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-no_pnr_history.edi")
    assert [b.locator for b in result.bookings] == ["3MZVP2", "33O6DK", "35K2IO"]
    assert result.unknown_segments["RCI"] == 3  # the other systems' locators
    b = result.bookings[2]
    assert [t.surname for t in b.travellers] == ["DORON", "LENDROT"]
    assert b.travellers[0].date_of_birth == dt.date(1953, 2, 5)
    assert all(not bk.history for bk in result.bookings)


def test_pnr3_and_pnr4(gtas: Path) -> None:
    (b,) = _read(gtas, "pnr-messages-pnr3.txt").bookings
    assert ("48D", "1", 2, "Y") in [(s.seat, s.traveller_ref, s.leg_index, s.cabin) for s in b.seats]
    assert b.itinerary[0].operating_flight_number == "860"
    (b4,) = _read(gtas, "pnr-messages-pnr4.txt").bookings
    assert b4.check_ins[0].at == dt.datetime(2019, 8, 15, 21, 12)
    assert b4.bags[0].tag_numbers == ["UA0621"]


def test_message_example_bag_pools(gtas: Path) -> None:
    (b,) = _read(gtas, "pnr-messages-pnrMessageExample.txt").bookings
    bag = next(x for x in b.bags if x.traveller_ref == "5" and x.leg_index == 0)
    assert bag.count == 4
    assert len(bag.tag_numbers) == 4


def test_split_pnr(gtas: Path) -> None:
    result = _read(gtas, "pnr-messages-pnr_split.edi")
    first, second = result.bookings
    assert first.split_from == []
    assert second.split_from == ["ZLMXXX"]
    assert [c.kind for c in first.contacts] == ["phone"] * 5
    assert result.deviations == []
