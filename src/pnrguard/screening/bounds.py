"""Upper bounds on a candidate's score, before scoring it, for many candidates at once.

Most names that retrieval hands over cannot reach the threshold: they share one or two
common names with the traveller, their listed surname is not among the traveller's names,
or their listed dates of birth are years away. Scoring each in Python (alignment, roles,
commonness) was most of the matcher's time, so the names whose best possible score is
below the threshold are dropped first, from what is known without aligning:

- how many query tokens' name sets hold the name, and which listed positions hold a token
  the query matched with what best similarity: at most that many pairs, each worth at
  most its position's best similarity (an initial at most `INITIAL_SIMILARITY`);
- the name's length (the cost of tokens left over) and the single-token caps;
- whether a listed surname position was matched at all (if not, the surname feature is
  `SURNAME_MISSING` for a query of two names or more; at best it is `SURNAME_MATCH`);
- the entity's earliest and latest listed year of birth: no listed year within one of the
  traveller's is a conflict, none equal rules out any positive date evidence.

Many names at once with numpy (`Reach.filter`), a few one by one in Python
(`Reach.reaches`): the same arithmetic. Glued pairs (two query tokens read as one listed
token, one query token read as two adjacent listed ones) change the counts a score divides
by: the bound takes the best over each number of them the alignment could use. It is safe
by construction: a dropped name could not have been proposed, nor been the best name of an
entity that is (tests compare bounded and unbounded screening).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pnrguard.screening.index import IntArray, NameIndex
from pnrguard.screening.score import (
    DOB_CONFLICT,
    DOB_EXACT,
    GLUED_SIMILARITY,
    INITIAL_SIMILARITY,
    MISSING_TOKEN_PENALTY,
    NATIONALITY_MATCH,
    SINGLE_TOKEN_CAP,
    SURNAME_MATCH,
    SURNAME_MISSING,
    SURNAME_ONLY_CAP,
)

#: Fewer candidates than this are bounded one by one in Python (numpy's fixed cost per
#: call is worth it only for more).
MIN_TO_BOUND = 16
#: Kept below the threshold by this much: scores are rounded to four places when summed.
ROUNDING_MARGIN = 0.001

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
YearArray = npt.NDArray[np.int16]


def name_upper_bounds(
    n_listed: IntArray,
    counts: IntArray,
    matched: IntArray,
    best_sum: FloatArray,
    has_roles: BoolArray,
    surname_hit: BoolArray,
    shape: Shape,
) -> FloatArray:
    """Best possible name evidence (name score, role and commonness) per name: `counts`
    query token sets hold it, `matched` of its positions hold a matched token, whose best
    similarities sum to `best_sum`; `has_roles`: the list marks its surname, `surname_hit`:
    a surname position is among the matched ones. The best over every number of glued
    query pairs and glued listed pairs the alignment may use (`Shape`)."""
    out: FloatArray | None = None
    for merged, covered in shape.cases():
        n_query = shape.n_query - merged
        n_l = n_listed - covered
        shorter = np.minimum(n_l, n_query)
        longer = np.maximum(n_l, n_query)
        pairs = np.minimum(np.minimum(counts, matched + covered) + shape.n_initials, shorter)
        total = np.minimum(
            best_sum + INITIAL_SIMILARITY * shape.n_initials + GLUED_SIMILARITY * covered, pairs
        )
        bound = total / np.maximum(shorter, 1) - MISSING_TOKEN_PENALTY * (longer - shorter)
        bound = np.where((shorter == 1) & (longer > 1), np.minimum(bound, SINGLE_TOKEN_CAP), bound)
        hit = surname_hit | (covered > 0)  # a glued listed pair may hold the surname
        if n_query == 1:  # a surname alone that is the listed surname
            bound = np.where((n_l > 1) & hit, np.maximum(bound, SURNAME_ONLY_CAP), bound)
        missing = SURNAME_MISSING if n_query >= 2 else 0.0
        role = np.where(has_roles, np.where(hit, SURNAME_MATCH, missing), 0.0)
        # No pair at all scores 0 with no role: the role's doubt needs a pair to apply to.
        case = np.where(shorter > 0, np.maximum(np.clip(bound, 0.0, 1.0) + role, 0.0), 0.0)
        out = case if out is None else np.maximum(out, case)
    assert out is not None
    return out


def name_upper_bound(
    n_listed: int,
    count: int,
    matched: int,
    best_sum: float,
    has_roles: bool,
    surname_hit: bool,
    shape: Shape,
) -> float:
    """`name_upper_bounds` of one name, in plain Python."""
    out = 0.0
    for merged, covered in shape.cases():
        n_query = shape.n_query - merged
        n_l = n_listed - covered
        shorter = min(n_l, n_query)
        if shorter <= 0:
            continue
        longer = max(n_l, n_query)
        pairs = min(min(count, matched + covered) + shape.n_initials, shorter)
        total = min(best_sum + INITIAL_SIMILARITY * shape.n_initials + GLUED_SIMILARITY * covered, pairs)
        bound = total / shorter - MISSING_TOKEN_PENALTY * (longer - shorter)
        if shorter == 1 and longer > 1:
            bound = min(bound, SINGLE_TOKEN_CAP)
        hit = surname_hit or covered > 0
        if n_query == 1 and n_l > 1 and hit:
            bound = max(bound, SURNAME_ONLY_CAP)
        role = (SURNAME_MATCH if hit else (SURNAME_MISSING if n_query >= 2 else 0.0)) if has_roles else 0.0
        out = max(out, min(max(bound, 0.0), 1.0) + role)
    return out


@dataclass(frozen=True, slots=True)
class Shape:
    """The query form's counts the bound depends on: tokens, initials, glued query pairs
    that matched a listed token (each may merge two query positions) and query tokens
    that are two adjacent listed parts glued (each may cover two listed positions)."""

    n_query: int
    n_initials: int = 0
    merges: int = 0
    covers: int = 0

    def cases(self) -> tuple[tuple[int, int], ...]:
        """Each (glued query pairs merged, glued listed pairs covered) the alignment may use."""
        return _cases(self.merges, self.covers)


@functools.lru_cache(maxsize=64)
def _cases(merges: int, covers: int) -> tuple[tuple[int, int], ...]:
    return tuple((m, c) for m in range(merges + 1) for c in range(covers + 1))


def dob_upper_bounds(low: YearArray, high: YearArray, year: int | None) -> FloatArray:
    """Best possible date-of-birth evidence per entity (see `score.dob_feature`), from its
    earliest and latest listed year (0: none): with no listed year within one of the
    traveller's, a conflict; with none equal (or no date on either side), nothing."""
    if year is None:
        return np.zeros(len(low))
    first = low.astype(np.int32)
    last = high.astype(np.int32)
    listed = first != 0
    conflict = listed & ((year < first - 1) | (year > last + 1))
    same_year_possible = listed & (first <= year) & (year <= last)
    result: FloatArray = np.where(conflict, DOB_CONFLICT, np.where(same_year_possible, DOB_EXACT, 0.0))
    return result


