"""Finding a traveller by name and date of birth for a rights request: the cost of the
bounded decrypt-and-compare in `service.person_lookup.find_bookings_for_person`.

    .venv/bin/python bench/rights_lookup.py            # N = 10,000 and 20,000 (the bound), SQLite
    .venv/bin/python bench/rights_lookup.py --quick    # N = 2,000

Why: until the blind index lands, a DPO's search decrypts every active booking of the window;
the bound (`MAX_SCAN`) is only acceptable if a full window answers within seconds. The peer
(GTAS) has no look-up over encrypted names to compare with; the figure is absolute.

How: N synthetic bookings saved through `BookingRepository.save_version` (real key store,
real AES-GCM) into a fresh SQLite file, then one look-up for a person on none of them (the
worst case: every booking decrypted and compared), timed three times, best kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pnrguard.domain.model import Booking, Leg, Source, Traveller
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.service.person_lookup import find_bookings_for_person
from pnrguard.store.db import make_engine, upgrade
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, new_id

T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def _seed(n: int, url: str, ks: InMemoryKeyStore) -> None:
    engine = make_engine(url)
    upgrade(engine)
    leg = Leg(carrier="XY", flight_number="1", origin="FRA", destination="JFK")
    with engine.begin() as conn:
        mid = new_id()
        MessageRepository(conn, ks).add(
            message_id=mid, received_at=T0, sha256=mid.encode()[:32], size=1, channel="bench",
            status=MessageStatus.ACCEPTED,
        )  # fmt: skip
        repo = BookingRepository(conn, ks, now=T0)
        for i in range(n):
            b = Booking(
                source=Source.PNR, carrier="XY", locator=f"B{i:07d}", reported_flight=leg,
                travellers=[
                    Traveller(ref="1", surname=f"SURNAME{i}", given_names="ANNA",
                              date_of_birth=dt.date(1950 + i % 50, 1 + i % 12, 1 + i % 28)),
                    Traveller(ref="2", surname=f"OTHER{i}", given_names="PIOTR"),
                ],
            )  # fmt: skip
            repo.save_version(b, message_id=mid, received_at=T0)
    engine.dispose()


def _measure(n: int) -> tuple[float, int]:
    ks = InMemoryKeyStore()
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{Path(d) / 'bench.db'}"
        _seed(n, url, ks)
        engine = make_engine(url)
        best = float("inf")
        scanned = 0
        for _ in range(3):
            with engine.connect() as conn:
                t = time.perf_counter()
                r = find_bookings_for_person(conn, ks, surname="NOBODY", date_of_birth=dt.date(1900, 1, 1))
                best = min(best, time.perf_counter() - t)
                scanned = r.scanned
        engine.dispose()
    return best, scanned


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--n", type=int, action="append")
    args = p.parse_args()
    sizes = args.n or ([2_000] if args.quick else [10_000, 20_000])
    t = Table(title="rights look-up: decrypt-and-compare (SQLite, one core)")
    for col in ("bookings", "seconds", "ms per 1,000 bookings"):
        t.add_column(col, justify="right")
    for n in sizes:
        secs, scanned = _measure(n)
        assert scanned == n
        t.add_row(f"{n:,}", f"{secs:.2f}", f"{secs * 1000 / n * 1000:.0f}")
    Console().print(t)


if __name__ == "__main__":
    main()
