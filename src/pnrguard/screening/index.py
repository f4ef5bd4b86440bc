"""Candidate retrieval: an inverted index from name tokens to list names.

Two levels keep it compact and fast. Level one is the vocabulary of distinct core tokens
(a few hundred thousand even for a million entries) with lookup keys that lead to them:
folded spellings (`transliteration.csv`), metaphone keys, deletion keys on the folded form
(typos, SymSpell style: one deletion, two for parts of eight letters or more) and glued
forms (`ALZAWAHIRI`, and adjacent parts glued together: `GARCIALOPEZ`, `ABDULRAHMAN`).
Level two maps each token to a sorted int32 array of
name ids. A query touches only the postings of tokens similar to its own, never the list.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from pnrguard.screening.commonness import common_by_form
from pnrguard.screening.models import WatchlistEntry
from pnrguard.screening.names import (
    _VARIANTS,
    FAMILY_SPELLINGS,
    HONORIFICS,
    NAME_FAMILY,
    PARTICLES,
    deletions,
    deletions2,
    fold,
    honorific_variants,
    name_form,
    phonetic_key,
    split_glued_particle,
    surname_tokens,
)

IntArray = npt.NDArray[np.int32]

#: Below this similarity a list token is not considered the same name as a query token.
TOKEN_MIN_SIMILARITY = 0.72
#: Most names a query may hand to the scorer; beyond it the best by token count are kept.
MAX_CANDIDATE_NAMES = 600
#: ... when one shared token is enough (a surname alone, a surname and initials): such a
#: query can only hit with a date of birth that agrees, so names with a compatible birth
#: year are kept first and fewer are scored.
MAX_SINGLE_TOKEN_CANDIDATES = 200
#: Similarity given to two tokens known to be different names, below any match.
DISTINCT_NAMES = 0.6
#: Folded length from which list tokens get two-deletion keys (queries: one less).
TWO_EDIT_MIN_LENGTH = 8
#: Most vocabulary tokens one query token may be compared with (bounds two-edit lookups).
MAX_PROBE = 400
#: A token is common when at least this share of the listed names holds it ...
COMMON_SHARE = 0.002
#: ... and at least this many names.
COMMON_MIN_NAMES = 20
#: A token in half as many listed names is not common on the list, but many people bear it
#: (BILAL, KWANG): it counts as shared when deciding whether a name identifies anybody
#: (`score.unidentified_feature`, `commonness.py`).
SHARED_SHARE = COMMON_SHARE / 2
SHARED_MIN_NAMES = COMMON_MIN_NAMES // 2
#: Distinct query tokens whose vocabulary matches are remembered (cleared when full).
MATCH_CACHE_SIZE = 200_000
#: Merged postings of a query token's spellings are cached up to this many name ids in
#: all (4 bytes each), then the cache starts afresh ...
SET_CACHE_MAX_IDS = 50_000_000
#: ... each entry counted this many ids more (its key, the array object, the dict slot).
SET_CACHE_ENTRY_COST = 64

_EMPTY: IntArray = np.zeros(0, dtype=np.int32)
#: Lookup key shared by every spelling of a hereditary honorific.
HONORIFIC_KEY = "=*SAYYID"


def token_similarity(query: str, listed: str) -> float:
    """Similarity of two name tokens in 0..1: edit ratio on the raw and the folded forms,
    raised for known variants and equal sound keys, lowered where letters are close but the
    names differ (a name family of `name_families.csv`, a nisba surname `AHMADI` against
    the given name `AHMED`, another first sound, one letter of a short syllable name)."""
    if query == listed:
        return 1.0
    return _similarity(TokenTraits.of(query), TokenTraits.of(listed))


@dataclass(frozen=True, slots=True)
class TokenTraits:
    """What `token_similarity` needs of one token, computed once: for every vocabulary
    token when the index is built, for a query token once per lookup (folding and sound
    keys cost more than the comparison itself)."""

    token: str
    folded: str
    family: str | None
    variant: str
    sound: str
    honorific: bool = False  # a spelling of a hereditary honorific (`names.HONORIFICS`)

    @classmethod
    def of(cls, token: str) -> TokenTraits:
        folded = fold(token)
        return cls(
            token, folded, NAME_FAMILY.get(folded), _VARIANTS.get(token, token), phonetic_key(token),
            token in HONORIFICS,
        )  # fmt: skip


def _similarity(q: TokenTraits, t: TokenTraits) -> float:
    """`token_similarity` of two tokens' traits (the tokens differ)."""
    query, listed = q.token, t.token
    ratio = Indel.normalized_similarity(query, listed)
    if q.honorific or t.honorific:  # SEYED and SAYYID are one honorific; SAYYED is not SAEED
        if q.honorific and t.honorific:
            return max(ratio, 0.95)
        if (listed if q.honorific else query) in FAMILY_SPELLINGS:
            return min(ratio, DISTINCT_NAMES)
    fq, fl = q.folded, t.folded
    if q.family is not None and t.family is not None:
        return max(ratio, 0.95) if q.family == t.family else min(ratio, DISTINCT_NAMES)
    if q.variant == t.variant or fq == fl:
        return max(ratio, 0.95)
    if abs(len(query) - len(listed)) <= 2:  # folding must not make KAYA of KAYIIRA
        ratio = max(ratio, Indel.normalized_similarity(fq, fl))
    if abs(len(fq) - len(fl)) == 1 and (_nisba(fq, fl) or _nisba(fl, fq)):
        return min(ratio, DISTINCT_NAMES)
    key = q.sound
    if len(key) >= 3 and ratio >= 0.7 and key == t.sound:
        ratio = max(ratio, 0.82)
    if fq[:1] != fl[:1] and min(len(fq), len(fl)) <= 5:  # WANG is not KWANG
        ratio *= 0.9
    if max(len(fq), len(fl)) <= 4 and ratio < 0.9:  # ZHOU/ZHU, YANG/YING: other syllables
        ratio *= 0.8
    return ratio


