"""A stored booking carries no sensitive SSR or remark: not in the SQLite file, not in its
WAL, and not in any decrypted version (REQUIREMENTS §2: deleted before the first write)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, inspect, select
from sqlalchemy.engine import Engine

from pnrguard.audit.log import InMemoryAuditLog
from pnrguard.domain.model import to_dict
from pnrguard.formats.synth import generate
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.sensitive import SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.ingest import IngestStatus, ingest
from pnrguard.store.db import metadata
from pnrguard.store.deletions import deletion_counts
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking_version

pytestmark = pytest.mark.storage

#: What must never be stored: meal and health codes, and the words carriers write.
FORBIDDEN = [b"MOML", b"KSML", b"HNML", b"AVML", b"WCHR", b"WCHC", b"MEDA", b"BLND", b"DBML", b"WHEELCHAIR"]


def _with_sensitive(conformance_dir: Path) -> bytes:
    """A real carrier sample with sensitive SSRs and a remark added to its first PNR."""
    data = (conformance_dir / "gtas/pnr-messages-2_pnrs_basic.edi").read_bytes()
    extra = b"SSR+MOML:HK:1:DL'\r\nSSR+WCHR:HK:1:DL'\r\nIFT+4:28::DL+PAX NEEDS WHEELCHAIR AT GATE'\r\n"
    marker = b"SSR+AVML:HK:2:DL'\r\n"
    assert marker in data
    return data.replace(marker, marker + extra, 1)


def _stored_blobs(engine: Engine) -> list[bytes]:
    """Every binary value in the database: ciphertexts, wrapped keys, digests."""
    blobs: list[bytes] = []
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in (t for t in metadata.sorted_tables if t.name in present):
            for column in table.columns:
                if isinstance(column.type, LargeBinary):
                    blobs += [bytes(v) for v in conn.execute(select(column)).scalars() if v]
    return blobs


def _leaks(data: bytes, word: bytes, blobs: list[bytes]) -> bool:
    """`word` occurs in `data` other than by chance inside a ciphertext, key or digest.

    A 4-letter code turns up in megabytes of random ciphertext now and then (about once in
    4e9 positions), so a bare search would be flaky; a hit whose surrounding bytes belong
    to a stored binary value is such a chance and is not a leak. A plaintext copy anywhere
    else (a text column, a JSON document, the raw message, a log) is reported.
    """
    start = 0
    while (i := data.find(word, start)) >= 0:
        window = data[max(i - 8, 0) : i + len(word) + 8]
        if not any(window in blob for blob in blobs):
            return True
        start = i + 1
    return False


def test_no_sensitive_data_at_rest(sqlite_engine: Engine, tmp_path: Path, conformance_dir: Path) -> None:
    keystore, clock = InMemoryKeyStore(), FixedClock(dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    audit, sensitive_filter = InMemoryAuditLog(), SensitiveFilter.load()
    messages = [_with_sensitive(conformance_dir)]
    messages += [p.read_bytes() for p in sorted((conformance_dir / "gtas").iterdir())]
    for push in generate(
        7, flights=2, passengers_per_flight=12, base_date=dt.date(2026, 3, 2), sensitive_rate=1.0
    ):
        messages.append(push.pnrgov.encode("utf-8"))
        if push.paxlst:
            messages.append(push.paxlst.encode("utf-8"))
    assert sum(any(w in m for w in FORBIDDEN) for m in messages) >= 3  # the input does carry them

    for m in messages:
        r = ingest(m, engine=sqlite_engine, keystore=keystore, audit=audit,
                   sensitive_filter=sensitive_filter, clock=clock)  # fmt: skip
        assert r.status is IngestStatus.ACCEPTED, r.reason
    with sqlite_engine.connect() as conn:
        day = clock.now().date()
        rows = deletion_counts(conn, start=day, end=day + dt.timedelta(days=1))
    deleted = sum(n for _, _, category, n in rows if category == "elements")
    assert deleted >= 3

    db = tmp_path / "pnrguard.db"
    wal = tmp_path / "pnrguard.db-wal"
    files = [db.read_bytes(), wal.read_bytes() if wal.exists() else b""]
    assert files[1], "expected a WAL file while the engine is open"
    assert b"MFN4TI" in files[0] + files[1]  # positive control: the locator is stored in clear
    blobs = _stored_blobs(sqlite_engine)
    for data in files:
        for word in FORBIDDEN:
            assert not _leaks(data, word, blobs), word
        assert b"wheelchair" not in data.lower()

    with sqlite_engine.connect() as conn:
        repo = BookingRepository(conn, keystore)
        rows = conn.execute(select(booking_version.c.booking_id, booking_version.c.version)).all()
        assert len(rows) > 100
        for bid, version in rows:
            text = json.dumps(to_dict(repo.get(bid, version=version))).encode()
            for word in FORBIDDEN:
                assert word not in text.upper(), (word, bid)

    sqlite_engine.dispose()  # checkpoint the WAL into the file, then look again
    after = db.read_bytes()
    for word in FORBIDDEN:
        assert not _leaks(after, word, blobs), word
