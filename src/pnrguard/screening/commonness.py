"""Names that many people bear whatever a list's own counts say.

The list's counts (`index.spelling_count`) tell which names are common *on the list*; a
namesake's name is common *in a population*. Some names are common by their form, in every
culture that makes them, and need no population table:

- **short names** of three letters or fewer (LI, YUN, KIM, ALI): few such names exist, so
  many people share each;
- **syllable names**: Mandarin, Korean and Vietnamese build given names (and nearly all
  surnames) from a few hundred syllables, so a name that is one syllable (JING, KWANG, MINH),
  or two glued as Chinese passports write them (XIAOMING), is shared by very many people
  (`name_syllables.csv`). Only Mandarin's two-syllable names are read glued: Korean and
  Vietnamese syllables are many more, and two of them glued would take in names of other
  cultures (BI+LAL, HA+SSAN); a glued Korean name is common through the listed spelling it
  matches (KWANGIL is the listed Kwang-Il);
- **patronymic surnames**: a forebear's given name with a suffix (GHOLAMI, MOHAMMADI,
  IVANOV, MARTINEZ, JOHNSON; `patronymics.csv`), common wherever the given name is. Which
  tokens are given names comes from the list itself (`NameIndex.given_names`) and from the
  name families of `name_families.csv`, which are common in their own right.

Pure functions over the shipped data; the index remembers the answers per token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import product

from pnrguard.screening.names import NAME_FAMILY, data_rows, fold

#: A name of at most this many letters is common (see the module's docstring).
SHORT_NAME = 3
#: Shortest given name a patronymic surname is read from (AL+I is not ALI's patronymic).
MIN_STEM = 3


def _syllables() -> dict[str, frozenset[str]]:
    rows: dict[str, dict[str, list[str]]] = {}
    for row in data_rows("name_syllables.csv"):
        parts = rows.setdefault(row["language"], {})
        parts.setdefault(row["part"], []).extend(
            "" if s == "-" else s for s in row["spellings"].split()
        )
    out: dict[str, frozenset[str]] = {}
    for language, parts in rows.items():
        whole = set(parts.get("syllable", []))
        if "initial" in parts:
            whole.update(
                "".join(p)
                for p in product(parts["initial"], parts.get("vowel", [""]), parts.get("final", [""]))
            )
        out[language] = frozenset(s for s in whole if s)
    return out


#: Language -> every syllable its romanised names are built from.
SYLLABLES: dict[str, frozenset[str]] = _syllables()
_LONGEST_SYLLABLE = max(len(s) for inventory in SYLLABLES.values() for s in inventory)

#: Suffixes that make a surname of a given name, longest first.
PATRONYMIC_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {s for row in data_rows("patronymics.csv") for s in row["suffixes"].split()},
        key=lambda s: (-len(s), s),
    )
)

#: Given names common in their own right (folded): every spelling of the name families of
#: `name_families.csv` (HASAN, HUSAYN, MUHAMMAD ...).
COMMON_GIVEN: frozenset[str] = frozenset(NAME_FAMILY)


def syllable_name(token: str) -> bool:
    """One syllable of a language that builds names from syllables, or two of Mandarin glued."""
    if any(token in inventory for inventory in SYLLABLES.values()):
        return True
    mandarin = SYLLABLES["mandarin"]
    return any(
        token[:cut] in mandarin and token[cut:] in mandarin
        for cut in range(max(1, len(token) - _LONGEST_SYLLABLE), min(len(token), _LONGEST_SYLLABLE + 1))
    )


def patronymic_stems(token: str) -> Iterable[str]:
    """The given names (folded) `token` would be the patronymic surname of: the token less a
    suffix, as it is or with the final vowel the suffix replaced (RODRIG-UEZ: RODRIGO;
    SERGE-EV: SERGEI), never the token itself."""
    whole = fold(token)
    for suffix in PATRONYMIC_SUFFIXES:
        if len(token) - len(suffix) >= MIN_STEM and token.endswith(suffix):
            stem = token[: -len(suffix)]
            for given in (stem, *(stem + vowel for vowel in "AEIOY")):
                folded = fold(given)
                if folded != whole:
                    yield folded


def common_by_form(token: str, is_given: Callable[[str], bool]) -> bool:
    """`token` is a short name, a syllable name, a common given name, or the patronymic surname
    of a given name (`is_given` answers for the list's given names, folded)."""
    if len(token) <= SHORT_NAME or syllable_name(token) or fold(token) in COMMON_GIVEN:
        return True
    return any(stem in COMMON_GIVEN or is_given(stem) for stem in patronymic_stems(token))
