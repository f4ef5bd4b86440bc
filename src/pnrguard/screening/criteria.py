"""Pre-determined criteria (Art. 6(3)(b)): transparent rules in the Common Expression Language.

A rule is written by people, states its purpose (terrorism or an Annex II offence), has an
owner, a review date and an expiry, and runs only over the criteria view (see
`criteria_view.py`), which holds no sensitive, masked or discriminatory data. There is no
learning here (C-817/19): a rule changes only when a person saves a new version.

CEL is evaluated by the `common-expression-language` package (Rust core, about 1 us per
rule with a prepared context).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cel

from pnrguard.audit.models import INVESTIGATIVE_PURPOSES, Purpose
from pnrguard.domain.model import Booking
from pnrguard.errors import N_, InputError
from pnrguard.screening.criteria_view import VIEW_FIELDS, criteria_views, sample_view


class CriteriaError(InputError):
    """A rule cannot be accepted: bad syntax, a field outside the view, a bad purpose."""

    code = "criteria_invalid"


@dataclass(frozen=True, slots=True)
class Rule:
    """One version of a pre-determined criterion."""

    rule_id: str
    version: int
    name: str
    expression: str
    purpose: Purpose
    owner: str
    review_date: dt.date
    expires: dt.date
    description: str = ""
    enabled: bool = True

    def is_active(self, today: dt.date) -> bool:
        """Expired or disabled rules do not run; an overdue review does not stop a rule but is
        reported (`needs_review`), so that screening never silently loses a criterion."""
        return self.enabled and today < self.expires

    def needs_review(self, today: dt.date) -> bool:
        return today >= self.review_date


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    rule_version: int
    traveller_ref: str
    purpose: Purpose


@dataclass(slots=True)
class CriteriaRun:
    hits: list[RuleHit] = field(default_factory=list)
    #: rule_id -> number of evaluation errors (a rule that errors is a rule to fix).
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    program: Any  # cel.Program (the package ships no type stubs)


def compile_rule(rule: Rule) -> CompiledRule:
    """Validate and compile a rule. Raises `CriteriaError` with a reason that names no data."""
    if rule.purpose not in INVESTIGATIVE_PURPOSES:
        raise CriteriaError(N_("a criterion must serve terrorism or an Annex II offence"))
    if rule.review_date > rule.expires:
        raise CriteriaError(N_("the review date must come before the expiry"))
    if not rule.name.strip() or not rule.owner.strip():
        raise CriteriaError(N_("a criterion needs a name and an owner"))
    try:
        program = cel.compile(rule.expression)
    except ValueError as exc:
        raise CriteriaError(N_("the expression is not valid CEL")) from exc
    unknown = unknown_fields(rule.expression)
    if unknown:
        raise CriteriaError(
            N_(
                "not in the criteria view: %(items)s (sensitive, masked and discriminatory data are not in "
                "it by design; see the field list)"
            ),
            items=", ".join(unknown),
        )
    try:
        result = program.execute(sample_view())
    except (KeyError, RuntimeError) as exc:
        raise CriteriaError(
            N_(
                "the expression uses a name that is not in the criteria view (its variables are booking, "
                "itinerary and traveller)"
            )
        ) from exc
    except TypeError as exc:
        raise CriteriaError(N_("the expression mixes incompatible types")) from exc
    if not isinstance(result, bool):
        raise CriteriaError(N_("the expression must evaluate to true or false"))
    return CompiledRule(rule, program)


STRING_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
FIELD_REF = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?!\s*\()")
_LOOP = re.compile(r"\bitinerary\.(?:all|exists|exists_one|filter|map)\(\s*([A-Za-z_]\w*)\s*,")


def unknown_fields(expression: str) -> list[str]:
    """The `variable.field` names of `expression` that the criteria view lacks, so that a
    refusal can say which one (`booking.nationality`, `leg.passport`). A loop variable
    over the itinerary (`itinerary.exists(l, l.origin == 'X')`) is checked against the
    itinerary's fields; method calls (`booking.route.size()`) are not fields."""
    code = STRING_LITERAL.sub("''", expression)
    roots: dict[str, set[str]] = {k: set(v) for k, v in VIEW_FIELDS.items()}
    for var in _LOOP.findall(code):
        roots.setdefault(var, set(VIEW_FIELDS["itinerary"]))
    out: list[str] = []
    for var, name in FIELD_REF.findall(code):
        known = roots.get(var)
        if known is not None and name not in known and f"{var}.{name}" not in out:
            out.append(f"{var}.{name}")
    return out


class CriteriaEngine:
    """Runs the active rules over bookings. Build once per rule set, reuse for many bookings."""

    def __init__(self, rules: Iterable[Rule], *, today: dt.date) -> None:
        self.today = today
        self.compiled: list[CompiledRule] = [compile_rule(r) for r in rules if r.is_active(today)]

    @property
    def rules(self) -> Sequence[Rule]:
        return [c.rule for c in self.compiled]

    def run(self, booking: Booking) -> CriteriaRun:
        run = CriteriaRun()
        if not self.compiled:
            return run
        for ref, view in criteria_views(booking):
            context = cel.Context(variables=view)
            for compiled in self.compiled:
                try:
                    matched = compiled.program.execute(context)
                except (KeyError, RuntimeError, TypeError, ValueError):
                    # Data-dependent failure (e.g. a null departure): not a hit, but counted.
                    run.errors[compiled.rule.rule_id] = run.errors.get(compiled.rule.rule_id, 0) + 1
                    continue
                if matched is True:
                    r = compiled.rule
                    run.hits.append(RuleHit(r.rule_id, r.version, ref, r.purpose))
        return run
