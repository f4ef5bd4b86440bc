"""Name normalisation for matching people across scripts, spellings and carriers' habits.

The pipeline: romanise any script to ASCII (anyascii; Han and Hangul names get a space
after the surname syllable), upper-case, drop apostrophes, split on everything that is not
a letter, drop titles (MR, DR, SHEIKH, HAJI ...). Particles (AL-, BIN, VAN DER, DE LA ...)
are kept in the normal form but set aside in the *core* tokens; matching compares both.
Transliteration variants meet three ways: a folding of spelling families kept as data
(`transliteration.csv`: DZH/DJ/J, KH/H, SCH/SH, Y/I, double letters ...), phonetic keys
(metaphone), and a small table of the commonest abbreviations and name variants. Arabic
script is romanised through a table of common name words (`arabic_names.csv`) first, so
that list aliases written in Arabic do not become vowel-less skeletons (`mhmd`).
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

#: Hereditary honorifics (sayyid: a descendant of the Prophet), written before the given
#: name in Iran, Iraq, Afghanistan, Pakistan and India and often on the passport, often not:
#: a part a listed person may or may not carry, not a name that tells them apart. They are
#: not dropped like TITLES, because SYED, SAYED and SAYYED are also borne as a given name or
#: a surname (`SAYYED, Jamil`, `HABIB, Sayed`, `AL-SAYYID`): see `honorific_variants`.
#: SAYID is left out: it also writes SA'ID (SAID, SAEED), another name.
HONORIFICS: frozenset[str] = frozenset(
    {
        "SAYYID", "SAYYED", "SEYYED", "SEYYID", "SEYED", "SAYED", "SYED", "SAIYID", "SAIYED",
        "SAYYIDA", "SAYYIDAH", "SEYYEDEH", "SEYEDEH", "SEYYEDE", "SEYEDE", "SAYEDA", "SYEDA",
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

#: Words that make a name a kunya, a by-name after a child (ABU QASIM: father of Qasim; UMM
#: for a mother; BU in the Gulf): names a person is known by, which lists record and which
#: few passports carry, so a traveller bearing one in full is not a chance namesake.
KUNYA: frozenset[str] = frozenset({"ABU", "ABOU", "BU", "UMM", "OUM"})

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
_ARABIC_WORD = re.compile(r"[\u0600-\u06ff\u0750-\u077f]+")
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_HERE = Path(__file__).parent


def data_rows(name: str) -> list[dict[str, str]]:
    """Rows of a CSV shipped next to this module; lines starting with `#` are comments."""
    text = (_HERE / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def _arabic_key(word: str) -> str:
    return _ARABIC_MARKS.sub("", unicodedata.normalize("NFC", word)).translate(_ARABIC_LETTERS)


ARABIC_NAMES: dict[str, str] = {_arabic_key(r["arabic"]): r["latin"] for r in data_rows("arabic_names.csv")}


def _arabic_word(match: re.Match[str]) -> str:
    """One Arabic-script word in Latin letters: the table, `AL` + the table, else anyascii."""
    word = _arabic_key(match.group())
    latin = ARABIC_NAMES.get(word)
    if latin is None and word.startswith("ال") and len(word) > 3:
        rest = ARABIC_NAMES.get(word[2:])
        latin = f"AL {rest}" if rest else None
    return f" {latin} " if latin else anyascii(word)


def _romanise(text: str) -> str:
    """Any script to ASCII. Han and Hangul names are romanised per syllable and written
    `SURNAME GIVENGIVEN`, the way passports write them."""
    if text.isascii():
        return text
    text = _ARABIC_WORD.sub(_arabic_word, text)
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


@functools.lru_cache(maxsize=65536)
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
    # A particle leads the name after it; last in a name it is a name itself (DAS, DA, DE).
    core = [t for i, t in enumerate(tokens) if t not in PARTICLES or i == len(tokens) - 1]
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


@dataclass(frozen=True, slots=True)
class FoldRule:
    """One spelling family of `transliteration.csv`: `pattern` becomes `replacement`."""

    origin: str
    pattern: re.Pattern[str]
    replacement: str
    min_length: int
    same: tuple[tuple[str, ...], ...]
    trigger: str  # letters every match starts with; "" when the pattern has none
    #: The substitution itself: `pattern.sub`, or the same result computed without the
    #: regular expression engine for the two common shapes (see `_substitution`).
    apply: Callable[[str], str]


_LITERAL = re.compile(r"[A-Z]+")
_REPEATED_LETTERS = r"([A-Z])\1+"
_DOUBLE_LETTER = re.compile(r"([A-Z])\1")


def _single_letters(token: str) -> str:
    """`([A-Z])\\1+` -> `\\1` without the regex engine (a backreference per position cost
    more than the rest of folding): each run of one capital letter becomes one letter."""
    if _DOUBLE_LETTER.search(token) is None:
        return token
    return "".join(k if "A" <= k <= "Z" else "".join(run) for k, run in itertools.groupby(token))


def _substitution(pattern: str, replacement: str) -> Callable[[str], str]:
    """The function that applies one rule: `str.replace` for a plain literal, a run
    collapse for repeated letters, else the compiled pattern."""
    if _LITERAL.fullmatch(pattern) and "\\" not in replacement:
        return lambda token: token.replace(pattern, replacement)
    if pattern == _REPEATED_LETTERS and replacement == "\\1":
        return _single_letters
    return functools.partial(re.compile(pattern).sub, replacement)


def _trigger(pattern: str) -> str:
    """The literal letters a pattern's match must contain, to skip rules cheaply."""
    rest = re.sub(r"^\^|^\(\?<=[^)]*\)", "", pattern)
    literal = re.match(r"[A-Z]+", rest)
    return literal.group() if literal else ""


