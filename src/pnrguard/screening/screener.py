"""The screening use of the core: a traveller in, ranked candidates with reasons out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pnrguard.screening.countries import to_alpha3
from pnrguard.screening.index import NameIndex, TokenMatches
from pnrguard.screening.models import Candidate, Feature, PersonQuery, WatchlistEntry
from pnrguard.screening.names import NameForm, name_form, strip_glued_title
from pnrguard.screening.score import (
    MAX_BONUS,
    align_names,
    combine,
    dob_feature,
    document_feature,
    explain,
    nationality_feature,
)

#: Default hit threshold, measured in bench/screen.py (docs/performance.md): keeps false
#: hits under 5 per 1,000 innocent travellers with their real dates of birth against the
#: OFAC individuals while recall on noisy aliases stays high.
DEFAULT_THRESHOLD = 0.85


@dataclass(slots=True)
class _QueryForm:
    form: NameForm
    matches: list[TokenMatches]
    sims: dict[int, list[tuple[int, float]]]


@dataclass(slots=True)
class _Best:
    score: float
    name_id: int
    form: _QueryForm
    pairs: list[tuple[int, int, float]]


class Screener:
    """Screens people against one immutable set of watchlist entries."""

    def __init__(self, index: NameIndex, entries: list[WatchlistEntry]) -> None:
        self._index = index
        self._entries = entries

    @classmethod
    def build(cls, entries: Iterable[WatchlistEntry]) -> Screener:
        index, kept = NameIndex.build(entries)
        return cls(index, kept)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def index(self) -> NameIndex:
        return self._index

    def _query_form(self, text: str) -> _QueryForm | None:
        form = name_form(text)
        if not form.core:
            return None
        matches: list[TokenMatches] = []
        glued_of = {core: glued for glued, core in form.glued}
        for token in dict.fromkeys(form.core):
            found = self._index.match_token(token)
            glued = glued_of.get(token)
            if glued is not None:
                for tid, sim in self._index.match_token(glued).matches.items():
                    if sim > found.matches.get(tid, 0.0):
                        found.matches[tid] = sim
            matches.append(found)
        sims: dict[int, list[tuple[int, float]]] = {}
        for qpos, m in enumerate(matches):
            for tid, sim in m.matches.items():
                sims.setdefault(tid, []).append((qpos, sim))
        return _QueryForm(form, matches, sims)

    def screen(self, query: PersonQuery, *, threshold: float = DEFAULT_THRESHOLD) -> list[Candidate]:
        """Candidates scoring at least `threshold`, best first."""
        index = self._index
        given = strip_glued_title(query.given_names) if query.given_names else ""
        texts = [f"{given} {query.surname}".strip()]
        if query.full_name:
            texts.append(query.full_name)
        forms = [f for f in (self._query_form(t) for t in texts) if f is not None]
        dob_year = query.dob.year if query.dob else None

        best: dict[int, _Best] = {}
        for qf in forms:
            for name_id in index.candidate_names(qf.matches, dob_year=dob_year).tolist():
                self._consider(best, qf, name_id)
        doc_entities: list[int] = index.by_document(query.document) if query.document else []
        for entity in doc_entities:
            for name_id in index.entity_names(entity):
                for qf in forms:
                    self._consider(best, qf, name_id)
                if entity not in best and forms:
                    best[entity] = _Best(0.0, index.entity_names(entity)[0], forms[0], [])

        nationality = to_alpha3(query.nationality)
        results: list[Candidate] = []
        doc_set = set(doc_entities)
        for entity, b in best.items():
            if b.score + MAX_BONUS < threshold and entity not in doc_set:
                continue
            entry = self._entries[entity]
            features = [self._name_feature(entity, b)]
            features.append(dob_feature(query.dob, entry.dobs))
            doc = document_feature(query.document, entry.documents)
            if doc is not None:
                features.append(doc)
            nat = nationality_feature(nationality, entry.nationalities)
            if nat is not None:
                features.append(nat)
            score = combine(features)
            if score >= threshold:
                results.append(
                    Candidate(entry.entity_id, score, tuple(features), explain(features))
                )
        results.sort(key=lambda c: (-c.score, c.entity_id))
        return results

    def _consider(self, best: dict[int, _Best], qf: _QueryForm, name_id: int) -> None:
        index = self._index
        score, pairs = align_names(len(qf.matches), index.name_tokens(name_id), qf.sims)
        entity = int(index.name_entity[name_id])
        current = best.get(entity)
        if current is None or score > current.score:
            best[entity] = _Best(score, name_id, qf, pairs)

    def _name_feature(self, entity: int, b: _Best) -> Feature:
        index = self._index
        listed = index.name_tokens(b.name_id)
        which = "name" if b.name_id == index.entity_names(entity)[0] else "alias"
        shorter = min(len(listed), len(b.form.matches))
        longer = max(len(listed), len(b.form.matches))
        notes = [
            f"{b.form.matches[q].token}~{index.tokens[listed[pos]]}"
            for q, pos, sim in b.pairs
            if sim < 1.0
        ][:3]
        detail = f"{len(b.pairs)}/{shorter} tokens"
        if longer > shorter:
            detail += f", {longer - shorter} extra"
        if notes:
            detail += ", " + " ".join(notes)
        return Feature("name", round(b.score, 4), f"{which} {b.score:.2f} ({detail})")
