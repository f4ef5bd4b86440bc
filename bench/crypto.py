"""Encryption benchmark: the per-booking envelope cost at ingest and read, one core.

    .venv/bin/python bench/crypto.py [--quick]

One booking = a ~2 KB JSON document split into its identity part (names, contacts,
payment, frequent flyer, API data; ~0.8 KB) and its content part (itinerary, ticketing,
baggage; ~1.2 KB). Per booking we generate two data keys, wrap both (KEK: AES-256-GCM),
encrypt both parts with their keys and AES-256-GCM, then unwrap both keys and decrypt both
parts, which is ingest plus one full read. A second layout encrypts the same 2 KB as 20
separate columns (one ciphertext per column, AAD per column). Baseline: the same workflow
with Fernet (AES-128-CBC + HMAC-SHA256, the usual Python choice), keys wrapped by a Fernet
KEK. Target (REQUIREMENTS): ingest at 2,000 bookings/s, i.e. 500 us per booking for all
work, so encryption should stay a small part of it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from pnrguard.protection.crypto import (
    AssociatedData,
    BookingKeys,
    decrypt_field,
    encrypt_field,
    unwrap_booking_keys,
    wrap_booking_keys,
)
from pnrguard.protection.keystore import InMemoryKeyStore, KeyStore, LocalKeyFileStore


def synthetic_booking(rng: random.Random, i: int) -> tuple[dict[str, object], dict[str, object]]:
    """An identity part and a content part whose JSON totals about 2 KB."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

    def word(n: int) -> str:
        return "".join(rng.choice(letters) for _ in range(n))

    travellers = [
        {
            "surname": word(8),
            "given": word(6),
            "dob": f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "doc": {"type": "P", "number": word(9), "nationality": "FRA", "expiry": "2031-05-01"},
            "ff": {"airline": "AF", "number": str(rng.randint(10**9, 10**10))},
        }
        for _ in range(2)
    ]
    identity: dict[str, object] = {
        "travellers": travellers,
        "contacts": [
            {"type": "EMAIL", "value": f"{word(7).lower()}@example.org"},
            {"type": "PHONE", "value": "+33 6 12 34 56 78"},
        ],
        "address": {
            "street": f"{rng.randint(1, 99)} rue {word(10).title()}",
            "city": "PARIS",
            "zip": "75011",
        },
        "payment": {"type": "CC", "brand": "VI", "last4": str(rng.randint(1000, 9999)), "holder": word(12)},
        "remarks": [f"OSI YY CTCM {word(20)}"],
    }
    content: dict[str, object] = {
        "record_locator": word(6),
        "booking_id": f"bk-{i:08d}",
        "created": "2026-05-01T10:22:31Z",
        "agency": {"iata": "20212345", "city": "PAR"},
        "legs": [
            {
                "carrier": "AF",
                "number": str(rng.randint(100, 9999)),
                "from": "CDG",
                "to": dest,
                "dep": "2026-06-01T09:40",
                "arr": "2026-06-01T12:10",
                "class": "Y",
                "status": "HK",
            }
            for dest in ("JFK", "BOS", "YUL")
        ],
        "tickets": [
            {"number": f"057{rng.randint(10**9, 10**10)}", "issued": "2026-05-01", "fare": "EUR 812.40"}
            for _ in range(2)
        ],
        "seats": ["23A", "23B"],
        "bags": [{"count": 1, "weight_kg": 23, "tag": f"AF{rng.randint(10**5, 10**6)}"} for _ in range(2)],
        "history": [
            {"at": "2026-05-01T10:22:31Z", "action": action, "office": "PARAF08AA"}
            for action in ("CREATE", "TICKET", "SEAT")
        ],
        "svc": [{"code": "SSR DOCS"}, {"code": "SSR CTCE"}],
    }
    return identity, content


@dataclass
class Row:
    name: str
    us_per_booking: float
    note: str = ""


