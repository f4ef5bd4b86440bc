"""Listed people with weak identifiers (no date of birth): what can still tell a namesake
apart is the nationality, the list's own or that of a listed passport, a listed document
number, and the name itself when it is not made of names many people bear, each visible on
the hit page."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pnrguard.screening.models import IdentityDocument, PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.names import PARTICLES
from pnrguard.screening.query_form import query_form
from pnrguard.screening.score import listed_nationalities
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener

pytestmark = pytest.mark.unit

LIST = [
    WatchlistEntry("U1", "t", "RI, Chol-Jong", nationalities=("PRK",)),
    WatchlistEntry("U2", "t", "TAVAKOLI, Davoud", documents=(IdentityDocument("Q12345", "passport", "IRN"),)),
    WatchlistEntry("U3", "t", "PAE, Yu Ho"),
    WatchlistEntry("U4", "t", "CHOE, Song Il", documents=(IdentityDocument("654321987", "passport", "PRK"),)),
    WatchlistEntry("D3", "t", "SEO, Ji Ho", dobs=(PartialDate(1971, 2, 3),)),
    WatchlistEntry("D1", "t", "RYANG, Jong-Nam", dobs=(PartialDate(1965, 4, 5),), nationalities=("PRK",)),
    WatchlistEntry("X1", "t", "Nasrin TAHERI", dobs=(PartialDate(1980),)),
]  # fmt: skip


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.build(LIST)


def hits(screener: Screener, query: PersonQuery) -> dict[str, str]:
    return {c.entity_id: c.explanation for c in screener.screen(query)}


def test_undated_entry_and_another_nationality_is_not_a_hit(screener: Screener) -> None:
    """The list gives a name and a nationality only: a traveller of another nationality is
    not proposed on the name alone, as a conflicting date of birth would not be."""
    assert "U1" not in hits(screener, PersonQuery("q", "RI", "CHOLJONG", nationality="KOR"))


def test_undated_entry_still_hits_when_nationality_agrees_or_is_unknown(screener: Screener) -> None:
    """A name that identifies (TAVAKOLI), no listed date: proposed unless the nationality
    disagrees."""
    agrees = hits(screener, PersonQuery("q", "TAVAKOLI", "DAVOUD", nationality="IR"))
    assert "nationality IRN matches" in agrees["U2"]
    assert "U2" in hits(screener, PersonQuery("q", "TAVAKOLI", "DAVOUD"))


def test_dated_entry_keeps_the_slight_nationality_doubt(screener: Screener) -> None:
    """With a listed date of birth, the date decides: another nationality costs little."""
    found = screener.screen(
        PersonQuery("q", "RYANG", "JONG NAM", dob=dt.date(1965, 4, 5), nationality="KOR"), threshold=0.0
    )
    nat = [f for c in found if c.entity_id == "D1" for f in c.features if f.feature == "nationality"]
    assert nat
    assert nat[0].value == -0.05
    assert found[0].entity_id == "D1"
    assert found[0].score >= DEFAULT_THRESHOLD


def test_passport_country_stands_for_an_unlisted_nationality(screener: Screener) -> None:
    assert "U2" not in hits(screener, PersonQuery("q", "TAVAKOLI", "DAVOUD", nationality="TUR"))
    assert (
        "nationality IRN matches"
        in hits(screener, PersonQuery("q", "TAVAKOLI", "DAVOUD", nationality="IR"))["U2"]
    )
    assert listed_nationalities(("SYR",), (IdentityDocument("1", "passport", "IRN"),)) == ["SYR"]
    assert listed_nationalities((), (IdentityDocument("1", "visa", "FRA"),)) == []


def test_names_many_people_bear_without_a_listed_dob_need_a_document(screener: Screener) -> None:
    """Three syllable names and no DOB on the list: nothing tells the listed person from the
    many who bear them, so no proposal on the name, whatever the nationality; shown below the
    threshold with the reason; the listed document number proposes them."""
    for query in (
        PersonQuery("q", "PAE", "YU HO"),
        PersonQuery("q", "RI", "CHOL JONG", nationality="KP"),
        PersonQuery("q", "CHOE", "SONG IL", dob=dt.date(1970, 1, 2), nationality="PRK"),
    ):
        assert hits(screener, query) == {}
    below = screener.screen(PersonQuery("q", "PAE", "YU HO"), threshold=0.0)
    common = [f for c in below if c.entity_id == "U3" for f in c.features if f.feature == "common"]
    assert common
    assert common[0].value < 0
    assert common[0].explanation == "only common names matched; no exact DOB or document"
    found = screener.screen(PersonQuery("q", "CHOE", "SONG IL", document="654321987"))
    assert [c.entity_id for c in found] == ["U4"]
    assert not [f for f in found[0].features if f.feature == "common"]
    dated = screener.screen(PersonQuery("q", "SEO", "JI HO", dob=dt.date(1971, 2, 3)))
    assert dated[0].entity_id == "D3"
    assert not [f for f in dated[0].features if f.feature == "common"]


# ------------------------------------------------------------------ properties
token = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=9).filter(
    lambda t: not t.endswith(("MR", "MRS", "MS", "MISS", "MSTR")) and t not in PARTICLES
)
countries = st.sampled_from(["PRK", "KOR", "IRN", "TUR", "CHN", "EGY"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(token, min_size=2, max_size=3), countries, countries)
def test_nationality_decides_for_an_undated_exact_name(tokens: list[str], listed: str, carried: str) -> None:
    """An undated listed name that identifies (not made only of names many people bear),
    queried exactly: a hit when the traveller's nationality is unknown or the listed one,
    none when it is another."""
    entry = WatchlistEntry("T", "t", " ".join(tokens), nationalities=(listed,))
    screener = Screener.build([*LIST, entry])
    form = query_form(screener.index, " ".join(tokens), tokens[-1])
    assume(form is not None and form.shared_mask != (1 << len(form.tokens)) - 1)
    base = PersonQuery("q", tokens[-1], " ".join(tokens[:-1]))
    with_nat = PersonQuery("q", tokens[-1], " ".join(tokens[:-1]), nationality=carried)
    found = {c.entity_id: c.score for c in screener.screen(with_nat)}
    without = {c.entity_id: c.score for c in screener.screen(base)}
    assert "T" in without
    assert ("T" in found) == (carried == listed)
    if carried == listed:  # agreement is shown but scores no higher than no nationality at all
        assert found["T"] == without["T"]


def test_an_agreeing_nationality_does_not_lift_a_namesake(screener: Screener) -> None:
    """Most travellers named like a listed Iranian are Iranian: agreement is shown on the
    hit page and adds nothing, so nobody scores higher for their nationality."""
    base = screener.screen(PersonQuery("q", "TAVAKOLI", "DAVOUD"))
    same = screener.screen(PersonQuery("q", "TAVAKOLI", "DAVOUD", nationality="IRN"))
    assert [c.score for c in same] == [c.score for c in base]
    nat = [f for f in same[0].features if f.feature == "nationality"]
    assert nat[0].value == 0.0
