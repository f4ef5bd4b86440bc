"""PAXLST reader and writer: round trip, tolerance, century rules, progressive flights."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnrguard.domain.model import Booking, Document, Leg, Traveller, TravellerType
from pnrguard.errors import MessageError, ParseError
from pnrguard.formats.edifact import Delimiters, parse_interchange
from pnrguard.formats.paxlst import read_paxlst, write_paxlst
from strategies import api_bookings

pytestmark = pytest.mark.unit

PREPARED = dt.datetime(2024, 3, 1, 6, 0)
DEFAULT = Delimiters()
DOLLAR = Delimiters(component=":", element="*", segment="$")  # as in GTAS airline2.edi
DASH = Delimiters(component=":", element="-", segment="*")  # the unusual UNA of REQUIREMENTS 9


def _write(bookings: list[Booking], delimiters: Delimiters = DEFAULT) -> str:
    first = bookings[0]
    assert first.reported_flight is not None
    return write_paxlst(
        bookings,
        flight=first.reported_flight,
        itinerary=first.itinerary,
        crew=all(t.traveller_type == TravellerType.CREW for b in bookings for t in b.travellers),
        prepared=PREPARED,
        delimiters=delimiters,
    )


def _encode(text: str) -> bytes:
    return text.encode("latin-1" if "UNOC" in text[:60] else "utf-8")


# --- round trip ----------------------------------------------------------------------------


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bookings=api_bookings(), delimiters=st.sampled_from([Delimiters(), DOLLAR, DASH]))
def test_round_trip(bookings: list[Booking], delimiters: Delimiters) -> None:
    text = _write(bookings, delimiters)
    for data in (text, _encode(text)):
        result = read_paxlst(data, strict=True)  # what we write has no deviation at all
        assert result.bookings == bookings
        assert result.flight == bookings[0].reported_flight
        assert not result.deviations
        crew = all(t.traveller_type == TravellerType.CREW for b in bookings for t in b.travellers)
        assert result.crew == crew


@settings(max_examples=30, deadline=None)
@given(bookings=api_bookings())
def test_written_interchange_has_correct_envelopes_and_charset(bookings: list[Booking]) -> None:
    text = _write(bookings)
    ichg = parse_interchange(_encode(text), strict=True)  # counts and references all agree
    assert ichg.group_type == "PAXLST"
    (msg,) = ichg.messages
    assert (msg.type, msg.version, msg.release) == ("PAXLST", "D", "02B")
    try:
        text.encode("latin-1")
        expected = "UNOC"
    except UnicodeEncodeError:
        expected = "UNOY"
    assert ichg.syntax_id == expected
    cnt = next(s for s in msg.segments if s.tag == "CNT")
    assert cnt.get(0, 1) == str(len(bookings))


def test_non_ascii_names_choose_the_character_set() -> None:
    leg = Leg(carrier="LH", flight_number="400", origin="FRA", destination="JFK")
    booking = Booking(reported_flight=leg, itinerary=[leg], carrier="LH")
    booking.travellers = [Traveller(surname="MÜLLER", given_names="O'BRIEN+SON")]
    latin = write_paxlst([booking], flight=leg, prepared=PREPARED)
    assert "UNB+UNOC:4" in latin
    assert "O?'BRIEN?+SON" in latin
    booking.travellers = [Traveller(surname="ΠΑΠΑΔΟΠΟΥΛΟΣ", given_names="ΝΙΚΟΣ")]
    greek = write_paxlst([booking], flight=leg, prepared=PREPARED)
    assert "UNB+UNOY:4" in greek
    (read,) = read_paxlst(greek.encode("utf-8"), strict=True).bookings
    assert read.travellers[0].surname == "ΠΑΠΑΔΟΠΟΥΛΟΣ"


# --- robustness: nothing but ParseError, whatever comes in ----------------------------------


_HEAD = b"UNB+UNOC:4+X+Y+240301:0600+1'UNH+1+PAXLST:D:02B:UN:IATA'"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=300).map(lambda b: _HEAD + b),
        st.binary(max_size=300).map(lambda b: b"UNA:+.? '" + _HEAD + b + b"UNT+2+1'UNZ+1+1'"),
    )
)
def test_arbitrary_bytes_raise_only_parse_errors(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        read_paxlst(data)


_TAGS = ["BGM", "NAD", "COM", "RFF", "TDT", "LOC", "DTM", "ATT", "NAT", "DOC", "CNT", "GEI", "FTX", "XYZ",
         "UNT", "UNH", "UNS", "1X", ""]
_VALUES = st.sampled_from(
    ["", "20", "745", "250", "FL", "FM", "MS", "DDU", "125", "87", "92", "178", "179", "174", "180", "91",
     "22", "189", "232", "329", "36", "182", "2", "AVF", "ABO", "SEA", "41", "42", "UA0989", "UA", "ZX877",
     "FRA", "IAD", "1701271725", "170127", "20170127", "991231", "000229", "0229", "99999999999999",
     "9" * 5000, "²³", "٣٤", "DOE", "P", "TE", "?", "??"]
)
_SEGMENT = st.tuples(
    st.sampled_from(_TAGS),
    st.lists(st.lists(st.one_of(_VALUES, st.text(max_size=4)), min_size=1, max_size=5), max_size=9),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(_SEGMENT, max_size=40),
    msg_type=st.sampled_from(["PAXLST", "PAXLST ", "PNRGOV", ""]),
    good_count=st.booleans(),
)
def test_segment_soup_raises_only_parse_errors(
    body: list[tuple[str, list[list[str]]]], msg_type: str, good_count: bool
) -> None:
    segments = [
        tag + "".join("+" + ":".join(c.replace("'", "") for c in el) for el in els) for tag, els in body
    ]
    count = len(segments) + 2 if good_count else 7
    text = (
        "UNB+UNOC:4+X+Y+240301:0600+1'UNH+1+" + msg_type + ":D:02B:UN:IATA'"
        + "'".join(segments) + ("'" if segments else "")
        + f"UNT+{count}+1'UNZ+1+1'"
    )
    try:
        result = read_paxlst(text)
    except ParseError:
        return
    for booking in result.bookings:
        assert booking.reported_flight is not None
        assert len(booking.travellers) == 1


# --- the reader's rules ------------------------------------------------------------------


def _message(body: str, *, date: str = "240301") -> str:
    segments = [s for s in body.strip().split("\n") if s]
    inner = "".join(s.strip() for s in segments)
    return (
        f"UNB+UNOC:4+XX+PIU+{date}:0600+1'UNH+1+PAXLST:D:02B:UN:IATA'"
        f"{inner}UNT+{len(segments) + 2}+1'UNZ+1+1'"
    )


FLIGHT = """
BGM+745'
NAD+MS+++AIRLINE'
TDT+20+LH0400+++LH'
LOC+125+FRA'
DTM+189:2403011025:201'
LOC+87+JFK'
DTM+232:2403011320:201'
"""


def test_dates_follow_the_century_rules() -> None:
    text = _message(
        FLIGHT
        + """
