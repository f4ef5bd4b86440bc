"""UN/EDIFACT syntax (ISO 9735): tokenise, check envelopes, write.

Our own tokenizer, because pydifact (the Python peer) reads under 2 MB/s here and a PIU
needs far more (see `bench/parse.py`). The fast path leans on `str.split`, which runs in C;
released characters are first swapped for stand-ins in one pass, so that plain splits serve
every level (re-joining pieces that end in an odd run of release characters remains the
fallback).

Tolerance (REQUIREMENTS.md section 9): carriers wrap segments over lines, put spaces after
terminators, send short or inconsistent UNA advice and stray text around the interchange.
Where the data is recoverable the reader carries on and records a `Deviation` (no content,
only positions and tags); it raises `EdifactError` only for what it truly cannot read.
Every loop is bounded by the input: no input can make the reader spin.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pnrguard.errors import EdifactError

# ISO 9735 syntax identifiers -> Python codecs. UNOA/UNOB are ASCII subsets, but carriers
# send UTF-8 or Latin-1 under them; we read those leniently and record a deviation.
SYNTAX_CODECS: dict[str, str] = {
    "UNOA": "ascii",
    "UNOB": "ascii",
    "UNOC": "latin-1",
    "UNOD": "iso8859_2",
    "UNOE": "iso8859_5",
    "UNOF": "iso8859_7",
    "UNOG": "iso8859_3",
    "UNOH": "iso8859_4",
    "UNOI": "iso8859_6",
    "UNOJ": "iso8859_8",
    "UNOK": "iso8859_9",
    "UNOW": "utf-8",
    "UNOX": "iso2022_jp",
    "UNOY": "utf-8",
}
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


# --- decoding -------------------------------------------------------------------------------

_SYNTAX_RE = re.compile(rb"UNB.([A-Z]{4})")


def decode(data: bytes) -> tuple[str, list[Deviation]]:
    """Decode interchange bytes by the UNB syntax identifier, tolerating mislabelled text.

    Carriers send UTF-8 under every declaration (UNOA to UNOK): decoded as declared, a
    UTF-8 `Ü` becomes `Ã\x9c` and screening misses the name. Non-ASCII bytes that form valid
    UTF-8 are therefore read as UTF-8 whatever the declaration (`utf8_under_declared_charset`);
    a single-byte text almost never forms valid multi-byte UTF-8 by accident. Bytes invalid in
    the declared charset fall back to Latin-1, which reads every byte (`charset_mismatch`).
    """
    deviations: list[Deviation] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    match = _SYNTAX_RE.search(data, 0, 4096)
    codec = SYNTAX_CODECS.get(match.group(1).decode("ascii"), "") if match else ""
    if data.isascii():
        return data.decode("ascii"), deviations
    if codec != "utf-8":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if codec:
                deviations.append(Deviation("utf8_under_declared_charset"))
            return text, deviations
    if codec and codec not in ("ascii", "utf-8"):
        try:
            return data.decode(codec), deviations
        except UnicodeDecodeError:
            deviations.append(Deviation("charset_mismatch"))
            return data.decode("latin-1"), deviations
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if codec == "utf-8":
            deviations.append(Deviation("charset_mismatch"))
        text = data.decode("latin-1")
    if codec == "ascii" and not text.isascii():
        deviations.append(Deviation("non_ascii_in_unoa"))
    return text, deviations


def interchange_starts(text: str) -> list[int]:
    """Where each interchange of a push begins (UNA or UNB right after the previous UNZ).

    Carriers batch several interchanges in one file or push; each may declare its own
    service characters, so the boundaries are found from each one's UNA advice (or the
    defaults) before it is tokenized. Offsets index `text`; for bytes, pass them decoded as
    Latin-1 (one character per byte) to get byte offsets. Always returns at least `[0]`.
    """
    starts = [0]
    pos = 0
    n = len(text)
    while pos < n:
        head = pos
        while head < n and text[head] in "\ufeff\r\n\t ":
            head += 1
        if text.startswith("UNA", head) and head + 8 < n:
            esep, ssep = text[head + 4], text[head + 8]
        else:
            esep, ssep = DEFAULT_DELIMITERS.element, DEFAULT_DELIMITERS.segment
        # `str.find` (memchr speed) for UNZ, then a look back for the terminator before it:
        # one pass over the push, not a regular-expression scan (bench/parse.py).
        unz = text.find("UNZ" + esep, head)
        while unz != -1:
            back = unz - 1
            while back >= head and text[back] in "\r\n\t " and text[back] != ssep:
                back -= 1
            if back >= head and text[back] == ssep:
                break
            unz = text.find("UNZ" + esep, unz + 1)
        if unz == -1:
            break
        end = text.find(ssep, unz + 4)
        if end == -1:
            break
        nxt = end + 1
        while nxt < n and text[nxt] in "\r\n\t ":
            nxt += 1
        if not text.startswith(("UNA", "UNB"), nxt):
            break
        starts.append(nxt)
        pos = nxt
    return starts


# --- tokenising -----------------------------------------------------------------------------

_UNH_UNG = re.compile(r"UN[HG]")


def _read_una(text: str, deviations: list[Deviation]) -> tuple[Delimiters, int]:
    """Delimiters from a UNA advice at the start of `text`; returns them and the body start.

    Tolerates a short advice (a character left out) and a declared terminator that the
    interchange does not use (the character that really ends the UNB segment wins).
    """
    advice = text[3:9]
    unb = text.find("UNB", 3, 64)
    if unb != -1 and text[9:unb].strip() != "":
        unb = -1
    # A complete advice followed by blanks only: read it as declared, even when it declares
    # CR, LF or a space (which a strip would take for padding).
    complete = len(advice) == 6 and unb >= 9 and text[9:unb].strip("\r\n\t ") == ""
    if unb == -1 or complete or len(text[3:unb].rstrip("\r\n\t ")) == 6 or len(advice) < 6:
        if len(advice) < 6:
            raise EdifactError("UNA service string advice is incomplete", segment_index=0)
        body_start = 9
        chars = advice
    else:
        chars = text[3:unb].rstrip("\r\n\t ")
        body_start = unb
        if len(chars) < 3:
            raise EdifactError("UNA service string advice is incomplete", segment_index=0)
        deviations.append(Deviation("una_irregular", 0, "UNA"))
        middle = chars[2:-1]
        decimal = next((c for c in middle if c in ".,"), ".")
        rest = [c for c in middle if c != decimal]
        release = rest[0] if rest else ""
        reserved = rest[1] if len(rest) > 1 else " "
        chars = chars[0] + chars[1] + decimal + (release or "\x00") + reserved + chars[-1]
    delims = Delimiters(
        component=chars[0],
        element=chars[1],
        decimal=chars[2],
        release="" if chars[3] in ("\x00", " ") else chars[3],
        reserved=chars[4],
        segment=chars[5],
    )
    # Check the declared terminator against the one that really ends UNB (or UNG).
    m = _UNH_UNG.search(text, body_start)
    if m is not None:
        before = text[body_start : m.start()].rstrip("\r\n\t ")
        if before and before[-1] != delims.segment and before[-1] not in "\r\n":
            actual = before[-1]
            if actual != delims.release and not actual.isalnum():
                deviations.append(Deviation("una_terminator_mismatch", 0, "UNA"))
                delims = Delimiters(
                    delims.component,
                    delims.element,
                    delims.decimal,
                    delims.release,
                    delims.reserved,
                    actual,
                )
    if len({delims.component, delims.element, delims.segment}) != 3 or (
        delims.release and delims.release in (delims.component, delims.element, delims.segment)
    ):
        raise EdifactError("UNA service characters are not distinct", segment_index=0)
    return delims, body_start


def _split_escaped(text: str, sep: str, release: str) -> list[str]:
    """`text.split(sep)`, except where `sep` is escaped by an odd run of release characters."""
    parts = text.split(sep)
    if not release or release not in text:
        return parts
    out: list[str] = []
    buf: str | None = None
    for part in parts:
        buf = part if buf is None else buf + sep + part
        run = len(part) - len(part.rstrip(release))
        if run % 2 == 1:
            continue  # the separator after this piece was released: keep joining
        out.append(buf)
        buf = None
    if buf is not None:
        out.append(buf)
    return out


def _unescape(value: str, release: str) -> str:
    if not release or release not in value:
        return value
    out: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if ch == release and i + 1 < n:
            out.append(value[i + 1])
            i += 2
        elif ch == release:
            i += 1  # a dangling release character at the very end releases nothing
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# Stand-ins while a message is split, for a released release character, segment
# terminator, element separator, component separator, and for a lone release character
# (which releases a plain character, or nothing at the very end). C1 control characters,
# which carriers do not send (when one occurs, the tokenizer falls back to
# `_split_escaped`). Not ASCII, so the O(1) `str.isascii` clears a segment of them; but
# Latin-1, so an ASCII body stays one byte per character (private-use stand-ins made every
# later split and slice slower: the tokenizer lost 30%, measured).
_RELEASED = ("\x80", "\x81", "\x82", "\x83", "\x84")


def _released_segment(
    raw: str, esep: str, csep: str, rel: str, restore: dict[int, str] | None
) -> tuple[str, list[list[str]]]:
    """Tag and elements of a segment holding release characters (a few percent of them)."""
    if restore is None:  # stand-ins unavailable: escapes are still in `raw`
        elements = [
            [_unescape(c, rel) for c in _split_escaped(e, csep, rel)] for e in _split_escaped(raw, esep, rel)
        ]
    else:
        # Separators are plain again once released ones are stand-ins: split, then put the
        # released characters back (a lone release character's stand-in maps to nothing).
        parts: list[Any] = raw.split(esep)
        i = 0
        for e in parts:
            comps = e.split(csep)
            if not e.isascii():
                comps = [c.translate(restore) for c in comps]
            parts[i] = comps
            i += 1  # noqa: SIM113 (a counter beats enumerate here, measured)
        elements = parts
    tag = elements[0][0]
    del elements[0]
    return tag, elements


_RELEASED_RE = re.compile("[" + "".join(_RELEASED) + "]")


def _has_released(raw: str, restore: dict[int, str] | None, rel: str) -> bool:
    if restore is None:
        return rel in raw
    return _RELEASED_RE.search(raw) is not None


def _wrapped(body: str, ssep: str, breaks: list[str]) -> bool:
    """Whether a line break sits inside a segment. Counting breaks and breaks right after a
    terminator (C speed) settles the usual case; only a difference needs the scan."""
    for ch in breaks:
        if ch not in body:
            continue
        total = body.count(ch)
        layout = body.count(ssep + ch) + (body.count(ssep + "\r\n") if ch == "\n" else 0)
        if total > layout and re.search("[^" + re.escape(ssep) + "\r\n\t ][" + "".join(breaks) + "]", body):
            return True
    return False


class _Prepared(NamedTuple):
    """An interchange cut into raw segments, before any element is split (stage one)."""

    delims: Delimiters
    raws: list[str]  # raw segments, released characters as stand-ins where `restore` is set
    first: int  # segment index of raws[0]
    deviations: list[Deviation]
    restore: dict[int, str] | None  # stand-in -> released character (None: no stand-ins)
    lazy: bool  # every raw is `TAG` + separator: tag and index known without splitting
    released: bool  # the release character occurs
    blanks: bool  # blanks after a terminator (to strip)
    body: str  # the raws joined by the terminator (stand-ins in place)


def _prepare(text: str, first_index: int) -> _Prepared:
    """Find the service characters and cut the interchange into raw segments (C-speed
    passes over the whole text: `str.split`, one `re.sub` for released characters, one
    regular-expression check of every tag)."""
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
    breaks = [ch for ch in ("\r", "\n") if ch not in (delims.segment, delims.element, delims.component)]
    if _wrapped(body, delims.segment, breaks):
        deviations.append(Deviation("line_break_in_segment"))
    for ch in breaks:
        if ch in body:
            body = body.replace(ch, "")
    rel = delims.release
    ssep, esep, csep = delims.segment, delims.element, delims.component
    released = bool(rel) and rel in body
    restore: dict[int, str] | None = None
    lazy = True
    if not released:
        raws = body.split(ssep)
    elif any(c in body for c in _RELEASED):
        raws = _split_escaped(body, ssep, rel)
        lazy = False  # escapes stay in the raws: only the eager path reads them
    else:
        # Released characters become stand-ins in one regular-expression pass, so that plain
        # `str.split` serves every level (2x faster than re-joining pieces in Python; one
        # `re.sub` is 8x faster than five `str.replace`, measured). The pattern takes each
        # release character with the character after it, left to right, as ISO 9735 reads.
        r_rel, r_seg, r_el, r_comp, r_lone = _RELEASED
        stand_in = {rel: r_rel, ssep: r_seg, esep: r_el, csep: r_comp}.get
        body = re.compile(re.escape(rel) + "(.?)", re.S).sub(lambda m: stand_in(m[1]) or r_lone + m[1], body)
        restore = {ord(r_rel): rel, ord(r_seg): ssep, ord(r_el): esep, ord(r_comp): csep, ord(r_lone): ""}
        raws = body.split(ssep)
    if lazy:
        lazy = _regular_tags(body, ssep, esep, csep)
        if lazy and raws[-1] == "":
            raws.pop()  # the text after the last terminator
    first = (1 if body_start else 0) + first_index
    # Spaces after terminators are rare: look for them once rather than in every segment
    # (one regular-expression scan is 4x faster than two `in` tests, measured).
    blanks = not lazy and (body[:1] in (" ", "\t") or re.search(re.escape(ssep) + "[ \t]", body) is not None)
    return _Prepared(delims, raws, first, deviations, restore, lazy, released, blanks, body)


def _regular_tags(body: str, ssep: str, esep: str, csep: str) -> bool:
    """Whether every segment starts with a plain tag (three capitals or digits, then a
    separator): then each raw segment's tag is its first three characters, and no raw is
    empty or padded, so the tokenizer's per-segment checks can be skipped."""
    if not body or not _TAG_START.match(body) or body[3:4] not in (esep, csep, ssep, ""):
        return False
    s, e, c = re.escape(ssep), re.escape(esep), re.escape(csep)
    irregular = re.compile(f"{s}(?!\\Z)(?![A-Z0-9]{{3}}(?:{e}|{c}|{s}|\\Z))")
    return irregular.search(body) is None


