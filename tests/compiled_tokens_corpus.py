"""The blind-index rows the compiled and the pure-Python builds must derive identically:
every stored row of `search_index.booking_tokens` over synthetic PNRGOV and PAXLST traffic
(twice, the second time with every memo warm), and the search terms of typed names,
documents, contacts and cards.

`python tests/compiled_tokens_corpus.py` prints them as JSON lines (run under the
pure-Python build by tests/unit/service/test_compiled_tokens.py, which compares them with
its own)."""

from __future__ import annotations

import datetime as dt
import json
import sys

from pnrguard.formats.reader import read_message
from pnrguard.formats.synth import generate
from pnrguard.screening.blind_index import Tokeniser
from pnrguard.service.search_index import booking_tokens

KEY = bytes(range(32))
NAMES = ["WANG", "Lei", "de la Cruz", "MÜLLER-LÜDENSCHEIDT", "Seyyed Reza", "O'NEIL", "  ", "ABD AL"]
TERMS = ["E1234567", "e-123 456", "+49 (170) 123-4567", "A@X.org ", "4111 1111 1111 1111", "12", ""]


def rows() -> str:
    tok = Tokeniser(KEY)
    out: list[str] = []
    for seed in (3, 11):
        bookings = []
        for push in generate(seed, flights=3, passengers_per_flight=(20, 60), base_date=dt.date(2026, 2, 1)):
            for text in (push.pnrgov, push.paxlst):
                if text:
                    bookings += read_message(text.encode()).bookings
        for round_ in (1, 2):
            for i, b in enumerate(bookings):
                item = booking_tokens(tok, b, f"b{seed}-{i}")
                # Sorted: link rows come out of a set (order varies with the hash seed); the
                # writer sorts them too.
                stored = sorted([t.hex(), f, d, bid, ref] for t, f, d, bid, ref in item.stored)
                out.append(json.dumps([round_, stored, item.day]))
    for name in NAMES:
        for given in (False, True):
            for sounds in (False, True):
                terms = tok.name_terms(name, given=given, sounds_like=sounds)
                out.append(json.dumps([name, given, sounds, [[int(f), t.hex()] for f, t in terms]]))
    for term in TERMS:
        found = [tok.document_term(term), tok.contact_term(term), tok.card_term(term)]
        out.append(json.dumps([term, [None if x is None else [int(x[0]), x[1].hex()] for x in found]]))
    out.append(json.dumps(tok.dob_term(dt.date(1980, 2, 29))[1].hex()))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(rows())
