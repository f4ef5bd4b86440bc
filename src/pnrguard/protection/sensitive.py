"""Delete sensitive data on arrival (Directive 2016/681 Art. 13(4), 6(4), 7(6)).

Data revealing racial or ethnic origin, political opinions, religious or philosophical
beliefs, trade-union membership, health, sex life or sexual orientation must never be
processed: "if a carrier sends it, the PIU deletes it at once". It arrives as special service
requests (meal and assistance codes) and as words in free text. What counts as sensitive is
the DPO's decision, so it lives in a reviewed table (`sensitive_categories.csv`), not here;
this module only applies the table.

What the filter does, and why:

- An SSR whose code is in the table is deleted (the code alone reveals the category).
- An SSR, remark or history entry whose free text contains a table word, phrase, substring
  or sensitive SSR code is **deleted whole**, not redacted in place. Deleting the element is
  the safe reading of "deletes at once": a redacted remark keeps its context ("PAX NEEDS
  ___ ON ARRIVAL AT HOSPITAL"), which can reveal the category as well as the word did, and a
  redaction marker would itself tell that something sensitive was there.
- The text of structured SSRs (table kind `structured_ssr`: DOCS, DOCA, CTCE, ...) is not
  word-scanned: it holds names, street names and numbers, where table words occur as names
  (Mr GAY, CHURCH STREET), and deleting it would lose API data the PIU needs. Their codes are
  still checked.
- The report counts deleted elements per category and per field kind. It never holds the
  content or the word that matched, because it goes to the audit log.

Matching is one compiled regular expression per table (a trie of alternatives, so each text
position is tried against a few branches rather than every pattern), applied to the
upper-cased text: case-insensitive, "words" bounded by non-letters (digits, punctuation and
spaces are boundaries, so `P1/WCHR` and `-HALAL-` match), phrases with any run of
non-letters between their words, and a short list of unambiguous substrings that also catch
words glued together carrier-style (`PAXREQUIRESWHEELCHAIR`).

The returned booking is a new object with new lists for the filtered fields; sub-objects it
did not change are shared with the input, which is never mutated. Treat bookings as values.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from pnrguard.domain.model import Booking, HistoryEntry, Remark, ServiceRequest
from pnrguard.errors import ConfigError

TABLE_RESOURCE = "sensitive_categories.csv"


class Category(enum.StrEnum):
    """The Art. 13(4) categories; the values travel into the audit log."""

    RACIAL_OR_ETHNIC_ORIGIN = "racial_or_ethnic_origin"
    POLITICAL_OPINIONS = "political_opinions"
    RELIGIOUS_OR_PHILOSOPHICAL_BELIEFS = "religious_or_philosophical_beliefs"
    TRADE_UNION_MEMBERSHIP = "trade_union_membership"
    HEALTH = "health"
    SEX_LIFE_OR_SEXUAL_ORIENTATION = "sex_life_or_sexual_orientation"


#: The table's marker for a decision recorded as "not sensitive, kept".
NOT_SENSITIVE = "none"


class RuleKind(enum.StrEnum):
    """How a table row is matched."""

    SSR_CODE = "ssr_code"  # exact SSR code; a sensitive code is also a whole word in free text
    WORD = "word"  # whole word or phrase, case-insensitive, bounded by non-letters
    SUBSTRING = "substring"  # anywhere in free text, even glued to other letters
    STRUCTURED_SSR = "structured_ssr"  # SSR code whose text is structured data: not word-scanned


class FieldKind(enum.StrEnum):
    """Where a deleted element was; the values travel into the audit log."""

    SSR_CODE = "ssr_code"  # an SSR deleted for its code
    SSR_TEXT = "ssr_text"  # an SSR deleted for its free text
    REMARK = "remark"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the DPO's table. `category` is a `Category` value or `"none"`."""

    kind: RuleKind
    pattern: str
    category: str
    note: str = ""

    @property
    def sensitive(self) -> bool:
        return self.category != NOT_SENSITIVE


@dataclass(frozen=True, slots=True)
class SensitiveReport:
    """How many elements were deleted, per category and per field kind. Never content.

    An element that reveals two categories counts once under each category and once under
    its field kind, so `deleted` (the sum over field kinds) is the number of elements
    deleted.
    """

    by_category: Counter[str] = field(default_factory=Counter)
    by_field: Counter[str] = field(default_factory=Counter)

    @property
    def deleted(self) -> int:
        return sum(self.by_field.values())

    def merged(self, other: SensitiveReport) -> SensitiveReport:
        """The sum of two reports (e.g. over the bookings of one message)."""
        return SensitiveReport(self.by_category + other.by_category, self.by_field + other.by_field)

    def audit_counts(self) -> dict[str, int]:
        """Count keys for the audit log: ``sensitive.<category>`` and
        ``sensitive.deleted.<field kind>`` (lower-case dotted keys, as the audit log asks)."""
        counts = {f"sensitive.{k}": n for k, n in sorted(self.by_category.items()) if n}
        counts.update({f"sensitive.deleted.{k}": n for k, n in sorted(self.by_field.items()) if n})
        return counts


