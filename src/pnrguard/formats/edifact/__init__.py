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

One module per concept: `model` (delimiters, segments, messages, interchanges, deviations),
`charset` (bytes to text), `boundaries` (raw scans before tokenizing: where interchanges
begin, who sent one), `una` (the service string advice), `escapes` (released characters),
`tokenizer` (raw segments, then elements and components), `envelope` (UNB/UNG/UNH checks
and message bodies), `gc_pause` and `writer`. This module re-exports their API.
"""

from __future__ import annotations

from pnrguard.formats.edifact.boundaries import interchange_starts, peek_sender
from pnrguard.formats.edifact.charset import SYNTAX_CODECS, decode
from pnrguard.formats.edifact.envelope import message_segments, parse_interchange, scan_interchange
from pnrguard.formats.edifact.escapes import _RELEASED, _split_escaped, _unescape
from pnrguard.formats.edifact.gc_pause import gc_paused
from pnrguard.formats.edifact.model import (
    DEFAULT_DELIMITERS,
    MAX_TAG_LEN,
    Delimiters,
    Deviation,
    Interchange,
    Message,
    RawBody,
    Segment,
    safe_tag,
)
from pnrguard.formats.edifact.tokenizer import segment_at, tokenize
from pnrguard.formats.edifact.writer import (
    Element,
    OutgoingMessage,
    RawSegment,
    escape,
    write_interchange,
    write_segment,
)

__all__ = [
    "DEFAULT_DELIMITERS",
    "MAX_TAG_LEN",
    "SYNTAX_CODECS",
    "_RELEASED",
    "Delimiters",
    "Deviation",
    "Element",
    "Interchange",
    "Message",
    "OutgoingMessage",
    "RawBody",
    "RawSegment",
    "Segment",
    "_split_escaped",
    "_unescape",
    "decode",
    "escape",
    "gc_paused",
    "interchange_starts",
    "message_segments",
    "parse_interchange",
    "peek_sender",
    "safe_tag",
    "scan_interchange",
    "segment_at",
    "tokenize",
    "write_interchange",
    "write_segment",
]
