"""The DPO's term table (Art. 13(4) categories as data) and the matchers built from it.

What counts as sensitive is the DPO's decision, so it lives in a reviewed CSV table
(`sensitive_categories.csv`, columns ``kind,pattern,category,lang,note``; ``lang`` is
optional) that a node may extend with a file of its own (setting
``PNRGUARD_SENSITIVE_TERMS_FILE``). This module parses the table and compiles it; the
structural filter that applies it to bookings is `protection/sensitive.py`.

Matching, and why:

- **Folding.** Text and patterns are compared after folding: upper case, and every letter
  transliterated to ASCII (`anyascii`: MUSULMÁN -> MUSULMAN, JUDÍO -> JUDIO, Greek and
  Cyrillic to Latin), so one pattern covers accented, unaccented and native-script spellings.
- **Whole words.** A word matches only between non-letters (digits, punctuation and spaces
  are boundaries, so ``P1/WCHR`` matches and ``MUSLIMOVIC`` does not); a phrase matches with
  any run of non-letters between its words (``W/CHAIR``, ``TRADE-UNION``).
- **Stems.** A word ending in ``*`` also matches with one of `INFLECTIONS` appended
  (``JEHOVAH*`` -> JEHOVAHS, ``UNION*`` -> UNIONIST, UNIONS), a closed list of endings of the
  EU languages rather than "any suffix", so that a stem never swallows a name
  (``MUSLIM*`` does not match MUSLIMOVIC).
- **Substrings** (``substring`` rows, 4+ letters, no ordinary word contains them) match even
  glued to other letters, carrier style (``PAXREQUIRESWHEELCHAIR``).
- **Proper-name words** (``proper`` rows: CHRISTIAN, GAY, JAIN, CHURCH ...) are words of
  the table that are also names of people, places or organisations. They still match in
  free text; in names, contacts and addresses they do not (see `sensitive.py`).

Every pattern compiles into one regular expression per matcher, as a trie of alternatives:
Python's `re` tries the branches of an alternation one by one at each position, so a flat
list of a few thousand words would cost thousands of comparisons per character.
"""

from __future__ import annotations

import csv
import enum
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from anyascii import anyascii

from pnrguard.errors import N_, ConfigError

TABLE_RESOURCE = "sensitive_categories.csv"


class Category(enum.StrEnum):
    """Special categories (Directive 2016/681 Art. 13(4); genetic and biometric data from
    Directive 2016/680 Art. 10). The values are aggregate keys of the deletion counts."""

    RACIAL_OR_ETHNIC_ORIGIN = "racial_or_ethnic_origin"
    POLITICAL_OPINIONS = "political_opinions"
    RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS = "religious_or_philosophical_beliefs"
    TRADE_UNION_MEMBERSHIP = "trade_union_membership"
    HEALTH = "health"
    SEX_LIFE_OR_SEXUAL_ORIENTATION = "sex_life_or_sexual_orientation"
    GENETIC_OR_BIOMETRIC = "genetic_or_biometric"


#: The table's marker for a decision recorded as "not sensitive, kept".
NOT_SENSITIVE = "none"


class RuleKind(enum.StrEnum):
    """How a table row is matched."""

    SSR_CODE = "ssr_code"  # exact SSR code; a sensitive code is also a whole word in text
    WORD = "word"  # whole word or phrase; a word ending in * is a stem (INFLECTIONS)
    SUBSTRING = "substring"  # anywhere in text, even glued to other letters
    STRUCTURED_SSR = "structured_ssr"  # SSR whose text holds names: matched as proper text
    PROPER = "proper"  # a word that is also a name: not matched in names, contacts, addresses


