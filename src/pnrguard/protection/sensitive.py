"""Delete sensitive data on arrival (Directive 2016/681 Art. 13(4), 6(4), 7(6)).

Data revealing racial or ethnic origin, political opinions, religious or philosophical
beliefs, trade-union membership, health, sex life or sexual orientation (and genetic or
biometric data, Directive 2016/680 Art. 10) must never be processed: "if a carrier sends
it, the PIU deletes it at once". The terms are the DPO's table (`terms.py`); this module
applies it to a booking **structurally**: one pass over every string of every object the
booking holds, found by walking the dataclasses, so a field added to the model (or a
reader that files free text somewhere new) is filtered without anyone remembering to.

What each string is, and what a hit deletes (`Policy`; docs/data-protection.md):

- ``TEXT`` (remarks, SSR text, history, fare calculation, frequent-flyer tier, and every
  field this module has no decision for): every term matches; a hit deletes the **whole
  element** holding the field (the remark, the SSR, the ticket, the frequent-flyer entry),
  not just the word: a redacted text keeps its context ("PAX NEEDS ___ AT HOSPITAL") and a
  redaction marker would itself say something was there.
- ``PROPER`` (contacts, addresses, billing holder, agency location, the text of SSRs that
  hold names such as CTCE, DOCS, FQTV): text full of names, so the table's ``proper`` words
  (CHRISTIAN, GAY, CHURCH ...) do not match there; every other term does, and deletes the
  element. ``CTCP 0044... PAX IN WHEELCHAIR`` loses the contact.
- ``NAME`` (traveller and document surname and given names): a name is Annex I element 4
  and the key to the person, so a hit never deletes the traveller. Whole name tokens that
  are terms (not ``proper`` words) are removed from the name: ``JANE WCHR`` -> ``JANE``;
  MUSLIMOVIC is one token that is no term, and keeps her name.
- ``ID`` (locators, document, ticket, card and frequent-flyer numbers, references) and
  ``CODE`` (airports, carriers, countries, status, kind and unit codes): not words. A value
  shaped like a code (one run of letters and digits) is not matched, so a locator that
  spells a term keeps its booking and HAJ stays Hannover; a ``CODE`` value equal to a
  sensitive SSR code (a remark kind ``WCHR``) is a hit. A value that is not code-shaped
  (spaces, slashes) is free text where a code should be, and is matched as ``PROPER``.

An element that cannot be deleted (the booking, a traveller, a flight of the itinerary)
has the offending field emptied instead. A sensitive SSR code deletes its SSR.

The report counts deleted elements per category and per element kind, never content; the
ingest use case adds it to the per-carrier, per-day aggregate (never to a row or an audit
entry that names a booking; docs/data-protection.md, "Counting deletions").

The returned booking is the input itself when nothing was found, and otherwise a new
object sharing the sub-objects it did not change. The input is never mutated.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import re
import typing
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pnrguard.domain.model import (
    Address,
    Agency,
    Bag,
    Booking,
    CheckIn,
    Contact,
    Document,
    FrequentFlyer,
    HistoryEntry,
    Leg,
    Payment,
    Remark,
    Seat,
    ServiceRequest,
    Ticket,
    Traveller,
)
from pnrguard.errors import N_, ConfigError
from pnrguard.protection.terms import (
    NOT_SENSITIVE,
    TABLE_RESOURCE,
    Category,
    Rule,
    RuleKind,
    TermMatcher,
    fold,
    normalise_pattern,
    parse_table,
    read_table,
)

__all__ = [
    "FIELD_POLICY",
    "NOT_SENSITIVE",
    "TABLE_RESOURCE",
    "Category",
    "FieldKind",
    "Policy",
    "Rule",
    "RuleKind",
    "SensitiveFilter",
    "SensitiveReport",
    "field_policy",
    "node_filter",
    "parse_table",
]


class Policy(enum.Enum):
    """How a string field is matched and what a hit deletes (module docstring)."""

    TEXT = "text"
    PROPER = "proper"
    NAME = "name"
    CODE = "code"
    ID = "id"


# Short names for the table below; X is an identifier (ID).
C, X, N, P, T = Policy.CODE, Policy.ID, Policy.NAME, Policy.PROPER, Policy.TEXT

#: The decision for every string field of the model. A field missing here is ``TEXT``:
#: the strictest reading, so a new field is filtered before anyone decides about it.
FIELD_POLICY: dict[type[Any], dict[str, Policy]] = {
    Booking: {"carrier": C, "locator": X, "reporting_party": C, "split_from": X},
    Traveller: {
        "ref": X, "surname": N, "given_names": N, "accompanied_by_ref": X, "gender": C,
        "nationality": C, "residence_country": C, "birth_place": P, "embarkation": C,
        "debarkation": C,
    },
    Document: {
        "doc_type": C, "number": X, "issuing_country": C, "nationality": C, "surname": N,
        "given_names": N, "gender": C, "place_of_issue": P, "valid_for": C,
    },
    Address: {"kind": C, "street": P, "city": P, "region": P, "postal_code": X, "country": C, "phone": P},
    Contact: {"kind": C, "value": P, "traveller_ref": X, "use": C},
    Payment: {
        "form": C, "card_vendor": C, "card_number": X, "card_expiry": C, "holder": P, "amount": C,
        "currency": C,
    },
    FrequentFlyer: {"airline": C, "number": X, "tier": T},
    Leg: {
        "carrier": C, "flight_number": X, "origin": C, "destination": C, "booking_class": C,
        "status": C, "operating_carrier": C, "operating_flight_number": X, "equipment": C,
    },
    Seat: {"seat": C, "traveller_ref": X, "cabin": C},
    Bag: {"traveller_ref": X, "weight": C, "unit": C, "tag_numbers": X, "pool": C},
    Ticket: {
        "number": X, "traveller_ref": X, "document_type": C, "fare_amount": C, "fare_currency": C,
        "total_amount": C, "fare_calculation": T,
    },
    CheckIn: {"traveller_ref": X, "status": C},
    ServiceRequest: {"code": C, "status": C, "carrier": C, "text": T, "traveller_ref": X},
    Remark: {"kind": C, "text": T, "traveller_ref": X},
    Agency: {"airline": C, "location": P, "iata_number": X, "agent_id": X, "country": C},
    HistoryEntry: {"text": T},
}  # fmt: skip

#: Objects a hit never deletes: the booking, a person on it, a flight of its itinerary.
_KEEP_WHOLE: frozenset[type[Any]] = frozenset({Booking, Traveller, Leg})

#: One run of letters and digits, with `.`, `:` or `,` between runs (amounts, "4:15").
_CODE_SHAPE = re.compile(r"[A-Z0-9]{1,24}(?:[.:,][A-Z0-9]{1,24}){0,4}")


def field_policy(cls: type[Any], name: str) -> Policy:
    """The policy of field `name` of model class `cls` (``TEXT`` when undecided)."""
    return _policies(cls).get(name, Policy.TEXT)


_R = typing.TypeVar("_R")


def _memo(fn: Callable[[type[Any]], _R]) -> Callable[[type[Any]], _R]:
    """`functools.cache` for functions of a class (typed: mypy wants hashable arguments)."""
    memo: dict[type[Any], _R] = {}

    def wrapper(cls: type[Any]) -> _R:
        try:
            return memo[cls]
        except KeyError:
            memo[cls] = result = fn(cls)
            return result

    return wrapper


class FieldKind(enum.StrEnum):
    """Where a deletion happened: an element kind, a name token, or an emptied field."""

    SSR_CODE = "ssr_code"  # an SSR deleted for its code
    SSR_TEXT = "ssr_text"  # an SSR deleted for its free text
    REMARK = "remark"
    HISTORY = "history"
    NAME = "name"  # tokens removed from a name
    FIELD = "field"  # a field emptied on an element that is never deleted


@_memo
def _kind_of(cls: type[Any]) -> str:
    if cls is HistoryEntry:
        return FieldKind.HISTORY.value
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


@_memo
def _field_names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True, slots=True)
class SensitiveReport:
    """How many elements were deleted, per category and per kind. Never content.

    An element that reveals two categories counts once under each category and once under
    its kind, so `deleted` (the sum over kinds) is the number of deletions. The report is
    about one booking or one message: it is only ever added to the per-carrier, per-day
    aggregate, never stored or logged as it is (item 3 of issue 10; Art. 13(4)).
    """

    by_category: Counter[str] = field(default_factory=Counter)
    by_field: Counter[str] = field(default_factory=Counter)

    @property
    def deleted(self) -> int:
        return sum(self.by_field.values())

    def merged(self, other: SensitiveReport) -> SensitiveReport:
        """The sum of two reports (e.g. over the bookings of one message)."""
        return SensitiveReport(self.by_category + other.by_category, self.by_field + other.by_field)


_DELETE = object()


class SensitiveFilter:
    """Applies the DPO's table to bookings. Build once (`load`), use for every booking.

    `apply` is pure, never raises on any booking content, and never mutates its input.
    """

    __slots__ = ("_codes", "_full", "_names", "_proper", "_rules", "_structured")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = tuple(rules)
        codes: dict[str, str] = {}
        structured: set[str] = set()
        proper: set[str] = set()
        words: dict[str, str] = {}
        substrings: dict[str, str] = {}
        for rule in self._rules:
            rule = _normalised(rule)  # parse_table did it; rules built by hand too
            if rule.kind is RuleKind.STRUCTURED_SSR:
                structured.add(rule.pattern)
            elif rule.kind is RuleKind.PROPER:
                proper.add(rule.pattern)
            if not rule.sensitive:
                continue
            if rule.kind is RuleKind.SSR_CODE:
                codes[rule.pattern] = rule.category
            target = substrings if rule.kind is RuleKind.SUBSTRING else words
            previous = target.setdefault(rule.pattern, rule.category)
            if previous != rule.category:
                raise ConfigError(N_("sensitive table: %(pattern)r has two categories"), pattern=rule.pattern)
        overlap = structured & set(codes)
        if overlap:
            raise ConfigError(
                N_("sensitive table: codes both sensitive and structured: %(sorted)s"), sorted=sorted(overlap)
            )
        for sub, category in substrings.items():
            if words.get(sub, category) != category:
                raise ConfigError(N_("sensitive table: %(sub)r has two categories"), sub=sub)
        # Proper-name words leave the name matcher; a stem built on one keeps its endings.
        not_proper = {
            (k[:-1] + "+" if k.endswith("*") and k[:-1] in proper else k): c
            for k, c in words.items()
            if k not in proper
        }
        self._full = TermMatcher(words, substrings)
        self._proper = TermMatcher(not_proper, substrings)
        # Names: whole tokens only, no endings (KATOLIKOVA is a surname, not KATOLIK+OVA).
        self._names = TermMatcher(
            {k.rstrip("*+"): c for k, c in not_proper.items() if k[-1] != "+"}, substrings
        )
        self._codes = codes
        self._structured = frozenset(structured)

    # --- construction -----------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None, *, extra: str | Path | None = None) -> SensitiveFilter:
        """The table at `path` (the packaged table when None), plus the rows of `extra`.

        `extra` is the node DPO's own table (setting ``sensitive_terms_file``): national
        party and union names, words seen in local traffic. It adds rows; a row that
        repeats a packaged one is refused like any duplicate, so nothing is overridden.
        """
        text, source = read_table(path)
        rules = parse_table(text, source=source)
        if extra is not None:
            extra_text, extra_source = read_table(extra)
            rules += parse_table(extra_text, source=extra_source)
            seen: set[tuple[RuleKind, str]] = set()
            for r in rules:
                if (r.kind, r.pattern) in seen:
                    raise ConfigError(
                        N_("%(extra_source)s: duplicate %(kind)s %(pattern)r"),
                        extra_source=extra_source,
                        kind=r.kind.value,
                        pattern=r.pattern,
                    )
                seen.add((r.kind, r.pattern))
        return cls(rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every row of the table, including the recorded "none" decisions."""
        return self._rules

    # --- matching ---------------------------------------------------------------------

    def categories(self, text: str) -> set[str]:
        """The categories free text `text` reveals (empty when none)."""
        return self._full.categories(fold(text)) if text else set()

    def _check(self, value: str, policy: Policy) -> set[str]:
        folded = fold(value)
        if policy is Policy.TEXT:
            return self._full.categories(folded)
        if policy is Policy.CODE or policy is Policy.ID:
            stripped = folded.strip()
            if _CODE_SHAPE.fullmatch(stripped):
                # An identifier is never words; a code field holding an SSR code is one.
                code = self._codes.get(stripped) if policy is Policy.CODE else None
                return {code} if code else set()
        if policy is Policy.NAME:
            return self._names.categories(folded)
        return self._proper.categories(folded)

    def _strip_name(self, value: str) -> str:
        """`value` without the whitespace tokens that overlap a term (policy NAME)."""
        tokens = value.split()
        folded = [fold(t) for t in tokens]
        text = " ".join(folded)
        starts, pos = [], 0
        for f in folded:
            starts.append(pos)
            pos += len(f) + 1
        spans = self._names.spans(text)
        return " ".join(
            t
            for t, s, f in zip(tokens, starts, folded, strict=True)
            if not any(a < s + len(f) and s < b for a, b, _ in spans)
        )

    # --- the filter -------------------------------------------------------------------

    def apply(self, booking: Booking) -> tuple[Booking, SensitiveReport]:
        """A booking without sensitive data, and a report of what was deleted (counts)."""
        strings: list[str] = []
        _collect(booking, strings)
        if not self._full.may_match(fold("\n".join(strings))):  # the common case: one scan
            return booking, SensitiveReport()
        by_category: Counter[str] = Counter()
        by_field: Counter[str] = Counter()
        out = self._walk(booking, by_category, by_field)
        assert isinstance(out, Booking)  # a booking is never deleted (_KEEP_WHOLE)
        return out, SensitiveReport(by_category, by_field)

    def _walk(self, obj: Any, by_category: Counter[str], by_field: Counter[str]) -> Any:
        """`obj`, a copy without what the table finds in it, or `_DELETE`."""
        cls = type(obj)
        deletable = _deletable(cls)
        policies = _policies(cls)
        changes: dict[str, Any] = {}
        kept: list[tuple[str, set[str]]] = []  # fields emptied or names stripped
        if cls is ServiceRequest:
            deleted = self._ssr_verdict(obj)
            if deleted is not None:
                kind, found = deleted
                by_field[kind] += 1
                by_category.update(found)
                return _DELETE
        for name in _field_names(cls):
            value = getattr(obj, name)
            vtype = type(value)
            if vtype is str:
                if not value or cls is ServiceRequest:  # an SSR's strings: `_ssr_verdict`
                    continue
                policy = policies.get(name, Policy.TEXT)
                found = self._check(value, policy)
                if not found:
                    continue
                if policy is Policy.NAME:
                    changes[name] = self._strip_name(value)
                    kept.append((FieldKind.NAME.value, found))
                elif deletable:
                    by_field[_kind_of(cls)] += 1
                    by_category.update(found)
                    return _DELETE
                else:
                    changes[name] = ""
                    kept.append((FieldKind.FIELD.value, found))
            elif vtype is list:
                new = self._walk_list(value, policies.get(name, Policy.TEXT), by_category, by_field)
                if new is not value:
                    changes[name] = new
            elif _is_dataclass(vtype):
                child = self._walk(value, by_category, by_field)
                if child is not value:
                    changes[name] = None if child is _DELETE else child
        for kind, found in kept:
            by_field[kind] += 1
            by_category.update(found)
        return dataclasses.replace(obj, **changes) if changes else obj

    def _walk_list(
        self, items: list[Any], policy: Policy, by_category: Counter[str], by_field: Counter[str]
    ) -> list[Any]:
        out: list[Any] = []
        changed = False
        for item in items:
            if type(item) is str:
                found = self._check(item, policy) if item else set()
                if found:
                    by_field[FieldKind.FIELD.value] += 1
                    by_category.update(found)
                    changed = True
                    continue
                out.append(item)
            elif _is_dataclass(type(item)):
                new = self._walk(item, by_category, by_field)
                changed |= new is not item
                if new is not _DELETE:
                    out.append(new)
            else:
                out.append(item)
        return out if changed else items

    def _ssr_verdict(self, ssr: ServiceRequest) -> tuple[str, set[str]] | None:
        """(kind, categories) when `ssr` must go: a sensitive code, or a term in its code
        field, text, status or carrier. Structured SSRs' text holds names: ``PROPER``."""
        code = fold(ssr.code).strip()
        found: set[str] = set()
        code_category = self._codes.get(code)
        if code_category is not None:
            found.add(code_category)
        elif code:
            # A code field that is not a clean code ("MOML1", "PAXWCHR") is read as text.
            found |= self._full.categories(code)
        if found:
            return FieldKind.SSR_CODE.value, found
        text_policy = Policy.PROPER if code in self._structured else Policy.TEXT
        for value, policy in (
            (ssr.text, text_policy),
            (ssr.status, Policy.CODE),
            (ssr.carrier, Policy.CODE),
            (ssr.traveller_ref, Policy.CODE),
        ):
            if value:
                found |= self._check(value, policy)
        # A field added to ServiceRequest later is free text until someone decides.
        for name in _field_names(ServiceRequest):
            if name not in FIELD_POLICY[ServiceRequest]:
                value = getattr(ssr, name)
                if type(value) is str and value:
                    found |= self._check(value, Policy.TEXT)
        return (FieldKind.SSR_TEXT.value, found) if found else None


