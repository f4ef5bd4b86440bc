"""Free texts about travellers are encrypted at their first write, from the attacker's side
(issue 10, item 1; Directive (EU) 2016/681 Art. 12(1)-(3); `store/texts.py`).

Every writer a user reaches (review of a hit, its suppression, a transmission's
justification and release, an authority request and its decision, a rectification
decision, an unmasking request and the judge's reason) is called through its service, each
with a marker word of this run planted in its text. Then:

- **right after the write** no marker is anywhere in clear: not in the SQLite file or its
  WAL; on PostgreSQL not in any column, not in a `pg_dump`, not in the relation files and
  not in the WAL written meanwhile (the positive controls: the case reference, a clear
  column written in the same transactions, is found in the same bytes, and the texts open
  through the services);
- **masked**: the texts open for nobody without a decided unmasking, and for the judge's
  decided unmasking they do;
- **after deletion** a copy of the database taken *before* it (the SQLite file; the
  PostgreSQL dump) no longer opens a single text with the node's current key file, though
  it opened every one before (positive control).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from test_lifecycle_copies import _text_scan
from test_lifecycle_periods import _bytea, _dump_rows, own_pg_database  # noqa: F401 (fixture)

from db_urls import PG_URL
from pnrguard.audit.models import Purpose
from pnrguard.errors import CryptoError
from pnrguard.protection.crypto import KeyKind, key_context
from pnrguard.protection.keystore import KeyStore, LocalKeyFileStore, WrappedKey
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.disclosure import (
    add_authority,
    approve_transmission,
    get_transmission,
    propose_transmission,
)
from pnrguard.service.requests import decide_request, get_request, register_request
from pnrguard.service.review import ReviewPolicy
from pnrguard.service.rights import reject_rectification, request_rectification
from pnrguard.service.screening import ReviewDecision, review_hit
from pnrguard.service.text_sealing import TEXT_COLUMNS, seal_clear_texts
from pnrguard.service.unmasking import Principal, approve_unmasking, request_unmasking
from pnrguard.store import hit_notes
from pnrguard.store.db import make_engine
from pnrguard.store.hit_notes import NoteKind
from pnrguard.store.lifecycle import sealed_context
from pnrguard.store.repository import new_id
from pnrguard.store.screening import hit
from pnrguard.store.texts import MASKED_TEXT, TEXT_KEY_CONTEXT, TextKeys, is_sealed, open_text

pytestmark = pytest.mark.storage

ANALYST = Principal("analyst7", frozenset({"analyst"}))
JUDGE = Principal("judge1", frozenset({"judicial"}))


def _tag() -> str:
    return "".join(chr(ord("A") + b % 26) for b in os.urandom(8))


class Texts:
    """One booking and every text about it, written through the services."""

    def __init__(self, engine: Engine, ks: KeyStore) -> None:
        tag = _tag()
        self.case = f"K-{tag}"  # clear column: the positive control for the byte scans
        self.marks = {c: f"{c[:3].upper()}{tag}" for c in ("review", "dismiss", "justify", "release",
                                                           "request", "decision", "rectify",
                                                           "unmask", "judge", "note")}  # fmt: skip
        self.w = w = World(engine, ks=ks)
        self.bid = bid = w.save(pnr("TEXT01", [person("1", f"QX{tag}", doc=f"D{tag}")]))
        w.save(pnr("TEXT02", [person("1", "BYSTANDER")]))
        kw: dict[str, Any] = {"engine": engine, "keystore": ks, "clock": w.clock}
        self.confirmed = w.add_hit(bid, status="open", rule_id="R1")
        self.dismissed = w.add_hit(bid, status="open", rule_id="R2")
        for hid, decision, word in ((self.confirmed, ReviewDecision.CONFIRM, "review"),
                                    (self.dismissed, ReviewDecision.DISMISS, "dismiss")):  # fmt: skip
            review_hit(
                hid, reviewer="analyst", decision=decision, reason=self.says(word), audit=w.audit, **kw
            )
        with engine.begin() as conn:  # an analyst's note on the hit (issue 15's triage)
            hit_notes.add_note(
                conn, keystore=ks, note_id=new_id(), hit_id=self.confirmed, booking_id=bid,
                kind=NoteKind.NOTE, text=self.says("note"), by="analyst", at=w.clock(),
            )  # fmt: skip
        analyst = accounts.create_account(engine, username="ana", role=Role.ANALYST, password="x" * 16,
                                          now=T0)  # fmt: skip
        chief = accounts.create_account(engine, username="sup", role=Role.SUPERVISOR, password="x" * 16,
                                        now=T0)  # fmt: skip
        auth = add_authority(engine, code="POLICE", name="Police", kind="national", now=T0)
        t = propose_transmission(
            user=analyst, authority_id=auth.id, purpose=Purpose.TERRORIST_OFFENCES,
            justification=self.says("justify"), hit_id=self.confirmed, audit=w.audit, node_name="test",
            policy=ReviewPolicy(four_eyes=True), **kw,
        )  # fmt: skip
        approve_transmission(
            t.id, user=chief, reason=self.says("release"), audit=w.audit, node_name="test", **kw
        )
        self.transmission = t.id
        req = register_request(
            user=analyst, authority_id=auth.id, case_reference=self.case, purpose=Purpose.TERRORIST_OFFENCES,
            reason=self.says("request"), **kw,
        )  # fmt: skip
        decide_request(req.id, user=analyst, answered=True, reason=self.says("decision"), **kw)
        self.request = req.id
        rid = request_rectification(
            dpo="dpo1", booking_id=bid, field_path="travellers.0.given_names", channel="letter",
            engine=engine, clock=w.clock,
        )  # fmt: skip
        reject_rectification(rid, dpo="dpo1", reason=self.says("rectify"), **kw)

    def says(self, word: str) -> str:
        return f"the person {self.marks[word]} is the one the case is about"

    def mask_and_unmask(self) -> None:
        """Masked at 6 months; then an unmasking request and the judge's approval."""
        w = self.w
        w.clock.set(T0.replace(month=8))
        w.run()
        assert w.state(self.bid) == "masked"
        now = w.clock.now()
        self.unmasking = request_unmasking(
            requester=ANALYST, purpose=Purpose.TERRORIST_OFFENCES, case_reference=self.case,
            reason=self.says("unmask"), booking_ids=[self.bid], valid_from=now,
            valid_until=now + dt.timedelta(days=2), engine=w.engine, keystore=w.ks, clock=w.clock,
        )  # fmt: skip
        approve_unmasking(
            self.unmasking, judge=JUDGE, decision="approved", reason=self.says("judge"), engine=w.engine,
            keystore=w.ks, audit=w.audit, clock=w.clock,
        )  # fmt: skip

    def needles(self) -> list[bytes]:
        return [m.encode() for m in self.marks.values()]


