"""Writing: segments with released service characters, and complete interchanges with
correct counts and references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pnrguard.formats.edifact.model import (
    DEFAULT_DELIMITERS,
    Delimiters,
)

Element = str | Sequence[str]
RawSegment = tuple[str, Sequence[Element]]


def escape(value: str, delims: Delimiters = DEFAULT_DELIMITERS) -> str:
    """Release every service character in a value so it reads back unchanged."""
    rel = delims.release
    specials = {delims.component, delims.element, delims.segment, rel}
    if not any(c in value for c in specials):
        return value
    if not rel:
        raise ValueError("a service character occurs in a value but no release character is set")
    return "".join(rel + c if c in specials else c for c in value)


def write_segment(tag: str, elements: Sequence[Element], delims: Delimiters = DEFAULT_DELIMITERS) -> str:
    """One segment with its terminator; trailing empty components and elements are dropped."""
    parts = [tag]
    for element in elements:
        comps = [element] if isinstance(element, str) else list(element)
        while comps and comps[-1] == "":
            comps.pop()
        parts.append(delims.component.join(escape(c, delims) for c in comps))
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return delims.element.join(parts) + delims.segment


@dataclass(slots=True)
class OutgoingMessage:
    """A message to write: its reference, its UNH identifier and its body segments."""

    reference: str
    identifier: Sequence[str]  # e.g. ("PNRGOV", "11", "1", "IA")
    body: Sequence[RawSegment]


def write_interchange(
    messages: Iterable[OutgoingMessage],
    *,
    sender: str,
    recipient: str,
    control_ref: str,
    prepared: dt.datetime,
    syntax: tuple[str, str] = ("UNOC", "4"),
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    una: bool = True,
    group: tuple[str, str, str] | None = None,
    line_breaks: bool = True,
) -> str:
    """Write a complete interchange with correct counts and references.

    `group` = (message group type, sender, recipient) wraps the messages in UNG/UNE, as
    PNRGOV and PAXLST pushes often do.
    """
    sep = "\n" if line_breaks else ""
    d = delimiters
    out: list[str] = []
    if una:
        out.append(d.una())
    stamp = (prepared.strftime("%y%m%d"), prepared.strftime("%H%M"))
    out.append(write_segment("UNB", [list(syntax), sender, recipient, stamp, control_ref], d))
    msgs = list(messages)
    if group is not None:
        version = list(msgs[0].identifier[1:3]) if msgs else []
        out.append(write_segment("UNG", [group[0], group[1], group[2], stamp, control_ref, "UN", version], d))
    for msg in msgs:
        out.append(write_segment("UNH", [msg.reference, list(msg.identifier)], d))
        for tag, elements in msg.body:
            out.append(write_segment(tag, elements, d))
        out.append(write_segment("UNT", [str(len(msg.body) + 2), msg.reference], d))
    if group is not None:
        out.append(write_segment("UNE", [str(len(msgs)), control_ref], d))
    out.append(write_segment("UNZ", [str(1 if group is not None else len(msgs)), control_ref], d))
    return sep.join(out) + sep
