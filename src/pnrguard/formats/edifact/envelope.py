"""Envelopes (UNB/UNZ, UNG/UNE, UNH/UNT): counts and references checked on the service
segments alone; message bodies kept as ranges of raw segments."""

from __future__ import annotations

import re

from pnrguard.errors import EdifactError
from pnrguard.formats.edifact.boundaries import interchange_starts
from pnrguard.formats.edifact.charset import decode
from pnrguard.formats.edifact.gc_pause import gc_paused
from pnrguard.formats.edifact.model import (
    Deviation,
    Interchange,
    Message,
    RawBody,
    Segment,
    safe_tag,
)
from pnrguard.formats.edifact.tokenizer import (
    _prepare,
    _segments,
    segment_at,
)

_COUNT_RE = re.compile(r"[0-9]{1,9}")


def _count(value: str) -> int | None:
    """A control count, or None when it is not one (ASCII digits only: `isdigit` accepts
    superscripts, and `int` refuses very long digit strings with a ValueError)."""
    value = value.strip()
    return int(value) if _COUNT_RE.fullmatch(value) else None


def parse_interchange(data: bytes | str, *, strict: bool = False) -> Interchange:
    """Read an interchange and check its envelopes.

    `strict=False` (the default for carrier traffic) records count and reference mismatches
    as deviations; `strict=True` raises on them. Truncation (a message without UNT, an
    interchange without UNZ) and the absence of any message are always errors, because data
    would be lost silently.
    """
    with gc_paused():
        return _parse_interchange(data, strict=strict, lazy=False)


def scan_interchange(data: bytes | str, *, strict: bool = False) -> Interchange:
    """`parse_interchange`, with the envelopes checked but message bodies left unsplit where
    the segments allow it (`Message.body`): a reader splits each segment as it reads it,
    so the parts are short-lived. `message_segments` gives a message's segments either way."""
    with gc_paused():
        return _parse_interchange(data, strict=strict, lazy=True)


def message_segments(msg: Message) -> list[Segment]:
    """A message's segments, split now if the interchange was scanned lazily."""
    body = msg.body
    if body is not None:
        raws, first, esep, csep, restore = body.raws, body.first, body.element, body.component, body.restore
        msg.segments = [
            segment_at(raws[k], first + k, esep, csep, restore) for a, b in body.ranges for k in range(a, b)
        ]
        msg.body = None
    return msg.segments


def _chunks(data: bytes | str) -> list[tuple[str, list[Deviation]]]:
    """The interchanges of a push, each decoded by its own UNB syntax identifier."""
    if isinstance(data, str):
        starts = interchange_starts(data)
        return [(data[a:b], []) for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]
    starts = interchange_starts(data.decode("latin-1"))  # one character per byte: byte offsets
    return [decode(data[a:b]) for a, b in zip(starts, [*starts[1:], len(data)], strict=True)]


def _parse_interchange(data: bytes | str, *, strict: bool, lazy: bool) -> Interchange:
    """Every interchange of the push, read in turn; the first one's envelope names the whole.

    A push holding several interchanges (UNB..UNZ twice or more) keeps every message, with
    a `several_interchanges` deviation at each further UNB; each interchange's envelope is
    checked on its own.
    """
    merged: Interchange | None = None
    first_index = 0
    for text, deviations in _chunks(data):
        one, first_index = _parse_one(text, deviations, strict=strict, first_index=first_index, lazy=lazy)
        if merged is None:
            merged = one
            continue
        if strict:
            raise EdifactError("several interchanges in one push", segment_index=one.first_index)
        merged.deviations.append(Deviation("several_interchanges", one.first_index, "UNB"))
        merged.deviations.extend(one.deviations)
        merged.messages.extend(one.messages)
        merged.interchanges += 1
    assert merged is not None  # _chunks returns at least one chunk
    return merged


_SERVICE = ("UNT", "UNH", "UNZ", "UNE", "UNG")  # the envelope's own segments inside UNB..UNZ