NAD+FL+++DOE:JANE'
DTM+329:240302'
DOC+P:110:111+X1'
DTM+36:700101'
DTM+182:200101'
NAD+FL+++ROE:RICHARD'
DTM+329:19240302:102'
"""
    )
    jane, richard = read_paxlst(text).bookings
    # A birth date is never after the interchange date (240301): 240302 is 1924, not 2024.
    assert jane.travellers[0].date_of_birth == dt.date(1924, 3, 2)
    doc = jane.travellers[0].documents[0]
    assert doc.expiry == dt.date(2070, 1, 1)  # expiries lie ahead: within 50 years
    assert doc.date_of_issue == dt.date(2020, 1, 1)
    assert richard.travellers[0].date_of_birth == dt.date(1924, 3, 2)
    assert jane.reported_flight is not None
    assert jane.reported_flight.departure == dt.datetime(2024, 3, 1, 10, 25)


def test_progressive_flight_with_differing_designator() -> None:
    """GTAS issue 813: the continuing leg names ZX877 but the carrier XZ."""
    text = _message(
        """
BGM+745'
TDT+20+XZ877+++XZ'
LOC+125+LHR'
DTM+189:2403010900:201'
LOC+87+JFK'
DTM+232:2403011200:201'
TDT+20+ZX877+++XZ'
LOC+92+JFK'
DTM+189:2403011400:201'
LOC+92+ORD'
DTM+232:2403011600:201'
NAD+FL+++DOE:JOHN'
LOC+178+LHR'
LOC+179+ORD'
NAD+FL+++ROE:JANE'
LOC+178+JFK'
LOC+179+ORD'
CNT+42:2'
"""
    )
    result = read_paxlst(text)
    john, jane = result.bookings
    assert result.flight == Leg(
        carrier="XZ", flight_number="877", origin="LHR", destination="JFK",
        departure=dt.datetime(2024, 3, 1, 9, 0), arrival=dt.datetime(2024, 3, 1, 12, 0),
    )
    assert [(leg.carrier, leg.flight_number, leg.origin, leg.destination) for leg in john.itinerary] == [
        ("XZ", "877", "LHR", "JFK"),
        ("XZ", "877", "JFK", "ORD"),
    ]
    # Jane boards the continuing domestic leg only; the message still reports the border leg.
    assert [(leg.origin, leg.destination) for leg in jane.itinerary] == [("JFK", "ORD")]
    assert jane.reported_flight == result.flight
    assert jane.carrier == "XZ"
    assert [d.code for d in result.deviations] == ["flight_designator_differs"]
    with pytest.raises(MessageError):
        read_paxlst(text, strict=True)


def test_several_loc_dtm_pairs_in_one_tdt_group_are_several_legs() -> None:
    text = _message(
        """
