"""The sensitive-data filter deletes Art. 13(4) data whole, counts it, and keeps the rest."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnrguard.domain.model import (
    Booking,
    Document,
    HistoryEntry,
    Remark,
    ServiceRequest,
    Traveller,
    to_dict,
)
from pnrguard.errors import ConfigError
from pnrguard.protection.sensitive import (
    NOT_SENSITIVE,
    Category,
    FieldKind,
    Rule,
    RuleKind,
    SensitiveFilter,
    parse_table,
)

pytestmark = pytest.mark.unit

FILTER = SensitiveFilter.load()
SENSITIVE_RULES = [r for r in FILTER.rules if r.sensitive]
STRUCTURED = {r.pattern for r in FILTER.rules if r.kind is RuleKind.STRUCTURED_SSR}


def _booking(**kwargs: Any) -> Booking:
    base: dict[str, Any] = {
        "carrier": "XX",
        "locator": "ABC123",
        "travellers": [Traveller(ref="1", surname="DOE", given_names="JANE")],
    }
    base.update(kwargs)
    return Booking(**base)


# --- the table -------------------------------------------------------------------------


def test_table_is_a_reviewed_decision_record() -> None:
    rules = FILTER.rules
    assert 1000 <= len(rules) <= 5000
    assert all(r.note for r in rules), "every row says why"
    used = {r.category for r in SENSITIVE_RULES}
    assert used == {c.value for c in Category}, "every Art. 13(4) category has rows"
    decided_kept = {r.pattern for r in rules if r.category == NOT_SENSITIVE}
    assert {"VGML", "VLML", "CHML", "SFML", "DEPA", "DEPU", "SPML"} <= decided_kept


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("MOML", Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS),
        ("KSML", Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS),
        ("HNML", Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS),
        ("ORML", Category.RACIAL_OR_ETHNIC_ORIGIN),
        ("DBML", Category.HEALTH),
        ("WCHR", Category.HEALTH),
        ("MEDA", Category.HEALTH),
        ("BLND", Category.HEALTH),
        ("DEAF", Category.HEALTH),
    ],
)
def test_sensitive_ssr_code_is_deleted_and_counted(code: str, category: Category) -> None:
    keep = ServiceRequest(code="VGML", status="HK", carrier="XX", traveller_ref="1")
    booking = _booking(
        service_requests=[ServiceRequest(code=code.lower(), status="HK", traveller_ref="1"), keep]
    )
    out, report = FILTER.apply(booking)
    assert out.service_requests == [keep]
    assert report.by_category == {category.value: 1}
    assert report.by_field == {FieldKind.SSR_CODE.value: 1}
    assert report.deleted == 1


WORD_PER_CATEGORY = {
    Category.RACIAL_OR_ETHNIC_ORIGIN: "Roma / gypsy family",
    Category.POLITICAL_OPINIONS: "delegates to the party congress",
    Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS: "group travelling for UMRAH",
    Category.TRADE_UNION_MEMBERSHIP: "paid by trade-union",
    Category.HEALTH: "pax is 7 months pregnant",
    Category.SEX_LIFE_OR_SEXUAL_ORIENTATION: "LGBT+ tour group",
    Category.GENETIC_OR_BIOMETRIC: "carries DNA test kit results",
}


@pytest.mark.parametrize("category", list(Category))
def test_remark_with_a_sensitive_word_is_deleted_whole(category: Category) -> None:
    text = WORD_PER_CATEGORY[category]
    normal = Remark(kind="RMK", text="TKT BY 15JAN PLS ADVISE")
    booking = _booking(remarks=[Remark(kind="OSI", text=text), normal])
    out, report = FILTER.apply(booking)
    assert out.remarks == [normal]
    assert report.by_category == {category.value: 1}
    assert report.by_field == {FieldKind.REMARK.value: 1}


@pytest.mark.parametrize("category", list(Category))
def test_history_entry_with_a_sensitive_word_is_deleted(category: Category) -> None:
    kept = HistoryEntry("CHG SEAT 12A TO 14C")
    booking = _booking(history=[kept, HistoryEntry(f"RMK ADDED: {WORD_PER_CATEGORY[category]}")])
    out, report = FILTER.apply(booking)
    assert out.history == [kept]
    assert report.by_category == {category.value: 1}
    assert report.by_field == {FieldKind.HISTORY.value: 1}


def test_history_repeating_a_sensitive_ssr_code_is_deleted() -> None:
    booking = _booking(history=[HistoryEntry("XS SSR KSML HK1 /P1"), HistoryEntry("ADD SSR VGML")])
    out, report = FILTER.apply(booking)
    assert [h.text for h in out.history] == ["ADD SSR VGML"]
    assert report.by_category == {Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS.value: 1}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("HALAL ONLY", Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS),
        ("NO-PORK.PLS", Category.RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS),
        ("PAX DIABETIC", Category.HEALTH),
        ("PAXREQUIRESWHEELCHAIR", Category.HEALTH),
    ],
)
def test_ssr_with_sensitive_free_text_is_deleted(text: str, category: Category) -> None:
    booking = _booking(service_requests=[ServiceRequest(code="SPML", text=text, traveller_ref="1")])
    out, report = FILTER.apply(booking)
    assert out.service_requests == []
    assert report.by_category == {category.value: 1}
    assert report.by_field == {FieldKind.SSR_TEXT.value: 1}


@pytest.mark.parametrize("code", ["MOML1", "paxwchr", "KSML/"])
def test_a_code_field_that_is_not_a_clean_code_is_read_as_text(code: str) -> None:
    out, report = FILTER.apply(_booking(service_requests=[ServiceRequest(code=code)]))
    assert out.service_requests == []
    assert report.by_field == {FieldKind.SSR_CODE.value: 1}


def test_rules_built_by_hand_are_normalised() -> None:
    filt = SensitiveFilter([Rule(RuleKind.WORD, "yom  kippur", "religious_or_philosophical_beliefs")])
    assert filt.categories("Yom-Kippur") == {"religious_or_philosophical_beliefs"}


def test_an_element_revealing_two_categories_counts_in_both_but_once_as_deleted() -> None:
    booking = _booking(remarks=[Remark(text="MUSLIM PAX IN WHEELCHAIR")])
    out, report = FILTER.apply(booking)
    assert out.remarks == []
    assert report.by_category == {"religious_or_philosophical_beliefs": 1, "health": 1}
    assert report.deleted == 1


def test_non_sensitive_data_is_untouched() -> None:
    ssrs = [
        ServiceRequest(code="VGML", status="HK", carrier="XX", traveller_ref="1"),
        ServiceRequest(code="CHML", status="HK", carrier="XX", traveller_ref="1"),
        ServiceRequest(code="DEPA", status="HK", text="ESCORTED BY 2 OFFICERS"),
        # Structured identity data is not word-scanned: surnames and streets collide.
        ServiceRequest(code="DOCS", text="P/GBR/123456/GBR/01JAN80/M/01JAN30/CHURCH/GAY"),
        ServiceRequest(code="DOCA", text="R/GBR/1 CHURCH STREET/LONDON"),
    ]
    remarks = [
        Remark(kind="RMK", text="TKT BY 15JAN PLS ADVISE IF CHANGES"),
        Remark(kind="OSI", text="HOTEL ROMA, VIA DEL CORSO"),  # Roma is Rome, not a people
        Remark(kind="RMK", text="CHURCHILL SUITE BOOKED"),  # whole words only
        Remark(kind="RMK", text="AFRICAN UNION DELEGATION"),  # union phrases are unambiguous ones
        Remark(kind="RMK", text="EUROPEAN UNION MEMBER STATE"),
        Remark(kind="RMK", text="HONEYMOON COUPLE"),
    ]
    history = [HistoryEntry("CHG SEAT 12A TO 14C BY AGENT 1234")]
    booking = _booking(service_requests=ssrs, remarks=remarks, history=history)
    out, report = FILTER.apply(booking)
    assert out == booking
    assert report.deleted == 0
    assert report.by_category == {}


def test_structured_ssr_text_is_matched_as_proper_text() -> None:
    # A structured SSR's text holds names: proper-name words (GAY, CHURCH) do not match
    # there, every other term does (issue 10: "the free text of any SSR code").
    rules = parse_table(
        "kind,pattern,category,note\nstructured_ssr,DOCS,none,x\nssr_code,WCHR,health,x\n"
        "word,GAY,sex_life_or_sexual_orientation,x\nproper,GAY,none,x\n"
    )
    filt = SensitiveFilter(rules)
    kept = ServiceRequest(code="DOCS", text="P/GBR/1/GBR/01JAN80/M/01JAN30/GAY/JOHN")
    out, _ = filt.apply(_booking(service_requests=[kept, ServiceRequest(code="DOCS", text="WCHR")]))
    assert out.service_requests == [kept]
    out, _ = filt.apply(_booking(service_requests=[ServiceRequest(code=" wchr ")]))
    assert out.service_requests == []


def test_input_is_not_mutated_and_output_is_a_new_booking() -> None:
    booking = _booking(
        service_requests=[ServiceRequest(code="MOML"), ServiceRequest(code="VGML")],
        remarks=[Remark(text="BLIND PAX"), Remark(text="OK")],
        history=[HistoryEntry("WCHR ADDED"), HistoryEntry("SEAT CHG")],
    )
    before = copy.deepcopy(booking)
    out, _ = FILTER.apply(booking)
    assert booking == before
    assert out is not booking
    assert out.remarks is not booking.remarks
    assert len(out.remarks) == len(out.history) == len(out.service_requests) == 1


def test_report_holds_no_content() -> None:
    texts = ["PAX NEEDS WHEELCHAIR AT XYZ", "KOSHER FOR MR QWERTY", "TRADE UNION ZZTOP"]
    booking = _booking(
        remarks=[Remark(text=t) for t in texts],
        service_requests=[ServiceRequest(code="MOML", text="PLUGH")],
    )
    _, report = FILTER.apply(booking)
    shown = repr(report).upper()
    for token in ("WHEELCHAIR", "XYZ", "KOSHER", "QWERTY", "ZZTOP", "MOML", "PLUGH"):
        assert token not in shown
    assert report.deleted == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P1/WCHR", {"health"}),  # digits and slashes are word boundaries
        ("-HaLaL-", {"religious_or_philosophical_beliefs"}),
        ("YOM  KIPPUR", {"religious_or_philosophical_beliefs"}),  # any gap inside a phrase
        ("HAJJ2024", {"religious_or_philosophical_beliefs"}),
        ("ARCHIVE REF 12", set()),  # HIV inside a word is not the word HIV
        ("MR CHRISTIANSEN", set()),
        ("", set()),
    ],
)
def test_matching_rules(text: str, expected: set[str]) -> None:
    assert FILTER.categories(text) == expected


# --- loading ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("ssr_code,MOML,religion,x", "unknown category"),
        ("meal,MOML,health,x", "unknown kind"),
        ("ssr_code,MOMLX,health,x", "4 letters"),
        ("substring,HIV,health,x", r"4\+ characters"),
        ("structured_ssr,DOCS,health,x", "category 'none'"),
        ("word,,health,x", "empty pattern"),
        ("word,COVID-19,health,x", "letters only"),
        ("word,HALAL,health,a note, with a comma", "too many cells"),
        ("word,HALAL,health,x\nword,halal,health,y", "duplicate"),
        ("word,HALAL,health,x\nsubstring,HALAL,religious_or_philosophical_beliefs,y", "two categories"),
    ],
)
def test_a_malformed_table_is_refused(row: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SensitiveFilter(parse_table(f"kind,pattern,category,note\n{row}\n"))


def test_a_national_table_can_be_loaded_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "national.csv"
    path.write_text("kind,pattern,category,note\nword,PIRATENPARTEI,political_opinions,DE party\n")
    filt = SensitiveFilter.load(path)
    assert filt.categories("Mitglied der Piratenpartei") == {"political_opinions"}
    assert filt.categories("WCHR") == set()


def test_a_table_without_sensitive_rows_deletes_nothing() -> None:
    filt = SensitiveFilter(parse_table("kind,pattern,category,note\nssr_code,VGML,none,x\n"))
    booking = _booking(remarks=[Remark(text="WCHR")])
    assert filt.apply(booking)[0] == booking


# --- properties ------------------------------------------------------------------------

BENIGN = [
    "TKT", "PLS", "ADVISE", "PAX", "SEAT", "WINDOW", "AISLE", "LATE", "ARRIVAL", "HOTEL",
    "TAXI", "CONNECTING", "BAGGAGE", "UPGRADE", "REQUEST", "CONFIRMED", "AGENT", "FARE",
    "RULES", "APPLY", "GROUP", "CHANGE", "REBOOK", "CALL", "BACK", "ONLINE", "PAID",
]  # fmt: skip
PUNCT = st.sampled_from([" ", "  ", "/", "-", ".", ",", ";", ":", "(", ")", "*", "1", "\n", "+"])
BENIGN_CODES = ["VGML", "CHML", "SEAT", "OTHS", "FQTV", "DOCS", "PETC", "UMNR", "XBAG"]
INJECTABLE = [r.pattern.rstrip("*") for r in SENSITIVE_RULES]
SENSITIVE_CODES = [r.pattern for r in SENSITIVE_RULES if r.kind is RuleKind.SSR_CODE]


def test_the_benign_vocabulary_is_benign() -> None:
    assert FILTER.categories(" ".join(BENIGN + BENIGN_CODES)) == set()


@st.composite
def _sentences(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(BENIGN), min_size=0, max_size=8))
    out = ""
    for w in words:
        out += w + draw(PUNCT)
    return out


@st.composite
def _any_case(draw: st.DrawFn, pattern: str) -> str:
    """The pattern in random letter case, phrase gaps as random punctuation runs."""
    chars = []
    for ch in pattern:
        if ch == " ":
            chars.append(draw(st.sampled_from([" ", "-", "  ", "/", "_", ". "])))
        else:
            chars.append(ch.lower() if draw(st.booleans()) else ch)
    return "".join(chars)


@st.composite
def _bookings_with_injections(draw: st.DrawFn) -> tuple[Booking, list[str], list[str]]:
    remarks = [Remark(kind="RMK", text=draw(_sentences())) for _ in range(draw(st.integers(0, 4)))]
    history = [HistoryEntry(draw(_sentences())) for _ in range(draw(st.integers(0, 3)))]
    ssrs = [
        ServiceRequest(code=draw(st.sampled_from(BENIGN_CODES)), text=draw(_sentences()))
        for _ in range(draw(st.integers(0, 3)))
    ]
    injected: list[str] = []
    codes: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        word = draw(_any_case(draw(st.sampled_from(INJECTABLE))))
        text = draw(PUNCT) + word + draw(PUNCT)
        target = draw(st.sampled_from(["remark", "history", "ssr_text", "ssr_code"]))
        if target == "ssr_code":
            code = draw(_any_case(draw(st.sampled_from(SENSITIVE_CODES))))
            ssrs.insert(draw(st.integers(0, len(ssrs))), ServiceRequest(code=code, text=draw(_sentences())))
            codes.append(code)
            continue
        prefix, suffix = draw(_sentences()), draw(_sentences())
        full = prefix + text + suffix
        if target == "remark":
            remarks.insert(draw(st.integers(0, len(remarks))), Remark(kind="OSI", text=full))
        elif target == "history":
            history.insert(draw(st.integers(0, len(history))), HistoryEntry(full))
        else:
            code = draw(st.sampled_from([c for c in BENIGN_CODES if c not in STRUCTURED]))
            ssrs.insert(draw(st.integers(0, len(ssrs))), ServiceRequest(code=code, text=full))
        injected.append(word)
    traveller = Traveller(ref="1", surname="DOE", documents=[Document(doc_type="P", number="X1")])
    booking = _booking(travellers=[traveller], remarks=remarks, history=history, service_requests=ssrs)
    return booking, injected, codes


def _strings(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _strings(v)]
    if isinstance(data, list):
        return [s for v in data for s in _strings(v)]
    return [data.upper()] if isinstance(data, str) else []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_bookings_with_injections())
def test_injected_sensitive_words_and_codes_never_survive(
    case: tuple[Booking, list[str], list[str]],
) -> None:
    booking, injected, codes = case
    out, report = FILTER.apply(booking)
    strings = _strings(to_dict(out))
    for token in injected + codes:
        needle = token.upper()
        assert not any(needle in s for s in strings), token
    assert report.deleted >= 1

    def size(b: Booking) -> int:
        return len(b.remarks) + len(b.history) + len(b.service_requests)

    assert report.deleted == size(booking) - size(out)


_texts = st.text(max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_texts, _texts), max_size=4),
    st.lists(_texts, max_size=4),
    st.lists(_texts, max_size=4),
)
def test_the_filter_never_raises_and_is_idempotent(
    ssrs: list[tuple[str, str]], remarks: list[str], history: list[str]
) -> None:
    booking = _booking(
        service_requests=[ServiceRequest(code=c, text=t) for c, t in ssrs],
        remarks=[Remark(text=t) for t in remarks],
        history=[HistoryEntry(t) for t in history],
    )
    out, _ = FILTER.apply(booking)
    again, report = FILTER.apply(out)
    assert again == out
    assert report.deleted == 0


def test_the_dpos_file_adds_to_the_packaged_table(tmp_path: Path) -> None:
    extra = tmp_path / "national.csv"
    extra.write_text(
        "kind,pattern,category,lang,note\n"
        "word,PIRATENPARTEI*,political_opinions,de,DE party\n"
        "proper,KOWALSKI,none,pl,a surname\n",
        encoding="utf-8",
    )
    filt = SensitiveFilter.load(extra=extra)
    assert filt.categories("Mitglied der Piratenparteien") == {"political_opinions"}
    assert filt.categories("PAX WCHR") == {"health"}  # the packaged rows are still there
    extra.write_text("kind,pattern,category,note\nssr_code,WCHR,health,again\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate"):
        SensitiveFilter.load(extra=extra)

