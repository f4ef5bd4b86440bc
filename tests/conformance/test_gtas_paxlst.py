"""The public GTAS PAXLST samples (U.S. CBP) parse, with facts checked by reading the files.

Each sample stresses something else: no UNA and a crew list (Test1); CR line ends, a Latin-1
byte under UNOA and a wrong CNT (Test3); `*` and `$` as separators with CRLF (airline2);
a D05B progressive flight with three TDT groups and a date after UNZ (multiple_flight_leg).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pnrguard.domain.model import Leg, TravellerType
from pnrguard.formats.paxlst import read_paxlst
from pnrguard.formats.result import ReadResult

pytestmark = pytest.mark.unit

# CI clones the repository next to a copy of shared/: <repo>/../shared/conformance.
CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"


@pytest.fixture(scope="module")
def gtas() -> Path:
    path = CONFORMANCE / "gtas"
    if not path.is_dir():
        pytest.skip(f"GTAS conformance samples not found at {path} (shared/ belongs beside the repo)")
    return path


def _read(gtas: Path, name: str) -> ReadResult:
    return read_paxlst((gtas / name).read_bytes())


def _codes(result: ReadResult) -> set[str]:
    return {d.code for d in result.deviations}


@pytest.mark.parametrize(
    ("name", "persons"),
    [
        ("apis-messages-Test1.txt", 8),
        ("apis-messages-Test3.txt", 260),
        ("apis-messages-airline2.edi", 10),
        ("apis-messages-multiple_flight_leg_apis.txt", 2),
    ],
)
def test_every_sample_parses(gtas: Path, name: str, persons: int) -> None:
    result = _read(gtas, name)
    assert result.message_type == "PAXLST"
    assert len(result.bookings) == persons
    assert result.flight is not None
    for booking in result.bookings:
        assert len(booking.travellers) == 1
        assert booking.reported_flight == result.flight
        assert booking.carrier == result.flight.carrier


def test_crew_list_without_una(gtas: Path) -> None:
    result = _read(gtas, "apis-messages-Test1.txt")
    assert result.crew
    assert result.version == "D:02B"
    assert result.flight == Leg(
        carrier="UA", flight_number="0989", origin="FRA", destination="IAD",
        departure=dt.datetime(2017, 1, 27, 17, 25), arrival=dt.datetime(2017, 1, 28, 7, 10),
    )
    first = result.bookings[0]
    t = first.travellers[0]
    assert (t.surname, t.given_names, t.gender) == ("Steur", "Andrea Pat", "F")
    assert t.traveller_type == TravellerType.CREW
    assert t.date_of_birth == dt.date(1978, 7, 6)
    assert (t.nationality, t.residence_country, t.birth_place) == ("GBR", "GBR", "Hartford USA")
    (doc,) = t.documents
    assert (doc.doc_type, doc.number, doc.issuing_country) == ("P", "123456789", "GBR")
    assert first.reporting_party == "CREW SCHEDULING"
    last = result.bookings[-1].travellers[0]
    assert (last.surname, last.date_of_birth) == ("Zschieschak", dt.date(1978, 7, 13))
    assert "cnt_mismatch" not in _codes(result)  # CNT+41+8: the count sent as an element


def test_cr_line_ends_latin1_and_wrong_count(gtas: Path) -> None:
    result = _read(gtas, "apis-messages-Test3.txt")
    assert not result.crew
    assert result.message_refs == ["WSPDLA"]
    t = result.bookings[0].travellers[0]
    assert (t.surname, t.given_names, t.traveller_type) == ("Kuchel", "Rachel Pat", TravellerType.ADULT)
    assert t.date_of_birth == dt.date(1977, 10, 19)
    assert t.documents[0].expiry == dt.date(2019, 12, 18)
    # Byte 0x87 under UNOA is kept as sent (read as Latin-1) and noted.
    assert result.bookings[70].travellers[0].surname == "Nov\x87k"
    last = result.bookings[-1].travellers[0]
    assert (last.surname, last.date_of_birth) == ("Pfaffelhuber", dt.date(1978, 7, 5))
    assert {"cnt_mismatch", "non_ascii_in_unoa"} <= _codes(result)  # CNT says 206, 260 are sent


def test_star_and_dollar_separators(gtas: Path) -> None:
    result = _read(gtas, "apis-messages-airline2.edi")
    assert result.flight == Leg(
        carrier="TN", flight_number="506", origin="BRE", destination="YEU",
        departure=dt.datetime(2014, 5, 11, 13, 40), arrival=dt.datetime(2014, 5, 11, 17, 0),
    )
    first = result.bookings[0]
    t = first.travellers[0]
    assert (t.surname, t.given_names, t.gender, t.nationality) == ("BETTON", "DAVID", "M", "USA")
    assert t.date_of_birth == dt.date(1954, 10, 16)
    assert (t.documents[0].number, t.documents[0].expiry) == ("178556534", dt.date(2018, 2, 21))
    assert (first.locator, first.reporting_party) == ("QXGYLO", "SABRE CENTRAL")
    assert result.bookings[-1].travellers[0].surname == "LOWE"
    assert "cnt_mismatch" in _codes(result)  # CNT*42:136 for 10 persons


def test_progressive_flight(gtas: Path) -> None:
    result = _read(gtas, "apis-messages-multiple_flight_leg_apis.txt")
    assert result.version == "D:05B"
    # The border-crossing leg (LOC+125/87) is the reported flight; the LOC+92 legs lead to it.
    assert result.flight == Leg(
        carrier="QQ", flight_number="827", origin="JFK", destination="CDG",
        departure=dt.datetime(2008, 8, 10, 20, 0), arrival=dt.datetime(2008, 8, 11, 6, 30),
    )
    barrett, lang = result.bookings
    assert [(leg.carrier, leg.flight_number, leg.origin, leg.destination) for leg in barrett.itinerary] == [
        ("QQ", "877", "MIA", "IAD"),
        ("QQ", "827", "IAD", "JFK"),
        ("QQ", "827", "JFK", "CDG"),
    ]
    assert barrett.itinerary[0].departure == dt.datetime(2008, 7, 10, 15, 0)
    t = barrett.travellers[0]
    assert (t.surname, t.given_names, t.ref) == ("BARRETT", "TODD", "UUI34T543")
    assert t.date_of_birth == dt.date(1968, 2, 23)
    assert (barrett.locator, t.documents[0].number) == ("GJIO3RT", "YY3478621G")
    assert (t.documents[0].expiry, t.documents[0].issuing_country) == (dt.date(2008, 12, 30), "FRA")
    assert (lang.travellers[0].surname, lang.travellers[0].nationality) == ("LANG", "ESP")
    assert lang.travellers[0].documents[0].number == "TRQWE99800"
    assert "text_after_unz" in _codes(result)  # "13Nov09" after UNZ
    assert "cnt_mismatch" not in _codes(result)
    assert result.unknown_segments["RFF"] == 1  # RFF+TN transaction reference: not Annex I
