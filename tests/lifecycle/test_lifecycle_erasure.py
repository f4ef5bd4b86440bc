"""Deletion leaves no trace of a booking's name, document number, e-mail or phone.

SQLite: after the retention run deletes the booking, neither the database file nor its WAL
holds those values, nor any byte of the booking's ciphertexts or wrapped keys (the engine
sets ``secure_delete``, so freed pages are zeroed, not left readable).

PostgreSQL: the values are only ever stored encrypted: a scan of every column of every
table, cast to text and as bytes, never finds them (before or after deletion). After
deletion the wrapped keys are gone, so the ciphertext left behind in dead tuples, WAL
segments or backups is undecryptable; and after ``VACUUM FULL`` (a rewrite of each table)
the relation files themselves no longer hold the wrapped keys or the ciphertexts, checked by
reading them with ``pg_read_binary_file`` where the test role may.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import LargeBinary, String, cast, inspect, make_url, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from db_urls import PG_URL
from pnrguard.domain.model import Contact
from pnrguard.protection.retention import months_before
from pnrguard.store.db import make_engine, metadata, upgrade
from pnrguard.store.lifecycle import sealed_key
from pnrguard.store.tables import booking_key, booking_version

pytestmark = pytest.mark.storage

SURNAME = "XOLOTLWIERZBICKA"
DOC = "P9Q8R7S6T5"
EMAIL = "zyx.wvu.lifecycle@example.test"
PHONE = "+491519988776655"
PLAIN = [SURNAME.encode(), DOC.encode(), EMAIL.encode(), PHONE.encode(), b"wierzbicka"]


def _victim() -> object:
    return pnr(
        "SHRED1",
        [person("1", SURNAME, "KUNIGUNDE", doc=DOC)],
        contacts=[
            Contact(kind="email", value=EMAIL, traveller_ref="1"),
            Contact(kind="phone", value=PHONE, traveller_ref="1"),
        ],
    )


def _secrets_of(conn: Connection, bid: str) -> list[bytes]:
    """The booking's stored ciphertexts and wrapped keys: what must vanish from the files."""
    out = [
        bytes(v)
        for v in conn.execute(select(booking_key.c.wrapped).where(booking_key.c.booking_id == bid)).scalars()
    ]
    out += [
        bytes(v)
        for v in conn.execute(select(sealed_key.c.wrapped).where(sealed_key.c.booking_id == bid)).scalars()
    ]
    for r in conn.execute(select(booking_version).where(booking_version.c.booking_id == bid)):
        out += [bytes(r.identity_blob), bytes(r.content_blob)]
    return out


def _sql_scan(conn: Connection, needles: list[bytes], *, binary_only: bool = False) -> list[str]:
    """Every column of every table: text columns as text, binary ones as bytes."""
    found = []
    present = set(inspect(conn).get_table_names())
    for table in (t for t in metadata.sorted_tables if t.name in present):
        for column in table.columns:
            if isinstance(column.type, LargeBinary):
                for v in conn.execute(select(column)).scalars():
                    if v is not None and any(n in bytes(v) for n in needles):
                        found.append(f"{table.name}.{column.name}")
            elif not binary_only:
                for v in conn.execute(select(cast(column, String))).scalars():
                    if v is not None and any(n.decode().lower() in v.lower() for n in needles):
                        found.append(f"{table.name}.{column.name}")
    return found


def _make_and_delete(
    engine: Engine, probe: Callable[[list[bytes]], None] | None = None
) -> tuple[World, str, list[bytes]]:
    w = World(engine)
    bid = w.save(_victim())  # type: ignore[arg-type]
    w.save(pnr("OTHER1", [person("1", "OTHERPERSON")]))
    w.clock.set(T0.replace(year=2026, month=8))  # masked first: the sealed key must go too
    assert w.run().masked == 2
    with engine.connect() as conn:
        secrets = _secrets_of(conn, bid)
        assert len(secrets) == 4  # content key, sealed identity key, identity and content blob
        assert _sql_scan(conn, PLAIN) == []  # never stored in clear, even before deletion
    if probe is not None:
        probe(secrets)
    w.clock.set(T0.replace(year=2031, month=2))
    assert months_before(w.clock.now(), 60) >= T0
    s = w.run()
    assert s.deleted == 2
    return w, bid, secrets


