"""Raw scans of a push before any tokenizing: where each interchange begins, and who sent
an interchange that cannot be read."""

from __future__ import annotations

from pnrguard.formats.edifact.model import (
    DEFAULT_DELIMITERS,
)
from pnrguard.formats.edifact.splitting import find_unz


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
        # `find_unz` (memchr speed for its Z, with the C accelerator) for UNZ, then a look
        # back for the terminator before it: one pass over the push (bench/parse.py).
        unz = find_unz(text, esep, head)
        while unz != -1:
            back = unz - 1
            while back >= head and text[back] in "\r\n\t " and text[back] != ssep:
                back -= 1
            if back >= head and text[back] == ssep:
                break
            unz = find_unz(text, esep, unz + 1)
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
