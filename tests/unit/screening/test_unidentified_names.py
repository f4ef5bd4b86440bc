"""Names that identify nobody (issue 14, fairness): a match made only of names many people
bear is proposed only when something tells the listed person from namesakes: the exact
listed date of birth or a listed document number; a date that agrees as far as the list
gives one is enough for names common only by their form, not for names common on the list.
docs/watchlists.md, "Names that identify nobody"."""

from __future__ import annotations

import datetime as dt
import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnrguard.screening.commonness import SYLLABLES, common_by_form, patronymic_stems, syllable_name
from pnrguard.screening.models import IdentityDocument, PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.names import fold
from pnrguard.screening.score import COMMON_UNIDENTIFIED
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener

pytestmark = pytest.mark.unit

D = dt.date


def _fillers(n: int) -> list[str]:
    """Distinct made-up names that no rule of `commonness.py` reads as common."""
    letters = itertools.product("BDFGKPSTVZ", repeat=3)
    return ["QX" + "".join(p) + "RQ" for p in itertools.islice(letters, n)]


FILL = _fillers(80)
LIST = [
    WatchlistEntry("GH", "t", "GHOLAMI, Ali", documents=(IdentityDocument("24471008", "passport", "IRN"),)),
    WatchlistEntry("GR", "t", "SAFAVI, Gholam Reza", dobs=(PartialDate(1960, 1, 2),)),  # GHOLAM, a given name
    WatchlistEntry("KI", "t", "KIM, Kwang-Il", nationalities=("PRK",)),
    WatchlistEntry("HE", "t", "Jing HE", dobs=(PartialDate(1964, 6),)),
    WatchlistEntry("HK", "t", "Haji Mohammad KHAN", dobs=(PartialDate(1980),)),
    WatchlistEntry("MK", "t", "Mohammad Karim KHAN", dobs=(PartialDate(1975, 4, 9),)),
    WatchlistEntry("AQ", "t", f"{FILL[0]}, {FILL[1]}", aliases=("Abu Qasim",), dobs=(PartialDate(1981),)),
    WatchlistEntry("NA", "t", "Hasan NASRALLAH", dobs=(PartialDate(1960, 8, 31),)),
    # MOHAMMAD, KHAN and QASIM common on the list (in more than 20 names each)
    *(WatchlistEntry(f"M{i}", "t", f"Mohammad {FILL[10 + i]} KHAN") for i in range(25)),
    *(WatchlistEntry(f"Q{i}", "t", f"Qasim {FILL[40 + i]}") for i in range(25)),
]  # fmt: skip


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.build(LIST)


def hits(screener: Screener, query: PersonQuery) -> set[str]:
    return {c.entity_id for c in screener.screen(query)}


def below(screener: Screener, query: PersonQuery, entity: str) -> str:
    """The explanation of `entity` scored below the threshold."""
    found = [c for c in screener.screen(query, threshold=0.0) if c.entity_id == entity]
    assert found, f"{entity} not even a weak candidate"
    assert found[0].score < DEFAULT_THRESHOLD
    return found[0].explanation


# ------------------------------------------------------------------ names common by form
@pytest.mark.parametrize(
    "token",
    ["JING", "KWANG", "MINH", "NGUYEN", "XIAOMING", "ZHANG", "HYOK", "CHOL", "GWANG", "THANH"],
)
def test_syllable_names_are_names_many_people_bear(token: str) -> None:
    assert syllable_name(token)
    assert common_by_form(token, lambda _: False)


@pytest.mark.parametrize("token", ["ZAWAHIRI", "NASRALLAH", "KOWALSKI", "MUELLER", "BILAL", "TAVAKOLI"])
def test_distinctive_names_are_not_common_by_form(token: str) -> None:
    """BILAL is two Korean syllables glued (BI+LAL): only Mandarin is read glued."""
    assert not common_by_form(token, lambda _: False)


@pytest.mark.parametrize(
    ("surname", "given_name"),
    [
        ("GHOLAMI", "GHOLAM"),
        ("REZAEI", "REZA"),
        ("MOUSAVI", "MUSA"),
        ("IVANOV", "IVAN"),
        ("SERGEEV", "SERGEI"),
        ("RODRIGUEZ", "RODRIGO"),
        ("MARTINEZ", "MARTIN"),
        ("JOHNSON", "JOHN"),
        ("PETROSYAN", "PETROS"),
        ("HASANOGLU", "HASAN"),
    ],
)
def test_patronymic_surnames_of_a_given_name_are_common(surname: str, given_name: str) -> None:
    given_names = {fold(given_name)}
    assert common_by_form(surname, given_names.__contains__)
    assert not common_by_form(surname, lambda _: False) or surname == "HASANOGLU"  # HASAN: a name family


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=14))
def test_a_name_is_never_its_own_patronymic(token: str) -> None:
    """SABAWI (a given name on the list) is not made common by being SABAWI + I."""
    assert fold(token) not in set(patronymic_stems(token))
    assert not common_by_form(token, {fold(token)}.__contains__) or common_by_form(token, lambda _: False)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SYLLABLES["mandarin"])), st.sampled_from(sorted(SYLLABLES["mandarin"])))
