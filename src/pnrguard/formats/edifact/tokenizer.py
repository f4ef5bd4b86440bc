"""Tokenising: an interchange cut into raw segments (C-speed passes over the whole text),
then each segment into elements and components, eagerly or one at a time."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from pnrguard.errors import EdifactError
from pnrguard.formats.edifact.escapes import (
    _RELEASED,
    _has_released,
    _released_segment,
    _split_escaped,
)
from pnrguard.formats.edifact.model import (
    DEFAULT_DELIMITERS,
    MAX_TAG_LEN,
    Delimiters,
    Deviation,
    Segment,
)
from pnrguard.formats.edifact.splitting import regular_tags, scan_body, service_ends, split_elements, unwrap
from pnrguard.formats.edifact.una import _read_una


class _Prepared(NamedTuple):
    """An interchange cut into raw segments, before any element is split (stage one)."""

    delims: Delimiters
    raws: list[str]  # raw segments, released characters as stand-ins where `restore` is set
    first: int  # segment index of raws[0]
    deviations: list[Deviation]
    restore: dict[int, str] | None  # stand-in -> released character (None: no stand-ins)
    lazy: bool  # every raw is `TAG` + separator: tag and index known without splitting
    released: bool  # the release character occurs
    blanks: bool  # blanks after a terminator (to strip); only said when not `lazy`
    service: list[int]  # positions in `raws` of the service segments after the first (`lazy` only)


def _prepare(text: str, first_index: int) -> _Prepared:
    """Find the service characters and cut the interchange into raw segments (one C pass
    over the whole text where `make compile` built `splitting`'s accelerator, else C-speed
    passes: `str.split`, one for released characters, one check of every tag)."""
    deviations: list[Deviation] = []
    stripped = text.lstrip("\ufeff\r\n\t ")
    start = 0
    if not stripped.startswith(("UNA", "UNB")):
        found = [i for i in (stripped.find("UNA", 0, 4096), stripped.find("UNB", 0, 4096)) if i >= 0]
        if not found:
            raise EdifactError("no UNA or UNB segment: not an EDIFACT interchange")
        start = min(found)
        deviations.append(Deviation("leading_text_skipped"))
    stripped = stripped[start:]
    if stripped.startswith("UNA"):
        delims, body_start = _read_una(stripped, deviations)
    else:
        delims, body_start = DEFAULT_DELIMITERS, 0
    body = stripped[body_start:]
    # Line breaks are transport artefacts (80-column wrapping), unless they are delimiters.
    # One after a terminator is layout; one inside a segment is wrapping, worth recording.
    delimiters = (delims.segment, delims.element, delims.component)
    breaks = "".join(ch for ch in ("\r", "\n") if ch not in delimiters)
    rel = delims.release
    ssep, esep, csep = delims.segment, delims.element, delims.component
    restore: dict[int, str] | None = None
    # Line breaks removed, released characters turned into stand-ins (so that plain
    # `str.split` serves every level later), the text cut into raw segments and every tag
    # checked: one pass where the C accelerator is built (`splitting.scan_body`).
    scanned = scan_body(body, ssep, esep, csep, rel, breaks)
    if scanned is not None:
        raws, wrapped, released, lazy, blanks, service = scanned
        if wrapped:
            deviations.append(Deviation("line_break_in_segment"))
        if released:
            r_rel, r_seg, r_el, r_comp, r_lone = _RELEASED
            restore = {ord(r_rel): rel, ord(r_seg): ssep, ord(r_el): esep, ord(r_comp): csep, ord(r_lone): ""}
        if lazy and raws[-1] == "":
            raws.pop()  # the text after the last terminator
    else:
        # A release character that is also a line break, or stand-in characters in the text
        # (C1 controls, which carriers do not send): the passes one by one, escapes left in
        # the raws for the eager path to read.
        body, wrapped = unwrap(body, ssep, breaks)
        if wrapped:
            deviations.append(Deviation("line_break_in_segment"))
        released = bool(rel) and rel in body
        raws = _split_escaped(body, ssep, rel) if released else body.split(ssep)
        lazy = not released and regular_tags(body, ssep, esep, csep)
        if lazy and raws[-1] == "":
            raws.pop()
        service = service_ends(body, ssep) if lazy else []
        # Spaces after terminators are rare: look for them once rather than in every segment.
        blanks = not lazy and (
            body[:1] in (" ", "\t") or re.search(re.escape(ssep) + "[ \t]", body) is not None
        )
    first = (1 if body_start else 0) + first_index
    return _Prepared(delims, raws, first, deviations, restore, lazy, released, blanks, service)


def tokenize(text: str, first_index: int = 0) -> tuple[Delimiters, list[Segment], list[Deviation]]:
    """Split an interchange into segments. Raises only `EdifactError`.

    `first_index` numbers the first segment (the second interchange of a push continues
    the first's numbering, so positions stay unique in deviations and errors).
    """
    prep = _prepare(text, first_index)
    segments = _segments(prep)
    if not segments:
        raise EdifactError("no segments found")
    return prep.delims, segments, prep.deviations


def _segments(prep: _Prepared) -> list[Segment]:
    """Every raw segment split into its elements and components (stage two, eager)."""
    delims, raws, index, deviations, restore, _, released, blanks, _ = prep
    rel = delims.release
    esep, csep = delims.element, delims.component
    segments: list[Segment] = []
    append = segments.append
    new_segment = tuple.__new__
    regular: set[str] = set()  # tags already found regular: one set lookup, not two checks
    for raw in raws:
        if blanks and raw[:1] in (" ", "\t"):
            raw = raw.lstrip(" \t")
        if not raw:
            continue
        # Stand-ins are not ASCII, and `str.isascii` is O(1): the common segment pays little.
        if released and not (raw.isascii() and restore is not None) and _has_released(raw, restore, rel):
            tag, elements = _released_segment(raw, esep, csep, rel, restore)
        else:
            tag, _, rest = raw.partition(esep)
            if rest:
                # In place rather than a list comprehension: no frame per segment, and a
                # counter rather than enumerate (each about 10% of the tokenizer, measured).
                parts: list[Any] = rest.split(esep)
                i = 0
                for e in parts:
                    parts[i] = e.split(csep)
                    i += 1  # noqa: SIM113
                elements = parts
            else:
                elements = []
            if tag in regular:
                append(new_segment(Segment, (tag, elements, index)))
                index += 1
                continue
            if csep in tag:
                tag = tag.partition(csep)[0]
        if len(tag) != MAX_TAG_LEN or not tag.isalnum():
            tag = tag.strip()
            if len(tag) != MAX_TAG_LEN or not tag.isalnum():
                deviations.append(Deviation("irregular_tag", index))
        elif csep not in tag:
            regular.add(tag)
        append(new_segment(Segment, (tag, elements, index)))
        index += 1
    return segments


def segment_at(raw: str, index: int, esep: str, csep: str, restore: dict[int, str] | None) -> Segment:
    """One raw segment of a lazily read body (its tag already known regular) as a Segment."""
    return tuple.__new__(Segment, (raw[:3], split_elements(raw, esep, csep, restore), index))
