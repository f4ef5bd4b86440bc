"""One spelling of a traveller's name, looked up in the index once per query.

Everything the scorer needs about the query side is computed here, once, before any
candidate is scored: the core tokens and which came from the surname field, each token's
matches in the vocabulary (with a glued particle's and two adjacent tokens read as one),
the similarity of every matched vocabulary token by query position, the initials, which
tokens are common in the list, and each token's set of names (merged once, used both for
the commonness test and for candidate retrieval).
"""

from __future__ import annotations

from dataclasses import dataclass

from pnrguard.screening.bounds import Shape
from pnrguard.screening.commonness import SHORT_NAME
from pnrguard.screening.index import IntArray, NameIndex, TokenMatches
from pnrguard.screening.names import PARTICLES, NameForm, name_form, normalise
from pnrguard.screening.score import SPELLING_SIMILARITY


@dataclass(slots=True)
class QueryForm:
    form: NameForm
    tokens: list[str]
    initials: list[tuple[int, str]]
    surname_mask: int  # query positions from the surname field (0: roles unknown)
    #: Name sets of the retrieval tokens (a glued query pair twice: it stands for two).
    sets: list[IntArray]
    need: int
    common_mask: int  # query positions whose spellings are in many listed names, or short names
    #: `common_mask` and the positions whose names are common by their form (syllable names,
    #: patronymics: `commonness.py`): names many people bear, however few listed names do.
    shared_mask: int
    #: Glued query pairs that matched a listed token: each may merge two query positions.
    merges: int
    #: (query positions as a bit mask, matches) of each token, then each glued pair.
    matched: list[tuple[int, TokenMatches]]
    #: A hereditary honorific of the traveller's given names this form leaves out ("": none).
    set_aside: str = ""
    # Built on first use: half the travellers have no candidate to score.
    _sims: dict[int, list[tuple[int, float]]] | None = None
    _best: dict[int, float] | None = None
    _pair_sims: dict[int, list[int]] | None = None

    @property
    def sims(self) -> dict[int, list[tuple[int, float]]]:
        """Vocabulary token id -> (query positions as a bit mask, similarity)."""
        if self._sims is None:
            self._prepare()
        assert self._sims is not None
        return self._sims

    @property
    def best(self) -> dict[int, float]:
        """Vocabulary token id -> its best similarity to any query token (for `bounds`)."""
        if self._best is None:
            self._prepare()
        assert self._best is not None
        return self._best

    @property
    def pair_sims(self) -> dict[int, list[int]]:
        """Listed token id -> query positions that glue it with its neighbour."""
        if self._pair_sims is None:
            self._prepare()
        assert self._pair_sims is not None
        return self._pair_sims

    @property
    def shape(self) -> Shape:
        """What the score bound of this form depends on (`bounds.Shape`)."""
        covers = len({qpos for positions in self.pair_sims.values() for qpos in positions})
        return Shape(len(self.tokens), len(self.initials), self.merges, covers)

    def _prepare(self) -> None:
        sims: dict[int, list[tuple[int, float]]] = {}
        best: dict[int, float] = {}
        pair_sims: dict[int, list[int]] = {}
        for mask, m in self.matched:
            for tid, sim in m.matches.items():
                entry = sims.get(tid)
                if entry is None:
                    sims[tid] = [(mask, sim)]
                    best[tid] = sim
                else:
                    entry.append((mask, sim))
                    if sim > best[tid]:
                        best[tid] = sim
            if m.pairs:
                qpos = mask.bit_length() - 1
                for tid in m.pairs:
                    pair_sims.setdefault(tid, []).append(qpos)
        self._sims, self._best, self._pair_sims = sims, best, pair_sims


def query_form(
    index: NameIndex, text: str, surname: str | None, *, surname_only: bool = False, set_aside: str = ""
) -> QueryForm | None:
    """The query side of one spelling of a name; None when nothing is left to compare."""
    form = name_form(text)
    if not form.core:
        return None
    tokens = list(form.core)
    glued_of = {core: glued for glued, core in form.glued}
    named = [t for t in tokens if len(t) > 1 and t not in PARTICLES]
    if (
        surname_only
        and len(named) == 1
        and len(tokens) > 1
        and tokens[-1] == named[0]
        and all(t in PARTICLES for t in tokens[:-1])
    ):
        # One name led by particles (`AL QAYSI`): the name, with its glued form.
        glued_of[named[0]] = "".join(tokens)
        tokens = named
    surname_set = set(normalise(surname).split()) if surname else set()
    surname_mask = 0
    initials: list[tuple[int, str]] = []
    matched: list[tuple[int, TokenMatches]] = []
    sets: list[IntArray] = []
    common_mask = shared_mask = 0
    common_df = index.common_df
    for qpos, token in enumerate(tokens):
        bit = 1 << qpos
        if token in surname_set:
            surname_mask |= bit
        if len(token) == 1:
            initials.append((qpos, token))
            continue
        m = base = index.match_token(token)
        glued = glued_of.get(token)
        if glued is not None:
            extended = dict(m.matches)  # the cached matches are shared: extend a copy
            for tid, sim in index.match_token(glued).matches.items():
                if sim > extended.get(tid, 0.0):
                    extended[tid] = sim
            m = TokenMatches(token, extended, m.pairs)
        if m.matches or m.pairs:
            names = index.token_names(token) if glued is None else index.token_set(m)
            sets.append(names)
            if m.matches and (
                len(token) <= SHORT_NAME
                or index.spelling_count(token, base, SPELLING_SIMILARITY) >= common_df
            ):
                common_mask |= bit
                shared_mask |= bit
            elif (
                m.matches and index.spelling_count(token, base, SPELLING_SIMILARITY) >= index.shared_df
            ) or index.common_by_form(token, base, SPELLING_SIMILARITY):
                shared_mask |= bit  # KWANGIL, matched only as the listed KWANG IL, too
            matched.append((bit, m))
    merges = 0
    for pos in range(len(tokens) - 1):  # two query tokens that a list writes as one
        left, right = tokens[pos], tokens[pos + 1]
        if len(left) < 2 or len(right) < 2:
            continue
        whole = index.match_glued(left + right)
        if whole.matches:  # a listed token that is both query tokens counts for two
            names = index.token_set(whole)
            sets += (names, names)
            merges += 1
            matched.append((3 << pos, whole))
    n_named = len(named) or sum(1 for t in tokens if len(t) > 1)  # `tokens` never loses a name
    if surname_mask == (1 << len(tokens)) - 1 and len(tokens) > 1:
        surname_mask = 0  # every token is "surname": the fields say nothing about roles
    return QueryForm(
        form,
        tokens,
        initials,
        surname_mask,
        sets,
        max(1, min(2, n_named)),
        common_mask,
        shared_mask,
        merges,
        matched,
        set_aside,
    )
