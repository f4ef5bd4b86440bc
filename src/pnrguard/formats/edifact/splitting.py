"""The tokenizer's per-character work, from the optional C accelerator (`_csplit.c`, built
by `make compile`) where it is present, else in pure Python here: a raw segment's elements,
the check that every tag is regular, released characters turned into stand-ins, line breaks
removed (and wrapping detected), where the service segments sit, and all of these at once
(`scan_body`). Both give the same results (tests/unit/formats/test_csplit.py); the pure
versions are what `make test` and `make demo` run on a machine without a compiler.

The accelerator also reads PNRGOV's commonest date and time shapes (`formats/pnrgov/values.py`
uses them; its own functions are their pure twins)."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import re
from typing import Protocol, TypeVar

from pnrguard.formats.edifact.escapes import _RELEASED

_T = TypeVar("_T", bound="tuple[object, ...]")


class Accelerator(Protocol):
    """The functions of the C module (`_csplit`), with the pure versions' signatures."""

    def split_elements(
        self, raw: str, esep: str, csep: str, restore: dict[int, str] | None, /
    ) -> list[list[str]]: ...

    def segment(
        self,
        cls: type[_T],
        tag: str,
        raw: str,
        esep: str,
        csep: str,
        restore: dict[int, str] | None,
        index: int,
        /,
    ) -> _T: ...

    def regular_tags(self, body: str, ssep: str, esep: str, csep: str, /) -> bool: ...

    def stand_ins(self, body: str, rel: str, ssep: str, esep: str, csep: str, /) -> str: ...

    def service_ends(self, body: str, ssep: str, /) -> list[int]: ...

    def unwrap(self, body: str, ssep: str, breaks: str, /) -> tuple[str, bool]: ...

    def scan_body(
        self, body: str, ssep: str, esep: str, csep: str, rel: str, breaks: str, /
    ) -> Scanned | None: ...

    def find_unz(self, text: str, esep: str, start: int, /) -> int: ...

    # PNRGOV's dates and times (formats/pnrgov/values.py): the value, None where the digits
    # name no real day or time, or False for any other shape (the pure function decides).
    def date6(self, value: str, /) -> dt.date | bool | None: ...

    def time(self, value: str, /) -> dt.time | bool | None: ...

    def datetime(self, date_value: str, time_value: str, /) -> dt.datetime | bool | None: ...

    def date7(self, value: str, past: bool, today: dt.date, /) -> dt.date | bool | None: ...


#: What `scan_body` finds: the raw segments (`body.split(ssep)` after line breaks are removed
#: and released characters turned into stand-ins), whether a line break sat inside a segment,
#: whether the release character occurs, whether every tag is regular, whether a raw
#: segment starts with a blank (only said when the tags are not regular: the lazy path never
#: asks) and where the service segments sit (only when the tags are regular, likewise).
Scanned = tuple[list[str], bool, bool, bool, bool, list[int]]


def split_elements_py(raw: str, esep: str, csep: str, restore: dict[int, str] | None) -> list[list[str]]:
    """The elements (lists of components) of `raw` after its tag. Where `restore` is given
    and the segment is not ASCII, stand-ins are translated back to released characters."""
    if restore is not None and not raw.isascii():
        elements = [[c.translate(restore) for c in e.split(csep)] for e in raw.split(esep)]
        del elements[0]
        return elements
    rest = raw.partition(esep)[2]
    if not rest:
        return []
    return [e.split(csep) for e in rest.split(esep)]


_TAG_START = re.compile("[A-Z0-9]{3}")


def regular_tags_py(body: str, ssep: str, esep: str, csep: str) -> bool:
    """Whether every segment starts with a plain tag (three capitals or digits, then a
    separator): then each raw segment's tag is its first three characters, and no raw is
    empty or padded, so the tokenizer's per-segment checks can be skipped."""
    if not body or not _TAG_START.match(body) or body[3:4] not in (esep, csep, ssep, ""):
        return False
    s, e, c = re.escape(ssep), re.escape(esep), re.escape(csep)
    irregular = re.compile(f"{s}(?!\\Z)(?![A-Z0-9]{{3}}(?:{e}|{c}|{s}|\\Z))")
    return irregular.search(body) is None




def stand_ins_py(body: str, rel: str, ssep: str, esep: str, csep: str) -> str:
    """Each release character and the character after it as one stand-in (`escapes._RELEASED`;
    a lone release character's stand-in keeps the character it released), left to right, as
    ISO 9735 reads. One `re.sub` is 8x faster than five `str.replace` (measured)."""
    r_rel, r_seg, r_el, r_comp, r_lone = _RELEASED
    stand_in = {rel: r_rel, ssep: r_seg, esep: r_el, csep: r_comp}.get
    return re.compile(re.escape(rel) + "(.?)", re.S).sub(lambda m: stand_in(m[1]) or r_lone + m[1], body)