def dob_upper_bound(low: int, high: int, year: int | None) -> float:
    """`dob_upper_bounds` of one entity, in plain Python."""
    if year is None or not low:
        return 0.0
    if year < low - 1 or year > high + 1:
        return DOB_CONFLICT
    return DOB_EXACT if low <= year <= high else 0.0


@dataclass(slots=True)
class Reach:
    """What one query form can still reach. `floor`: the threshold less the best evidence
    other than name and date of birth (a listed nationality); `best`: per vocabulary token
    the query matched, its best similarity; `keep_entities`: entities whose document
    number matched (always scored: a document is strong evidence)."""

    shape: Shape
    year: int | None
    floor: float
    best: Mapping[int, float]
    keep_entities: frozenset[int] = frozenset()
    _sorted: tuple[IntArray, FloatArray] | None = None

    @classmethod
    def of(
        cls,
        best: Mapping[int, float],
        shape: Shape,
        *,
        dob: dt.date | None,
        nationality: bool,
        threshold: float,
        keep_entities: frozenset[int] = frozenset(),
    ) -> Reach:
        floor = threshold - ROUNDING_MARGIN - (NATIONALITY_MATCH if nationality else 0.0)
        return cls(shape, dob.year if dob else None, floor, best, keep_entities)

    def _arrays(self) -> tuple[IntArray, FloatArray]:
        """`best` as sorted token ids and their similarities, for lookups in numpy."""
        if self._sorted is None:
            keys = np.fromiter(sorted(self.best), dtype=np.int32, count=len(self.best))
            values = np.fromiter((self.best[k] for k in keys.tolist()), dtype=np.float64, count=len(keys))
            self._sorted = (keys, values)
        return self._sorted

    def filter(self, index: NameIndex, ids: IntArray, counts: IntArray) -> IntArray:
        """The name ids whose best possible score reaches the threshold, in order."""
        starts = index.name_offsets[ids]
        lengths = index.name_length[ids]
        firsts = np.cumsum(lengths) - lengths  # each name's first slot in the gathered tokens
        slot = np.arange(int(lengths.sum()), dtype=np.int32) - np.repeat(firsts, lengths)
        tokens = index.name_token_ids[np.repeat(starts, lengths) + slot]
        keys, values = self._arrays()
        if len(keys):
            at = np.minimum(np.searchsorted(keys, tokens), len(keys) - 1)
            hit = keys[at] == tokens
            sim = np.where(hit, values[at], 0.0)
        else:
            hit = np.zeros(len(tokens), dtype=bool)
            sim = np.zeros(len(tokens))
        masks = index.name_surname_mask[ids]
        on_surname = hit & ((np.repeat(masks, lengths) >> np.minimum(slot, 31)) & 1).astype(bool)
        entities = index.name_entity[ids]
        best = name_upper_bounds(
            lengths,
            counts,
            np.add.reduceat(hit.astype(np.int32), firsts),
            np.add.reduceat(sim, firsts),
            masks != 0,
            np.add.reduceat(on_surname.astype(np.int32), firsts) > 0,
            self.shape,
        ) + dob_upper_bounds(index.entity_year_min[entities], index.entity_year_max[entities], self.year)
        keep = best >= self.floor
        if self.keep_entities:
            keep |= np.isin(entities, np.fromiter(self.keep_entities, dtype=np.int32))
        result: IntArray = ids[keep]
        return result

    def reaches(
        self, listed: Sequence[int], lmask: int, count: int, low: int, high: int, entity: int
    ) -> bool:
        """`filter` for one name (its token ids and surname mask), in plain Python."""
        if entity in self.keep_entities:
            return True
        best = self.best
        matched = 0
        best_sum = 0.0
        surname_hit = False
        for pos, tid in enumerate(listed):
            sim = best.get(tid)
            if sim is not None:
                matched += 1
                best_sum += sim
                if lmask >> pos & 1:
                    surname_hit = True
        bound = name_upper_bound(
            len(listed), count, matched, best_sum, lmask != 0, surname_hit, self.shape
        ) + dob_upper_bound(low, high, self.year)
        return bound >= self.floor
