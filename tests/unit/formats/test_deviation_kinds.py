"""Every deviation kind is in the catalogue, in docs/formats.md, and produced by an input.

The catalogue (`formats/deviations.py`) is what the data-quality report counts and what
carriers are told; a kind the code can record but nobody can produce (or that is missing
from the documentation) would make the report lie.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edifact_inputs import ADULT, DOCS_ADULT, DOCS_INFANT, message, pax_message, paxlst, pnr
from pnrguard.errors import ParseError
from pnrguard.formats import deviations
from pnrguard.formats.reader import read_message

pytestmark = pytest.mark.unit

SRC = Path(deviations.__file__).parent
DOCS = Path(__file__).resolve().parents[3] / "docs" / "formats.md"
LEG = "TVL+260819:1220:260819:1505+FRA+IAD+UA+988'"
UNB = "UNB+UNOC:4+UA+PIU+190825:1120+22'"
UNG = "UNG+PNRGOV+UA+PIU+190825:1120+1+IA+13:1'"
PAX_UNB = "UNB+UNOC:4+XX+PIU+240301:0600+1'"
PERSON = "NAD+FL+++DOE:JANE'"

#: kind -> an input that produces it (bytes where the character set matters).
INPUTS: dict[str, str | bytes] = {
    "utf8_under_declared_charset": pnr("TIF+MÜLLER+A:A:1'", syntax="UNOA").encode("utf-8"),
    "charset_mismatch": pnr("TIF+MÜLLER+A:A:1'", syntax="UNOY").encode("latin-1"),
    "non_ascii_in_unoa": pnr("TIF+MÜLLER+A:A:1'", syntax="UNOA").encode("latin-1"),
    "leading_text_skipped": "FROM THE GATEWAY\n" + pnr(ADULT),
    "una_irregular": "UNA:+.?'" + pnr(ADULT),
    "una_terminator_mismatch": "UNA:+.? *" + pnr(ADULT),
    "line_break_in_segment": pnr("TIF+RAVAL+CHRIS\nTOPHER:A:1'"),
    "irregular_tag": pnr(ADULT, "TI+X'"),
    "several_interchanges": pnr(ADULT) + pnr(ADULT),
    "text_after_unz": pnr(ADULT) + "XYZ+1'",
    "segment_outside_message": UNB + "XYZ+1'" + message(ADULT) + "UNZ+1+22'",
    "unt_without_unh": UNB + message(ADULT) + "UNT+2+1'UNZ+1+22'",
    "unt_count_mismatch": UNB + message(ADULT).replace("UNT+9+", "UNT+5+") + "UNZ+1+22'",
    "unt_reference_mismatch": UNB + message(ADULT).replace("UNT+9+1", "UNT+9+7") + "UNZ+1+22'",
    "unt_reference_missing": UNB + message(ADULT).replace("UNT+9+1", "UNT+9") + "UNZ+1+22'",
    "ung_not_closed": UNB + UNG + UNG + message(ADULT) + "UNE+1+1'UNZ+2+22'",
    "une_without_ung": UNB + message(ADULT) + "UNE+1+1'UNZ+1+22'",
    "une_count_mismatch": UNB + UNG + message(ADULT) + "UNE+4+1'UNZ+1+22'",
    "unz_count_mismatch": pnr(ADULT, unz="UNZ+3+22'"),
    "unz_reference_mismatch": pnr(ADULT, unz="UNZ+1+99'"),
    "unsupported_version": UNB + message(ADULT, version="09:1") + "UNZ+1+22'",
    "message_type_skipped": UNB + message(ADULT) + "UNH+2+IFTMIN:13:1:IA'BGM+1'UNT+3+2'UNZ+2+22'",
    "unknown_segment": pnr(ADULT, "XYZ+1'"),
    "segment_out_of_order": pnr(ADULT, LEG, "TKT+123:T:1'"),
    "src_missing": pnr(ADULT).replace("SRC'", ""),
    "rci_missing": pnr(ADULT).replace("RCI+UA:0995F0::270719:1120'", ""),
    "eqn_count_mismatch": pnr(ADULT).replace("EQN+1'", "EQN+2'"),
    "ssr_code_irregular": pnr(ADULT, DOCS_ADULT.replace("DOCS", "docs")),
    "docs_date_unreadable": pnr(ADULT, DOCS_ADULT.replace("09SEP64", "99XYZ64")),
    "doco_date_unreadable": pnr(ADULT, "SSR+DOCO:HK::UA:::::/LONDON/V/A1/NYC/31FEB23/USA'"),
    "datetime_unreadable": pnr(ADULT, "TVL+260819:4321:260819:1505+FRA+IAD+UA+988'"),
    "ssr_traveller_unknown": pnr("TIF+A+B:A:1'", "TIF+C+D:A:2'").replace(
        "1120'TIF", "1120'" + DOCS_ADULT + "TIF", 1
    ),
    "infant_from_docs": pnr(ADULT, DOCS_INFANT),
    "traveller_repeated": pnr(ADULT, ADULT),
    "seat_without_traveller": pnr(ADULT, LEG, "SSD+48E++++Y'"),
    "bag_without_traveller": pnr(ADULT, LEG, "TBD++01:26:701'"),
    "not_paxlst": PAX_UNB + pax_message(PERSON) + "UNH+2+IFTMIN:D:02B:UN'BGM+1'UNT+3+2'UNZ+2+1'",
    "tdt_qualifier": paxlst(PERSON).replace("TDT+20+", "TDT+21+"),
    "flight_missing": paxlst(PERSON).replace("NAD+MS+++AIRLINE'", "NAD+MS+++AIRLINE'TDT+20'"),
    "flight_designator_differs": paxlst(PERSON).replace("TDT+20+LH0400+++LH", "TDT+20+ZX877+++XZ"),
    "message_without_flight": PAX_UNB
    + pax_message(PERSON, flight=False)
    + pax_message(PERSON, reference="2")
    + "UNZ+2+1'",
    "port_outside_flight": paxlst(PERSON, "LOC+178+MUC'"),
    "segment_out_of_place": paxlst(PERSON, "LOC+91+GBR'"),
    "invalid_date": paxlst(PERSON, "DTM+329:991399'"),
    "duplicate_value": paxlst(PERSON, "DTM+329:700101'", "DTM+329:700102'"),
    "cnt_mismatch": paxlst(PERSON, "CNT+42:5'"),
}


def _recorded_in_code() -> set[str]:
    """Every code literal the formats package hands to a deviation-recording call."""
    calls = r"(?:deviate|deviate_at|tolerate|Deviation)\(\s*\"([a-z0-9_]+)\""
    drops = r"(?:drop|deviate|tolerate)\([a-z_.]+,\s*\"([a-z0-9_]+)\""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(calls, text)) | set(re.findall(drops, text))
    return found


def test_the_catalogue_is_exactly_what_the_code_records() -> None:
    assert _recorded_in_code() == set(deviations.DEVIATION_KINDS)


def test_docs_list_every_kind_and_no_other() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M))
    assert documented == set(deviations.DEVIATION_KINDS)


def test_every_kind_has_an_input() -> None:
    assert set(INPUTS) == set(deviations.DEVIATION_KINDS)


@pytest.mark.parametrize("kind", sorted(deviations.DEVIATION_KINDS))
def test_each_kind_is_produced(kind: str) -> None:
    result = read_message(INPUTS[kind])
    assert kind in {d.code for d in result.deviations}
    for d in result.deviations:  # never content: a code, an index, a tag
        assert d.code in deviations.DEVIATION_KINDS
        assert d.tag == "" or re.fullmatch(r"[A-Z0-9]{3}|\?", d.tag)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(INPUTS)),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["set", "del", "dup"])),
        max_size=6,
    ),
)
def test_mutated_inputs_raise_only_parse_errors(kind: str, edits: list[tuple[int, int, str]]) -> None:
    """Byte flips, cuts and repeats of every quirky input (several interchanges, odd UNA,
    mislabelled charsets): the reader reads or raises a `ParseError`, nothing else."""
    raw = INPUTS[kind]
    data = bytearray(raw if isinstance(raw, bytes) else raw.encode("utf-8"))
    for pos, byte, op in edits:
        if not data:
            break
        i = pos % len(data)
        if op == "set":
            data[i] = byte
        elif op == "del":
            del data[i : i + byte % 8 + 1]
        else:
            data[i:i] = data[i : i + byte % 40]
    with contextlib.suppress(ParseError):
        read_message(bytes(data))