def _opened(conn: Connection, ks: KeyStore, booking_ids: list[str]) -> str:
    """Every stored text, opened as the strongest reader could: with the key file and a
    decided unmasking for every booking (an attacker holding the database and the key)."""
    keys = TextKeys(conn, ks, unsealed=booking_ids)
    out: list[str] = []
    for tc in TEXT_COLUMNS:
        t = tc.table
        src = t if tc.join is None else t.join(tc.join[0], tc.join[1])
        for r in conn.execute(select(t.c[tc.id_col].label("rid"), t.c[tc.column].label("text"), *tc.extra)
                              .select_from(src)):  # fmt: skip
            owner = str(r.owner) if tc.per_booking else None
            shown = open_text(
                keys, r.text, table=t.name, column=tc.column, row_id=str(r.rid), booking_id=owner
            )
            out.append(shown or "")
    return "\n".join(out)


def _no_marker(data: bytes, world: Texts) -> None:
    low = data.lower()
    for n in world.needles():
        assert n.lower() not in low


def test_texts_are_never_in_the_sqlite_file_or_wal(sqlite_engine: Engine, tmp_path: Path) -> None:
    db, wal = tmp_path / "pnrguard.db", tmp_path / "pnrguard.db-wal"
    ks = LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True)

    def files() -> bytes:
        return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    world = Texts(sqlite_engine, ks)
    assert world.case.encode() in files()  # positive control: the same writes are in these bytes
    _no_marker(files(), world)
    # The texts are there, and open for their readers.
    rec, _ = get_transmission(sqlite_engine, world.transmission, keystore=ks)
    assert world.marks["justify"] in rec.justification
    assert world.marks["release"] in (rec.decision_reason or "")
    req = get_request(sqlite_engine, world.request, keystore=ks)
    assert world.marks["request"] in req.reason
    assert world.marks["decision"] in (req.decision_reason or "")
    world.mask_and_unmask()
    _no_marker(files(), world)
    with sqlite_engine.connect() as conn:
        stored = conn.execute(select(hit.c.review_reason).where(hit.c.id == world.confirmed)).scalar_one()
        assert is_sealed(stored)
        kw = {"table": "hit", "column": "review_reason", "row_id": world.confirmed, "booking_id": world.bid}
        assert open_text(TextKeys(conn, ks), stored, **kw) == MASKED_TEXT  # masked: dark for all
        judged = TextKeys(conn, ks, unsealed=[world.bid])  # a decided unmasking (checked by its caller)
        assert world.marks["review"] in (open_text(judged, stored, **kw) or "")
        assert _text_scan(conn, list(world.marks.values())) == []
    sqlite_engine.dispose()  # checkpoint: the backup below is one consistent file
    backup = tmp_path / "backup.db"
    shutil.copyfile(db, backup)
    copy = make_engine(f"sqlite:///{backup}")
    with copy.connect() as conn:
        before = _opened(conn, ks, [world.bid])
    assert all(m in before for m in world.marks.values())  # positive control: the backup opens
    world.w.clock.set(T0.replace(year=2031, month=3))
    s = world.w.run()
    assert world.w.state(world.bid) == "deleted"
    assert s.periods_destroyed >= 1
    current = LocalKeyFileStore(tmp_path / "keys.json")
    with copy.connect() as conn:
        after = _opened(conn, current, [world.bid])
    copy.dispose()
    assert not any(m in after for m in world.marks.values()), "a pre-deletion backup still opens"
    sqlite_engine.dispose()
    _no_marker(files(), world)


