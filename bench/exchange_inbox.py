"""The exchange inbox's cost: the menu's count (run on every workspace page an analyst or
supervisor opens) and one folder page, against the queue the old `/exchange` page read.

    .venv/bin/python bench/exchange_inbox.py              # 10,000 and 100,000 messages
    .venv/bin/python bench/exchange_inbox.py --n 20000    # one size

Why: `exchange_inbox.inbox_counts` adds one query to every page of the workspace, so it
must stay far below the 150 ms a page takes; a folder page reads 25 rows of metadata. The
peer here is what `/exchange` did before (`list_queue`: the 200 newest rows, every
direction and status). SQLite file (WAL, `store.db.make_engine`), wall time, median of 20.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

from pnrguard.config import Settings
from pnrguard.service import exchange_inbox as inbox
from pnrguard.service.bootstrap import Node
from pnrguard.store.exchange import exchange_message, peer
from pnrguard.store.repository import new_id

_MIX = (  # (direction, kind, status, weight): a year of a busy PIU, roughly
    ("in", "request", "answered", 30),
    ("in", "request", "awaiting_approval", 1),
    ("in", "answer", "received", 25),
    ("in", "transfer", "received", 8),
    ("out", "request", "answered", 20),
    ("out", "answer", "sent", 12),
    ("out", "transfer", "failed", 1),
    ("out", "answer", "awaiting_second", 1),
)


def _fill(node: Node, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    pid = new_id()
    with node.engine.begin() as conn:
        conn.execute(
            insert(peer).values(
                id=pid, name="b.piu", country="BE", kind="member_state", third_country=False,
                url="https://b.example", keyid="0" * 64, signing_key=b"\0" * 32, cert_pem="-",
                cert_fingerprint="0" * 64, cert_not_after=now + dt.timedelta(days=365), ca_pem="-",
                created_at=now, revoked=False,
            )
        )  # fmt: skip
        pattern = [m for m in _MIX for _ in range(m[3])]
        rows = []
        for i in range(n):
            direction, kind, status, _ = pattern[i % len(pattern)]
            rows.append({
                "id": new_id(), "direction": direction, "peer_id": pid, "message_id": new_id(), "kind": kind,
                "purpose": "terrorist_offences", "case_ref": f"C-{i}", "handling": ["H0"], "records": 1,
                "masked_records": 0, "status": status, "created_at": now - dt.timedelta(minutes=i),
                # Unread: only the newest received ones (people open what arrives).
                "decided_by": None if i < 60 or status != "received" else "x",
                "kek_version": 1, "wrapped_key": b"k", "payload": b"p",
            })  # fmt: skip
            if len(rows) == 5000:
                conn.execute(insert(exchange_message), rows)
                rows = []
        if rows:
            conn.execute(insert(exchange_message), rows)


def _median_ms(fn: Callable[[], object], runs: int = 20) -> float:
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, action="append")
    sizes = ap.parse_args().n or [10_000, 100_000]
    table = Table("messages", "menu count (ms)", "folder page (ms)", "old queue, 200 rows (ms)", "page / old")
    for n in sizes:
        with tempfile.TemporaryDirectory() as d:
            base = Path(d)
            node = Node.from_settings(
                Settings(database_url=SecretStr(f"sqlite:///{base / 'b.db'}"), key_file=base / "keys.json")
            )
            try:
                _fill(node, n)
                count = _median_ms(lambda node=node: inbox.inbox_counts(node))  # type: ignore[misc]
                folder = _median_ms(lambda node=node: inbox.list_folder(node, inbox.Folder.ANSWERS))  # type: ignore[misc]
                old = _median_ms(lambda node=node: inbox.list_queue(node))  # type: ignore[misc]
            finally:
                node.close()
        table.add_row(f"{n:,}", f"{count:.2f}", f"{folder:.2f}", f"{old:.2f}", f"{folder / old:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