def _parse_one(
    text: str, deviations: list[Deviation], *, strict: bool, first_index: int, lazy: bool
) -> tuple[Interchange, int]:
    """One interchange; returns it and the index the next interchange's segments start at.

    The envelope is checked on its own segments (UNB, UNG, UNH, UNT, UNE, UNZ) alone; the
    runs of segments between them are message bodies, kept as ranges of positions. Lazily
    (`lazy` and regular tags) the bodies stay raw text until a reader splits them.
    """
    prep = _prepare(text, first_index)
    raws = prep.raws
    first_pos = prep.first
    esep, csep = prep.delims.element, prep.delims.component
    segs: list[Segment] | None = None
    if lazy and prep.lazy:
        n = len(raws)
        service = prep.service  # positions of the service segments, found by `_prepare`
        restore = prep.restore

        def seg_at(k: int) -> Segment:
            return segment_at(raws[k], first_pos + k, esep, csep, restore)

    else:
        segs = _segments(prep)
        if not segs:
            raise EdifactError("no segments found")
        n = len(segs)
        service = [k for k, s in enumerate(segs) if s[0] in _SERVICE and k > 0]
        segments = segs

        def seg_at(k: int) -> Segment:
            return segments[k]

    deviations.extend(prep.deviations)  # after the eager split, which adds irregular tags

    def tolerate(code: str, seg: Segment, reason: str) -> None:
        if strict:
            raise EdifactError(reason, segment_index=seg.index)
        deviations.append(Deviation(code, seg.index, safe_tag(seg.tag)))

    first = seg_at(0)
    if first.tag != "UNB":
        raise EdifactError("interchange does not start with UNB", segment_index=first.index)
    syntax = first.element(0)
    ichg = Interchange(
        delimiters=prep.delims,
        syntax_id=syntax[0] if syntax else "",
        syntax_version=syntax[1] if len(syntax) > 1 else "",
        sender=first.get(1),
        recipient=first.get(2),
        prepared=":".join(first.element(3)),
        control_ref=first.get(4),
        messages=[],
        deviations=deviations,
    )
    current: Message | None = None
    ranges: list[tuple[int, int]] = []
    group_open: Segment | None = None
    group_messages = 0
    groups = 0
    closed = False
    prev = 0
    for k in [*service, n]:
        if prev + 1 < k:  # a run of other segments, positions prev+1 .. k-1
            if closed:
                tolerate("text_after_unz", seg_at(prev + 1), "segments after UNZ")
                break
            if current is not None:
                ranges.append((prev + 1, k))
            else:
                for j in range(prev + 1, k):
                    tolerate("segment_outside_message", seg_at(j), "segment outside a message")
        prev = k
        if k == n:
            break
        seg = seg_at(k)
        tag = seg.tag
        if closed:
            tolerate("text_after_unz", seg, "segments after UNZ")
            break
        if tag == "UNH":
            if current is not None:
                raise EdifactError("message not closed by UNT before next UNH", segment_index=seg.index)
            ident = seg.element(1)
            current = Message(
                reference=seg.get(0),
                type=ident[0] if ident else "",
                version=ident[1] if len(ident) > 1 else "",
                release=ident[2] if len(ident) > 2 else "",
                agency=ident[3] if len(ident) > 3 else "",
                header=seg,
                segments=[],
            )
            ranges = []
        elif tag == "UNT":
            if current is None:
                tolerate("unt_without_unh", seg, "UNT without UNH")
                continue
            expected = sum(b - a for a, b in ranges) + 2
            declared = _count(seg.get(0))
            if declared != expected:
                tolerate("unt_count_mismatch", seg, f"UNT count {declared} != {expected}")
            if seg.get(1) and seg.get(1).strip() != current.reference.strip():
                tolerate("unt_reference_mismatch", seg, "UNT reference differs from UNH")
            elif not seg.get(1):
                tolerate("unt_reference_missing", seg, "UNT has no message reference")
            if segs is not None:
                current.segments = [segs[j] for a, b in ranges for j in range(a, b)]
            else:
                current.body = RawBody(raws, ranges, first_pos, esep, csep, prep.restore)
            ichg.messages.append(current)
            group_messages += 1
            current = None
        elif tag == "UNG":
            if group_open is not None:
                tolerate("ung_not_closed", seg, "UNG before UNE")
            group_open = seg
            group_messages = 0
            groups += 1
            ichg.group_type = seg.get(0)
        elif tag == "UNE":
            if current is not None:
                raise EdifactError("message not closed by UNT before UNE", segment_index=seg.index)
            if group_open is None:
                tolerate("une_without_ung", seg, "UNE without UNG")
            elif _count(seg.get(0)) != group_messages:
                tolerate("une_count_mismatch", seg, "UNE count differs from messages in group")
            group_open = None
        else:  # UNZ
            if current is not None:
                raise EdifactError("message not closed by UNT: truncated", segment_index=seg.index)
            expected = groups if groups else len(ichg.messages)
            if _count(seg.get(0)) != expected:
                tolerate("unz_count_mismatch", seg, "UNZ count differs from messages or groups")
            if seg.get(1).strip() != ichg.control_ref.strip():
                tolerate("unz_reference_mismatch", seg, "UNZ reference differs from UNB")
            closed = True
    last = first_pos + n - 1
    if current is not None:
        raise EdifactError("message not closed by UNT: truncated", segment_index=last)
    if not closed:
        raise EdifactError("interchange not closed by UNZ: truncated", segment_index=last)
    if not ichg.messages:
        raise EdifactError("interchange holds no message", segment_index=first.index)
    ichg.first_index = first.index
    return ichg, last + 1
