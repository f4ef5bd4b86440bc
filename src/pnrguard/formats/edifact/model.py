"""What the EDIFACT layer reads into: service characters, segments, messages, interchanges,
and the deviations it tolerated (never content, only where and what)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

MAX_TAG_LEN = 3


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The six service characters of an interchange (UNA advice)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    reserved: str = " "
    segment: str = "'"

    def una(self) -> str:
        return f"UNA{self.component}{self.element}{self.decimal}{self.release}{self.reserved}{self.segment}"


DEFAULT_DELIMITERS = Delimiters()


def safe_tag(tag: str) -> str:
    """A tag fit for a deviation or error: only a regular 3-character tag, never stray text."""
    return tag if len(tag) == MAX_TAG_LEN and tag.isalnum() and tag.isupper() else "?"


@dataclass(frozen=True, slots=True)
class Deviation:
    """Something the reader tolerated. Never holds message content: only where and what."""

    code: str
    segment_index: int | None = None
    tag: str = ""

    def __str__(self) -> str:
        where = f" at segment {self.segment_index}" if self.segment_index is not None else ""
        tag = f" ({self.tag})" if self.tag else ""
        return f"{self.code}{where}{tag}"


class Segment(NamedTuple):
    """One segment: its tag and its data elements, each a list of components.

    `elements[0]` is the first data element after the tag. `index` is the 0-based position
    of the segment within the interchange, for error messages that name no content.
    A named tuple rather than a dataclass: it is built in C, and the tokenizer makes one
    per segment (hundreds of thousands per batch; see bench/parse.py).
    """

    tag: str
    elements: list[list[str]]
    index: int = 0  # type: ignore[assignment]  # shadows tuple.index(), which no reader uses

    def get(self, element: int, component: int = 0) -> str:
        """The component's value, or "" where the carrier left it out."""
        elements = self[1]
        if element < len(elements):
            comps = elements[element]
            if component < len(comps):
                return comps[component]
        return ""

    def element(self, element: int) -> list[str]:
        elements = self[1]
        return elements[element] if element < len(elements) else []


@dataclass(slots=True)
class Message:
    """A UNH..UNT message: the header's identification and the body between them."""

    reference: str
    type: str
    version: str
    release: str
    agency: str
    header: Segment
    segments: list[Segment]
    deviations: list[Deviation] = field(default_factory=list)
    body: RawBody | None = None  # set instead of `segments` by `scan_interchange`


@dataclass(slots=True)
class RawBody:
    """A message body not yet split into elements: positions in the interchange's raw
    segments (whose tags are all regular), read by `segment_at` when needed."""

    raws: list[str]
    ranges: list[tuple[int, int]]  # [start, end) positions in `raws` of the body's runs
    first: int  # segment index of raws[0]
    element: str
    component: str
    restore: dict[int, str] | None  # stand-in -> released character


@dataclass(slots=True)
class Interchange:
    delimiters: Delimiters
    syntax_id: str
    syntax_version: str
    sender: str
    recipient: str
    prepared: str
    control_ref: str
    messages: list[Message]
    deviations: list[Deviation] = field(default_factory=list)
    group_type: str = ""
    interchanges: int = 1  # how many interchanges the push held (read as one)
    first_index: int = 0  # index of the UNB segment