BGM+745'
TDT+20+AF0006+++AF'
LOC+125+CDG'
DTM+189:2403010800:201'
LOC+87+JFK'
DTM+232:2403011000:201'
LOC+87+BOS'
DTM+232:2403011300:201'
NAD+FL+++DOE:JOHN'
"""
    )
    result = read_paxlst(text)
    (john,) = result.bookings
    assert [(leg.origin, leg.destination, leg.arrival) for leg in john.itinerary] == [
        ("CDG", "JFK", dt.datetime(2024, 3, 1, 10, 0)),
        ("JFK", "BOS", dt.datetime(2024, 3, 1, 13, 0)),
    ]
    assert result.flight is not None
    assert result.flight.destination == "JFK"


def test_flight_number_without_carrier_element() -> None:
    text = _message("BGM+745'\nTDT+20+DLH400'\nLOC+125+FRA'\nLOC+87+JFK'\nNAD+FL+++A:B'\n")
    expected = Leg(carrier="DLH", flight_number="400", origin="FRA", destination="JFK")
    assert read_paxlst(text).flight == expected
    text = _message("BGM+745'\nTDT+20+U21234'\nNAD+FL+++A:B'\n")
    flight = read_paxlst(text).flight
    assert flight is not None
    assert (flight.carrier, flight.flight_number) == ("U2", "1234")


def test_person_fields_are_mapped() -> None:
    text = _message(
        FLIGHT
        + """
