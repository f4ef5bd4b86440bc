"""Domain objects of screening: watchlist entries, traveller queries and candidate hits.

Pure data, no I/O. Entries are immutable so they can be fingerprinted, shared between
index versions and compared in deltas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A date of birth as lists publish it: often only a year, sometimes a month."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError("year out of range")
        if self.month is not None and not 1 <= self.month <= 12:
            raise ValueError("month out of range")
        if self.day is not None:
            if self.month is None:
                raise ValueError("day without month")
            dt.date(self.year, self.month, self.day)  # raises ValueError if impossible

    @classmethod
    def from_date(cls, value: dt.date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    def isoformat(self) -> str:
        """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
        out = f"{self.year:04d}"
        if self.month is not None:
            out += f"-{self.month:02d}"
            if self.day is not None:
                out += f"-{self.day:02d}"
        return out


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True, slots=True)
class IdentityDocument:
    """A document listed for an entity. `number` is kept as published; matching normalises."""

    number: str
    kind: str = "passport"
    country: str | None = None  # ISO 3166-1 alpha-3 when known


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """One listed person. Names are as published (any script); matching normalises them."""

    entity_id: str
    list_name: str
    name: str
    aliases: tuple[str, ...] = ()
    dobs: tuple[PartialDate, ...] = ()
    nationalities: tuple[str, ...] = ()  # ISO 3166-1 alpha-3
    documents: tuple[IdentityDocument, ...] = ()
    gender: Gender | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """One traveller to screen. `full_name` is an alternative spelling of the whole name
    (for example the passport's machine-readable zone) scored next to surname/given names."""

    query_id: str
    surname: str
    given_names: str = ""
    full_name: str | None = None
    dob: dt.date | None = None
    nationality: str | None = None  # alpha-2 or alpha-3; normalised by the screener
    document: str | None = None
    gender: str | None = None  # as carriers send it (M, F, MI, FI, U, X); only M/F count


@dataclass(frozen=True, slots=True)
class Feature:
    """One contribution to a score: its name, the signed amount it added, and why."""

    feature: str
    value: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible hit, for a person to review. `features` sum (clamped) to `score`."""

    entity_id: str
    score: float
    features: tuple[Feature, ...] = field(default=())
    explanation: str = ""
