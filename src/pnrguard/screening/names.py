"""Name normalisation for matching people across scripts, spellings and carriers' habits.

The pipeline: romanise any script to ASCII (anyascii; Han and Hangul names get a space
after the surname syllable), upper-case, drop apostrophes, split on everything that is not
a letter, drop titles (MR, DR, SHEIKH, HAJI ...). Particles (AL-, BIN, VAN DER, DE LA ...)
are kept in the normal form but set aside in the *core* tokens; matching compares both.
Transliteration variants (MOHAMMED / MUHAMMAD / MOHAMED) meet through phonetic keys
(metaphone) after a small table of the commonest abbreviations, so no giant table is needed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import jellyfish
from anyascii import anyascii

TITLES: frozenset[str] = frozenset(
    {
        "MR", "MRS", "MS", "MISS", "MSTR", "MX", "DR", "PROF", "SIR", "LORD", "LADY", "REV",
        "FR", "ENG", "CAPT", "COL", "GEN", "LT", "SGT", "CHD", "INF",
        "SHEIKH", "SHEIK", "SHAIKH", "SHAYKH", "SHEYKH", "CHEIKH", "SHK",
        "HAJI", "HAJJI", "HAJ", "HADJI", "ALHAJI", "ALHAJ", "HAJJ",
        "MULLAH", "MULLA", "MAULANA", "MAULAWI", "MAWLAWI", "MAULVI", "MAWLAVI", "QARI",
    }
)  # fmt: skip

PARTICLES: frozenset[str] = frozenset(
    {
        "AL", "EL", "UL", "AS", "AD", "AN", "AR", "AZ", "AT",
        "BIN", "BINT", "BEN", "IBN", "ABU", "ABOU", "BU", "OULD", "WALAD",
        "VAN", "VON", "DER", "DEN", "TER", "TEN", "DE", "LA", "DEL", "DELLA", "DI", "DA",
        "DOS", "DAS", "DO", "DU", "DES", "Y", "E",
    }
)  # fmt: skip

# Prefixes a carrier or a list may glue to the next token ("ALZAWAHIRI", "VANDERBERG").
_GLUED_PREFIXES: tuple[tuple[str, int], ...] = (
    ("VANDER", 3), ("VANDEN", 3), ("DELA", 3), ("ABOU", 3), ("ABU", 3), ("BIN", 3),
    ("BEN", 4), ("IBN", 3), ("VAN", 4), ("VON", 4), ("AL", 4), ("EL", 4), ("UL", 4),
    ("DE", 5),
)  # fmt: skip

# The commonest spellings whose phonetic keys do not already agree.
_VARIANTS: dict[str, str] = {
    "MOHD": "MOHAMMED", "MHD": "MOHAMMED", "MD": "MOHAMMED", "MUHD": "MOHAMMED",
    "MOHAMMAD": "MOHAMMED", "MAHOMED": "MOHAMMED", "MEHMET": "MOHAMMED", "MEHMED": "MOHAMMED",
    "MAGOMED": "MOHAMMED", "MUHAMED": "MOHAMMED", "MOUHAMED": "MOHAMMED",
    "ABDUL": "ABDUL", "ABDEL": "ABDUL", "ABDOUL": "ABDUL", "ABDAL": "ABDUL", "ABDOL": "ABDUL",
    "YUSUF": "YUSUF", "YOUSSEF": "YUSUF", "YOUSEF": "YUSUF", "YOUSIF": "YUSUF", "JUSUF": "YUSUF",
    "YOSEF": "YUSUF", "JOSEF": "JOSEPH", "IOSIF": "JOSEPH", "GIUSEPPE": "JOSEPH",
    "HUSAYN": "HUSSEIN", "HUSEYIN": "HUSSEIN", "HOSSEIN": "HUSSEIN", "HUSAIN": "HUSSEIN",
    "HASAN": "HASSAN", "HASAAN": "HASSAN", "OSAMA": "USAMA", "OUSSAMA": "USAMA",
    "MIKHAIL": "MICHAEL", "MIKHAEL": "MICHAEL", "MICHEL": "MICHAEL", "MIGUEL": "MICHAEL",
    "ALEKSANDR": "ALEXANDER", "ALEKSANDER": "ALEXANDER", "ALEXANDR": "ALEXANDER",
    "SERGEY": "SERGEI", "SERGIY": "SERGEI", "SERHIY": "SERGEI", "YURIY": "YURI", "IURII": "YURI",
    "DMITRIY": "DMITRI", "DMYTRO": "DMITRI", "DMITRII": "DMITRI", "YEVGENIY": "EVGENY",
    "EVGENIY": "EVGENY", "YEVGENY": "EVGENY", "ALEKSEY": "ALEXEI", "ALEKSEI": "ALEXEI",
    "OLEKSII": "ALEXEI", "OLEKSIY": "ALEXEI", "ANDRIY": "ANDREI", "ANDREY": "ANDREI",
    "ALI": "ALI", "ALY": "ALI", "OMAR": "UMAR", "UMAR": "UMAR", "OTHMAN": "USMAN",
    "UTHMAN": "USMAN", "OSMAN": "USMAN", "USMAN": "USMAN", "JUAN": "JUAN", "IVAN": "IVAN",
}  # fmt: skip

_APOSTROPHES = re.compile(r"['’‘`´ʻʼʿʾ\u02b9\u02bc\u0027]")
_NON_LETTERS = re.compile(r"[^A-Z]+")
_GREEK_DIGRAPHS = (("ου", "ou"), ("ού", "ou"), ("ΟΥ", "OU"), ("Ου", "Ou"), ("ΟΎ", "OU"))
_HAN_HANGUL = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+")


def _romanise(text: str) -> str:
    """Any script to ASCII. Han and Hangul names are romanised per syllable and written
    `SURNAME GIVENGIVEN`, the way passports write them."""
    if text.isascii():
        return text
    for greek, latin in _GREEK_DIGRAPHS:  # ICAO Doc 9303 writes ΟΥ as OU, anyascii as OY
        text = text.replace(greek, latin)
    parts: list[str] = []
    pos = 0
    for match in _HAN_HANGUL.finditer(text):
        parts.append(anyascii(text[pos : match.start()]))
        syllables = [anyascii(ch) for ch in match.group()]
        if len(syllables) >= 2:
            parts.append(f" {syllables[0]} {''.join(syllables[1:])} ")
        else:
            parts.append(f" {syllables[0]} ")
        pos = match.end()
    parts.append(anyascii(text[pos:]))
    return "".join(parts)


@functools.lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Canonical ASCII form of a name: upper-case letters, single spaces, no titles.

    Idempotent, total (never raises for any str) and ASCII-only. Titles are dropped unless
    the name consists of titles only (then nothing would be left to compare).
    """
    ascii_text = _APOSTROPHES.sub("", _romanise(text)).upper()
    ascii_text = _APOSTROPHES.sub("", ascii_text)
    tokens = [t for t in _NON_LETTERS.split(ascii_text) if t]
    kept = [t for t in tokens if t not in TITLES]
    return " ".join(kept if kept else tokens)


