"""What real carriers send, read right or refused loudly, never silently wrong (issue 13).

Each test feeds a message of its own, written by hand or by our writers, holding one quirk
seen in real traffic; the reader must give back the data, or raise a typed error.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edifact_inputs import ADULT, DOCS_ADULT, DOCS_INFANT, message, pax_message, paxlst, pnr
from pnrguard.domain.model import Booking, Contact, Document, Leg, Traveller, TravellerType
from pnrguard.errors import EdifactError, MessageError, UnsupportedMessageError
from pnrguard.formats.edifact import Delimiters, interchange_starts
from pnrguard.formats.paxlst import read_paxlst, write_paxlst
from pnrguard.formats.pnrgov import read_pnrgov, write_pnrgov
from pnrguard.formats.reader import read_message

pytestmark = pytest.mark.unit

PREPARED = dt.datetime(2024, 3, 1, 6, 0)
FLIGHT = Leg(
    carrier="UA", flight_number="988", origin="FRA", destination="IAD",
    departure=dt.datetime(2024, 3, 2, 12, 20), arrival=dt.datetime(2024, 3, 2, 15, 5),
)  # fmt: skip


def _codes(result: object) -> list[str]:
    return [d.code for d in result.deviations]  # type: ignore[attr-defined]


def _booking(locator: str, surname: str) -> Booking:
    return Booking(
        carrier="UA", locator=locator, created=dt.datetime(2024, 2, 1, 10, 0),
        travellers=[Traveller(ref="1", surname=surname, given_names="ANNA")], itinerary=[FLIGHT],
    )  # fmt: skip


# --- several interchanges in one push ---------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 7])
def test_every_interchange_of_a_push_is_read(n: int) -> None:
    delims = [Delimiters(), Delimiters(component=":", element="-", segment="*")]
    parts = [
        write_pnrgov(
            [_booking(f"LOC{i:03d}", "MÜLLER" if i % 2 else "ŁUKASIEWICZ")],
            flight=FLIGHT, prepared=PREPARED, delimiters=delims[i % 2], control_ref=str(i + 1),
        ).encode("utf-8" if i % 2 == 0 else "latin-1")
        for i in range(n)
    ]  # fmt: skip
    result = read_message(b"\n".join(parts))
    assert [b.locator for b in result.bookings] == [f"LOC{i:03d}" for i in range(n)]
    assert [b.travellers[0].surname for b in result.bookings] == [
        "MÜLLER" if i % 2 else "ŁUKASIEWICZ" for i in range(n)
    ]
    assert _codes(result).count("several_interchanges") == n - 1
    indexes = [d.segment_index for d in result.deviations if d.code == "several_interchanges"]
    assert len(set(indexes)) == n - 1  # positions stay unique across the push


@pytest.mark.parametrize("terminator", ["\n", "\r", "*"])
def test_several_interchanges_with_their_own_una_terminators(terminator: str) -> None:
    one = ("UNA:+.? '" + pnr(ADULT, DOCS_ADULT)).replace("'", terminator)
    two = one.replace("0995F0", "ABC123")
    result = read_pnrgov(one + "\r\n" + two)
    assert [b.locator for b in result.bookings] == ["0995F0", "ABC123"]
    assert [b.travellers[0].date_of_birth for b in result.bookings] == [dt.date(1964, 9, 9)] * 2


def test_several_paxlst_interchanges_are_read() -> None:
    result = read_message((paxlst("NAD+FL+++A:B'") + "\r\n" + paxlst("NAD+FL+++C:D'")).encode())
    assert [b.travellers[0].surname for b in result.bookings] == ["A", "C"]
    assert "several_interchanges" in _codes(result)


def test_pnrgov_and_paxlst_in_one_push_are_refused_whole() -> None:
    with pytest.raises(UnsupportedMessageError) as err:
        read_message(pnr(ADULT) + paxlst("NAD+FL+++A:B'"))
    assert err.value.code == "message_unsupported"


def test_strict_reading_refuses_a_second_interchange() -> None:
    with pytest.raises(EdifactError):
        read_pnrgov(pnr(ADULT) + pnr(ADULT), strict=True)


def test_text_after_unz_that_is_no_interchange_stays_a_deviation() -> None:
    result = read_pnrgov(pnr(ADULT) + "XYZ+1'")
    assert "text_after_unz" in _codes(result)
    assert interchange_starts(pnr(ADULT) + "XYZ+1'") == [0]


# --- character sets ---------------------------------------------------------------------------


@pytest.mark.parametrize("syntax", ["UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOK", "UNOX"])
def test_utf8_under_any_declaration_is_read_as_utf8(syntax: str) -> None:
    text = pnr("TIF+MÜLLER+ŻANNA:A:1'", syntax=syntax)
    result = read_pnrgov(text.encode("utf-8"))
    assert (result.bookings[0].travellers[0].surname, result.bookings[0].travellers[0].given_names) == (
        "MÜLLER", "ŻANNA",
    )  # fmt: skip
    assert "utf8_under_declared_charset" in _codes(result)


@pytest.mark.parametrize(
    ("syntax", "codec", "name"),
    [("UNOC", "latin-1", "MÜLLER"), ("UNOD", "iso8859_2", "ŁUKASZ"), ("UNOE", "iso8859_5", "ЖУКОВ")],
)
def test_text_in_its_declared_charset_reads_without_deviation(syntax: str, codec: str, name: str) -> None:
    result = read_pnrgov(pnr(f"TIF+{name}+ANNA:A:1'", syntax=syntax).encode(codec))
    assert result.bookings[0].travellers[0].surname == name
    assert result.deviations == []


@settings(max_examples=60, deadline=None)
@given(
    st.text(st.characters(categories=["Lu"]), min_size=1, max_size=12),
    st.sampled_from(["UNOA", "UNOB", "UNOC", "UNOD", "UNOK", "UNOW", "UNOY"]),
)
def test_any_utf8_name_under_any_declaration_reads_back(name: str, syntax: str) -> None:
    result = read_pnrgov(pnr(f"TIF+{name}+ANNA:A:1'", syntax=syntax).encode("utf-8"))
    assert result.bookings[0].travellers[0].surname == name


def test_latin1_bytes_under_unoa_are_read_and_flagged() -> None:
    result = read_pnrgov(pnr("TIF+MÜLLER+ANNA:A:1'", syntax="UNOA").encode("latin-1"))
    assert result.bookings[0].travellers[0].surname == "MÜLLER"
    assert "non_ascii_in_unoa" in _codes(result)


# --- infants known only from DOCS -------------------------------------------------------------


@pytest.mark.parametrize(
    "segments",
    [
        [ADULT, DOCS_INFANT, DOCS_ADULT],  # the infant's DOCS first
        [ADULT, DOCS_ADULT, DOCS_INFANT],
        [DOCS_INFANT.replace("'", "+::1'"), ADULT, DOCS_ADULT],  # at booking level, by ref
        [DOCS_INFANT, ADULT, DOCS_ADULT],  # at booking level, the only adult
        [ADULT, DOCS_INFANT, DOCS_ADULT, "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'", DOCS_INFANT],
    ],
)
def test_an_infant_known_only_from_its_docs_becomes_a_traveller(segments: list[str]) -> None:
    result = read_pnrgov(pnr(*segments))
    (b,) = result.bookings
    adult, infant = b.travellers
    assert adult.date_of_birth == dt.date(1964, 9, 9)
    assert adult.gender == "M"
    assert [d.number for d in adult.documents] == ["117557052"]
    assert infant.traveller_type is TravellerType.INFANT
    assert infant.accompanied_by_ref == adult.ref == "1"
    assert (infant.surname, infant.given_names, infant.gender) == ("RAVAL", "MAYA", "F")
    assert infant.date_of_birth == dt.date(2024, 1, 1)
    assert [d.number for d in infant.documents] == ["999"]
    assert _codes(result).count("infant_from_docs") == 1
    assert b.party_size == 2


def test_an_infant_docs_with_an_infant_tif_goes_to_that_infant() -> None:
    result = read_pnrgov(
        pnr("TIF+RAVAL+CHRISTOPHER:A:1:1'", DOCS_INFANT, DOCS_ADULT, "TIF+RAVAL+MAYA:IN:1I'")
    )
    adult, infant = result.bookings[0].travellers
    assert infant.date_of_birth == dt.date(2024, 1, 1)
    assert adult.date_of_birth == dt.date(1964, 9, 9)
    assert "infant_from_docs" not in _codes(result)


def test_an_infant_docs_of_an_unknown_adult_is_never_given_to_an_adult() -> None:
    two = ["TIF+RAVAL+A:A:1'", "TIF+RAVAL+B:A:2'"]
    result = read_pnrgov(
        pnr(*two).replace("SRC'RCI+UA:0995F0::270719:1120'", "SRC'RCI+UA:0995F0::270719:1120'" + DOCS_INFANT)
    )
    assert all(not t.documents for t in result.bookings[0].travellers)
    assert "ssr_traveller_unknown" in _codes(result)


# --- seats, contacts, DOCS forms -------------------------------------------------------------


@pytest.mark.parametrize("code", ["NSST", "NSSA", "NSSW", "RQST", "SMST", "nsst"])
def test_seat_requests_keep_the_seat_from_the_free_text(code: str) -> None:
    leg = "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'"
    result = read_pnrgov(pnr(ADULT, leg, f"SSR+{code}:HK:1:UA:::FRA:IAD:12AN+::1'"))
    (b,) = result.bookings
    assert [(s.seat, s.traveller_ref, s.leg_index) for s in b.seats] == [("12A", "1", 0)]
    assert not b.service_requests


def test_seat_request_in_the_traveller_group_with_leading_zero() -> None:
    result = read_pnrgov(pnr(ADULT, "SSR+RQST:HK:1:UA:::FRA:IAD:012C'"))
    assert [(s.seat, s.traveller_ref) for s in result.bookings[0].seats] == [("12C", "1")]


@pytest.mark.parametrize(
    ("text", "kind", "value", "use"),
    [
        ("CTC H 069 1234567", "phone", "0691234567", "home"),
        ("CTCH FRA 069-123 4567", "phone", "0691234567", "home"),
        ("CTC M +49 (151) 2345-678", "phone", "+491512345678", "mobile"),
        ("CTCM 491512345678/EN", "phone", "491512345678", "mobile"),
        ("CTC B 4420 7946 0000", "phone", "442079460000", "business"),
        ("CTCT 0041 22 123", "phone", "004122123", "agency"),
        ("CTCP 5551234-H", "phone", "5551234", "home"),
        ("AM CTCP 123 456", "phone", "123456", ""),
        ("CTCE ANNA..MARIA.SMITH-JONES//EXAMPLE.CO.UK", "email", "ANNA_MARIA.SMITH-JONES@EXAMPLE.CO.UK", ""),
        ("CTCE A.B//EXAMPLE./COM/EN", "email", "A.B@EXAMPLE-COM", ""),
        ("CTCP ASK THE AGENT", "phone", "ASK THE AGENT", ""),
    ],
)
def test_contacts_give_a_clean_value_and_its_kind(text: str, kind: str, value: str, use: str) -> None:
    released = text.replace("+", "?+")  # `+` is the element separator
    result = read_pnrgov(pnr(f"IFT+4:28::UA+{released}'", ADULT))
    assert result.bookings[0].contacts == [Contact(kind=kind, value=value, use=use)]


def test_ssr_contacts_and_phones_inside_add() -> None:
    result = read_pnrgov(
        pnr(
            "ADD++700:1 MAIN ST:NEW YORK:NY::US:10001:1-212-555-0100'",
            ADULT,
            "SSR+CTCM:HK:1:UA:::::4915123456/EN'",
        )
    )
    (b,) = result.bookings
    assert b.addresses[0].phone == "12125550100"
    assert b.contacts == [Contact(kind="phone", value="4915123456", traveller_ref="1", use="mobile")]


@pytest.mark.parametrize(
    "docs",
    [
        "/P/GBR/117557052/GBR/09SEP64/M/16MAY30/RAVAL/CHRISTOPHER",
        "/ P / GBR / 117557052 / GBR / 09SEP64 / M / 16MAY30 / RAVAL / CHRISTOPHER ",
        "/P/GBR/117557052/GBR/09SEP1964/M/16MAY2030/RAVAL/CHRISTOPHER",
        "/P/GBR/117557052/GBR/09SEP64/M/16MAY30/RAVAL/CHRISTOPHER-1.1",
        "/P/GBR/117557052/GBR/09sep64/M/16may30/RAVAL/CHRISTOPHER - 1.1",
    ],
)
@pytest.mark.parametrize("code", ["DOCS", "docs", "Docs"])
def test_docs_forms_read_the_same(docs: str, code: str) -> None:
    result = read_pnrgov(pnr(ADULT, f"SSR+{code}:HK::UA:::::{docs}'"))
    (t,) = result.bookings[0].travellers
    assert t.documents == [
        Document(
            doc_type="P", issuing_country="GBR", number="117557052", nationality="GBR",
            date_of_birth=dt.date(1964, 9, 9), gender="M", expiry=dt.date(2030, 5, 16),
            surname="RAVAL", given_names="CHRISTOPHER",
        )
    ]  # fmt: skip
    assert ("ssr_code_irregular" in _codes(result)) == (code != "DOCS")


def test_lower_case_sensitive_codes_reach_the_filter_upper_case() -> None:
    result = read_pnrgov(pnr(ADULT, "SSR+wchr:HK:1:UA'"))
    assert [sr.code for sr in result.bookings[0].service_requests] == ["WCHR"]


def test_doco_fields_go_to_the_right_components() -> None:
    doco = "SSR+DOCO:HK::UA:::::/LONDON/V/A1234/NEW YORK/01JAN23/USA'"
    result = read_pnrgov(pnr(ADULT, doco))
    (t,) = result.bookings[0].travellers
    assert t.birth_place == "LONDON"
    assert t.documents == [
        Document(
            doc_type="V", number="A1234", place_of_issue="NEW YORK",
            date_of_issue=dt.date(2023, 1, 1), valid_for="USA",
        )
    ]  # fmt: skip
    assert t.documents[0].issuing_country == ""  # the visa's country is not its issuer


def test_doco_round_trips_through_the_writer() -> None:
    visa = Document(
        doc_type="V", number="A1", place_of_issue="PARIS", date_of_issue=dt.date(2023, 5, 1), valid_for="USA"
    )
    b = _booking("ABC123", "DOE")
    b.travellers[0].documents = [visa]
    out = read_pnrgov(write_pnrgov([b], flight=FLIGHT, prepared=PREPARED))
    assert out.bookings[0].travellers[0].documents == [visa]


def test_a_repeated_traveller_group_is_one_traveller() -> None:
    result = read_pnrgov(pnr(ADULT, DOCS_ADULT, "TIF+DOE+JANE:A:2'", ADULT, "FTI+UA:123456'"))
    (b,) = result.bookings
    assert [t.ref for t in b.travellers] == ["1", "2"]
    assert b.travellers[0].frequent_flyers[0].number == "123456"
    assert b.travellers[0].date_of_birth == dt.date(1964, 9, 9)
    assert "traveller_repeated" in _codes(result)


@pytest.mark.parametrize(
    "tvl", ["TVL+260819:4321:260819:1505", "TVL+260819:1220:260819:2460", "TVL+320819:1220:260819:1505"]
)
def test_an_impossible_time_is_a_deviation_not_midnight(tvl: str) -> None:
    result = read_pnrgov(pnr(ADULT, f"{tvl}+FRA+IAD+UA+988'"))
    leg = result.bookings[0].itinerary[0]
    assert dt.time(0, 0) not in {m.time() for m in (leg.departure, leg.arrival) if m is not None}
    assert None in (leg.departure, leg.arrival)
    assert "datetime_unreadable" in _codes(result)


def test_an_impossible_time_in_the_flight_and_creation() -> None:
    text = pnr(ADULT).replace("TVL+260819:1220:", "TVL+260819:9999:").replace("270719:1120", "270719:2561")
    result = read_pnrgov(text)
    assert result.flight is not None
    assert result.flight.departure is None
    assert result.bookings[0].created is None
    assert _codes(result).count("datetime_unreadable") == 2


# --- EDIFACT syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize("terminator", ["\n", "\r"])
@pytest.mark.parametrize("line_end", ["", "\r\n"])
def test_una_declaring_cr_or_lf_as_terminator(terminator: str, line_end: str) -> None:
    text = ("UNA:+.? '" + pnr(ADULT, DOCS_ADULT)).replace("'", terminator + line_end)
    result = read_pnrgov(text)
    (b,) = result.bookings
    assert b.travellers[0].date_of_birth == dt.date(1964, 9, 9)
    assert b.locator == "0995F0"
    assert "una_terminator_mismatch" not in _codes(result)


def test_line_wrapping_is_recorded() -> None:
    text = pnr(ADULT, DOCS_ADULT)
    wrapped = "\n".join(text[i : i + 80] for i in range(0, len(text), 80))
    result = read_pnrgov(wrapped)
    assert result.bookings[0].travellers[0].documents[0].number == "117557052"
    assert "line_break_in_segment" in _codes(result)
    assert "line_break_in_segment" not in _codes(read_pnrgov(text.replace("'", "'\r\n")))


# --- PAXLST -----------------------------------------------------------------------------------


def test_cedipax_paxlst_is_refused_clearly() -> None:
    cedipax = "UNB+UNOA:1+XX+PIU+240301:0600+1'UNH+1+PAXLST:93:1:IA'BGM+250'TDT+20+LH400'"
    cedipax += "PDT+DOE:JANE+M+19700101'PDT+ROE:RICHARD+M+19700102'UNT+6+1'UNZ+1+1'"
    with pytest.raises(UnsupportedMessageError) as err:
        read_message(cedipax)
    assert err.value.segment_index == 4
    assert "JANE" not in str(err.value)


def test_a_list_of_nobody_is_refused_unless_cnt_says_so() -> None:
    with pytest.raises(MessageError):
        read_paxlst(paxlst("XYZ+DOE:JANE'"))
    assert read_paxlst(paxlst("CNT+42:0'")).bookings == []


def test_declared_ports_outside_the_flight_are_kept() -> None:
    result = read_paxlst(paxlst("NAD+FL+++A:B'", "LOC+178+MUC'", "LOC+179+SFO'"))
    (b,) = result.bookings
    (t,) = b.travellers
    assert (t.embarkation, t.debarkation) == ("MUC", "SFO")
    assert [(leg.origin, leg.destination) for leg in b.itinerary] == [("FRA", "JFK")]
    assert _codes(result) == ["port_outside_flight", "port_outside_flight"]
    assert result.flight is not None
    again = read_paxlst(write_paxlst(result.bookings, flight=result.flight, prepared=PREPARED))
    assert (again.bookings[0].travellers[0].embarkation, again.bookings[0].travellers[0].debarkation) == (
        "MUC", "SFO",
    )  # fmt: skip


def test_ports_inside_the_flight_are_not_repeated_on_the_traveller() -> None:
    (b,) = read_paxlst(paxlst("NAD+FL+++A:B'", "LOC+178+FRA'", "LOC+179+JFK'")).bookings
    assert (b.travellers[0].embarkation, b.travellers[0].debarkation) == ("", "")


def test_message_helpers_are_well_formed() -> None:
    assert read_pnrgov(pnr(ADULT)).deviations == []
    assert read_paxlst(paxlst("NAD+FL+++A:B'")).deviations == []
    assert message(ADULT).startswith("UNH")
    assert pax_message().startswith("UNH")
