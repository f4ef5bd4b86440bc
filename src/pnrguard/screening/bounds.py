"""Upper bounds on a candidate's score, for many candidates at once, before scoring any.

Most names that retrieval hands over cannot reach the threshold: they share one or two
common names with the traveller and their listed dates of birth are years away. Scoring
each in Python (alignment, roles, commonness) was most of the matcher's time, so the
names whose best possible score is below the threshold are dropped first, with numpy,
from what is known without scoring: how many query tokens' name sets hold the name (at
most that many token pairs, each worth at most 1), the name's length (the cost of tokens
left over), and the entity's earliest and latest listed year of birth (another year by
more than one is a conflict; no listed year equal rules out any positive date evidence).

The bound is safe by construction: a dropped name could not have been proposed, nor been
the best name of an entity that is proposed (tests compare with unpruned screening).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from pnrguard.screening.index import IntArray, NameIndex
from pnrguard.screening.score import (
    DOB_CONFLICT,
    DOB_EXACT,
    MISSING_TOKEN_PENALTY,
    NATIONALITY_MATCH,
    SINGLE_TOKEN_CAP,
    SURNAME_MATCH,
    SURNAME_ONLY_CAP,
)

#: Fewer candidates than this are scored without bounding them first (numpy's fixed cost
#: per call is worth it only for more).
MIN_TO_BOUND = 8
#: Kept below the threshold by this much: scores are rounded to four places when summed.
ROUNDING_MARGIN = 0.001

FloatArray = npt.NDArray[np.float64]


def name_upper_bounds(
    index: NameIndex, ids: IntArray, counts: IntArray, *, n_query: int, n_initials: int
) -> FloatArray:
    """Best possible name evidence (name score with role and commonness) per name id.

    Valid when each pair joins one query position to one listed position (no glued pairs:
    `QueryForm.bounded`): then at most `counts + n_initials` pairs form, each similarity is
    at most 1, the shorter and longer token counts are fixed, and the role can add at
    most `SURNAME_MATCH` (commonness only subtracts).
    """
    n_listed = index.name_length[ids]
    shorter = np.minimum(n_listed, n_query)
    longer = np.maximum(n_listed, n_query)
    pairs = np.minimum(counts + n_initials, shorter)
    bound = pairs / shorter - MISSING_TOKEN_PENALTY * (longer - shorter)
    bound = np.where((shorter == 1) & (longer > 1), np.minimum(bound, SINGLE_TOKEN_CAP), bound)
    if n_query == 1:  # a surname alone that is the listed surname
        bound = np.where(n_listed > 1, np.maximum(bound, SURNAME_ONLY_CAP), bound)
    result: FloatArray = np.clip(bound, 0.0, 1.0) + SURNAME_MATCH
    return result


def dob_upper_bounds(index: NameIndex, entities: IntArray, dob: dt.date | None) -> FloatArray:
    """Best possible date-of-birth evidence per entity (see `score.dob_feature`): with no
    listed year within one of the traveller's, a conflict; with none equal (or no date on
    either side), nothing."""
    if dob is None:
        return np.zeros(len(entities))
    low = index.entity_year_min[entities].astype(np.int32)
    high = index.entity_year_max[entities].astype(np.int32)
    listed = low != 0
    year = dob.year
    conflict = listed & ((year < low - 1) | (year > high + 1))
    same_year_possible = listed & (low <= year) & (year <= high)
    result: FloatArray = np.where(conflict, DOB_CONFLICT, np.where(same_year_possible, DOB_EXACT, 0.0))
    return result


def within_reach(
    index: NameIndex,
    ids: IntArray,
    counts: IntArray,
    *,
    n_query: int,
    n_initials: int,
    dob: dt.date | None,
    nationality: bool,
    threshold: float,
    keep_entities: frozenset[int] = frozenset(),
) -> IntArray:
    """The name ids whose best possible score reaches `threshold`, in the given order.
    Names of `keep_entities` (a document number matched) are always kept."""
    entities = index.name_entity[ids]
    best = (
        name_upper_bounds(index, ids, counts, n_query=n_query, n_initials=n_initials)
        + dob_upper_bounds(index, entities, dob)
        + (NATIONALITY_MATCH if nationality else 0.0)
    )
    keep = best >= threshold - ROUNDING_MARGIN
    if keep_entities:
        keep |= np.isin(entities, np.fromiter(keep_entities, dtype=np.int32))
    result: IntArray = ids[keep]
    return result
