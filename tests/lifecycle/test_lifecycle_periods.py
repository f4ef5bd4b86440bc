"""Per-period key-encryption keys: deleting a month's bookings destroys that month's KEK, so
dead rows, WAL segments and backups of the month stop opening with the current key file
(issue 10, item 8; DESIGN.md, "Per-period key-encryption keys").

The PostgreSQL proof takes the attacker's side: a `pg_dump` taken *before* deletion, the
relation files and the WAL segments written meanwhile, each read *after* deletion with the
node's current key file. Every wrapped key of a deleted booking found in them (booking
keys, the sealed identity key, the exchange copy's key) is tried against the key file and
must fail, and none of the traveller's name, document or e-mail is in them in clear.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import make_url, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from test_lifecycle_copies import _world

from db_urls import PG_URL
from pnrguard.audit.models import Operation
from pnrguard.errors import CryptoError
from pnrguard.protection.crypto import KeyKind, key_context
from pnrguard.protection.keystore import KeyStore, LocalKeyFileStore, WrappedKey
from pnrguard.store.copies import PAYLOAD_CONTEXT, SEALED_PAYLOAD_CONTEXT
from pnrguard.store.db import make_engine, upgrade
from pnrguard.store.lifecycle import sealed_context
from pnrguard.store.tables import booking_key

pytestmark = pytest.mark.storage


def _keyfile_world(engine: Engine, tmp_path: Path) -> World:
    return World(engine, ks=LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True))


def test_a_months_kek_dies_with_its_last_booking(engine: Engine, tmp_path: Path) -> None:
    w = _keyfile_world(engine, tmp_path)
    jan = w.save(pnr("JAN001", [person("1", "JANUARYPERSON")]))
    feb = w.save(pnr("FEB001", [person("1", "FEBRUARYPERSON")]), at=T0 + dt.timedelta(days=30))
    assert w.ks.periods() == ("2026-01", "2026-02")
    with engine.connect() as conn:
        rows = conn.execute(select(booking_key).where(booking_key.c.booking_id == jan)).all()
    assert {w.ks.period_of(WrappedKey(r.kek_version, bytes(r.wrapped))) for r in rows} == {"2026-01"}
    # A rotation gives the live periods a new version; rewrap and retire keep working.
    assert isinstance(w.ks, LocalKeyFileStore)
    w.ks.rotate()
    w.clock.set(T0.replace(year=2031, month=2, day=1))  # January is past 5 years, February is not
    s = w.run()
    assert w.state(jan) == "deleted"
    assert w.state(feb) != "deleted"
    assert s.periods_destroyed == 1
    assert w.ks.periods() == ("2026-02",)
    for r in rows:  # the rows a backup still holds
        with pytest.raises(CryptoError, match="destroyed"):
            w.ks.unwrap(
                WrappedKey(r.kek_version, bytes(r.wrapped)),
                context=key_context(jan, KeyKind(r.kind), r.key_version),
            )
    again = LocalKeyFileStore(tmp_path / "keys.json")  # durable, and never recreated
    assert "2026-01" not in again.periods()
    with pytest.raises(CryptoError):
        again.wrap(b"\0" * 32, context=b"x", period="2026-01")
    entries = [e for e in w.entries(Operation.KEY_DESTRUCTION) if e.reference == "period:2026-01"]
    assert len(entries) == 1
    assert entries[0].record_ids == ()
    assert w.run().periods_destroyed == 0  # idempotent


def test_master_wrapped_keys_of_before_the_periods_still_open(engine: Engine, tmp_path: Path) -> None:
    """Existing data: a booking whose keys were wrapped under the master KEK (format 1)
    keeps opening, and its period is simply never destroyed for it."""
    w = _keyfile_world(engine, tmp_path)
    bid = w.save(pnr("OLD001", [person("1", "OLDPERSON")]))
    with engine.begin() as conn:
        for r in conn.execute(select(booking_key).where(booking_key.c.booking_id == bid)).all():
            ctx = key_context(bid, KeyKind(r.kind), r.key_version)
            raw = w.ks.unwrap(WrappedKey(r.kek_version, bytes(r.wrapped)), context=ctx)
            legacy = w.ks.wrap(raw, context=ctx)
            assert w.ks.period_of(legacy) is None
            conn.execute(
                booking_key.update()
                .where(booking_key.c.booking_id == bid, booking_key.c.kind == r.kind)
                .values(kek_version=legacy.kek_version, wrapped=legacy.blob)
            )
    assert w.get(bid).travellers[0].surname == "OLDPERSON"


# --- PostgreSQL: dump, relation files and WAL read after deletion -------------------------


@pytest.fixture
def own_pg_database() -> Iterator[tuple[Engine, str]]:
    """A database of its own (see test_lifecycle_erasure.py for why VACUUM needs one)."""
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    name = f"pnrguard_period_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(eng)
        yield eng, name
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


_COPY = re.compile(r"^COPY public\.(\w+) \(([^)]*)\) FROM stdin;$")


def _dump_rows(dump: str, table: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    lines = iter(dump.splitlines())
    for line in lines:
        m = _COPY.match(line)
        if not m or m.group(1) != table:
            continue
        cols = [c.strip().strip('"') for c in m.group(2).split(",")]
        for row in lines:
            if row == "\\.":
                break
            rows.append(dict(zip(cols, row.split("\t"), strict=True)))
    return rows


def _bytea(value: str) -> bytes:
    assert value.startswith("\\\\x"), value[:8]
    return bytes.fromhex(value[3:])


def _dumped_keys(dump: str, bid: str, copy_ids: list[str]) -> list[tuple[WrappedKey, bytes, bool]]:
    """Every wrapped key of the booking and of its copies in the dump: (key, context, sealed)."""
    out: list[tuple[WrappedKey, bytes, bool]] = []
    for r in _dump_rows(dump, "booking_key"):
        if r["booking_id"] == bid:
            ctx = key_context(bid, KeyKind(r["kind"]), int(r["key_version"]))
            out.append((WrappedKey(int(r["kek_version"]), _bytea(r["wrapped"])), ctx, False))
    for r in _dump_rows(dump, "sealed_key"):
        if r["booking_id"] == bid:
            ctx = sealed_context(bid, int(r["key_version"]), r["tier"])
            out.append((WrappedKey(int(r["kek_version"]), _bytea(r["wrapped"])), ctx, True))
    for r in _dump_rows(dump, "exchange_message"):
        if r["id"] in copy_ids:
            sealed = r["lifecycle"] == "masked"
            prefix = SEALED_PAYLOAD_CONTEXT if sealed else PAYLOAD_CONTEXT
            out.append(
                (
                    WrappedKey(int(r["kek_version"]), _bytea(r["wrapped_key"])),
                    prefix + r["id"].encode(),
                    sealed,
                )
            )
    return out


def _opens(ks: KeyStore, keys: list[tuple[WrappedKey, bytes, bool]]) -> list[bool]:
    out = []
    for w, ctx, _sealed in keys:
        try:
            ks.unwrap(w, context=ctx)
            out.append(True)
        except CryptoError:
            out.append(False)
    return out


def _read_files(engine: Engine, since: float) -> tuple[bytes, bytes]:
    """(relation files of the booking tables, WAL segments written since `since`)."""
    tables = ("booking_key", "sealed_key", "booking_version", "exchange_message", "hit")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in tables:
            conn.execute(text(f"VACUUM FULL {t}"))
        conn.execute(text("CHECKPOINT"))
        try:
            rel = b"".join(
                bytes(
                    conn.execute(
                        text("SELECT pg_read_binary_file(pg_relation_filepath(CAST(:t AS regclass)))"),
                        {"t": t},
                    ).scalar_one()
                )
                for t in tables
            )
            names = (
                conn.execute(
                    text(
                        "SELECT name FROM pg_ls_waldir() WHERE modification >= to_timestamp(:s) ORDER BY name"
                    ),
                    {"s": since - 5},
                )
                .scalars()
                .all()
            )
            wal = b"".join(
                bytes(conn.execute(text("SELECT pg_read_binary_file(:p)"), {"p": f"pg_wal/{n}"}).scalar_one())
                for n in names
            )
        except DBAPIError:
            pytest.skip("this role may not read relation files or WAL")
    return rel, wal


def test_postgresql_dump_files_and_wal_do_not_open_after_deletion(
    own_pg_database: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, dbname = own_pg_database
    started = time.time()
    ks = LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True)
    # Values of this run only: the WAL is the cluster's, and other tests (and earlier runs)
    # write their own travellers into it.
    tag = "".join(chr(ord("A") + b % 26) for b in os.urandom(10))
    who = (f"QX{tag}", f"D{tag}", f"{tag.lower()}@example.test")
    plain = [v.encode() for v in who]
    w, bid, ids = _world(engine, ks=ks, texts=False, who=who)
    w.clock.set(T0.replace(month=8))
    w.run()  # masked: the sealed identity key and the sealed copy key exist now
    copy_ids = [ids["sent"], ids["received"], ids["asked"]]
    url = make_url(PG_URL)
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            "-n",
            "public",
            dbname,
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
    ).stdout.decode("utf-8")
    keys = _dumped_keys(dump, bid, copy_ids)
    assert len(keys) == 5  # content key, sealed identity key, three sealed copy keys
    assert all(_opens(w.ks, keys))  # positive control: the dump opens with today's key file
    for value in plain:
        assert value.decode() not in dump
    # Five years on: the booking (and everything else received in January) is deleted.
    w.clock.set(T0.replace(year=2031, month=3))
    s = w.run()
    assert w.state(bid) == "deleted"
    assert s.periods_destroyed >= 1
    current = LocalKeyFileStore(tmp_path / "keys.json")
    assert _opens(current, keys) == [False] * len(keys)  # the old backup is dead
    rel, wal = _read_files(engine, started)
    blobs = [k.blob for k, _c, _s in keys]
    print("WAL bytes read", len(wal), "keys seen", sum(b[-32:] in wal for b in blobs))
    assert any(b[-32:] in wal for b in blobs)  # control: the WAL did see the keys
    for data in (rel, wal):
        for value in plain:
            assert value not in data
    # Whatever wrapped key of the booking the WAL still holds, it does not open either.
    assert _opens(current, [k for k in keys if k[0].blob[-32:] in wal]) == [False] * sum(
        1 for k in keys if k[0].blob[-32:] in wal
    )