def test_clear_texts_of_before_0017_are_sealed_by_the_cli_step(engine: Engine) -> None:
    """`pnrguard keys seal-texts`: rows written in clear before encryption at write are
    encrypted under the key today's writer would use, once (idempotent), and still open."""
    ks = World(engine).ks
    world = Texts(engine, ks)
    w = world.w
    with engine.begin() as conn:  # a row as an older node wrote it
        conn.execute(hit.update().where(hit.c.id == world.confirmed).values(review_reason="legacy QXLEGACY"))
    done = seal_clear_texts(engine=engine, keystore=ks, audit=w.audit)
    assert done == {"hit.review_reason": 1}
    assert seal_clear_texts(engine=engine, keystore=ks, audit=w.audit) == {}
    with engine.connect() as conn:
        assert _text_scan(conn, ["QXLEGACY", *world.marks.values()]) == []
        stored = conn.execute(select(hit.c.review_reason).where(hit.c.id == world.confirmed)).scalar_one()
        kw = {"table": "hit", "column": "review_reason", "row_id": world.confirmed, "booking_id": world.bid}
        assert open_text(TextKeys(conn, ks), stored, **kw) == "legacy QXLEGACY"


# --- PostgreSQL: columns, a dump, relation files and WAL ----------------------------------

_TEXT_TABLES = (
    "hit", "suppression", "transmission", "authority_request", "rectification_request",
    "unmasking_request", "unmasking_approval", "text_key", "booking_key", "sealed_key",
)  # fmt: skip


def _pg_dump(dbname: str) -> str:
    from sqlalchemy import make_url

    url = make_url(PG_URL)
    return subprocess.run(
        ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U",
         url.username or "postgres", "-n", "public", dbname],
        check=True, capture_output=True, env={**os.environ, "PGPASSWORD": url.password or ""},
    ).stdout.decode("utf-8")  # fmt: skip