@cache
def _load_cached(extra: str | None) -> SensitiveFilter:
    return SensitiveFilter.load(extra=extra)


def node_filter(extra: str | Path | None = None) -> SensitiveFilter:
    """The packaged table plus the node's own (`extra`), built once per process: for use
    cases called without one (rectification), so no path skips the filter."""
    return _load_cached(str(extra) if extra is not None else None)


def _normalised(rule: Rule) -> Rule:
    codes = (RuleKind.SSR_CODE, RuleKind.STRUCTURED_SSR)
    pattern = fold(rule.pattern).strip() if rule.kind in codes else normalise_pattern(rule.pattern)
    return rule if pattern == rule.pattern else dataclasses.replace(rule, pattern=pattern)


def _collect(obj: Any, out: list[str]) -> None:
    """Append every string `obj` holds, at any depth (the fast path's single scan)."""
    for value in _getter(type(obj))(obj):
        vtype = type(value)
        if vtype is str:
            if value:
                out.append(value)
        elif vtype is list:
            for item in value:
                if type(item) is str:
                    out.append(item)
                elif _is_dataclass(type(item)):
                    _collect(item, out)
        elif _is_dataclass(vtype):
            _collect(value, out)


@_memo
def _getter(cls: type[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """All field values of an instance in one call (`attrgetter` of several names)."""
    names = _field_names(cls)
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda obj: (get(obj),)
    return operator.attrgetter(*names)


@_memo
def _policies(cls: type[Any]) -> dict[str, Policy]:
    """The decisions for `cls`, inherited by a subclass (whose new fields are ``TEXT``)."""
    out: dict[str, Policy] = {}
    for base in reversed(cls.__mro__):
        out.update(FIELD_POLICY.get(base, {}))
    return out


@_memo
def _deletable(cls: type[Any]) -> bool:
    return not any(issubclass(cls, keep) for keep in _KEEP_WHOLE)


@_memo
def _is_dataclass(cls: type[Any]) -> bool:
    return dataclasses.is_dataclass(cls)
