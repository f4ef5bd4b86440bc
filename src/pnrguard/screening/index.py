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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from pnrguard.screening.models import WatchlistEntry
from pnrguard.screening.names import (
    _VARIANTS,
    NAME_FAMILY,
    PARTICLES,
    deletions,
    deletions2,
    fold,
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
#: Distinct query tokens whose vocabulary matches are remembered (cleared when full).
MATCH_CACHE_SIZE = 200_000
#: Merged postings of a query token's spellings are cached when at least this long ...
SET_CACHE_MIN = 2_000
#: ... up to this many name ids in all (4 bytes each), then the cache starts afresh.
SET_CACHE_MAX_IDS = 50_000_000

_EMPTY: IntArray = np.zeros(0, dtype=np.int32)


def token_similarity(query: str, listed: str) -> float:
    """Similarity of two name tokens in 0..1: edit ratio on the raw and the folded forms,
    raised for known variants and equal sound keys, lowered where letters are close but the
    names differ (a name family of `name_families.csv`, a nisba surname `AHMADI` against
    the given name `AHMED`, another first sound, one letter of a short syllable name)."""
    if query == listed:
        return 1.0
    ratio = Indel.normalized_similarity(query, listed)
    fq, fl = fold(query), fold(listed)
    family_q, family_l = NAME_FAMILY.get(fq), NAME_FAMILY.get(fl)
    if family_q is not None and family_l is not None:
        return max(ratio, 0.95) if family_q == family_l else min(ratio, DISTINCT_NAMES)
    if _VARIANTS.get(query, query) == _VARIANTS.get(listed, listed) or fq == fl:
        return max(ratio, 0.95)
    if abs(len(query) - len(listed)) <= 2:  # folding must not make KAYA of KAYIIRA
        ratio = max(ratio, Indel.normalized_similarity(fq, fl))
    if _nisba(fq, fl) or _nisba(fl, fq):
        return min(ratio, DISTINCT_NAMES)
    key = phonetic_key(query)
    if len(key) >= 3 and ratio >= 0.7 and key == phonetic_key(listed):
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
        self.keys: dict[str, int | list[int]] = {}
        self.postings: list[IntArray] = []
        self.name_entity: IntArray = _EMPTY
        self.name_offsets: IntArray = _EMPTY
        self.name_token_ids: IntArray = _EMPTY
        #: Per name, a bit per token position that the list marks as surname (0: unknown).
        self.name_surname_mask: IntArray = _EMPTY
        self.entity_first_name: IntArray = _EMPTY
        self.entity_year: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self.documents: dict[str, list[int]] = {}
        self.common_df = COMMON_MIN_NAMES
        # Query tokens repeat heavily (given names, common surnames): their vocabulary
        # matches are cached per index, bounded, and copied out so callers may extend them.
        self._match_cache: dict[str, tuple[dict[int, float], frozenset[int]]] = {}
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
        vocab = index.vocab
        glued_keys: dict[str, set[int]] = {}
        for entry in entries:
            ei = len(kept)
            kept.append(entry)
            entity_first.append(len(name_entity))
            entity_year.append(entry.dobs[0].year if entry.dobs else 0)
            for doc in entry.documents:
                number = normalise_document(doc.number)
                if len(number) >= 4:
                    index.documents.setdefault(number, []).append(ei)
            seen_names: set[tuple[str, ...]] = set()
            for raw in entry.names:
                form = name_form(raw)
                if not form.core or form.core in seen_names:
                    continue
                seen_names.add(form.core)
                name_id = len(name_entity)
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
        index._build_keys(glued_keys)
        index.common_df = max(COMMON_MIN_NAMES, int(len(name_entity) * COMMON_SHARE))
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
            key = phonetic_key(token)
            if key:
                self._add_key("#" + key, tid)
            folded = fold(token)
            family = NAME_FAMILY.get(folded)
            if family is not None:  # MEHMET and MUHAMMAD: one name, letters far apart
                self._add_key("=" + family, tid)
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
        tokens = self.tokens
        return [tid for tid in self._key_ids("~" + folded) if fold(tokens[tid]) == folded]

    def match_token(self, token: str) -> TokenMatches:
        """List tokens similar to one query token, with their similarity."""
        cached = self._match_cache.get(token)
        if cached is None:
            pairs = frozenset(self._key_ids("&" + fold(token)))
            cached = (self._match_token(token), pairs)
            if len(self._match_cache) >= MATCH_CACHE_SIZE:
                self._match_cache.clear()
            self._match_cache[token] = cached
        return TokenMatches(token, dict(cached[0]), cached[1])

    def match_glued(self, token: str) -> TokenMatches:
        """List tokens that are `token`, two query tokens written together, exactly or
        folded (`ABDUL RAHMAN` -> `ABDULRAHMAN`). No fuzzy lookup and no listed pairs: the
        query's parts already find those one by one."""
        found: dict[int, float] = {}
        exact = self.vocab.get(token)
        if exact is not None:
            found[exact] = 1.0
        for tid in self._fold_ids(fold(token)):
            found.setdefault(tid, 0.95)
        return TokenMatches(token, found)

    def _match_token(self, token: str) -> dict[int, float]:
        vocab = self.vocab
        candidates: dict[int, float] = {}
        exact = vocab.get(token)
        if exact is not None:
            candidates[exact] = 1.0
        folded = fold(token)
        for tid in self._key_ids("+" + folded):
            candidates[tid] = max(candidates.get(tid, 0.0), 0.97)
        rest = split_glued_particle(token)
        if rest is not None:  # ALZAWAHIRY -> ZAWAHIRY, matched fuzzily, slightly discounted
            for tid, sim in self.match_token(rest).matches.items():
                candidates[tid] = max(candidates.get(tid, 0.0), round(sim * 0.97, 4))
        probe: set[int] = set()
        key = phonetic_key(token)
        if key:
            probe.update(self._key_ids("#" + key))
        canonical = _VARIANTS.get(token)
        if canonical is not None and (tid_c := vocab.get(canonical)) is not None:
            probe.add(tid_c)
        family = NAME_FAMILY.get(folded)
        if family is not None:
            probe.update(self._key_ids("=" + family))
        probe.update(self._key_ids("~" + folded))
        for deleted in deletions(folded):
            probe.update(self._key_ids("~" + deleted))
        tokens = self.tokens
        for tid in probe:
            if tid not in candidates:
                sim = token_similarity(token, tokens[tid])
                if sim >= TOKEN_MIN_SIMILARITY:
                    candidates[tid] = sim
        if len(token) >= TWO_EDIT_MIN_LENGTH - 1 and max(candidates.values(), default=0.0) < 0.9:
            # Nothing close: reach two edits (a transposition and a dropped letter), bounded.
            far: set[int] = set()
            for deleted in (*deletions(token), *deletions2(token)):
                far.update(self._key_ids("~" + deleted))
                if len(far) >= MAX_PROBE:
                    break
            probe = far - probe
        else:
            probe = set()
        for tid in probe:
            if tid in candidates:
                continue
            sim = token_similarity(token, tokens[tid])
            if sim >= TOKEN_MIN_SIMILARITY:
                candidates[tid] = sim
        return candidates

    def _token_set(self, matches: TokenMatches) -> IntArray:
        tids = set(matches.matches).union(matches.pairs) if matches.pairs else matches.matches
        arrays = [self.postings[tid] for tid in tids]
        if not arrays:
            return _EMPTY
        if len(arrays) == 1:
            return arrays[0]
        key = tuple(sorted(tids))
        cached = self._set_cache.get(key)
        if cached is not None:
            return cached
        merged: IntArray = np.unique(np.concatenate(arrays))
        if len(merged) >= SET_CACHE_MIN:  # common names (MOHAMMED and its spellings): merge once
            if self._set_cache_size + len(merged) > SET_CACHE_MAX_IDS:
                self._set_cache.clear()
                self._set_cache_size = 0
            self._set_cache[key] = merged
            self._set_cache_size += len(merged)
        return merged

    def candidate_names(
        self,
        token_matches: Sequence[TokenMatches],
        *,
        dob_year: int | None = None,
        need: int | None = None,
    ) -> IntArray:
        """Name ids sharing at least `need` tokens with the query (default: two, or one).

        Prefix filtering keeps it fast for common names: a name sharing two tokens shares
        one of the rarest n-1, so only their postings are merged and the commonest token is
        only probed (binary search) for the names already found.
        """
        sets = [self._token_set(m) for m in token_matches]
        sets = [s for s in sets if len(s)]
        if not sets:
            return _EMPTY
        if need is None:
            need = min(2, len(token_matches))
        sets.sort(key=len)
        if len(sets) == 1:
            ids = sets[0]
            counts = np.ones(len(ids), dtype=np.int32)
        else:
            pivot, largest = sets[:-1], sets[-1]
            if len(pivot) == 1:
                ids = pivot[0]
                counts = np.ones(len(ids), dtype=np.int32)
            else:
                ids, counts64 = np.unique(np.concatenate(pivot), return_counts=True)
                counts = counts64.astype(np.int32)
            pos = np.searchsorted(largest, ids)
            pos[pos >= len(largest)] = 0
            counts = counts + (largest[pos] == ids).astype(np.int32)
        # A one-token listed name cannot carry a query of two names (its score is capped
        # below any threshold), so `need` applies to every name.
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
            rank -= (self.name_offsets[ids + 1] - self.name_offsets[ids]) > counts
            top = np.argpartition(-rank, limit)[:limit]
            ids = ids[top]
        result: IntArray = ids.astype(np.int32, copy=False)
        return result

    def is_common_query(self, matches: TokenMatches) -> bool:
        """A query token whose spellings are in many listed names (MOHAMMED and its
        variants, ALI, WANG): weak evidence on its own."""
        return bool(matches.matches) and len(self._token_set(matches)) >= self.common_df

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