_GLUED_TITLES: tuple[str, ...] = ("MSTR", "MISS", "MRS", "MR", "MS")


def strip_glued_title(given_names: str) -> str:
    """Remove a title that a carrier glued to the last given name (`JOHNMR`, `MARYMRS`).

    Applied only to the given-names field of a reservation, never to list names: there the
    suffix would be part of a real name.
    """
    norm = normalise(given_names)
    if not norm:
        return norm
    head, _, last = norm.rpartition(" ")
    for suffix in _GLUED_TITLES:
        if last.endswith(suffix) and len(last) - len(suffix) >= 2:
            last = last[: -len(suffix)]
            break
    return f"{head} {last}" if head else last


@dataclass(frozen=True, slots=True)
class NameForm:
    """A normalised name split for matching.

    `core`: the tokens that identify (titles and particles removed, unless fewer than two
    tokens would be left: then the particles stay, so the result never depends on order).
    `glued`: each particle run glued to its token
    (`AL ZAWAHIRI` -> `ALZAWAHIRI`) paired with the core token it stands for.
    """

    text: str
    core: tuple[str, ...]
    glued: tuple[tuple[str, str], ...]


@functools.lru_cache(maxsize=65536)
def name_form(text: str) -> NameForm:
    norm = normalise(text)
    tokens = norm.split()
    core = [t for t in tokens if t not in PARTICLES]
    if len(core) < 2:  # "ABU BAKR", "WALAD AA": the particle is part of too short a name
        return NameForm(norm, tuple(tokens), ())
    glued: list[tuple[str, str]] = []
    pending: list[str] = []
    for token in tokens:
        if token in PARTICLES:
            pending.append(token)
        elif pending:
            glued.append(("".join(pending) + token, token))
            pending = []
    return NameForm(norm, tuple(core), tuple(glued))


def split_glued_particle(token: str) -> str | None:
    """`ALZAWAHIRI` -> `ZAWAHIRI`: the token without a glued leading particle, if any."""
    for prefix, min_rest in _GLUED_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= min_rest:
            return token[len(prefix) :]
    return None


@functools.lru_cache(maxsize=262144)
def phonetic_key(token: str) -> str:
    """A sound key so transliteration variants meet: table for the commonest, then
    metaphone. Empty for tokens too short to carry a meaningful key."""
    canonical = _VARIANTS.get(token, token)
    if len(canonical) < 3:
        return ""
    return jellyfish.metaphone(canonical)


def deletions(token: str) -> set[str]:
    """All strings one deletion away (SymSpell): two tokens within one edit of each other
    share a deletion or contain each other's, so typos meet without scanning."""
    if len(token) < 4:
        return set()
    return {token[:i] + token[i + 1 :] for i in range(len(token))}