_TAG_START = re.compile("[A-Z0-9]{3}")


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
    tag, _, rest = raw.partition(esep)
    if restore is not None and not raw.isascii():
        elements: list[list[str]] = [[c.translate(restore) for c in e.split(csep)] for e in raw.split(esep)]
        del elements[0]
    elif rest:
        elements = [e.split(csep) for e in rest.split(esep)]
    else:
        elements = []
    return tuple.__new__(Segment, (tag[:3], elements, index))


# --- envelopes ------------------------------------------------------------------------------


_COUNT_RE = re.compile(r"[0-9]{1,9}")


def _count(value: str) -> int | None:
    """A control count, or None when it is not one (ASCII digits only: `isdigit` accepts
    superscripts, and `int` refuses very long digit strings with a ValueError)."""
    value = value.strip()
    return int(value) if _COUNT_RE.fullmatch(value) else None


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a reader builds many small objects.

    Reading allocates millions of short lists and strings, none of them cyclic; the
    collector's repeated full passes over them made the reader about five times slower
    (measured in bench/parse.py). Reference counting still frees everything. The pause is
    counted, so concurrent readers in several threads keep it until the last one is done.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


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
    esep, csep, ssep = prep.delims.element, prep.delims.component, prep.delims.segment
    segs: list[Segment] | None = None
    if lazy and prep.lazy:
        n = len(raws)
        # Positions of the service segments, found by C-speed scans of the raw text.
        joined = prep.body
        service: list[int] = []
        pos = 0
        count = 0
        for m in _service_re(ssep).finditer(joined):
            count += joined.count(ssep, pos, m.start() + 1)
            pos = m.start() + 1
            service.append(count)
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


@functools.lru_cache(maxsize=16)
def _service_re(ssep: str) -> re.Pattern[str]:
    """Where a service segment (UNH, UNT, UNG, UNE, UNZ) starts in raws joined by `ssep`."""
    return re.compile(re.escape(ssep) + "(?=UN[HTZEG])")


# --- writing --------------------------------------------------------------------------------

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


def peek_sender(data: bytes) -> str:
    """The UNB sender id of an interchange, or "" (never raises): for attributing a message
    that could not be read (quarantined) to the carrier that sent it."""
    head = data[:4096].decode("latin-1")
    start = head.find("UNB")
    if start < 0:
        return ""
    una = head.find("UNA", 0, start + 1)
    esep, csep, ssep = "+", ":", "'"
    if 0 <= una < start and len(head) > una + 8:
        csep, esep, ssep = head[una + 3], head[una + 4], head[una + 8]
    segment = head[start:].split(ssep, 1)[0]
    elements = segment.split(esep)
    return elements[2].split(csep, 1)[0].strip() if len(elements) > 2 else ""
