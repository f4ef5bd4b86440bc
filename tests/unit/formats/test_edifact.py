"""EDIFACT tokenizer: the release-character fast path reads exactly as the plain algorithm."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pnrguard.errors import EdifactError
from pnrguard.formats.edifact import (
    _RELEASED,
    MAX_TAG_LEN,
    Segment,
    _split_escaped,
    _unescape,
    tokenize,
)

pytestmark = pytest.mark.unit


def _reference(text: str) -> list[tuple[str, list[list[str]], int]] | str:
    """The tokenizer's segments by the plain algorithm: re-join pieces split at a released
    separator, at every level, then unescape each component (UNB only: default delimiters)."""
    rel, ssep, esep, csep = "?", "'", "+", ":"
    body = text.replace("\r", "").replace("\n", "")
    out: list[tuple[str, list[list[str]], int]] = []
    for raw in _split_escaped(body, ssep, rel):
        if raw[:1] in (" ", "\t"):
            raw = raw.lstrip(" \t")
        if not raw:
            continue
        if rel in raw:
            elements = [
                [_unescape(c, rel) for c in _split_escaped(e, csep, rel)]
                for e in _split_escaped(raw, esep, rel)
            ]
            tag = elements[0][0]
            del elements[0]
        else:
            tag, _, rest = raw.partition(esep)
            elements = [e.split(csep) for e in rest.split(esep)] if rest else []
            tag = tag.partition(csep)[0]
        if len(tag) != MAX_TAG_LEN or not tag.isalnum():
            tag = tag.strip()
        out.append((tag, elements, len(out)))
    return out or "no segments"


def _ours(text: str) -> list[tuple[str, list[list[str]], int]] | str:
    try:
        _, segments, _ = tokenize(text)
    except EdifactError:
        return "no segments"
    return [(s.tag, s.elements, s.index) for s in segments]


# Release characters in runs, before every separator and at the very end; the stand-ins
# the fast path uses must fall back when the text holds them itself.
_ALPHABET = st.sampled_from(["?", "??", "'", "+", ":", " ", "\t", "\n", "A", "B", "é", "SSR", *_RELEASED])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_release_characters_read_as_the_plain_algorithm(body: str) -> None:
    text = "UNB+UNOC:4+A+B+250101:0000+1'" + body
    assert _ours(text) == _reference(text)


@pytest.mark.parametrize(
    ("body", "elements"),
    [
        ("IFT+4:28+CTCP ?+33 1?:2?'3??'", [["4", "28"], ["CTCP +33 1:2'3?"]]),
        ("IFT+A???+B'", [["A?+B"]]),  # an odd run releases the separator after it
        ("IFT+A????+B'", [["A??"], ["B"]]),  # an even run does not
        ("IFT+?A?", [["A"]]),  # a release before a plain character, and a dangling one
        ("IFT+X\x81Y?+Z'", [["X\x81Y+Z"]]),  # a stand-in in the text: the plain algorithm
    ],
)
def test_release_examples(body: str, elements: list[list[str]]) -> None:
    _, segments, _ = tokenize("UNB+UNOC:4+A+B+250101:0000+1'" + body)
    assert segments[-1] == Segment("IFT", elements, 1)
