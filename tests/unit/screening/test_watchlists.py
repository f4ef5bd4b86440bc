"""Importers: the real OFAC file, synthetic UN/EU/FtM/CSV fixtures, XML safety, deltas."""

from __future__ import annotations

from pathlib import Path

import pytest

from pnrguard.errors import WatchlistFormatError
from pnrguard.screening.models import Gender, IdentityDocument, PartialDate, WatchlistEntry
from pnrguard.screening.watchlists import (
    detect_format,
    diff,
    entry_fingerprint,
    fingerprints,
    load_watchlist,
    parse_csv,
    parse_eu,
    parse_ftm,
    parse_ofac,
    parse_un,
)

FIXTURES = Path(__file__).parent / "fixtures"
OFAC = Path("/work/shared/data/ofac-sdn-2024-05-03.csv")

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def ofac() -> dict[str, WatchlistEntry]:
    if not OFAC.exists():
        pytest.skip("OFAC sample not present")
    return {e.entity_id: e for e in load_watchlist(OFAC)}


def test_ofac_imports_every_individual_and_nothing_else(ofac: dict[str, WatchlistEntry]) -> None:
    assert len(ofac) == 6854
    assert "36" not in ofac  # AEROCARIBBEAN AIRLINES, an entity


def test_ofac_name_dob_passport(ofac: dict[str, WatchlistEntry]) -> None:
    e = ofac["2676"]
    assert e.name == "Dr. Ayman AL ZAWAHIRI"
    assert e.dobs == (PartialDate(1951, 6, 19),)
    assert IdentityDocument("1084010", "passport", "EGY") in e.documents
    assert IdentityDocument("19820215", "passport", None) in e.documents


def test_ofac_alt_dobs_gender_passport(ofac: dict[str, WatchlistEntry]) -> None:
    e = ofac["2686"]
    assert {d.year for d in e.dobs} == {1953, 1955, 1958, 1960}
    assert all((d.month, d.day) == (8, 31) for d in e.dobs)
    assert e.gender is Gender.MALE
    assert e.documents == (IdentityDocument("042833", "passport", "LBN"),)


def test_ofac_nationality_to_alpha3(ofac: dict[str, WatchlistEntry]) -> None:
    assert ofac["48884"].nationalities == ("RUS",)
    assert ofac["7846"].nationalities == ("IRQ",)


def test_ofac_dob_range_circa_and_year(ofac: dict[str, WatchlistEntry]) -> None:
    assert ofac["15496"].dobs == (PartialDate(1929), PartialDate(1930))  # "1929 to 1930"
    assert ofac["7846"].dobs == (PartialDate(1957),)  # "circa 1957"
    assert PartialDate(1961, 4) in ofac["12057"].dobs  # "Apr 1961"


def test_ofac_alias_with_apostrophes(ofac: dict[str, WatchlistEntry]) -> None:
    assert ofac["3754"].aliases == ("ABU-'UMAR",)
    assert ofac["3754"].documents == (IdentityDocument("92/664", "passport", "EGY"),)


def test_ofac_bad_row_names_the_line_not_the_content() -> None:
    data = b'1,"DOE, John","individual","SDGT"\n'
    with pytest.raises(WatchlistFormatError, match="line 1") as exc:
        parse_ofac(data)
    assert "DOE" not in str(exc.value)


def test_csv_fixture() -> None:
    entries = parse_csv((FIXTURES / "list.csv").read_bytes())
    w1, w2 = entries
    assert w1.entity_id == "W1"
    assert w1.aliases == ("Ahmed Fulani", "Abu Testing")
    assert w1.dobs == (PartialDate(1961, 2, 3), PartialDate(1962))
    assert w1.nationalities == ("IRQ", "SYR")
    assert w1.documents == (IdentityDocument("A1234567", "passport", "IRQ"),)
    assert w2.dobs == (PartialDate(1980),)
    assert w2.nationalities == ("GBR",)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"id,name\nW1,X\n", "line 1"),
        (b"entity_id,name,aliases,dob,nationality,documents\nW1,Secret Person,,31-12-1970,,\n", "line 2"),
        (b"entity_id,name,aliases,dob,nationality,documents\n,Secret Person,,,,\n", "line 2"),
    ],
)
def test_csv_errors_name_the_line(data: bytes, where: str) -> None:
    with pytest.raises(WatchlistFormatError, match=where) as exc:
        parse_csv(data)
    assert "Secret" not in str(exc.value)


