"""PNRGOV reader and writer: round trip, tolerance, DOCS placement and century rules."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnrguard.domain.model import Booking, Document, Leg, Traveller, TravellerType
from pnrguard.errors import MessageError, ParseError
from pnrguard.formats.edifact import Delimiters
from pnrguard.formats.pnrgov import pnrgov_normalise, read_pnrgov, write_pnrgov
from pnrguard.formats.reader import read_message
from strategies import bookings, pnr_flights

pytestmark = pytest.mark.unit

PREPARED = dt.datetime(2024, 3, 1, 6, 0)
DASH = Delimiters(component=":", element="-", segment="*")  # the unusual UNA of REQUIREMENTS 9
FLIGHT = Leg(
    carrier="UA", flight_number="988", origin="FRA", destination="IAD",
    departure=dt.datetime(2019, 8, 26, 12, 20), arrival=dt.datetime(2019, 8, 26, 15, 5),
)

# A small PNR in the shape carriers send (after pnr-messages-pnr4.txt), to break on purpose.
BASE = [
    "UNB+IATA:1+UA+PIU+190825:1120+22'",
    "UNH+1+PNRGOV:13:1:IA+123456789'",
    "MSG+:22'",
    "ORG+UA:DJE+55107'",
    "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'",
    "EQN+1'",
    "SRC'",
    "RCI+UA:0995F0::270719:1120'",
    "DAT+700:260819:1031+710:250819:1120'",
    "IFT+4:28::YY+CTCE CHRISTOPHER.RAVAL//HOTMAIL.COM'",
    "TIF+RAVAL+CHRISTOPHER:A:1'",
    "SSR+DOCS:HK::DL:::::/P/GBR/117557052/ERI/09SEP64/M/16MAY25/RAVAL/CHRISTOPHER/JAY'",
    "TKT+03751019954019:T:1'",
    "TVL+260819:1220::1505+FRA+IAD+UA+988:B'",
    "APD+388'",
    "DAT+2:150819:2112'",
    "TRI++199:::1'",
    "TIF+RAVAL+CHRISTOPHER:A:1'",
    "SSD+48E++++Y'",
    "TBD++01:26:701+++UA:0621::IAD:006'",
]
END = ["UNT+{n}+1'", "UNZ+1+22'"]


def _message(body: list[str]) -> str:
    """Wrap segments (after UNB) in UNT/UNZ with the right count."""
    segs = body[1:]
    return "\n".join([body[0], *segs, END[0].format(n=len(segs) + 1), END[1]])


def _encode(text: str) -> bytes:
    return text.encode("utf-8" if "UNOY" in text[:80] else "latin-1")


# --- round trip -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bookings(), min_size=1, max_size=2), pnr_flights(), st.sampled_from([Delimiters(), DASH]))
def test_round_trip(books: list[Booking], flight: Leg, delimiters: Delimiters) -> None:
    text = write_pnrgov(books, flight=flight, prepared=PREPARED, delimiters=delimiters)
    result = read_pnrgov(_encode(text))
    expected = [pnrgov_normalise(b, flight=flight) for b in books]
    rp = books[0].reporting_party  # the message has one reporting party
    for b in expected:
        b.reporting_party = rp
    assert result.bookings == expected
    assert result.flight == expected[0].reported_flight
    assert result.deviations == []
    assert not result.unknown_segments


@settings(max_examples=30, deadline=None)
@given(bookings(), pnr_flights())
def test_normalise_is_idempotent(b: Booking, flight: Leg) -> None:
    once = pnrgov_normalise(b, flight=flight)
    assert pnrgov_normalise(once, flight=flight) == once


def test_writer_picks_the_character_set() -> None:
    b = Booking(carrier="UA", locator="ABC123", travellers=[Traveller(ref="1", surname="MÜLLER")])
    assert "UNOC" in write_pnrgov([b], flight=FLIGHT, prepared=PREPARED)
    b.travellers[0].surname = "ŁUKASZ山"
    text = write_pnrgov([b], flight=FLIGHT, prepared=PREPARED)
    assert "UNOY" in text
    assert read_pnrgov(text.encode("utf-8")).bookings[0].travellers[0].surname == "ŁUKASZ山"


def test_writer_counts_and_escapes() -> None:
    b = Booking(carrier="UA", locator="ABC123", travellers=[Traveller(ref="1", surname="O'BRIEN+:?")])
    text = write_pnrgov([b], flight=FLIGHT, prepared=PREPARED, control_ref="77", message_ref="9")
    assert "TIF+O?'BRIEN?+?:??" in text
    lines = text.strip().split("\n")
    unh = next(i for i, line in enumerate(lines) if line.startswith("UNH"))
    assert lines[-2] == f"UNT+{len(lines) - 1 - unh}+9'"
    assert lines[-1] == "UNZ+1+77'"
    assert not text.startswith("UNA")  # default delimiters need no advice
    assert write_pnrgov([b], flight=FLIGHT, prepared=PREPARED, delimiters=DASH).startswith("UNA:-.? *")


# --- reading what carriers send ---------------------------------------------------------------


def test_base_message() -> None:
    result = read_pnrgov(_message(BASE))
    assert result.version == "13.1"
    assert result.deviations == []
    (b,) = result.bookings
    assert (b.carrier, b.locator, b.created) == ("UA", "0995F0", dt.datetime(2019, 7, 27, 11, 20))
    assert b.ticketed == dt.date(2019, 8, 25)
    (t,) = b.travellers
    assert t.documents[0].number == "117557052"
    assert t.documents[0].date_of_birth == dt.date(1964, 9, 9)
    assert t.documents[0].expiry == dt.date(2025, 5, 16)
    assert t.documents[0].given_names == "CHRISTOPHER JAY"
    assert (t.gender, t.nationality) == ("M", "ERI")
    assert b.contacts[0].kind == "email"
    assert b.seats[0].seat == "48E"
    assert b.seats[0].cabin == "Y"
    assert b.bags[0].tag_numbers == ["UA0621"]
    assert b.bags[0].unit == "701"
    assert b.check_ins[0].at == dt.datetime(2019, 8, 15, 21, 12)
    assert b.reported_flight == result.flight
    assert b.reporting_party == "UA"


def test_docs_century_rules() -> None:
    today = dt.date.today()
    future_yy = (today.year + 1) % 100
    body = [*BASE]
    body[11] = f"SSR+DOCS:HK::DL:::::/P/GBR/1/GBR/01JAN{future_yy:02d}/F/01JAN{future_yy:02d}/X/Y'"
    doc = read_pnrgov(_message(body)).bookings[0].travellers[0].documents[0]
    assert doc.date_of_birth == dt.date(today.year + 1 - 100, 1, 1)  # never in the future
    assert doc.expiry == dt.date(today.year + 1, 1, 1)


def test_docs_without_gender_or_birth_date_and_at_booking_level() -> None:
    body = [*BASE]
    del body[11]
    body.insert(8, "SSR+DOCS:HK:1:LH:::::/P/GBR/123/////RAVAL/CHRISTOPHER+::1'")
    t = read_pnrgov(_message(body)).bookings[0].travellers[0]
    expected = Document("P", "123", "GBR", surname="RAVAL", given_names="CHRISTOPHER")
    assert t.documents == [expected]
    assert (t.gender, t.date_of_birth) == ("", None)


def test_infant_docs_on_the_adult_go_to_the_infant() -> None:
    body = [*BASE]
    body[10] = "TIF+RAVAL+ANNA MRS:A:1:1'"
    body.insert(12, "SSR+DOCS:HK:1:UA:::::/P/GBR/999/GBR/10AUG23/FI/21DEC30/RAVAL/BABY+::1'")
    body.insert(13, "TIF+RAVAL+BABY:IN:2'")
    b = read_pnrgov(_message(body)).bookings[0]
    adult, infant = b.travellers
    assert infant.traveller_type is TravellerType.INFANT
    assert infant.accompanied_by_ref == "1"
    assert [d.number for d in infant.documents] == ["999"]
    assert [d.number for d in adult.documents] == ["117557052"]
    assert infant.gender == "F"


# --- tolerance (REQUIREMENTS 9) ---------------------------------------------------------------


def test_stray_lines_before_unt_are_counted() -> None:
    result = read_pnrgov(_message([*BASE, "L'", "LT'"]))
    assert len(result.bookings) == 1
    assert result.unknown_segments["?"] == 2
    assert [d.code for d in result.deviations if d.code == "unknown_segment"] == ["unknown_segment"] * 2
    assert result.bookings[0].bags[0].count == 1  # everything before them kept
    with pytest.raises(MessageError) as err:
        read_pnrgov(_message([*BASE, "L'"]), strict=True)
    assert err.value.segment_index is not None


def test_ift_where_rci_was_expected() -> None:
    body = [*BASE]
    body[7], body[9] = body[9], body[7]  # SRC IFT DAT RCI
    result = read_pnrgov(_message(body))
    (b,) = result.bookings
    assert b.locator == "0995F0"
    assert b.contacts
    assert [d.code for d in result.deviations] == ["segment_out_of_order"]


def test_tvl_where_tif_was_expected() -> None:
    body = [*BASE]
    body.insert(13, "TIF+SECOND+PERSON:A:2'")  # a traveller after the itinerary began
    body.insert(13, "TVL+250819:0900::1000+LHR+FRA+LH+901:B'")
    result = read_pnrgov(_message(body))
    b = result.bookings[0]
    assert [t.surname for t in b.travellers] == ["RAVAL", "SECOND"]
    assert len(b.itinerary) == 2
    assert "segment_out_of_order" in [d.code for d in result.deviations]


def test_duplicate_and_garbage_segments() -> None:
    body = [*BASE]
    body.insert(8, "RCI+UA:0995F0::270719:1120'")  # a repeat
    body.insert(9, "ZZZ+1:2+3'")
    body.insert(10, "RPI+1+HK'")  # an itinerary segment in the PNR header
    result = read_pnrgov(_message(body))
    assert len(result.bookings) == 1
    assert result.unknown_segments["ZZZ"] == 1
    assert result.unknown_segments["RPI"] == 1
    codes = [d.code for d in result.deviations]
    assert codes.count("unknown_segment") == 1
    assert codes.count("segment_out_of_order") == 1


def test_rci_without_src_opens_a_booking() -> None:
    body = [*BASE]
    body[5] = "EQN+2'"
    del body[6]  # no SRC at all
    body.append("RCI+UA:SECOND::010819:1200'")
    body.append("TIF+OTHER+PERSON:A:1'")
    result = read_pnrgov(_message(body))
    assert [b.locator for b in result.bookings] == ["0995F0", "SECOND"]
    assert [d.code for d in result.deviations] == ["src_missing", "src_missing"]


def test_bag_pool_markers_and_runs_are_bounded() -> None:
    markers = "+".join(["HP", "MP"] * 2000)
    body = [*BASE[:-1], f"TBD++3:20:700++{markers}+UA:0000000001:999999999:IAD+UA:0000000005:3:IAD'"]
    start = time.perf_counter()
    bag = read_pnrgov(_message(body)).bookings[0].bags[0]
    assert time.perf_counter() - start < 1
    assert bag.pool == "member"
    assert bag.tag_numbers == ["UA0000000001", "UA0000000005"]  # runs beyond the count: one tag


def test_only_unreadable_content_is_rejected() -> None:
    no_pnr = [line for line in BASE[:6]]
    with pytest.raises(MessageError):
        read_pnrgov(_message(no_pnr))
    empty_flight = [*BASE[:5], "EQN+0'"]
    assert read_pnrgov(_message(empty_flight)).bookings == []
    paxlst = ["UNB+UNOA:4+X+Y+240301:0600+1'", "UNH+1+PAXLST:D:02B:UN:IATA'", "BGM+745'"]
    with pytest.raises(MessageError):
        read_pnrgov(_message(paxlst))


def test_errors_and_deviations_hold_no_content() -> None:
    result = read_pnrgov(_message([*BASE, "RAVAL CHRISTOPHER'"]))
    text = " ".join(str(d) for d in result.deviations) + " ".join(result.unknown_segments)
    assert "RAVAL" not in text
    with pytest.raises(MessageError) as err:
        read_pnrgov(_message([*BASE, "RAVAL CHRISTOPHER'"]), strict=True)
    assert "RAVAL" not in str(err.value)


def test_read_message_dispatches_on_message_type() -> None:
    assert read_message(_message(BASE)).message_type == "PNRGOV"
    with pytest.raises(MessageError):
        read_message(_message(["UNB+UNOA:4+X+Y+240301:0600+1'", "UNH+1+CUSRES:D:02B:UN'", "BGM+1'"]))


# --- robustness: nothing but ParseError, whatever the input -----------------------------------

_TAGS = ["SRC", "RCI", "TIF", "SSR", "TVL", "TRI", "SSD", "TBD", "DAT", "IFT", "TKT", "MON", "FOP",
         "ADD", "EQN", "MSG", "ABI", "SAC", "LTS", "ORG", "RPI", "FTI", "EBD", "APD", "TRA", "L"]
_value = st.text(st.sampled_from("AB01:+/?I HPM'"), max_size=12)
_segment = st.tuples(st.sampled_from(_TAGS), st.lists(_value, max_size=6)).map(
    lambda t: "+".join([t[0], *t[1]]) + "'"
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_segment, max_size=40))
def test_segment_soup_raises_only_parse_errors(segments: list[str]) -> None:
    body = [BASE[0], BASE[1], *segments]
    with contextlib.suppress(ParseError):
        read_pnrgov(_message(body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_input_raises_only_parse_errors(data: bytes | str) -> None:
    with contextlib.suppress(ParseError):
        read_pnrgov(data)