def service_ends_py(body: str, ssep: str) -> list[int]:
    """Where each service segment (UNH, UNT, UNZ, UNE, UNG) after the first segment sits
    among the raw segments of `body`: the number of terminators up to the one before it."""
    service: list[int] = []
    pos = 0
    count = 0
    for m in _service_re(ssep).finditer(body):
        count += body.count(ssep, pos, m.start() + 1)
        pos = m.start() + 1
        service.append(count)
    return service


@functools.lru_cache(maxsize=16)
def _service_re(ssep: str) -> re.Pattern[str]:
    """Where a service segment starts in raws joined by `ssep`."""
    return re.compile(re.escape(ssep) + "(?=UN[HTZEG])")


def unwrap_py(body: str, ssep: str, breaks: str) -> tuple[str, bool]:
    """`body` without the characters of `breaks` (line breaks that are not delimiters), and
    whether one sat inside a segment (80-column wrapping, worth recording; one right after
    a terminator is layout)."""
    wrapped = _wrapped(body, ssep, breaks)
    for ch in breaks:
        if ch in body:
            body = body.replace(ch, "")
    return body, wrapped


def _wrapped(body: str, ssep: str, breaks: str) -> bool:
    """Whether a line break sits inside a segment. Counting breaks and breaks right after a
    terminator (C speed) settles the usual case; only a difference needs the scan."""
    for ch in breaks:
        if ch not in body:
            continue
        total = body.count(ch)
        layout = body.count(ssep + ch) + (body.count(ssep + "\r\n") if ch == "\n" else 0)
        if total > layout and re.search("[^" + re.escape(ssep) + "\r\n\t ][" + breaks + "]", body):
            return True
    return False


def scan_body_py(body: str, ssep: str, esep: str, csep: str, rel: str, breaks: str) -> Scanned | None:
    """`unwrap`, `stand_ins`, `str.split`, `regular_tags` and `service_ends` in turn (the C
    version does them in one pass over the text). None when the release character is also
    a line break or the body holds a stand-in character (only the tokenizer's escaped path
    reads those)."""
    if rel and rel in breaks:
        return None
    body, wrapped = unwrap_py(body, ssep, breaks)
    released = bool(rel) and rel in body
    if released:
        if any(c in body for c in _RELEASED):
            return None
        body = stand_ins_py(body, rel, ssep, esep, csep)
    raws = body.split(ssep)
    regular = regular_tags_py(body, ssep, esep, csep)
    service = service_ends_py(body, ssep) if regular else []
    blanks = not regular and (
        body[:1] in (" ", "\t") or re.search(re.escape(ssep) + "[ \t]", body) is not None
    )
    return raws, wrapped, released, regular, blanks, service


def segment_py(
    cls: type[_T], tag: str, raw: str, esep: str, csep: str, restore: dict[int, str] | None, index: int
) -> _T:
    """A `Segment` (`cls`) of `tag`, the elements of `raw` and `index` (the C version builds
    the named tuple without the argument tuple and the copy of `tuple.__new__`)."""
    return tuple.__new__(cls, (tag, split_elements_py(raw, esep, csep, restore), index))


def find_unz_py(text: str, esep: str, start: int) -> int:
    """Where the next UNZ segment's tag and separator start (`boundaries.interchange_starts`)."""
    return text.find("UNZ" + esep, start)


def _accelerated() -> Accelerator | None:
    try:
        # By name: this runs while the package itself is still being imported.
        found: Accelerator = importlib.import_module("pnrguard.formats.edifact._csplit")
    except ImportError:  # not built (no compiler where it was installed): pure Python
        return None
    return found


#: The C module, or None when it was not built.
ACCEL: Accelerator | None = _accelerated()
split_elements = ACCEL.split_elements if ACCEL is not None else split_elements_py
regular_tags = ACCEL.regular_tags if ACCEL is not None else regular_tags_py
stand_ins = ACCEL.stand_ins if ACCEL is not None else stand_ins_py
service_ends = ACCEL.service_ends if ACCEL is not None else service_ends_py
unwrap = ACCEL.unwrap if ACCEL is not None else unwrap_py
scan_body = ACCEL.scan_body if ACCEL is not None else scan_body_py
find_unz = ACCEL.find_unz if ACCEL is not None else find_unz_py
#: `split_elements` when it is the C version, else None (a hot loop inlines the pure one).
split_elements_c = ACCEL.split_elements if ACCEL is not None else None
#: `segment` when it is the C version, else None.
segment_c = ACCEL.segment if ACCEL is not None else None