FOLD_RULES: tuple[FoldRule, ...] = tuple(
    FoldRule(
        r["origin"],
        re.compile(r["pattern"]),
        r["replacement"],
        int(r["min_length"]),
        tuple(tuple(group.split()) for group in r["same"].split(";") if group.strip()),
        _trigger(r["pattern"]),
        _substitution(r["pattern"], r["replacement"]),
    )
    for r in data_rows("transliteration.csv")
)


_FOLD_STEPS: tuple[tuple[int, str, Callable[[str], str]], ...] = tuple(
    (rule.min_length, rule.trigger, rule.apply) for rule in FOLD_RULES
)


@functools.lru_cache(maxsize=262144)
def fold(token: str) -> str:
    """A token with its transliteration families folded (`DZHAMAL` -> `JAMAL`).

    Applied to list and query tokens alike, so equal folds mean "the same name spelled
    another way". Idempotent. Never empty for a non-empty token.
    """
    out = token
    length = len(token)
    for min_length, trigger, apply in _FOLD_STEPS:
        if trigger in out and length >= min_length:
            out = apply(out)
    if out != token and out:
        again = fold(out)  # rules interact (Y->I then II->I); a fixpoint keeps fold idempotent
        return again if again else out
    return out or token


def _families() -> dict[str, str]:
    out: dict[str, str] = {}
    for row in data_rows("name_families.csv"):
        for spelling in row["spellings"].split():
            out[fold(spelling)] = row["family"]
    return out


#: Folded spelling -> the name it is a spelling of, for common names spelled alike.
NAME_FAMILY: dict[str, str] = _families()


def _spellings() -> frozenset[str]:
    return frozenset(sp for row in data_rows("name_families.csv") for sp in row["spellings"].split())


#: Written spellings of the common names of `name_families.csv` (SAID, SAEED, HASSAN ...):
#: an honorific that looks like one of them is not that name (SAYYED is not SAEED).
FAMILY_SPELLINGS: frozenset[str] = _spellings()

_WORD = re.compile(r"[^\s,]+")


def honorific_variants(raw: str) -> list[tuple[str, str]]:
    """(the name without it, the honorific) for each hereditary honorific (`HONORIFICS`)
    that a name carries beside its names: `GHASEMI, Seyyed Reza` -> `GHASEMI, Reza`.

    Not when the honorific is (part of) the marked surname (`SAYYED, Jamil`), follows a
    particle (`al-Sayyid`, a family name) or stands with fewer than two other names beside
    it (`HABIB, Sayed`, `Syed SALAHUDDIN`: then it is the name the person is known by).
    The name with the honorific is still matched: this adds a form, it drops nothing."""
    words = [(m.start(), m.end(), normalise(m.group())) for m in _WORD.finditer(raw)]
    if not any(w in HONORIFICS for _, _, w in words):
        return []
    others = [t for t in name_form(raw).core if t not in HONORIFICS and t not in PARTICLES and len(t) > 1]
    if len(others) < 2:
        return []
    surnames = surname_tokens(raw)
    out: list[tuple[str, str]] = []
    for i, (start, end, word) in enumerate(words):
        if word not in HONORIFICS or word in surnames:
            continue
        before = words[i - 1][2].split()[-1:] if i else []
        if before and before[0] in PARTICLES:
            continue
        text = " ".join((raw[:start] + raw[end:]).split()).replace(" ,", ",").strip(" ,")
        out.append((text, word))
    return out


def drop_honorific(given_names: str, surname: str) -> tuple[str, str] | None:
    """The traveller's given names without a hereditary honorific (`SEYED REZA` ->
    `REZA`), and the honorific, when at least two other names remain with the surname."""
    tokens = normalise(given_names).split()
    for i, token in enumerate(tokens):
        if token not in HONORIFICS or (i and tokens[i - 1] in PARTICLES):
            continue
        rest = tokens[:i] + tokens[i + 1 :]
        names = [t for t in (*rest, *normalise(surname).split()) if t not in PARTICLES and len(t) > 1]
        if len(names) >= 2 and token not in names:
            return " ".join(rest), token
    return None


def surname_tokens(raw: str) -> frozenset[str]:
    """The core tokens of a listed name that are its surname, when the list says so.

    Lists mark the surname by a comma (`SURNAME, Given`) or by capitals among mixed-case
    words (`Ayman AL-ZAWAHIRI`, the OFAC and UN habit). Empty when the list does not say.
    """
    head, sep, tail = raw.partition(",")
    if sep and head.strip() and tail.strip():
        marked = head
    else:
        words = [w for w in raw.split() if sum(ch.isalpha() for ch in w) >= 2]
        upper = [w for w in words if w.isupper()]
        mixed = [w for w in words if not w.isupper() and not w.islower()]
        if not upper or not mixed:
            return frozenset()
        marked = " ".join(upper)
    tokens = normalise(marked).split()
    return frozenset(t for t in tokens if t not in PARTICLES) or frozenset(tokens)


def deletions2(token: str) -> set[str]:
    """Strings two deletions away, for long tokens only (SymSpell distance 2): a part with
    a transposition and a dropped letter still shares a key with its listed form."""
    if len(token) < 7:
        return set()
    out: set[str] = set()
    for one in deletions(token):
        for i in range(len(one)):
            out.add(one[:i] + one[i + 1 :])
    return out


def deletions(token: str) -> set[str]:
    """All strings one deletion away (SymSpell): two tokens within one edit of each other
    share a deletion or contain each other's, so typos meet without scanning."""
    if len(token) < 4:
        return set()
    return {token[:i] + token[i + 1 :] for i in range(len(token))}