NAD+FL+++O?'BRIEN:MARY:ANNE+1 MAIN ST+BOSTON+MA+02110+USA'
ATT+2++F'
DTM+329:19800229:102'
COM+555-1234:TE+m@example.org:EM'
LOC+22+JFK'
LOC+178+FRA'
LOC+179+JFK'
LOC+174+IRL'
LOC+180+:::Cork'
NAT+2+IRL'
RFF+AVF:ABC123'
RFF+ABO:P1'
RFF+SEA:12A'
DOC+P:110:111+PA1234567'
DTM+36:20300101:102'
LOC+91+IRL'
DOC+V:110:111+V99'
LOC+91+USA'
CNT+42:1'
"""
    )
    result = read_paxlst(text)
    assert not result.deviations
    (b,) = result.bookings
    t = b.travellers[0]
    assert (t.surname, t.given_names, t.gender, t.ref) == ("O'BRIEN", "MARY ANNE", "F", "P1")
    assert (t.nationality, t.residence_country, t.birth_place) == ("IRL", "IRL", "Cork")
    assert t.date_of_birth == dt.date(1980, 2, 29)
    assert t.traveller_type == TravellerType.ADULT
    assert (t.addresses[0].street, t.addresses[0].postal_code, t.addresses[0].country) == (
        "1 MAIN ST", "02110", "USA"
    )
    assert [(d.doc_type, d.number, d.issuing_country, d.expiry) for d in t.documents] == [
        ("P", "PA1234567", "IRL", dt.date(2030, 1, 1)),
        ("V", "V99", "USA", None),
    ]
    assert (b.locator, b.carrier, b.reporting_party) == ("ABC123", "LH", "AIRLINE")
    assert [(c.kind, c.value, c.traveller_ref) for c in b.contacts] == [
        ("phone", "555-1234", "P1"), ("email", "m@example.org", "P1")
    ]
    assert [(s.seat, s.traveller_ref, s.leg_index) for s in b.seats] == [("12A", "P1", 0)]
    # LOC+22 (port of clearance) and the reporting party's COM have no place in the model.
    assert result.unknown_segments == {"LOC": 1}


def test_crew_list() -> None:
    text = _message(FLIGHT.replace("BGM+745", "BGM+250") + "NAD+FM+++PILOT:ANNA'\nCNT+41:1'\n")
    result = read_paxlst(text)
    assert result.crew
    assert result.bookings[0].travellers[0].traveller_type == TravellerType.CREW
    assert not result.deviations


def test_unknown_and_misplaced_segments_are_counted_without_content() -> None:
    text = _message(
        """
