"""Hereditary honorifics (SEYYED, SAYYID, SYED ...): a part a listed person or a traveller
may carry or not, never a name that a look-alike given name (SAEID, SAID) stands for; kept
as a name where it is one (the surname, after a particle, or beside a single other name)."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pnrguard.screening.index import token_similarity
from pnrguard.screening.models import Candidate, PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.names import HONORIFICS, PARTICLES, TITLES, drop_honorific, honorific_variants
from pnrguard.screening.screener import Screener

pytestmark = pytest.mark.unit

LIST = [
    WatchlistEntry("H1", "t", "Sayyed Behzad ZARGHAMI", dobs=(PartialDate(1961),)),
    WatchlistEntry("H2", "t", "TARZI, Sayed"),
    WatchlistEntry("H3", "t", "Syed SHAHRYAR", dobs=(PartialDate(1958, 3, 9),)),
    WatchlistEntry("P1", "t", "Kourosh ZARGHAMI", dobs=(PartialDate(1970),)),
]  # fmt: skip


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.build(LIST)


def scores(screener: Screener, query: PersonQuery, threshold: float = 0.85) -> dict[str, float]:
    return {c.entity_id: c.score for c in screener.screen(query, threshold=threshold)}


def name_value(candidate: Candidate) -> float:
    """The name evidence alone (the score is clamped at 1)."""
    return next(f.value for f in candidate.features if f.feature == "name")


def test_an_honorific_is_not_a_look_alike_given_name(screener: Screener) -> None:
    """SAEID is a given name (Sa'id), SAYYED an honorific: a namesake sharing the surname
    and the year is not proposed because the two look alike."""
    assert token_similarity("SAEID", "SAYYED") <= 0.6
    assert token_similarity("SAID", "SAYYID") <= 0.6
    assert "H1" not in scores(screener, PersonQuery("q", "ZARGHAMI", "SAEID", dob=dt.date(1961, 5, 5)))


def test_honorific_spellings_are_one_honorific() -> None:
    assert token_similarity("SYED", "SEYYED") >= 0.95
    assert token_similarity("SEYED", "SAYYID") >= 0.95


def test_a_listed_honorific_the_traveller_lacks_costs_nothing(screener: Screener) -> None:
    with_it = screener.screen(PersonQuery("q", "ZARGHAMI", "BEHZAD", dob=dt.date(1961, 5, 5)))
    plain = Screener.build([WatchlistEntry("H1", "t", "Behzad ZARGHAMI", dobs=(PartialDate(1961),))])
    without = plain.screen(PersonQuery("q", "ZARGHAMI", "BEHZAD", dob=dt.date(1961, 5, 5)))
    assert with_it[0].entity_id == "H1"
    assert name_value(with_it[0]) == name_value(without[0]) == 1.0
    assert [f.feature for f in with_it[0].features] == [f.feature for f in without[0].features]
    assert "listed honorific SAYYED set aside" in with_it[0].explanation
    assert with_it[0].explanation.startswith("name ")  # the listed name, not an alias


def test_a_travellers_honorific_the_list_lacks_costs_nothing(screener: Screener) -> None:
    plain = screener.screen(PersonQuery("q", "ZARGHAMI", "KOUROSH", dob=dt.date(1970, 1, 9)))
    seyed = screener.screen(PersonQuery("q", "ZARGHAMI", "SEYED KOUROSH", dob=dt.date(1970, 1, 9)))
    assert seyed[0].entity_id == "P1"
    assert name_value(seyed[0]) == name_value(plain[0]) == 1.0
    assert "honorific SEYED set aside" in seyed[0].explanation


def test_an_honorific_borne_as_a_name_is_still_matched(screener: Screener) -> None:
    """`TARZI, Sayed`: the honorific is the given name; `Syed SHAHRYAR` against a traveller
    who also carries another given name: still the listed person."""
    assert "H2" in scores(screener, PersonQuery("q", "TARZI", "SAYED"))
    assert "H2" not in scores(screener, PersonQuery("q", "TARZI", "NADER"))
    found = scores(screener, PersonQuery("q", "SHAHRYAR", "SYED NAVEED", dob=dt.date(1958, 3, 9)))
    assert "H3" in found


def test_where_an_honorific_is_a_name() -> None:
    assert honorific_variants("GHORBANI, Seyyed Nader") == [("GHORBANI, Nader", "SEYYED")]
    assert honorific_variants("Sayyid Nader Kamal TARZI") == [("Nader Kamal TARZI", "SAYYID")]
    assert honorific_variants("SAYYED, Nader Kamal") == []  # the surname
    assert honorific_variants("TARZI, Nader al-Sayyid") == []  # after a particle: a family name
    assert honorific_variants("TARZI, Sayed") == []  # the only given name
    assert honorific_variants("Syed SHAHRYAR") == []
    assert drop_honorific("SEYED NADER", "TARZI") == ("NADER", "SEYED")
    assert drop_honorific("SAYED", "TARZI") is None
    assert drop_honorific("AL SAYED NADER", "TARZI") is None


# ------------------------------------------------------------------ properties
token = st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=9).filter(
    lambda t: t not in PARTICLES and t not in TITLES and t not in HONORIFICS and not t.endswith(("MR", "MS"))
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(token, min_size=2, max_size=3, unique=True), st.sampled_from(sorted(HONORIFICS)), st.booleans()
)
def test_an_honorific_beside_two_names_is_optional(tokens: list[str], honorific: str, on_query: bool) -> None:
    """The same name with or without an honorific in the given names, on either side: the
    same score as with it on neither."""
    surname, given_names = tokens[-1], " ".join(tokens[:-1])
    born = (PartialDate(1966),)
    plain = WatchlistEntry("T", "t", f"{surname}, {given_names}", dobs=born)
    marked = WatchlistEntry("T", "t", f"{surname}, {honorific} {given_names}", dobs=born)
    query = PersonQuery("q", surname, given_names, dob=dt.date(1966, 4, 4))
    base = Screener.build([plain]).screen(query, threshold=0.0)
    if on_query:
        carrying = PersonQuery("q", surname, f"{honorific} {given_names}", dob=dt.date(1966, 4, 4))
        other = Screener.build([plain]).screen(carrying, threshold=0.0)
    else:
        other = Screener.build([marked]).screen(query, threshold=0.0)
    assert base
    assert other
    assert name_value(other[0]) == name_value(base[0])
    assert other[0].score == base[0].score