def _nisba(longer: str, shorter: str) -> bool:
    """`AHMADI` against `AHMED`: a surname made of a given name and -I is another name."""
    return (
        len(shorter) >= 3
        and len(longer) == len(shorter) + 1
        and longer.endswith("I")
        and not shorter.endswith("I")
        and Indel.normalized_similarity(longer[:-1], shorter) >= 0.8
    )


def _names_to_index(names: Sequence[str]) -> Iterator[tuple[str, int, str]]:
    """(name, position of the listed name it comes from, honorific set aside): each listed
    name, then the same without a hereditary honorific it carries beside its names."""
    for pos, raw in enumerate(names):
        yield raw, pos, ""
    for pos, raw in enumerate(names):
        for text, honorific in honorific_variants(raw):
            yield text, pos, honorific


def normalise_document(number: str) -> str:
    """Document numbers compare on letters and digits only (`92/664` == `92664`)."""
    return "".join(ch for ch in number.upper() if ch.isalnum())


def _adjacent_glues(tokens: list[str], core: tuple[str, ...]) -> list[tuple[str, str, list[str]]]:
    """Each pair of adjacent core tokens with the ways a list or a carrier glues them:
    bare (`GARCIALOPEZ`), with the particles between (`GRIMBERGDEGUBEREK`) and with the
    particles before (`DELROSARIOPUENTE`)."""
    out: list[tuple[str, str, list[str]]] = []
    positions = [i for i, t in enumerate(tokens) if t not in PARTICLES or i == len(tokens) - 1]
    if len(positions) != len(core):
        positions = list(range(len(tokens)))  # short names keep their particles as core
    for a, b in itertools.pairwise(positions):
        left, right = tokens[a], tokens[b]
        if len(left) < 2 or len(right) < 2:
            continue
        start = a
        while start > 0 and tokens[start - 1] in PARTICLES:
            start -= 1
        forms = {left + right, "".join(tokens[a : b + 1]), "".join(tokens[start : b + 1])}
        out.append((left, right, sorted(forms)))
    return out