_READ_RELATION = text("SELECT pg_read_binary_file(pg_relation_filepath(CAST(:t AS regclass)))")
_READ_FILE = text("SELECT pg_read_binary_file(:p)")


def _files_and_wal(engine: Engine, since: float) -> tuple[bytes, bytes]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CHECKPOINT"))
        try:
            rel = b"".join(
                bytes(conn.execute(_READ_RELATION, {"t": t}).scalar_one())
                for t in _TEXT_TABLES
            )  # fmt: skip
            names = conn.execute(
                text("SELECT name FROM pg_ls_waldir() WHERE modification >= to_timestamp(:s) ORDER BY name"),
                {"s": since - 5},
            ).scalars().all()  # fmt: skip
            wal = b"".join(
                bytes(conn.execute(_READ_FILE, {"p": f"pg_wal/{n}"}).scalar_one())
                for n in names
            )
        except DBAPIError:
            pytest.skip("this role may not read relation files or WAL")
    return rel, wal


def _dumped_keys(dump: str, bid: str) -> list[tuple[WrappedKey, bytes]]:
    """The keys any text of the booking needs, as the dump holds them: the booking's identity
    key (live or sealed) and every month text key."""
    out: list[tuple[WrappedKey, bytes]] = []
    for r in _dump_rows(dump, "booking_key"):
        if r["booking_id"] == bid and r["kind"] == KeyKind.IDENTITY.value:
            ctx = key_context(bid, KeyKind.IDENTITY, int(r["key_version"]))
            out.append((WrappedKey(int(r["kek_version"]), _bytea(r["wrapped"])), ctx))
    for r in _dump_rows(dump, "sealed_key"):
        if r["booking_id"] == bid:
            ctx = sealed_context(bid, int(r["key_version"]), r["tier"])
            out.append((WrappedKey(int(r["kek_version"]), _bytea(r["wrapped"])), ctx))
    for r in _dump_rows(dump, "text_key"):
        ctx = TEXT_KEY_CONTEXT + r["period"].encode("ascii")
        out.append((WrappedKey(int(r["kek_version"]), _bytea(r["wrapped"])), ctx))
    return out


def _opens(ks: KeyStore, keys: list[tuple[WrappedKey, bytes]]) -> list[bool]:
    out = []
    for w, ctx in keys:
        try:
            ks.unwrap(w, context=ctx)
            out.append(True)
        except CryptoError:
            out.append(False)
    return out


def test_postgresql_columns_dump_files_and_wal_never_hold_a_text(
    own_pg_database: tuple[Engine, str],  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    engine, dbname = own_pg_database
    started = time.time()
    ks = LocalKeyFileStore(tmp_path / "keys.json", create_if_missing=True)
    world = Texts(engine, ks)
    world.mask_and_unmask()
    with engine.connect() as conn:
        assert _text_scan(conn, list(world.marks.values())) == []
        assert all(m in _opened(conn, ks, [world.bid]) for m in world.marks.values())  # they are there
    dump = _pg_dump(dbname)  # a backup taken before deletion
    assert world.case in dump  # positive control
    _no_marker(dump.encode(), world)
    keys = _dumped_keys(dump, world.bid)
    assert len(keys) == 2  # the sealed identity key and January's text key
    assert all(_opens(ks, keys))  # positive control: the backup's keys open today
    rel, wal = _files_and_wal(engine, started)
    assert world.case.encode() in rel + wal  # positive control: the same writes are in these bytes
    _no_marker(rel, world)
    _no_marker(wal, world)
    world.w.clock.set(T0.replace(year=2031, month=3))
    s = world.w.run()
    assert world.w.state(world.bid) == "deleted"
    assert s.periods_destroyed >= 1
    current = LocalKeyFileStore(tmp_path / "keys.json")
    assert _opens(current, keys) == [False] * len(keys)  # the backup's texts are dead
    rel, wal = _files_and_wal(engine, started)
    _no_marker(rel, world)
    _no_marker(wal, world)