def test_un_fixture() -> None:
    entries = parse_un((FIXTURES / "un.xml").read_bytes())
    assert [e.entity_id for e in entries] == ["QDi.900", "QDi.901"]
    first = entries[0]
    assert first.name == "ZORAN TESTOVIC"
    assert first.aliases == ("Zoran Testovich",)
    assert first.dobs == (PartialDate(1970, 3, 4), PartialDate(1971), PartialDate(1972))
    assert first.nationalities == ("SRB",)
    assert first.documents == (IdentityDocument("X123456", "passport", "SRB"),)
    assert entries[1].name == "AMINA EXAMPLE PERSON"
    assert entries[1].dobs == (PartialDate(1980),)


def test_eu_fixture() -> None:
    entries = parse_eu((FIXTURES / "eu.xml").read_bytes())
    assert len(entries) == 1  # the enterprise is skipped
    e = entries[0]
    assert e.entity_id == "5001"
    assert e.name == "Ivan Petrovich Primerov"
    assert e.aliases == ("Иван Петрович Примеров",)
    assert e.dobs == (PartialDate(1965, 7, 12), PartialDate(1966))
    assert e.nationalities == ("RUS",)
    assert e.documents == (IdentityDocument("7012345678", "passport", "RUS"),)
    assert e.gender is Gender.MALE


def test_ftm_fixture() -> None:
    entries = parse_ftm((FIXTURES / "ftm.jsonl").read_bytes())
    assert [e.entity_id for e in entries] == ["NK-test-1", "NK-test-3"]
    e = entries[0]
    assert e.list_name == "test_list"
    assert e.aliases == ("Mariya Beyspil",)
    assert e.dobs == (PartialDate(1975, 11, 30), PartialDate(1975))
    assert e.nationalities == ("DEU",)
    assert {d.number for d in e.documents} == {"C01X00T47", "T220001293"}
    assert e.gender is Gender.FEMALE
    assert entries[1].dobs == (PartialDate(1990, 4),)


def test_ftm_bad_json_names_the_line() -> None:
    with pytest.raises(WatchlistFormatError, match="line 2"):
        parse_ftm(b'{"id": "a", "schema": "Thing", "properties": {}}\n{not json\n')


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<CONSOLIDATED_LIST><INDIVIDUALS>&lol2;</INDIVIDUALS></CONSOLIDATED_LIST>",
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><export/>',
    ],
)
def test_xml_with_dtd_or_entities_is_refused(payload: bytes) -> None:
    with pytest.raises(WatchlistFormatError, match="refused"):
        parse_un(payload)
    with pytest.raises(WatchlistFormatError, match="refused"):
        parse_eu(payload)


def test_malformed_xml_is_a_format_error() -> None:
    with pytest.raises(WatchlistFormatError, match="line"):
        parse_un(b"<CONSOLIDATED_LIST><INDIVIDUAL>")


def test_detect_format() -> None:
    assert detect_format((FIXTURES / "un.xml").read_bytes()) == "un"
    assert detect_format((FIXTURES / "eu.xml").read_bytes()) == "eu"
    assert detect_format((FIXTURES / "ftm.jsonl").read_bytes()) == "ftm"
    assert detect_format((FIXTURES / "list.csv").read_bytes()) == "csv"
    assert detect_format(b'36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA"') == "ofac"
    with pytest.raises(WatchlistFormatError):
        detect_format(b"hello")


def test_fingerprint_ignores_order_of_multi_values_but_not_content() -> None:
    a = WatchlistEntry("1", "l", "A B", aliases=("X Y", "Z W"), dobs=(PartialDate(1970), PartialDate(1971)))
    b = WatchlistEntry("1", "l", "A B", aliases=("Z W", "X Y"), dobs=(PartialDate(1971), PartialDate(1970)))
    c = WatchlistEntry("1", "l", "A B", aliases=("X Y",), dobs=(PartialDate(1970), PartialDate(1971)))
    assert entry_fingerprint(a) == entry_fingerprint(b)
    assert entry_fingerprint(a) != entry_fingerprint(c)
    assert len(entry_fingerprint(a)) == 64


def test_diff_between_versions() -> None:
    old = fingerprints(
        [WatchlistEntry("1", "l", "A B"), WatchlistEntry("2", "l", "C D"), WatchlistEntry("3", "l", "E F")]
    )
    new = fingerprints(
        [WatchlistEntry("1", "l", "A B"), WatchlistEntry("3", "l", "E G"), WatchlistEntry("4", "l", "H I")]
    )
    delta = diff(old, new)
    assert (delta.added, delta.removed, delta.changed) == (("4",), ("2",), ("3",))
    assert diff(new, new).is_empty
