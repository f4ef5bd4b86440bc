"""The corpus the compiled and the pure-Python readers must read identically: synthetic
traffic, the conformance samples, our quirky inputs and seeded mutations of all of them.

`python tests/compiled_corpus.py` prints the readings as JSON (run under the pure-Python
build by tests/unit/formats/test_compiled.py, which compares them with its own)."""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "gtas"


def corpus() -> list[bytes]:
    from edifact_inputs import ADULT, DOCS_ADULT, DOCS_INFANT, paxlst, pnr
    from pnrguard.formats.synth import generate

    items: list[bytes] = []
    for push in generate(seed=3, flights=4, passengers_per_flight=(20, 40), base_date=dt.date(2025, 6, 1)):
        items.append(push.pnrgov.encode("utf-8"))
        if push.paxlst:
            items.append(push.paxlst.encode("utf-8"))
    if SHARED.is_dir():
        items.extend(p.read_bytes() for p in sorted(SHARED.iterdir()))
    items += [pnr(ADULT, DOCS_INFANT, DOCS_ADULT).encode(), paxlst("NAD+FL+++A:B'", "LOC+178+MUC'").encode()]
    rng = random.Random(13)
    mutated: list[bytes] = []
    for raw in items:
        for _ in range(6):
            data = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(data))
                op = rng.random()
                if op < 0.4:
                    data[i] = rng.choice(b"+:'?\n ABZ019\xc3\x9c")
                elif op < 0.7:
                    del data[i : i + rng.randint(1, 30)]
                else:
                    data[i:i] = data[i : i + rng.randint(1, 60)]
            mutated.append(bytes(data))
    return items + mutated


def readings() -> str:
    from pnrguard.domain.model import to_dict
    from pnrguard.errors import ParseError
    from pnrguard.formats.reader import read_message

    out: list[object] = []
    for raw in corpus():
        try:
            r = read_message(raw)
        except ParseError as exc:
            out.append(["error", type(exc).__name__, str(exc)])
            continue
        out.append([
            r.message_type, r.version, [to_dict(b) for b in r.bookings],
            to_dict(r.flight) if r.flight else None, [str(d) for d in r.deviations],
            sorted(r.unknown_segments.items()), r.crew,
        ])  # fmt: skip
    return json.dumps(out, sort_keys=True, default=str)


if __name__ == "__main__":
    sys.stdout.write(readings())