#: Endings a stem (``WORD*``) may take: plural, case, gender and adjective endings of the
#: EU languages, folded to ASCII. Closed on purpose: "any suffix" would match names built
#: on a term (MUSLIMOVIC, CHRISTIANSEN). "" is the bare stem.
INFLECTIONS: tuple[str, ...] = (
    "", "S", "ES", "E", "EN", "ER", "ERS", "ERN", "EM", "IN", "INNEN", "ERIN", "ERINNEN",
    "A", "AS", "AE", "AN", "ANS", "ANO", "ANA", "ANOS", "ANAS", "ANI", "ANE",
    "O", "OS", "OI", "I", "IS", "IE", "IES", "Y", "U", "UM", "US", "OM", "OU", "OJ", "OG",
    "IH", "IM", "IMI", "AMI", "OVI", "OVA", "OVE", "OW", "ACH", "AMI", "OWIE",
    "ISCH", "ISCHE", "ISCHEN", "ISCHER", "ISCHES", "ISCHEM", "ISH",
    "IC", "ICA", "ICO", "ICAS", "ICOS", "ICI", "ICS", "IQUE", "IQUES", "ICAL",
    "IST", "ISTS", "ISTA", "ISTE", "ISTI", "ISTAS", "ISTES",
    "ISM", "ISME", "ISMO", "ISMUS", "ISMI",
    "LAR", "LER", "LARI", "LERI", "LI", "LU", "NIN", "NUN", "T", "TA", "TE", "TI",
    "ED", "ING", "Ä", "AI", "IAI", "AIS", "AISE", "AISES", "ENS", "ENE", "ENA", "ET",
    "SKI", "SKA", "SKE", "SKIE", "SKY", "SKE", "NI", "NA", "NE",
)  # fmt: skip

_GAP = r"[^A-Z]+"
_LETTERS = re.compile(r"[A-Z]+")
_PATTERN_WORDS = re.compile(r"[A-Z]+\*?")
_CODE_RE = re.compile(r"[A-Z0-9]{4}")

# A trie node: next character -> child. "" marks the end of a key; " " a phrase's word gap.
_Trie = dict[str, "_Trie"]


def fold(text: str) -> str:
    """Upper case, every letter as ASCII: the form both text and patterns are matched in."""
    return (text if text.isascii() else anyascii(text)).upper()


def normalise_pattern(text: str) -> str:
    """A table pattern as stored: folded words (a stem keeps its ``*``), single spaces."""
    return " ".join(_PATTERN_WORDS.findall(fold(text)))


def expand(pattern: str) -> list[str]:
    """Every concrete key a pattern matches (a stem once per ending): for the DPO's tools
    and tests; the matcher compiles stems as a suffix group instead of expanding them."""
    if not pattern.endswith("*"):
        return [pattern]
    return list(dict.fromkeys(pattern[:-1] + fold(e) for e in INFLECTIONS))


#: Endings, longest first, for the look-up of the stem a match came from.
_ENDINGS = tuple(sorted({fold(e) for e in INFLECTIONS}, key=len, reverse=True))


def _atom(char: str) -> str:
    if char == " ":
        return _GAP
    return re.escape(char)


def _trie_pattern(keys: Iterable[str]) -> str:
    trie: _Trie = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return _emit(trie)


