"""Annex I minimisation: the PIU holds only the 19 Annex I elements (Art. 8(1), 12).

Minimisation happens by construction: the readers map what they recognise into the booking
model, which has a field only for Annex I data, and count by tag every segment they could not
place (`ReadResult.unknown_segments`). This module turns those counts into audit-ready
numbers and guards the construction itself:

- `minimisation_counts` gives ``dropped.segment.<tag>`` counts for the audit log, never
  content. Tags are lower-cased (the audit log's count keys are lower-case) and a tag that
  is not a plain EDIFACT tag is counted under ``dropped.segment.invalid`` so that a malformed
  message cannot smuggle text into the log through a tag.
- `assert_annex_only` checks that a booking is built only from the model's classes and that
  every field it holds is mapped to an Annex I element in `domain.annex.FIELD_ELEMENTS`.
  A subclass that grew a field, or a value of an unexpected type (a raw segment, a dict of
  whatever a carrier sent), fails it.
- `minimise` applies Annex I as the Court read it in C-817/19 (para. 133-140) to a
  booking the readers built: fields outside heading 18's list (`annex.NOT_STORED`: place of
  birth, document issue date) are blanked, and heading 12 ("general remarks") keeps only
  information on unaccompanied minors: every other remark is dropped. Counted by field,
  never content.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from functools import cache
from typing import Any

from pnrguard.domain import model
from pnrguard.domain.annex import FIELD_ELEMENTS, NOT_STORED
from pnrguard.domain.model import Booking, Remark
from pnrguard.errors import N_, PnrguardError
from pnrguard.formats.result import ReadResult

_TAG = re.compile(r"[A-Z][A-Z0-9]{0,2}")
#: Exact leaf types a model field may hold (exact, so a str subclass carrying more cannot
#: pass): plain scalars, dates and the model's own enums.
_LEAVES: frozenset[type[Any]] = frozenset(
    {str, int, bool, type(None), dt.date, dt.datetime}
    | {v for v in vars(model).values() if isinstance(v, type) and issubclass(v, enum.Enum)}
)


#: Heading 12 covers "all available information on unaccompanied minors under 18 years"
#: (name, gender, age, languages, guardians on departure and arrival and their contact
#: details, departure and arrival agent) and, as C-817/19 reads it, nothing else. A remark
#: is about an unaccompanied minor when it says so the way carriers write it: the IATA SSR
#: code UMNR, "UM" with an age ("UM08", "UM 8YRS"), or the words in full.
UM_REMARK = re.compile(
    r"\bUMNR\b|\bUM ?\d{1,2}\b|\bUM ?\d{1,2} ?Y(?:RS?|EARS?)?\b|UNACCOMPANIED ?MINOR|\bUNACC(?:OMP)?\b",
    re.IGNORECASE,
)


class AnnexViolation(PnrguardError):
    """A booking holds something that is not an Annex I element. A programming error in a
    reader (data must never reach storage this way), so it maps to HTTP 500. The message
    names classes and fields, never values."""

    code = "annex_violation"


def minimisation_counts(result: ReadResult) -> dict[str, int]:
    """Audit-ready counts of what the reader dropped: ``{"dropped.segment.ebd": 2, ...}``."""
    counts: dict[str, int] = {}
    for tag, n in result.unknown_segments.items():
        if n <= 0:
            continue
        name = tag.strip().upper()
        key = f"dropped.segment.{name.lower()}" if _TAG.fullmatch(name) else "dropped.segment.invalid"
        counts[key] = counts.get(key, 0) + n
    return dict(sorted(counts.items()))


@cache
def model_classes() -> dict[type[Any], tuple[str, ...]]:
    """Every dataclass of `domain.model`, with its field names."""
    found: dict[type[Any], tuple[str, ...]] = {}
    for value in vars(model).values():
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == model.__name__:
            found[value] = tuple(f.name for f in dataclasses.fields(value))
    return found


def unmapped_fields() -> list[tuple[str, str]]:
    """Model fields with no Annex I element in `FIELD_ELEMENTS` (should be empty)."""
    return sorted(
        (cls.__name__, name)
        for cls, names in model_classes().items()
        for name in names
        if (cls.__name__, name) not in FIELD_ELEMENTS
    )


def assert_annex_only(booking: Booking) -> None:
    """Raise `AnnexViolation` unless `booking` holds only Annex I fields of model classes.

    Walks the whole booking. Each object must be exactly one of the model's dataclasses
    (no subclasses), each of its fields mapped in `FIELD_ELEMENTS`, and each leaf a plain
    scalar, None, or a list of those or of model objects. The walk is bounded by the size of
    the booking and never recurses, so no object graph can make it spin or overflow.
    """
    fields = _mapped_fields()
    stack: list[object] = [booking]
    budget = 1_000_000
    while stack:
        budget -= 1
        if budget < 0:
            raise AnnexViolation(N_("booking too large to check"))
        obj = stack.pop()
        cls = type(obj)
        names = fields.get(cls)
        if names is None:
            raise AnnexViolation(N_("%(model)s is not a model class"), model=cls.__name__)
        if getattr(obj, "__dict__", None):
            raise AnnexViolation(N_("%(model)s carries attributes outside the model"), model=cls.__name__)
        for name in names:
            value = getattr(obj, name)
            kind = type(value)
            if kind in _LEAVES:
                continue
            items = value if kind is list else (value,)
            for item in items:
                kind = type(item)
                if kind in _LEAVES:
                    continue
                if kind in fields:
                    stack.append(item)
                else:
                    raise AnnexViolation(
                        N_("%(model)s.%(name)s: unexpected %(value_type)s"),
                        model=cls.__name__,
                        name=name,
                        value_type=kind.__name__,
                    )


@cache
def _mapped_fields() -> dict[type[Any], tuple[str, ...]]:
    """Model classes with their field names, checked once against `FIELD_ELEMENTS`: the
    per-booking walk then needs no map look-ups."""
    missing = unmapped_fields()
    if missing:
        names = ", ".join(f"{c}.{f}" for c, f in missing)
        raise AnnexViolation(N_("model fields without an Annex I element: %(names)s"), names=names)
    return model_classes()


def is_minor_remark(remark: Remark) -> bool:
    """Whether a general remark carries unaccompanied-minor information (heading 12)."""
    return bool(UM_REMARK.search(remark.kind) or UM_REMARK.search(remark.text))


def minimise(booking: Booking) -> tuple[Booking, dict[str, int]]:
    """`booking` with only what Annex I (as C-817/19 reads it) names, and counts of what
    went: ``{"dropped.field.birth_place": 1, "dropped.remark.general": 2}``. Never mutates
    `booking`; returns it unchanged (same object) when nothing is dropped."""
    counts: dict[str, int] = {}

    def drop(key: str, n: int = 1) -> None:
        counts[key] = counts.get(key, 0) + n

    blank_birth = ("Traveller", "birth_place") in NOT_STORED
    blank_issue = ("Document", "date_of_issue") in NOT_STORED
    blank_place = ("Document", "place_of_issue") in NOT_STORED
    travellers = []
    for t in booking.travellers:
        changes: dict[str, Any] = {}
        issued = sum(1 for d in t.documents if d.date_of_issue is not None) if blank_issue else 0
        placed = sum(1 for d in t.documents if d.place_of_issue) if blank_place else 0
        if issued:
            drop("dropped.field.date_of_issue", issued)
        if placed:
            drop("dropped.field.place_of_issue", placed)
        if issued or placed:
            changes["documents"] = [
                dataclasses.replace(
                    d,
                    date_of_issue=None if blank_issue else d.date_of_issue,
                    place_of_issue="" if blank_place else d.place_of_issue,
                )
                for d in t.documents
            ]
        if blank_birth and t.birth_place:
            drop("dropped.field.birth_place")
            changes["birth_place"] = ""
        travellers.append(dataclasses.replace(t, **changes) if changes else t)
    remarks = [r for r in booking.remarks if is_minor_remark(r)]
    if len(remarks) != len(booking.remarks):
        drop("dropped.remark.general", len(booking.remarks) - len(remarks))
    if not counts:
        return booking, {}
    return dataclasses.replace(booking, travellers=travellers, remarks=remarks), dict(sorted(counts.items()))
