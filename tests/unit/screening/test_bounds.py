"""Speed without a different answer: the score bounds that drop candidates before scoring,
the fast folding, and properties of retrieval (issue 14).

The bounds (`screening/bounds.py`) may only drop names that could not have been proposed:
screening with and without them must give the same candidates, scores and explanations,
for any query and threshold. Folding without the regex engine must fold as the table's
regular expressions do.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pnrguard.screening.bounds import Reach
from pnrguard.screening.models import IdentityDocument, PartialDate, PersonQuery, WatchlistEntry
from pnrguard.screening.names import FOLD_RULES, fold
from pnrguard.screening.query_form import query_form
from pnrguard.screening.screener import DEFAULT_THRESHOLD, Screener

pytestmark = pytest.mark.unit

# Common names of several cultures, so that queries share names with many entries (as the
# namesakes of the OFAC list do) and the numpy bound, the Python bound and glued forms all run.
GIVEN = ["MOHAMMED", "MUHAMMAD", "ALI", "AHMED", "HASSAN", "OMAR", "ABDUL", "IBRAHIM", "WEI", "JUAN",
         "MARIA", "IVAN", "KIM", "SERGEI", "YUSUF", "KARIM", "B", "J"]  # fmt: skip
SURNAMES = ["ALI", "HASSAN", "KHAN", "WANG", "GARCIA LOPEZ", "LOPEZ", "IVANOV", "AL-ZAWAHIRI", "RAHMAN",
            "ABDULRAHMAN", "HUSSEIN", "AHMADI", "DE LA CRUZ", "NGUYEN", "KIM", "OMAR"]  # fmt: skip
#: Written glued or apart where the list does the opposite (glued pairs in the alignment).
GLUED = ["GARCIALOPEZ", "DELACRUZ", "ALZAWAHIRI", "ABDUL RAHMAN"]


def _namesakes(n: int, seed: int) -> list[WatchlistEntry]:
    rng = random.Random(seed)
    out: list[WatchlistEntry] = []
    for i in range(n):
        given = " ".join(rng.sample(GIVEN[:-2], rng.randint(1, 3)))
        surname = rng.choice(SURNAMES)
        name = f"{surname}, {given.title()}" if i % 3 == 0 else f"{given.title()} {surname}"
        dobs: tuple[PartialDate, ...] = ()
        if i % 4 == 1:
            dobs = (PartialDate(rng.randint(1950, 1990), rng.randint(1, 12), rng.randint(1, 28)),)
        elif i % 4 == 2:
            start = rng.randint(1950, 1990)
            dobs = tuple(PartialDate(y) for y in range(start, start + rng.randint(1, 3)))
        aliases = (f"{rng.choice(GIVEN[:-2])} {surname.replace(' ', '')}",) if i % 5 == 0 else ()
        documents = (IdentityDocument(f"P{i:03d}" if i % 7 else str(i % 10)),) if i % 6 == 0 else ()
        nationalities = ("IRQ",) if i % 8 == 0 else ()
        out.append(WatchlistEntry(f"N{i}", "t", name, aliases, dobs, nationalities, documents))
    return out


ENTRIES = _namesakes(120, seed=14)
BOUNDED = Screener.build(ENTRIES)
UNBOUNDED = Screener.build(ENTRIES, bounded=False)

names = st.lists(st.sampled_from(GIVEN + SURNAMES + GLUED), min_size=1, max_size=4)
dates = st.one_of(st.none(), st.dates(min_value=dt.date(1948, 1, 1), max_value=dt.date(1992, 12, 31)))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    names,
    names,
    dates,
    st.sampled_from([None, "IQ", "FR"]),
    st.sampled_from([None, "P006", "0", "X999"]),
    st.sampled_from([0.5, 0.7, DEFAULT_THRESHOLD, 0.95]),
)
def test_bounds_never_change_what_is_proposed(
    surname: list[str],
    given_names: list[str],
    dob: dt.date | None,
    nationality: str | None,
    document: str | None,
    threshold: float,
) -> None:
    query = PersonQuery("q", " ".join(surname), " ".join(given_names), None, dob, nationality, document)
    assert BOUNDED.screen(query, threshold=threshold) == UNBOUNDED.screen(query, threshold=threshold)


@SETTINGS
@given(names, names, dates, st.sampled_from([0.5, DEFAULT_THRESHOLD]))
def test_numpy_and_python_bounds_agree(
    surname: list[str], given_names: list[str], dob: dt.date | None, threshold: float
) -> None:
    index = BOUNDED.index
    qf = query_form(index, " ".join(given_names + surname), " ".join(surname))
    assume(qf is not None)
    assert qf is not None
    ids, counts = index.candidate_names(qf.sets, need=qf.need)
    assume(len(ids) > 0)
    reach = Reach.of(qf.best, qf.shape, dob=dob, nationality=False, threshold=threshold)
    by_numpy = reach.filter(index, ids, counts).tolist()
    by_python = [
        int(name_id)
        for name_id, count in zip(ids.tolist(), counts.tolist(), strict=True)
        if reach.reaches(
            index.name_tokens(name_id),
            index.surname_mask(name_id),
            count,
            int(index.entity_year_min[index.name_entity[name_id]]),
            int(index.entity_year_max[index.name_entity[name_id]]),
            int(index.name_entity[name_id]),
        )
    ]
    assert by_numpy == by_python


def test_bounds_drop_most_namesakes() -> None:
    """The point of the bounds: a common two-name query with an unrelated date of birth
    leaves (almost) nothing to score."""
    index = BOUNDED.index
    qf = query_form(index, "MOHAMMED ALI", "ALI")
    assert qf is not None
    ids, counts = index.candidate_names(qf.sets, need=qf.need)
    reach = Reach.of(
        qf.best, qf.shape, dob=dt.date(2001, 1, 1), nationality=False, threshold=DEFAULT_THRESHOLD
    )
    assert len(ids) >= 5
    assert len(reach.filter(index, ids, counts)) < len(ids)
    assert np.isin(reach.filter(index, ids, counts), ids).all()


def _fold_by_regex(token: str) -> str:
    """`fold` exactly as the table writes it: every rule through `re.sub`."""
    out = token
    for rule in FOLD_RULES:
        if len(token) >= rule.min_length and rule.trigger in out:
            out = rule.pattern.sub(rule.replacement, out)
    if out != token and out:
        again = _fold_by_regex(out)
        return again if again else out
    return out or token


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ABDEHIJKLOQSTUWXYZCGFP-É", min_size=1, max_size=14))
def test_fold_without_regex_engine_folds_as_the_table(token: str) -> None:
    assert fold(token) == _fold_by_regex(token)


# Consonant-vowel names with no letter that starts a folding digraph: one edit stays one
# edit after folding, which is what the retrieval guarantee is about.
CONSONANTS = "BDFLMNPRSTV"
VOWELS = "AI"
part = st.builds(
    lambda cs, vs: "".join(c + v for c, v in zip(cs, vs, strict=False)),
    st.lists(st.sampled_from(CONSONANTS), min_size=3, max_size=5),
    st.lists(st.sampled_from(VOWELS), min_size=3, max_size=5),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(part, min_size=3, max_size=3, unique=True), st.data())
def test_one_edit_in_a_long_part_is_found_with_the_listed_date(parts: list[str], data: st.DataObject) -> None:
    """docs/watchlists.md, "Candidates": a part within one edit of the listed part (a
    substituted consonant or two adjacent letters swapped, past the first letter) is
    retrieved, and with the exact date of birth proposed."""
    which = data.draw(st.integers(0, 2))
    word = parts[which]
    assume(len(word) >= 6)
    pos = data.draw(st.integers(2, len(word) - 2))
    if data.draw(st.booleans()) and word[pos] in CONSONANTS:
        edited = word[:pos] + data.draw(st.sampled_from(CONSONANTS.replace(word[pos], ""))) + word[pos + 1 :]
    else:
        edited = word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :]
    assume(edited != word and not re.search(r"(.)\1", edited))
    dob = dt.date(1970, 5, 17)
    target = WatchlistEntry(
        "T", "t", f"{parts[0].title()} {parts[1].title()} {parts[2]}", dobs=(PartialDate.from_date(dob),)
    )
    screener = Screener.build([target, *ENTRIES[:20]])
    query_parts = [*parts]
    query_parts[which] = edited
    query = PersonQuery("q", query_parts[2], f"{query_parts[0]} {query_parts[1]}", dob=dob)
    assert "T" in {c.entity_id for c in screener.screen(query)}
