"""The screening use of the core: a traveller in, ranked candidates with reasons out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pnrguard.screening.bounds import MIN_TO_BOUND, Reach
from pnrguard.screening.countries import to_alpha3
from pnrguard.screening.index import TOKEN_MIN_SIMILARITY, IntArray, NameIndex
from pnrguard.screening.models import Candidate, Feature, PersonQuery, WatchlistEntry
from pnrguard.screening.names import KUNYA, drop_honorific, strip_glued_title
from pnrguard.screening.query_form import QueryForm, query_form
from pnrguard.screening.score import (
    DOB_EXACT,
    DOCUMENT_MATCH,
    NATIONALITY_MATCH,
    SURNAME_ONLY_CAP,
    Alignment,
    align_names,
    combine,
    common_given_dob,
    common_names_feature,
    common_only,
    dob_feature,
    document_feature,
    explain,
    gender_feature,
    listed_nationalities,
    nationality_feature,
    surname_feature,
    unidentified_feature,
    waived_by_exact_dob,
)

#: Default hit threshold, measured in bench/screen.py (docs/performance.md): keeps false
#: hits under 5 per 1,000 innocent travellers with their real dates of birth against the
#: OFAC individuals while recall on noisy aliases stays high.
DEFAULT_THRESHOLD = 0.85


@dataclass(slots=True)
class _Best:
    score: float
    name_id: int
    form: QueryForm
    alignment: Alignment
    role: Feature | None
    surname_only: bool = False
    #: How common the matched names are: `score.common_names_feature`, or
    #: `score.unidentified_feature` when they identify nobody (decided with the entity's
    #: date and documents already, so nothing lifts it later).
    common: Feature | None = None

    @property
    def total(self) -> float:
        """The name with its role and commonness evidence: what the other features add to."""
        extra = (self.role.value if self.role else 0.0) + (self.common.value if self.common else 0.0)
        return self.score + extra


class Screener:
    """Screens people against one immutable set of watchlist entries."""

    def __init__(self, index: NameIndex, entries: list[WatchlistEntry], *, bounded: bool = True) -> None:
        self._index = index
        self._entries = entries
        self._bounded = bounded

    @classmethod
    def build(cls, entries: Iterable[WatchlistEntry], *, bounded: bool = True) -> Screener:
        """`bounded=False` scores every retrieved name without first dropping those whose
        best possible score is below the threshold (`bounds.py`): the same result, slower;
        for tests that check exactly that."""
        index, kept = NameIndex.build(entries)
        return cls(index, kept, bounded=bounded)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def index(self) -> NameIndex:
        return self._index

    def screen(self, query: PersonQuery, *, threshold: float = DEFAULT_THRESHOLD) -> list[Candidate]:
        """Candidates scoring at least `threshold`, best first."""
        index = self._index
        given = strip_glued_title(query.given_names) if query.given_names else ""
        honorific = drop_honorific(given, query.surname) if given else None
        forms = [
            f
            for f in (
                query_form(index, f"{given} {query.surname}".strip(), query.surname, surname_only=not given),
                query_form(index, query.full_name, None) if query.full_name else None,
                query_form(
                    index, f"{honorific[0]} {query.surname}".strip(), query.surname, set_aside=honorific[1]
                )
                if honorific
                else None,
            )
            if f is not None
        ]
        dob_year = query.dob.year if query.dob else None
        nationality = to_alpha3(query.nationality)
        doc_entities: list[int] = index.by_document(query.document) if query.document else []
        keep = frozenset(index.with_document(query.document)) if query.document else frozenset()

        best: dict[int, _Best] = {}
        for qf in forms:
            ids, counts = index.candidate_names(qf.sets, dob_year=dob_year, need=qf.need)
            if not len(ids):
                continue
            reach = None
            if self._bounded and threshold > 0:
                reach = Reach.of(
                    qf.best, qf.shape, dob=query.dob, nationality=bool(nationality), threshold=threshold,
                    keep_entities=keep,
                )  # fmt: skip
                if len(ids) >= MIN_TO_BOUND:
                    ids = reach.filter(index, ids, counts)
                    reach = None
            if len(ids):
                self._consider_many(best, qf, ids, counts, reach, query)
        for entity in doc_entities:
            for name_id in index.entity_names(entity):
                for qf in forms:
                    listed = index.name_tokens(name_id)
                    self._consider(best, qf, name_id, listed, index.surname_mask(name_id), entity, query)
            if entity not in best and forms:
                best[entity] = _Best(0.0, index.entity_names(entity)[0], forms[0], Alignment(0.0, []), None)

        results: list[Candidate] = []
        doc_set = set(doc_entities)
        # What the non-name features can still add, so hopeless names are dropped before
        # their explanation is written.
        headroom = (
            (DOB_EXACT if query.dob else 0.0)
            + (DOCUMENT_MATCH if query.document else 0.0)
            + (NATIONALITY_MATCH if nationality else 0.0)
        )
        for entity, b in best.items():
            found = self._score(query, entity, b, threshold, headroom, nationality, entity in doc_set)
            if found is not None:
                results.append(found)
        results.sort(key=lambda c: (-c.score, c.entity_id))
        return results

    def _score(
        self,
        query: PersonQuery,
        entity: int,
        b: _Best,
        threshold: float,
        headroom: float,
        nationality: str | None,
        by_document: bool,
    ) -> Candidate | None:
        """The candidate `b` makes of its entity, if it reaches `threshold`. `headroom`: what
        the non-name features can still add, so hopeless names are dropped before their
        explanation is written; `by_document`: the entity was found by the traveller's
        document number, so it is always scored."""
        name_total = b.total
        if query.dob and waived_by_exact_dob(b.common):
            name_total -= b.common.value if b.common else 0.0  # an exact date may lift it
        if name_total + headroom < threshold and not by_document:
            return None
        entry = self._entries[entity]
        dob = dob_feature(query.dob, entry.dobs)
        if name_total + dob.value + headroom - DOB_EXACT * bool(query.dob) < threshold and not by_document:
            return None
        features = [self._name_feature(entity, b)]
        if b.role is not None:
            features.append(b.role)
        common = common_given_dob(b.common, dob)
        if common is not None:
            features.append(common)
        features.append(dob)
        doc = document_feature(query.document, entry.documents)
        if doc is not None:
            features.append(doc)
        listed = listed_nationalities(entry.nationalities, entry.documents)
        nat = nationality_feature(nationality, listed, dated=bool(entry.dobs))
        if nat is not None:
            features.append(nat)
        gender = gender_feature(query.gender, entry.gender)
        if gender is not None:
            features.append(gender)
        score = combine(features)
        if score < threshold:
            return None
        return Candidate(entry.entity_id, score, tuple(features), explain(features))

    def _consider_many(
        self,
        best: dict[int, _Best],
        qf: QueryForm,
        ids: IntArray,
        counts: IntArray,
        reach: Reach | None,
        query: PersonQuery,
    ) -> None:
        """`_consider` each name id, reading what it needs from the index in one go; with
        `reach`, a name is first bounded (a few names: cheaper one by one than in numpy)."""
        index = self._index
        flat = index.name_token_ids
        starts = index.name_offsets[ids].tolist()
        ends = index.name_offsets[ids + 1].tolist()
        entities = index.name_entity[ids]
        masks = index.name_surname_mask[ids].tolist()
        if reach is not None:
            lows = index.entity_year_min[entities].tolist()
            highs = index.entity_year_max[entities].tolist()
            shared = counts.tolist()
        for i, (name_id, entity) in enumerate(zip(ids.tolist(), entities.tolist(), strict=True)):
            listed = flat[starts[i] : ends[i]].tolist()
            if reach is not None and not reach.reaches(
                listed, masks[i], shared[i], lows[i], highs[i], entity
            ):
                continue
            self._consider(best, qf, name_id, listed, masks[i], entity, query)

    def _consider(
        self,
        best: dict[int, _Best],
        qf: QueryForm,
        name_id: int,
        listed: list[int],
        lmask: int,
        entity: int,
        query: PersonQuery,
    ) -> None:
        """Score one listed name against one query form; keep it if its entity's best. A name
        matched only on names many people bear is weighed with the entity's date and
        documents here (`unidentified_feature`), so that another of its names which
        identifies the traveller can be the best."""
        tokens = self._index.tokens
        al = align_names(
            len(qf.tokens),
            listed,
            qf.sims,
            initials=qf.initials,
            first_letters=[tokens[t][0] for t in listed] if qf.initials else (),
            initial_excluded=lmask,
            pair_sims=qf.pair_sims,
        )
        score = al.score
        role: Feature | None = None
        surname_only = False
        if lmask and al.pairs:
            on_surname = [(m, s) for m, pos, s in al.pairs if lmask >> pos & 1 and s >= TOKEN_MIN_SIMILARITY]
            if al.n_query == 1 and al.n_listed > 1 and any(s >= 0.9 for _, s in on_surname):
                score = max(score, SURNAME_ONLY_CAP)
                surname_only = True
            role = surname_feature(
                parts=lmask.bit_count(),
                matched=len(on_surname),
                matched_by_surname=any(m & qf.surname_mask for m, _ in on_surname),
                strong=any(m & qf.surname_mask and s >= 0.95 for m, s in on_surname),
                query_roles=bool(qf.surname_mask),
                n_query=al.n_query,
            )
        common = None
        if al.pairs and not surname_only:
            common = common_names_feature(
                al.pairs,
                qf.common_mask,
                left=al.left,
                unmatched_listed=al.n_listed - len(al.pairs),
            )
        if al.pairs and not surname_only and common_only(al.pairs, qf.shared_mask):
            entry = self._entries[entity]
            unidentified = unidentified_feature(
                list_common=common_only(al.pairs, qf.common_mask),
                kunya=not KUNYA.isdisjoint(qf.tokens),
                extra_names=al.query_left,
                dob=dob_feature(query.dob, entry.dobs),
                document=document_feature(query.document, entry.documents),
            )
            common = unidentified or common
        candidate = _Best(score, name_id, qf, al, role, surname_only, common)
        current = best.get(entity)
        if current is None or candidate.total > current.total:
            best[entity] = candidate

    def _name_feature(self, entity: int, b: _Best) -> Feature:
        index = self._index
        listed = index.name_tokens(b.name_id)
        al = b.alignment
        first = int(index.entity_first_name[entity])
        source, honorific = index.honorific_names.get(b.name_id, (b.name_id, ""))
        which = "name" if source == first else "alias"
        shorter = min(al.n_listed, al.n_query) if al.pairs else min(len(listed), len(b.form.tokens))
        longer = max(al.n_listed, al.n_query) if al.pairs else max(len(listed), len(b.form.tokens))

        def query_text(mask: int) -> str:
            return "".join(t for i, t in enumerate(b.form.tokens) if mask >> i & 1)

        notes = [f"{query_text(m)}~{index.tokens[listed[pos]]}" for m, pos, sim in al.pairs if sim < 1.0][:3]
        detail = f"{len(al.pairs)}/{shorter} tokens"
        if longer > shorter:
            detail += f", {longer - shorter} extra"
        if al.initials:
            detail += f", {al.initials} initial" + ("s" if al.initials > 1 else "")
        if al.covered:
            detail += ", glued parts"
        if b.surname_only:
            detail += ", surname only"
        if honorific:
            detail += f", listed honorific {honorific} set aside"
        if b.form.set_aside:
            detail += f", honorific {b.form.set_aside} set aside"
        if notes:
            detail += ", " + " ".join(notes)
        return Feature("name", round(b.score, 4), f"{which} {b.score:.2f} ({detail})")