def test_sqlite_file_and_wal_hold_no_trace(sqlite_engine: Engine, tmp_path: Path) -> None:
    db, wal = tmp_path / "pnrguard.db", tmp_path / "pnrguard.db-wal"

    def files() -> bytes:
        return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    def positive_control(secrets: list[bytes]) -> None:  # the probe below can see them
        assert all(blob[13:45] in files() for blob in secrets)

    _w, bid, secrets = _make_and_delete(sqlite_engine, positive_control)
    for data in (db.read_bytes(), wal.read_bytes() if wal.exists() else b""):
        low = data.lower()
        for value in PLAIN:
            assert value.lower() not in low
    with sqlite_engine.connect() as conn:
        assert _sql_scan(conn, PLAIN) == []
        assert _secrets_of(conn, bid) == []
    sqlite_engine.dispose()  # checkpoint the WAL into the file, then look again
    data = db.read_bytes()
    for value in PLAIN:
        assert value.lower() not in data.lower()
    for blob in secrets:  # secure_delete zeroed the freed cells: not even ciphertext is left
        assert blob[13:45] not in data


@pytest.fixture
def own_pg_database() -> Iterator[Engine]:
    """A PostgreSQL database of its own, not just a schema: VACUUM keeps a dead row while any
    transaction in the same database might still see it, and the other tests running in
    parallel in the shared `test` database hold such transactions. Alone in its database
    (and once starting backends elsewhere have let go, see the test), VACUUM FULL removes
    every dead row, which is what this test proves."""
    if PG_URL == "skip":
        pytest.skip("PostgreSQL disabled by PNRGUARD_TEST_PG_URL=skip")
    name = f"pnrguard_shred_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_holds_no_plaintext_and_no_keys(own_pg_database: Engine) -> None:
    engine = own_pg_database
    _w, _bid, secrets = _make_and_delete(engine)
    with engine.connect() as conn:
        assert _sql_scan(conn, PLAIN) == []
        assert (
            _sql_scan(conn, [s[13:45] for s in secrets], binary_only=True) == []
        )  # no ciphertext or key left in any row
    # Rewrite the tables, then read their files where permitted. VACUUM keeps a dead row
    # while any snapshot might still see it; besides this database's own backends that
    # includes, for a moment, every backend of the cluster that is still starting up (it
    # reads catalogs before it belongs to a database), and the parallel tests open many.
    # So rewrite again, a bounded number of times, until the horizon has passed.
    data = b""
    for _attempt in range(20):
        data = _vacuum_and_read(engine)
        if not any(blob[13:45] in data for blob in secrets):
            break
        time.sleep(0.25)
    assert data, "expected to read the relation files"
    for value in PLAIN:
        assert value not in data
    for blob in secrets:
        assert blob[13:45] not in data


def _vacuum_and_read(engine: Engine) -> bytes:
    tables = ("booking_key", "sealed_key", "booking_version", "booking")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in tables:
            conn.execute(text(f"VACUUM FULL {t}"))
    with engine.connect() as conn:
        try:
            files = []
            for t in tables:
                path = conn.execute(
                    text("SELECT pg_relation_filepath(CAST(:t AS regclass))"), {"t": t}
                ).scalar_one()
                files.append(
                    bytes(conn.execute(text("SELECT pg_read_binary_file(:p)"), {"p": path}).scalar_one())
                )
        except DBAPIError:
            pytest.skip("this role may not read relation files; the SQL scan above is the proof")
    return b"".join(files)