def _emit(node: _Trie) -> str:
    branches = [_atom(char) + _emit(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # A key ending here makes the rest optional; greedy, so the longest key is tried first
    # and the word-end guard backtracks to a shorter one when needed.
    return f"(?:{body})?" if "" in node else body


_SUFFIX = _trie_pattern(e for e in _ENDINGS if e)


class TermMatcher:
    """Finds table keys in folded text. `words` and `substrings` map key -> category; a
    word key ending in ``*`` is a stem (``+``: a stem that needs an ending)."""

    __slots__ = ("_lookup", "_regex", "_subregex", "_substrings", "_triggers")

    def __init__(self, words: Mapping[str, str], substrings: Mapping[str, str]) -> None:
        parts: list[str] = []
        plain = [k for k in words if k[-1] not in "*+"]
        stems = [k[:-1] for k in words if k[-1] == "*"]
        needs_ending = [k[:-1] for k in words if k[-1] == "+"]
        # One suffix group per kind of key rather than one per stem: compiles in milliseconds;
        # one word-start guard for all of them: scans in one pass.
        alternatives = [
            f"(?:{_trie_pattern(keys)}){tail}"
            for keys, tail in ((plain, ""), (stems, f"(?:{_SUFFIX})?"), (needs_ending, f"(?:{_SUFFIX})"))
            if keys
        ]
        if alternatives:
            parts.append(f"(?<![A-Z])(?:{'|'.join(alternatives)})(?![A-Z])")
        if substrings:
            parts.append(_trie_pattern(substrings))
        self._regex: re.Pattern[str] | None = re.compile("|".join(parts)) if parts else None
        self._subregex = re.compile(_trie_pattern(substrings)) if substrings else None
        # Pre-filter: a word key can only match where its longest word is a whole token
        # (a stem's in one of its forms), so a text none of whose tokens is a trigger has
        # no word match; set intersection is one C call where the regex tries every branch.
        triggers: set[str] = set()
        for key in words:
            longest = max(key.split(" "), key=lambda w: len(w.rstrip("*+")))
            triggers.update(expand(longest.replace("+", "*")))
        self._triggers = frozenset(t.rstrip("*") for t in triggers)
        self._lookup = {**substrings, **words}
        self._substrings = tuple(sorted(substrings, key=len, reverse=True))

    def search(self, folded: str) -> bool:
        """True when `folded` (see `fold`) holds any key."""
        return self._regex is not None and self._regex.search(folded) is not None

    def may_match(self, folded: str) -> bool:
        """False only when `folded` certainly holds no key (a fast pre-filter for `search`)."""
        if not self._triggers.isdisjoint(_LETTERS.findall(folded)):
            return True
        return self._subregex is not None and self._subregex.search(folded) is not None

    def spans(self, folded: str) -> list[tuple[int, int, str]]:
        """(start, end, category) of every key found in `folded`."""
        if self._regex is None:
            return []
        return [(m.start(), m.end(), self._category_of(m.group())) for m in self._regex.finditer(folded)]

    def categories(self, folded: str) -> set[str]:
        if self._regex is None or self._regex.search(folded) is None:
            return set()
        return {c for _, _, c in self.spans(folded)}

    def _category_of(self, matched: str) -> str:
        lookup = self._lookup
        key = " ".join(_LETTERS.findall(matched))
        category = lookup.get(matched) or lookup.get(key)
        if category is not None:
            return category
        for ending in _ENDINGS:  # a stem: the key without its ending
            if key.endswith(ending):
                base = key[: len(key) - len(ending)]
                category = lookup.get(base + "*") or (lookup.get(base + "+") if ending else None)
                if category is not None:
                    return category
        for sub in self._substrings:
            if sub in matched:
                return lookup[sub]
        return "unknown"  # unreachable with a consistent table; the element is deleted anyway


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the DPO's table. `category` is a `Category` value or ``"none"``;
    `lang` lists ISO 639 codes (space-separated) of the languages the term belongs to."""

    kind: RuleKind
    pattern: str
    category: str
    note: str = ""
    lang: str = ""

    @property
    def sensitive(self) -> bool:
        return self.category != NOT_SENSITIVE


def parse_table(text: str, *, source: str = "table") -> list[Rule]:
    """Parse and validate a term table (``kind,pattern,category[,lang],note``).

    Patterns are stored folded; SSR codes must be four letters or digits; categories must be
    a `Category` or "none"; a stem (``*``) ends a word of 3+ letters and a phrase has at most
    one; duplicates are refused so a row can never silently override another. A malformed
    row raises `ConfigError` naming the line: a filter that skipped it would let data through.
    """
    reader = csv.DictReader(io.StringIO(text))
    expected = {"kind", "pattern", "category", "note"}
    if reader.fieldnames is None or not expected <= set(reader.fieldnames):
        raise ConfigError(
            N_("%(source)s: header must have columns %(sorted)s (and optionally lang)"),
            source=source,
            sorted=sorted(expected),
        )
    categories = {c.value for c in Category} | {NOT_SENSITIVE}
    rules: list[Rule] = []
    seen: set[tuple[str, str]] = set()
    for row in reader:
        line = reader.line_num
        if None in row:  # DictReader files surplus cells under None
            raise ConfigError(
                N_("%(source)s line %(line)s: too many cells (quote a note that has commas)"),
                source=source,
                line=line,
            )
        raw_kind = (row.get("kind") or "").strip()
        try:
            kind = RuleKind(raw_kind)
        except ValueError:
            raise ConfigError(
                N_("%(source)s line %(line)s: unknown kind %(raw_kind)r"),
                source=source,
                line=line,
                raw_kind=raw_kind,
            ) from None
        category = (row.get("category") or "").strip()
        if category not in categories:
            raise ConfigError(
                N_("%(source)s line %(line)s: unknown category %(category)r"),
                source=source,
                line=line,
                category=category,
            )
        raw = row.get("pattern") or ""
        if re.search(r"[\d]", raw) and kind not in (RuleKind.SSR_CODE, RuleKind.STRUCTURED_SSR):
            raise ConfigError(
                N_("%(source)s line %(line)s: the words of a pattern are letters only"),
                source=source,
                line=line,
            )
        pattern = (
            normalise_pattern(raw)
            if kind not in (RuleKind.SSR_CODE, RuleKind.STRUCTURED_SSR)
            else (fold(raw).strip())
        )
        if not pattern:
            raise ConfigError(N_("%(source)s line %(line)s: empty pattern"), source=source, line=line)
        _check_pattern(kind, pattern, category, f"{source} line {line}")
        if (kind, pattern) in seen:
            raise ConfigError(
                N_("%(source)s line %(line)s: duplicate %(kind)s %(pattern)r"),
                source=source,
                line=line,
                kind=kind.value,
                pattern=pattern,
            )
        seen.add((kind, pattern))
        lang = " ".join((row.get("lang") or "").split())
        rules.append(Rule(kind, pattern, category, (row.get("note") or "").strip(), lang))
    return rules


def _check_pattern(kind: RuleKind, pattern: str, category: str, where: str) -> None:
    if kind in (RuleKind.SSR_CODE, RuleKind.STRUCTURED_SSR) and not _CODE_RE.fullmatch(pattern):
        raise ConfigError(N_("%(where)s: SSR code must be 4 letters or digits"), where=where)
    stars = pattern.count("*")
    if stars and kind is not RuleKind.WORD:
        raise ConfigError(N_("%(where)s: only a word can be a stem (*)"), where=where)
    if stars and (stars > 1 or not pattern.endswith("*") or len(pattern.split(" ")[-1]) < 4):
        raise ConfigError(
            N_("%(where)s: a stem (*) ends the last word, of 3+ letters, of a pattern"), where=where
        )
    if kind is RuleKind.SUBSTRING and (" " in pattern or len(pattern) < 4):
        raise ConfigError(N_("%(where)s: a substring is one word of 4+ characters"), where=where)
    if kind in (RuleKind.STRUCTURED_SSR, RuleKind.PROPER) and category != NOT_SENSITIVE:
        raise ConfigError(N_("%(where)s: a %(kind)s row has category 'none'"), where=where, kind=kind.value)


def read_table(path: str | Path | None) -> tuple[str, str]:
    """(text, source name) of `path`, or of the packaged table when None."""
    if path is None:
        from importlib import resources

        text = resources.files("pnrguard.protection").joinpath(TABLE_RESOURCE).read_text("utf-8")
        return text, TABLE_RESOURCE
    try:
        return Path(path).read_text("utf-8"), str(path)
    except OSError as exc:
        raise ConfigError(
            N_("sensitive term table %(path)s: %(strerror)s"), path=path, strerror=exc.strerror
        ) from None