def test_any_two_mandarin_syllables_glued_are_a_syllable_name(first: str, second: str) -> None:
    assert syllable_name(first + second)


# ------------------------------------------------------------------ the rule
def test_an_exact_namesake_of_an_undated_listing_is_not_proposed(screener: Screener) -> None:
    """GHOLAMI (the patronymic of GHOLAM, a given name on the list) and ALI: no listed date,
    so nothing tells Ali GHOLAMI from the many who bear the name; his passport does."""
    query = PersonQuery("q", "GHOLAMI", "ALI", dob=D(1962, 11, 5), nationality="IRN")
    assert "GH" not in hits(screener, query)
    assert "no exact DOB or document" in below(screener, query, "GH")
    with_passport = PersonQuery("q", "GHOLAMI", "ALI", dob=D(1962, 11, 5), document="24471008")
    assert "GH" in hits(screener, with_passport)


def test_a_glued_syllable_name_of_an_undated_listing_is_not_proposed(screener: Screener) -> None:
    for given_names in ("KWANGIL", "KWANG IL"):
        query = PersonQuery("q", "KIM", given_names, dob=D(1970, 10, 24))
        assert "KI" not in hits(screener, query)
        assert "no exact DOB or document" in below(screener, query, "KI")


def test_syllable_names_hit_on_the_date_as_listed_and_no_other_name(screener: Screener) -> None:
    """Jing HE, born in June 1964 by the list: HE JING born that month is proposed; HE FANG
    JING (another given name: FANGJING) and HE JING born a year off are not."""
    assert "HE" in hits(screener, PersonQuery("q", "HE", "JING", dob=D(1964, 6, 26)))
    other_name = PersonQuery("q", "HE", "FANG JING", dob=D(1964, 6, 26))
    assert "HE" not in hits(screener, other_name)
    assert "1 of the traveller's not" in below(screener, other_name, "HE")
    year_off = PersonQuery("q", "HE", "JING", dob=D(1965, 6, 1))
    assert "HE" not in hits(screener, year_off)
    assert "the DOB not as listed" in below(screener, year_off, "HE")


def test_names_common_on_the_list_need_the_exact_date_or_a_document(screener: Screener) -> None:
    """MOHAMMAD KHAN, listed with a year only: a traveller of that name born that year is a
    namesake as likely as the listed man; with the exact listed date, the listed person."""
    query = PersonQuery("q", "KHAN", "MOHAMMAD", dob=D(1980, 12, 29))
    assert "HK" not in hits(screener, query)
    assert "only common names matched; no exact DOB or document" in below(screener, query, "HK")
    assert "MK" in hits(screener, PersonQuery("q", "KHAN", "MOHAMMAD KARIM", dob=D(1975, 4, 9)))


def test_a_kunya_in_full_is_proposed_on_the_listed_year(screener: Screener) -> None:
    """ABU QASIM is a by-name few passports carry: not a chance namesake."""
    assert "AQ" in hits(screener, PersonQuery("q", "QASIM", "ABU", dob=D(1981, 3, 1)))


def test_distinctive_names_need_no_date(screener: Screener) -> None:
    assert "NA" in hits(screener, PersonQuery("q", "NASRALLAH", "HASSAN"))


def test_the_penalty_keeps_any_unidentified_match_under_the_default_threshold() -> None:
    """The most the other features can add to an unidentified exact name: the listed
    surname (+0.02) and the listed month (+0.10)."""
    assert 1.0 + 0.02 + 0.10 + COMMON_UNIDENTIFIED < DEFAULT_THRESHOLD


# ------------------------------------------------------------------ properties
NAMES = ["ALI", "MOHAMMAD", "KHAN", "GHOLAMI", "JING", "KWANG", "NASRALLAH", FILL[2], FILL[3], "HE"]
DOBS = [None, D(1980, 3, 3), D(1964, 6, 1), D(1962, 11, 5), D(1975, 4, 9)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.sampled_from(NAMES), min_size=2, max_size=3, unique=True), min_size=2, max_size=3),
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
    st.sampled_from(DOBS),
    st.sampled_from([(), (PartialDate(1980),), (PartialDate(1964, 6),), (PartialDate(1975, 4, 9),)]),
)
def test_an_entity_scores_as_its_best_name_alone(
    names: list[list[str]], query_names: list[str], dob: dt.date | None, dobs: tuple[PartialDate, ...]
) -> None:
    """Whether a name identifies depends on the entity's date: decided per name, so a name
    that identifies nobody never hides another name of the same person that does."""
    background = LIST[8:]  # the names made common on the list
    written = [" ".join(n) for n in names]
    whole = Screener.build([*background, WatchlistEntry("T", "t", written[0], tuple(written[1:]), dobs)])
    query = PersonQuery("q", query_names[-1], " ".join(query_names[:-1]), dob=dob)

    def score(screener: Screener) -> float:
        found = screener.screen(query, threshold=0.0)
        return max((c.score for c in found if c.entity_id == "T"), default=0.0)

    alone = [score(Screener.build([*background, WatchlistEntry("T", "t", w, (), dobs)])) for w in written]
    assert score(whole) == max(alone)