def _one_or_two_deletions(token: str) -> Iterator[str]:
    """The strings one deletion from `token`, then two (SymSpell distance 2), generated
    lazily: the lookup stops once `MAX_PROBE` tokens are reached."""
    n = len(token)
    for i in range(n):
        yield token[:i] + token[i + 1 :]
    for i in range(n):
        head = token[:i]
        for j in range(i + 1, n):
            yield head + token[i + 1 : j] + token[j + 1 :]


def _union(arrays: Sequence[IntArray]) -> IntArray:
    """Sorted distinct ids of several sorted arrays (sort and mask: several times faster
    than `np.unique`, which hashes first in numpy 2)."""
    merged = np.concatenate(arrays)
    merged.sort()
    if len(merged) < 2:
        return merged
    keep = np.empty(len(merged), dtype=bool)
    keep[0] = True
    np.not_equal(merged[1:], merged[:-1], out=keep[1:])
    return merged[keep]


def _unique_counts(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values and how often each occurs."""
    values = np.sort(values)
    edges = np.empty(len(values) + 1, dtype=bool)
    edges[0] = edges[-1] = True
    np.not_equal(values[1:], values[:-1], out=edges[1:-1])
    bounds = np.flatnonzero(edges)
    counts: IntArray = (bounds[1:] - bounds[:-1]).astype(np.int32)
    return values[bounds[:-1]], counts


@dataclass(slots=True)
class TokenMatches:
    """For one query token: the list tokens it matched and how well; `pairs`: list tokens
    that, glued to their neighbour in a listed name, spell it (`GARCIALOPEZ`). A pair
    counts only where both halves stand side by side in the same name."""

    token: str
    matches: dict[int, float]
    pairs: frozenset[int] = frozenset()


class NameIndex:
    """Inverted index over every name (primary and aliases) of a list of entries."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.tokens: list[str] = []
        #: Per vocabulary token, what the similarity needs (fold, family, sound key).
        self.traits: list[TokenTraits] = []
        self.keys: dict[str, int | list[int]] = {}
        self.postings: list[IntArray] = []
        self.name_entity: IntArray = _EMPTY
        self.name_offsets: IntArray = _EMPTY
        self.name_token_ids: IntArray = _EMPTY
        #: Per name, a bit per token position that the list marks as surname (0: unknown).
        self.name_surname_mask: IntArray = _EMPTY
        self.entity_first_name: IntArray = _EMPTY
        self.entity_year: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        #: Earliest and latest listed year of birth per entity (0: none), to bound the
        #: date-of-birth evidence of many candidates at once.
        self.entity_year_min: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self.entity_year_max: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self.name_length: IntArray = _EMPTY
        #: Names indexed without a hereditary honorific: name id -> (the id of the name as
        #: listed, the honorific set aside). See `names.honorific_variants`.
        self.honorific_names: dict[int, tuple[int, str]] = {}
        self.documents: dict[str, list[int]] = {}
        #: Numbers too short to find a person by, which still count as evidence.
        self.short_documents: dict[str, list[int]] = {}
        self.common_df = COMMON_MIN_NAMES
        self.shared_df = SHARED_MIN_NAMES
        #: Folded tokens the list uses as given names (outside a marked surname): the stems
        #: of patronymic surnames (`commonness.py`).
        self.given_names: set[str] = set()
        # Query tokens repeat heavily (given names, common surnames): their vocabulary
        # matches are cached per index, bounded, and copied out so callers may extend them.
        self._match_cache: dict[str, tuple[dict[int, float], frozenset[int]]] = {}
        self._glued_cache: dict[str, dict[int, float]] = {}
        self._names_cache: dict[str, IntArray] = {}
        self._spelling_cache: dict[str, int] = {}
        self._form_cache: dict[str, bool] = {}
        self._vocab_form: dict[int, bool] = {}
        self._set_cache: dict[tuple[int, ...], IntArray] = {}
        self._set_cache_size = 0

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, entries: Iterable[WatchlistEntry]) -> tuple[NameIndex, list[WatchlistEntry]]:
        """Index entries; returns the index and the entries in entity-index order."""
        index = cls()
        kept: list[WatchlistEntry] = []
        building: list[array.array[int]] = []
        name_entity = array.array("i")
        offsets = array.array("i", [0])
        token_ids = array.array("i")
        surname_masks = array.array("i")
        entity_first = array.array("i")
        entity_year = array.array("h")
        year_min = array.array("h")
        year_max = array.array("h")
        vocab = index.vocab
        glued_keys: dict[str, set[int]] = {}
        for entry in entries:
            ei = len(kept)
            kept.append(entry)
            entity_first.append(len(name_entity))
            entity_year.append(entry.dobs[0].year if entry.dobs else 0)
            year_min.append(min((d.year for d in entry.dobs), default=0))
            year_max.append(max((d.year for d in entry.dobs), default=0))
            for doc in entry.documents:
                number = normalise_document(doc.number)
                if len(number) >= 4:
                    index.documents.setdefault(number, []).append(ei)
                elif number:
                    index.short_documents.setdefault(number, []).append(ei)
            seen_names: set[tuple[str, ...]] = set()
            listed_ids: dict[int, int] = {}  # position in entry.names -> name id
            for raw, source, aside in _names_to_index(entry.names):
                form = name_form(raw)
                if not form.core or form.core in seen_names:
                    continue
                seen_names.add(form.core)
                name_id = len(name_entity)
                if aside:
                    index.honorific_names[name_id] = (listed_ids.get(source, -1), aside)
                else:
                    listed_ids[source] = name_id
                name_entity.append(ei)
                ids: list[int] = []
                for token in form.core:  # a repeated name (MOHAMMED MOHAMMED) stays twice
                    tid = vocab.get(token)
                    if tid is None:
                        tid = len(index.tokens)
                        vocab[token] = tid
                        index.tokens.append(token)
                        building.append(array.array("i"))
                    if tid not in ids:
                        building[tid].append(name_id)
                    ids.append(tid)
                token_ids.extend(ids)
                offsets.append(len(token_ids))
                surnames = surname_tokens(raw)
                mask = 0
                for pos, tid in enumerate(ids[:31]):
                    if index.tokens[tid] in surnames:
                        mask |= 1 << pos
                surname_masks.append(mask if mask != (1 << len(ids)) - 1 else 0)
                if mask and mask != (1 << len(ids)) - 1:
                    index.given_names.update(
                        fold(index.tokens[tid]) for pos, tid in enumerate(ids) if not mask >> pos & 1
                    )
                for glued, token in form.glued:
                    glued_keys.setdefault("+" + fold(glued), set()).add(vocab[token])
                for left, right, glued_forms in _adjacent_glues(form.text.split(), form.core):
                    for glued in glued_forms:
                        pair = glued_keys.setdefault("&" + fold(glued), set())
                        pair.update((vocab[left], vocab[right]))
        entity_first.append(len(name_entity))
        index.postings = [np.frombuffer(b, dtype=np.int32) if len(b) else _EMPTY for b in building]
        index.name_entity = np.frombuffer(name_entity, dtype=np.int32) if name_entity else _EMPTY
        index.name_offsets = np.frombuffer(offsets, dtype=np.int32)
        index.name_token_ids = np.frombuffer(token_ids, dtype=np.int32) if token_ids else _EMPTY
        index.name_surname_mask = np.frombuffer(surname_masks, dtype=np.int32) if surname_masks else _EMPTY
        index.entity_first_name = np.frombuffer(entity_first, dtype=np.int32)
        index.entity_year = np.frombuffer(entity_year, dtype=np.int16)
        index.entity_year_min = np.frombuffer(year_min, dtype=np.int16)
        index.entity_year_max = np.frombuffer(year_max, dtype=np.int16)
        index.name_length = np.diff(index.name_offsets).astype(np.int32)
        index._build_keys(glued_keys)
        index.common_df = max(COMMON_MIN_NAMES, int(len(name_entity) * COMMON_SHARE))
        index.shared_df = max(SHARED_MIN_NAMES, int(len(name_entity) * SHARED_SHARE))
        return index, kept

    def _add_key(self, key: str, tid: int) -> None:
        current = self.keys.get(key)
        if current is None:
            self.keys[key] = tid
        elif isinstance(current, int):
            if current != tid:
                self.keys[key] = [current, tid]
        elif tid not in current:
            current.append(tid)

    def _build_keys(self, glued_keys: dict[str, set[int]]) -> None:
        for tid, token in enumerate(self.tokens):
            traits = TokenTraits.of(token)
            self.traits.append(traits)
            key = traits.sound
            if key:
                self._add_key("#" + key, tid)
            folded = traits.folded
            family = traits.family
            if family is not None:  # MEHMET and MUHAMMAD: one name, letters far apart
                self._add_key("=" + family, tid)
            if traits.honorific:  # SYED and SEYYED: one honorific, letters far apart
                self._add_key(HONORIFIC_KEY, tid)
            self._add_key("~" + folded, tid)  # zero deletions: equal folds meet here too
            for deleted in deletions(folded):
                self._add_key("~" + deleted, tid)
            if len(token) >= TWO_EDIT_MIN_LENGTH:  # typos happen to the written form
                for deleted in deletions2(token):
                    self._add_key("~" + deleted, tid)
        for key, tids in glued_keys.items():
            for tid in tids:
                self._add_key(key, tid)

    # ------------------------------------------------------------------ query
    def _key_ids(self, key: str) -> Sequence[int]:
        found = self.keys.get(key)
        if found is None:
            return ()
        return (found,) if isinstance(found, int) else found

    def _fold_ids(self, folded: str) -> list[int]:
        """Vocabulary tokens whose folded form is exactly `folded`."""
        traits = self.traits
        return [tid for tid in self._key_ids("~" + folded) if traits[tid].folded == folded]

    def _cached_matches(self, token: str) -> tuple[dict[int, float], frozenset[int]]:
        cached = self._match_cache.get(token)
        if cached is None:
            exact = self.vocab.get(token)
            query = self.traits[exact] if exact is not None else TokenTraits.of(token)
            pairs = frozenset(self._key_ids("&" + query.folded))
            cached = (self._match_token(query, exact), pairs)
            if len(self._match_cache) >= MATCH_CACHE_SIZE:
                self._match_cache.clear()
            self._match_cache[token] = cached
        return cached

    def match_token(self, token: str) -> TokenMatches:
        """List tokens similar to one query token, with their similarity. The matches are
        shared with the cache (query tokens repeat): copy them before changing them."""
        matches, pairs = self._cached_matches(token)
        return TokenMatches(token, matches, pairs)

    def match_glued(self, token: str) -> TokenMatches:
        """List tokens that are `token`, two query tokens written together, exactly or
        folded (`ABDUL RAHMAN` -> `ABDULRAHMAN`). No fuzzy lookup and no listed pairs: the
        query's parts already find those one by one."""
        found = self._glued_cache.get(token)
        if found is None:
            found = {}
            exact = self.vocab.get(token)
            if exact is not None:
                found[exact] = 1.0
            for tid in self._fold_ids(fold(token)):
                found.setdefault(tid, 0.95)
            if len(self._glued_cache) >= MATCH_CACHE_SIZE:
                self._glued_cache.clear()
            self._glued_cache[token] = found
        return TokenMatches(token, found)

    def _match_token(self, query: TokenTraits, exact: int | None) -> dict[int, float]:
        vocab = self.vocab
        token = query.token
        candidates: dict[int, float] = {}
        if exact is not None:
            candidates[exact] = 1.0
        folded = query.folded
        for tid in self._key_ids("+" + folded):
            candidates[tid] = max(candidates.get(tid, 0.0), 0.97)
        rest = split_glued_particle(token)
        if rest is not None:  # ALZAWAHIRY -> ZAWAHIRY, matched fuzzily, slightly discounted
            for tid, sim in self._cached_matches(rest)[0].items():
                candidates[tid] = max(candidates.get(tid, 0.0), round(sim * 0.97, 4))
        probe: set[int] = set()
        key = query.sound
        if key:
            probe.update(self._key_ids("#" + key))
        canonical = _VARIANTS.get(token)
        if canonical is not None and (tid_c := vocab.get(canonical)) is not None:
            probe.add(tid_c)
        if query.family is not None:
            probe.update(self._key_ids("=" + query.family))
        if query.honorific:
            probe.update(self._key_ids(HONORIFIC_KEY))
        keys = self.keys
        for deleted in (folded, *deletions(folded)):
            found = keys.get("~" + deleted)
            if found is not None:
                if isinstance(found, int):
                    probe.add(found)
                else:
                    probe.update(found)
        self._compare(query, probe, candidates)
        if len(token) >= TWO_EDIT_MIN_LENGTH - 1 and max(candidates.values(), default=0.0) < 0.9:
            # Nothing close: reach two edits (a transposition and a dropped letter), bounded.
            far: set[int] = set()
            for deleted in _one_or_two_deletions(token):
                found = keys.get("~" + deleted)
                if found is None:
                    continue
                if isinstance(found, int):
                    far.add(found)
                else:
                    far.update(found)
                if len(far) >= MAX_PROBE:
                    break
            self._compare(query, far - probe, candidates)
        return candidates

    def _compare(self, query: TokenTraits, probe: Iterable[int], candidates: dict[int, float]) -> None:
        """Add the probed vocabulary tokens similar enough to the query token."""
        traits = self.traits
        token = query.token
        for tid in probe:
            if tid in candidates:
                continue
            listed = traits[tid]
            sim = 1.0 if listed.token == token else _similarity(query, listed)
            if sim >= TOKEN_MIN_SIMILARITY:
                candidates[tid] = sim

    def token_names(self, token: str) -> IntArray:
        """`token_set(match_token(token))`, remembered per query token."""
        names = self._names_cache.get(token)
        if names is None:
            names = self.token_set(self.match_token(token))
            if len(self._names_cache) >= MATCH_CACHE_SIZE:
                self._names_cache.clear()
            self._names_cache[token] = names
        return names

    def spelling_count(self, token: str, matches: TokenMatches, min_similarity: float) -> int:
        """How many listed names hold a spelling of `token`: a vocabulary token it matches
        at `min_similarity` or better (an upper bound: a name holding two spellings counts
        twice). Names that merely look alike are not counted, so a rare name with many
        neighbours (NASARI: NASRI, NASSAR, ANSARI) is not made common by them. Remembered
        per query token; `matches` must be `match_token(token)`'s."""
        count = self._spelling_cache.get(token)
        if count is None:
            postings = self.postings
            count = sum(len(postings[tid]) for tid, sim in matches.matches.items() if sim >= min_similarity)
            if len(self._spelling_cache) >= MATCH_CACHE_SIZE:
                self._spelling_cache.clear()
            self._spelling_cache[token] = count
        return count

    def common_by_form(self, token: str, matches: TokenMatches, min_similarity: float) -> bool:
        """`token`, a vocabulary token it matches at `min_similarity` or better (its
        spellings), or every listed part it glues (KWANGIL: the listed Kwang-Il) is common
        by its form (`commonness.common_by_form`) however few listed names hold it.
        Remembered per token; `matches` must be `match_token(token)`'s."""
        known = self._form_cache.get(token)
        if known is None:
            known = (
                self._form_common(token)
                or any(self._vocab_common(t) for t, sim in matches.matches.items() if sim >= min_similarity)
                or (bool(matches.pairs) and all(self._vocab_common(tid) for tid in matches.pairs))
            )
            if len(self._form_cache) >= MATCH_CACHE_SIZE:
                self._form_cache.clear()
            self._form_cache[token] = known
        return known

    def _form_common(self, token: str) -> bool:
        return common_by_form(token, self.given_names.__contains__)

    def _vocab_common(self, tid: int) -> bool:
        known = self._vocab_form.get(tid)
        if known is None:
            known = self._vocab_form[tid] = self._form_common(self.tokens[tid])
        return known

    def token_set(self, matches: TokenMatches) -> IntArray:
        """Sorted ids of the names holding one of the matched tokens (or a listed pair)."""
        tids = set(matches.matches).union(matches.pairs) if matches.pairs else matches.matches
        postings = self.postings
        if len(tids) == 1:
            for tid in tids:
                return postings[tid]
        if not tids:
            return _EMPTY
        key = tuple(sorted(tids))
        cached = self._set_cache.get(key)
        if cached is not None:
            return cached
        merged = _union([postings[tid] for tid in key])
        # Given names and common surnames repeat across travellers: merge each set once.
        size = len(merged) + SET_CACHE_ENTRY_COST
        if self._set_cache_size + size > SET_CACHE_MAX_IDS:
            self._set_cache.clear()
            self._set_cache_size = 0
        self._set_cache[key] = merged
        self._set_cache_size += size
        return merged

    def candidate_names(
        self,
        sets: Sequence[IntArray],
        *,
        dob_year: int | None = None,
        need: int = 2,
    ) -> tuple[IntArray, IntArray]:
        """Name ids sharing at least `need` of the query tokens' name sets (`token_set`),
        with how many each shares.

        Prefix filtering keeps it fast for common names: a name sharing two tokens shares
        one of the rarest n-1, so only their postings are merged and the commonest token is
        only probed (binary search) for the names already found.
        """
        sets = sorted((s for s in sets if len(s)), key=len)
        if len(sets) < need or not sets:  # not enough tokens found anything
            return _EMPTY, _EMPTY
        if len(sets) == 1:
            ids = sets[0]
            counts = np.ones(len(ids), dtype=np.int32)
        else:
            pivot, largest = sets[:-1], sets[-1]
            if len(pivot) == 1:
                ids = pivot[0]
                found = largest[np.minimum(np.searchsorted(largest, ids), len(largest) - 1)] == ids
                if need == 2:  # the commonest query: two names, both must be shared
                    ids = ids[found]
                    if len(ids) <= MAX_CANDIDATE_NAMES:
                        return ids, np.full(len(ids), 2, dtype=np.int32)
                    counts = np.full(len(ids), 2, dtype=np.int32)
                else:
                    counts = found.astype(np.int32) + 1
            else:
                ids, counts = _unique_counts(np.concatenate(pivot))
                counts += largest[np.minimum(np.searchsorted(largest, ids), len(largest) - 1)] == ids
        # A one-token listed name cannot carry a query of two names (its score is capped
        # below any threshold), so `need` applies to every name.
        if need > 1:
            keep = counts >= need
            ids, counts = ids[keep], counts[keep]
        limit = MAX_CANDIDATE_NAMES if need >= 2 else MAX_SINGLE_TOKEN_CANDIDATES
        if len(ids) > limit:
            # Rank by tokens shared, then by a compatible year of birth, then by shortness.
            rank = counts.astype(np.int64) * 4
            if dob_year is not None:
                years = self.entity_year[self.name_entity[ids]]
                rank += ((years == 0) | (np.abs(years.astype(np.int32) - dob_year) <= 1)) * 2
                rank += years == dob_year
            rank -= self.name_length[ids] > counts
            top = np.argpartition(-rank, limit)[:limit]
            ids, counts = ids[top], counts[top]
        return ids.astype(np.int32, copy=False), counts.astype(np.int32, copy=False)

    def name_tokens(self, name_id: int) -> list[int]:
        start, end = self.name_offsets[name_id], self.name_offsets[name_id + 1]
        tokens: list[int] = self.name_token_ids[start:end].tolist()
        return tokens

    def surname_mask(self, name_id: int) -> int:
        return int(self.name_surname_mask[name_id])

    def entity_names(self, entity: int) -> range:
        return range(int(self.entity_first_name[entity]), int(self.entity_first_name[entity + 1]))

    def by_document(self, number: str) -> list[int]:
        return self.documents.get(normalise_document(number), [])

    def with_document(self, number: str) -> list[int]:
        """Every entity listing this number, however short (`by_document` skips numbers
        under four characters: too short to find anyone by)."""
        normal = normalise_document(number)
        return self.documents.get(normal) or self.short_documents.get(normal, [])