def measure(fn: Callable[[int], None], n: int, repeats: int) -> float:
    """Best-of-`repeats` microseconds per call of `fn` over `n` bookings."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer bookings (for CI)")
    args = parser.parse_args()
    n, repeats = (2_000, 3) if args.quick else (20_000, 5)

    rng = random.Random(681)
    parts = [synthetic_booking(rng, i) for i in range(200)]
    docs = [(json.dumps(a).encode(), json.dumps(b).encode()) for a, b in parts]
    sizes = [len(a) + len(b) for a, b in docs]
    avg_size = sum(sizes) / len(sizes)
    columns = []  # 20 columns of ~100 bytes each, the per-column layout
    for a, b in docs:
        blob = a + b
        step = -(-len(blob) // 20)
        columns.append([blob[k : k + step] for k in range(0, len(blob), step)])

    tmp = tempfile.TemporaryDirectory()
    stores: dict[str, KeyStore] = {
        "in-memory KEK": InMemoryKeyStore(),
        "key file KEK": LocalKeyFileStore(Path(tmp.name) / "keys.json", create_if_missing=True),
    }

    def envelope(store: KeyStore) -> Callable[[int], None]:
        def one(i: int) -> None:
            identity, content = docs[i % len(docs)]
            bid = f"bk-{i:08d}"
            keys = BookingKeys.generate()
            wrapped = wrap_booking_keys(store, keys, booking_id=bid)
            aad_i = AssociatedData("booking", "identity", bid, keys.version)
            aad_c = AssociatedData("booking", "content", bid, keys.version)
            ct_i = encrypt_field(keys.identity, identity, aad=aad_i)
            ct_c = encrypt_field(keys.content, content, aad=aad_c)
            # read back
            back = unwrap_booking_keys(store, wrapped, booking_id=bid)
            assert decrypt_field(back.identity, ct_i, aad=aad_i) == identity
            assert decrypt_field(back.content, ct_c, aad=aad_c) == content

        return one

    def per_column(i: int) -> None:
        store = stores["in-memory KEK"]
        cols = columns[i % len(columns)]
        bid = f"bk-{i:08d}"
        keys = BookingKeys.generate()
        wrapped = wrap_booking_keys(store, keys, booking_id=bid)
        aads = [AssociatedData("booking", f"c{k}", bid, keys.version) for k in range(len(cols))]
        cts = [
            encrypt_field(keys.identity if k < 8 else keys.content, col, aad=aad)
            for k, (col, aad) in enumerate(zip(cols, aads, strict=True))
        ]
        back = unwrap_booking_keys(store, wrapped, booking_id=bid)
        for k, (ct, aad) in enumerate(zip(cts, aads, strict=True)):
            decrypt_field(back.identity if k < 8 else back.content, ct, aad=aad)

    def encrypt_only(i: int) -> None:
        identity, content = docs[i % len(docs)]
        bid = f"bk-{i:08d}"
        keys = BookingKeys.generate()
        wrap_booking_keys(stores["in-memory KEK"], keys, booking_id=bid)
        encrypt_field(keys.identity, identity, aad=AssociatedData("booking", "identity", bid, 1))
        encrypt_field(keys.content, content, aad=AssociatedData("booking", "content", bid, 1))

    kek = Fernet(Fernet.generate_key())

    def fernet(i: int) -> None:
        identity, content = docs[i % len(docs)]
        k1, k2 = Fernet.generate_key(), Fernet.generate_key()
        w1, w2 = kek.encrypt(k1), kek.encrypt(k2)
        c1, c2 = Fernet(k1).encrypt(identity), Fernet(k2).encrypt(content)
        assert Fernet(kek.decrypt(w1)).decrypt(c1) == identity
        assert Fernet(kek.decrypt(w2)).decrypt(c2) == content

    rows = [
        Row(
            "AES-GCM envelope, 2 parts, in-memory KEK",
            measure(envelope(stores["in-memory KEK"]), n, repeats),
            "ingest + full read",
        ),
        Row(
            "AES-GCM envelope, 2 parts, key file KEK",
            measure(envelope(stores["key file KEK"]), n, repeats),
            "+1 stat() per wrap",
        ),
        Row("AES-GCM envelope, ingest only (keys, wrap, encrypt)", measure(encrypt_only, n, repeats), ""),
        Row(
            "AES-GCM envelope, 20 columns, in-memory KEK",
            measure(per_column, n, repeats),
            "ingest + full read",
        ),
        Row("baseline: Fernet envelope, 2 parts", measure(fernet, n, repeats), "AES-CBC + HMAC"),
    ]
    tmp.cleanup()

    table = Table(
        title=f"Envelope encryption, {avg_size:,.0f}-byte booking JSON, one core, best of {repeats} x {n:,}"
    )
    table.add_column("workflow per booking")
    table.add_column("µs / booking", justify="right")
    table.add_column("bookings / s", justify="right")
    table.add_column("note")
    for row in rows:
        table.add_row(row.name, f"{row.us_per_booking:.1f}", f"{1e6 / row.us_per_booking:,.0f}", row.note)
    console = Console(width=120)
    console.print(table)
    console.print(
        f"Python {sys.version.split()[0]}; share of the 500 µs ingest budget (2,000/s): "
        f"{rows[0].us_per_booking / 500:.1%} for ingest + read."
    )


if __name__ == "__main__":
    main()