# Letters only: digits, punctuation, spaces and underscores separate words in carrier text.
_NOT_LETTER = r"[\W\d_]"
_LETTER = r"[^\W\d_]"
_WORD_SPLIT = re.compile(r"[\W_]+")
_GAP = re.compile(r"[\W\d_]+")
_PHRASE_WORD = re.compile(r"[^\W\d_]+")
_CODE_RE = re.compile(r"[A-Z0-9]{4}")

# A trie node: next character -> child. "" marks the end of a key; " " a phrase's word gap.
_Trie = dict[str, "_Trie"]


def _trie_pattern(keys: Iterable[str]) -> str:
    """A regular expression matching any of `keys`, as a trie of alternatives.

    Python's `re` tries the branches of an alternation one by one at every position; with a
    few hundred table entries a flat alternation costs a few hundred comparisons per
    character, a trie a handful. A space in a key stands for any run of non-letters.
    """
    trie: _Trie = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(char, {})
        node[""] = {}
    return _emit(trie)


def _emit(node: _Trie) -> str:
    branches = [
        (rf"{_NOT_LETTER}+" if char == " " else re.escape(char)) + _emit(child)
        for char, child in node.items()
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # A key ending here makes the rest optional; greedy, so the longest key is tried first
    # and the word-end guard backtracks to a shorter one when needed.
    return f"(?:{body})?" if "" in node else body


def _normalise(text: str) -> str:
    """Upper-case, words separated by single spaces: the form table keys are stored in."""
    return " ".join(w for w in _WORD_SPLIT.split(text.upper()) if w)


class SensitiveFilter:
    """Applies the DPO's table to bookings. Build once (`load`), use for every booking.

    `apply` is pure, never raises on any booking content, and never mutates its input.
    """

    __slots__ = ("_codes", "_lookup", "_regex", "_rules", "_structured", "_substrings")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(rules)
        codes: dict[str, str] = {}
        structured: set[str] = set()
        lookup: dict[str, str] = {}  # normalised word / phrase / substring -> category
        words: list[str] = []
        substrings: list[str] = []
        for rule in self._rules:
            if not rule.sensitive:
                if rule.kind is RuleKind.STRUCTURED_SSR:
                    structured.add(_normalise(rule.pattern))
                continue
            key = _normalise(rule.pattern)  # parse_table did it; rules built by hand too
            if rule.kind is RuleKind.SSR_CODE:
                codes[key] = rule.category
                words.append(key)
            elif rule.kind is RuleKind.WORD:
                words.append(key)
            else:
                substrings.append(key)
            previous = lookup.setdefault(key, rule.category)
            if previous != rule.category:
                raise ConfigError(f"sensitive table: {key!r} has two categories")
        overlap = structured & set(codes)
        if overlap:
            raise ConfigError(f"sensitive table: codes both sensitive and structured: {sorted(overlap)}")
        parts: list[str] = []
        if words:
            parts.append(f"(?<!{_LETTER})(?:{_trie_pattern(words)})(?!{_LETTER})")
        if substrings:
            parts.append(_trie_pattern(substrings))
        self._regex: re.Pattern[str] | None = re.compile("|".join(parts)) if parts else None
        self._codes = codes
        self._structured = frozenset(structured)
        self._lookup = lookup
        self._substrings = tuple(sorted(substrings, key=len, reverse=True))

    # --- construction -----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> SensitiveFilter:
        """Read a table: `path`, or the packaged `sensitive_categories.csv` when None.

        A node's DPO may keep a national table (adding national party and union names) and
        point the node at it. A malformed table is refused with `ConfigError` naming the
        line: a filter that silently skipped a row would let sensitive data through.
        """
        if path is None:
            text = resources.files("pnrguard.protection").joinpath(TABLE_RESOURCE).read_text("utf-8")
            source = TABLE_RESOURCE
        else:
            text = Path(path).read_text("utf-8")
            source = str(path)
        return cls(parse_table(text, source=source))

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every row of the table, including the recorded "none" decisions."""
        return self._rules

    # --- matching ---------------------------------------------------------------------

    def categories(self, text: str) -> set[str]:
        """The categories `text` reveals (empty when none). For tests and the DPO's tools."""
        regex = self._regex
        if regex is None or not text:
            return set()
        upper = text.upper()
        if regex.search(upper) is None:  # the common case: one scan, no allocation
            return set()
        return {self._category_of(m.group()) for m in regex.finditer(upper)}

    def _category_of(self, matched: str) -> str:
        # A word, code or substring matches as itself; a phrase with any gap between its
        # words, which collapses to one space (phrase words are letters only, see the table
        # check), so the look-up key is always the table's pattern.
        category = self._lookup.get(matched)
        if category is None:
            category = self._lookup.get(" ".join(_GAP.split(matched)))
        if category is not None:
            return category
        for sub in self._substrings:  # a substring match is the substring itself
            if sub in matched:
                return self._lookup[sub]
        # Unreachable with a consistent table; fail safe: the element is still deleted.
        return "unknown"

    # --- the filter -------------------------------------------------------------------

    def apply(self, booking: Booking) -> tuple[Booking, SensitiveReport]:
        """Return a new booking without sensitive SSRs, remarks and history entries, and a
        report of how many were deleted per category and field kind."""
        by_category: Counter[str] = Counter()
        by_field: Counter[str] = Counter()

        kept_ssrs: list[ServiceRequest] = []
        for ssr in booking.service_requests:
            code = (ssr.code or "").strip().upper()
            found: set[str] = set()
            kind = FieldKind.SSR_CODE
            code_category = self._codes.get(code)
            if code_category is not None:
                found.add(code_category)
            elif code not in self._structured:
                # A code field that is not a clean code ("MOML1", "PAXWCHR") is read as text.
                found |= self.categories(code)
            if code not in self._structured:
                text_found = self.categories(ssr.text or "")
                if text_found and not found:
                    kind = FieldKind.SSR_TEXT
                found |= text_found
            if found:
                by_field[kind] += 1
                by_category.update(found)
            else:
                kept_ssrs.append(ssr)

        kept_remarks: list[Remark] = []
        for remark in booking.remarks:
            found = self.categories(remark.text or "")
            if found:
                by_field[FieldKind.REMARK] += 1
                by_category.update(found)
            else:
                kept_remarks.append(remark)

        kept_history: list[HistoryEntry] = []
        for entry in booking.history:
            found = self.categories(entry.text or "")
            if found:
                by_field[FieldKind.HISTORY] += 1
                by_category.update(found)
            else:
                kept_history.append(entry)

        out = dataclasses.replace(
            booking, service_requests=kept_ssrs, remarks=kept_remarks, history=kept_history
        )
        # Plain str keys: the report's repr and the audit log show values, not enum reprs.
        return out, SensitiveReport(
            Counter({str(k): n for k, n in by_category.items()}),
            Counter({str(k): n for k, n in by_field.items()}),
        )


def parse_table(text: str, *, source: str = "table") -> list[Rule]:
    """Parse and validate the DPO's CSV table (`kind,pattern,category,note`).

    Patterns are stored upper-cased with single spaces between words; SSR codes must be four
    letters or digits; categories must be an Art. 13(4) category or "none"; duplicates are
    refused so a row can never silently override another.
    """
    reader = csv.DictReader(io.StringIO(text))
    expected = {"kind", "pattern", "category", "note"}
    if reader.fieldnames is None or not expected <= set(reader.fieldnames):
        raise ConfigError(f"{source}: header must have columns {sorted(expected)}")
    categories = {c.value for c in Category} | {NOT_SENSITIVE}
    rules: list[Rule] = []
    seen: set[tuple[str, str]] = set()
    for row in reader:
        line = reader.line_num
        if None in row:  # DictReader files surplus cells under None
            raise ConfigError(f"{source} line {line}: too many cells (quote a note that has commas)")
        raw_kind = (row.get("kind") or "").strip()
        try:
            kind = RuleKind(raw_kind)
        except ValueError:
            raise ConfigError(f"{source} line {line}: unknown kind {raw_kind!r}") from None
        category = (row.get("category") or "").strip()
        if category not in categories:
            raise ConfigError(f"{source} line {line}: unknown category {category!r}")
        pattern = _normalise(row.get("pattern") or "")
        if not pattern:
            raise ConfigError(f"{source} line {line}: empty pattern")
        if kind in (RuleKind.SSR_CODE, RuleKind.STRUCTURED_SSR) and not _CODE_RE.fullmatch(pattern):
            raise ConfigError(f"{source} line {line}: SSR code must be 4 letters or digits")
        if (
            kind is RuleKind.WORD
            and " " in pattern
            and not all(_PHRASE_WORD.fullmatch(w) for w in pattern.split(" "))
        ):
            raise ConfigError(f"{source} line {line}: the words of a phrase are letters only")
        if kind is RuleKind.SUBSTRING and (" " in pattern or len(pattern) < 4):
            raise ConfigError(f"{source} line {line}: a substring is one word of 4+ characters")
        if kind is RuleKind.STRUCTURED_SSR and category != NOT_SENSITIVE:
            raise ConfigError(f"{source} line {line}: a structured SSR has category 'none'")
        if (kind, pattern) in seen:
            raise ConfigError(f"{source} line {line}: duplicate {kind.value} {pattern!r}")
        seen.add((kind, pattern))
        rules.append(Rule(kind, pattern, category, (row.get("note") or "").strip()))
    return rules