BGM+745'
ATT+2++SECRETNAME'
TDT+20+LH0400+++LH'
XYZ+SECRETNAME'
NAD+FL+++SECRETNAME:X'
FOO+SECRETNAME'
TDT+20+LH0401+++LH'
NAD+ZZZ+++SECRETNAME'
NAT+2+DEU'
CNT+42:5'
"""
    )
    result = read_paxlst(text)
    assert len(result.bookings) == 1  # what is recoverable is kept
    assert result.unknown_segments == {"ATT": 1, "XYZ": 1, "FOO": 1, "TDT": 1, "NAD": 1, "NAT": 1}
    codes = [d.code for d in result.deviations]
    assert codes == [
        "segment_out_of_place", "unknown_segment", "unknown_segment", "segment_out_of_place",
        "unknown_party", "segment_out_of_place", "cnt_mismatch",
    ]
    assert all(d.segment_index is not None for d in result.deviations)
    assert "SECRETNAME" not in repr(result.deviations) + repr(result.unknown_segments)


def test_port_outside_the_flight_keeps_the_whole_flight() -> None:
    text = _message(FLIGHT + "NAD+FL+++A:B'\nLOC+178+MUC'\nLOC+179+JFK'\n")
    result = read_paxlst(text)
    (b,) = result.bookings
    assert [(leg.origin, leg.destination) for leg in b.itinerary] == [("FRA", "JFK")]
    assert [(d.code, d.tag) for d in result.deviations] == [("port_outside_flight", "LOC")]


def test_each_booking_has_its_own_legs() -> None:
    text = _message(FLIGHT + "NAD+FL+++A:B'\nNAD+FL+++C:D'\n")
    first, second = read_paxlst(text).bookings
    assert first.reported_flight is not None
    first.reported_flight.origin = "XXX"
    first.itinerary[0].origin = "XXX"
    assert second.reported_flight is not None
    assert second.reported_flight.origin == "FRA"
    assert second.itinerary[0].origin == "FRA"


def test_unreadable_messages_raise_message_error_without_content() -> None:
    no_flight = _message("BGM+745'\nNAD+FL+++SECRETNAME:X'\n")
    with pytest.raises(MessageError) as err:
        read_paxlst(no_flight)
    assert err.value.segment_index is not None
    assert "SECRETNAME" not in str(err.value)
    not_paxlst = _message(FLIGHT).replace("PAXLST:D:02B", "PNRGOV:11:1")
    with pytest.raises(MessageError):
        read_paxlst(not_paxlst)
    with pytest.raises(ParseError):
        read_paxlst(b"not edifact at all")


def test_message_without_flight_is_skipped_when_another_is_readable() -> None:
    good = _message(FLIGHT + "NAD+FL+++A:B'\n")
    inner_bad = "UNH+2+PAXLST:D:02B:UN:IATA'BGM+745'NAD+FL+++C:D'UNT+4+2'"
    text = good.replace("UNZ+1+1'", inner_bad + "UNZ+2+1'")
    result = read_paxlst(text)
    assert len(result.bookings) == 1
    assert result.message_refs == ["1"]
    assert "message_without_flight" in [d.code for d in result.deviations]
    assert result.unknown_segments["NAD"] == 1


def test_cnt_mismatch_is_a_deviation_and_strict_raises() -> None:
    text = _message(FLIGHT + "NAD+FL+++A:B'\nCNT+42:3'\n")
    result = read_paxlst(text)
    assert [d.code for d in result.deviations] == ["cnt_mismatch"]
    with pytest.raises(MessageError):
        read_paxlst(text, strict=True)


def test_reads_a_large_list_quickly() -> None:
    """400 persons x 10 messages: a smoke test of speed, not a benchmark (see bench/)."""
    leg = Leg(carrier="LH", flight_number="400", origin="FRA", destination="JFK",
              departure=dt.datetime(2024, 3, 1, 10, 0))
    bookings = [
        Booking(carrier="LH", reported_flight=leg, itinerary=[leg], locator=f"L{i:05d}",
                travellers=[Traveller(surname=f"S{i}", given_names="G", nationality="DEU",
                                      documents=[Document(doc_type="P", number=f"N{i}")])])
        for i in range(400)
    ]
    text = write_paxlst(bookings, flight=leg, prepared=PREPARED)
    body = text[text.index("UNH") : text.index("UNE")]
    many = text.replace(body, body * 10).replace("UNE+1+1", "UNE+10+1")
    result = read_paxlst(many)
    assert len(result.bookings) == 4000
    assert [d.code for d in result.deviations] == []


def test_a_pnr_journey_is_written_with_the_ports_of_this_flight() -> None:
    """A PNR booking's itinerary goes out and back; LOC+178/179 must name this flight's ports."""
    out = Leg(carrier="LH", flight_number="400", origin="FRA", destination="JFK", booking_class="Y")
    back = Leg(carrier="LH", flight_number="401", origin="JFK", destination="FRA", booking_class="Y")
    flight = Leg(carrier="LH", flight_number="400", origin="FRA", destination="JFK")
    booking = Booking(carrier="LH", locator="ABC123", itinerary=[out, back],
                      travellers=[Traveller(surname="DOE"), Traveller(surname="ROE")])
    text = write_paxlst([booking], flight=flight, prepared=PREPARED)
    assert "LOC+178+FRA'\nLOC+179+JFK'" in text
    result = read_paxlst(text, strict=True)
    assert [b.travellers[0].surname for b in result.bookings] == ["DOE", "ROE"]
    assert all(b.itinerary == [flight] and b.locator == "ABC123" for b in result.bookings)
