"""The sensitive-data corpus through every path text takes into storage (issue 10):

- file ingest: the corpus written as PNRGOV by our writer, read by our reader, stored by
  `service.ingest` (the push API's worker calls the same function: tests/gateway/
  test_sensitive_push.py);
- rectification: a DPO's corrected value goes through the same filter;
- and item 3: a one-booking message leaves no category name or count on any row or audit
  entry tied to that booking; deletions show only in the per-carrier, per-day counts.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from pnrguard.audit.log import AuditLog
from pnrguard.domain.model import Booking, Remark
from pnrguard.formats.reader import read_message
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.protection.minimise import minimise
from pnrguard.protection.sensitive import Category, SensitiveFilter
from pnrguard.service.clock import FixedClock
from pnrguard.service.dpo import statistics, statistics_rows
from pnrguard.service.ingest import IngestStatus, ingest
from pnrguard.service.rights import apply_rectification, request_rectification
from pnrguard.store.audit import SqlAuditLog, audit_entry
from pnrguard.store.repository import BookingRepository
from pnrguard.store.tables import booking, message
from sensitive_corpus import base_booking, corpus_message, load, survives, value_at

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
FILTER = SensitiveFilter.load()
ITEMS = load()
PLANTED = [i for i in ITEMS if i.expect == "delete"]
KEPT = [i for i in ITEMS if i.expect == "keep"]


class World:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ks = InMemoryKeyStore()
        self.clock = FixedClock(T0)

    def audit(self, conn: Connection) -> AuditLog:
        return SqlAuditLog(conn, origin="pnrguard.test/piu", clock=self.clock)

    def ingest(self, raw: bytes) -> list[str]:
        r = ingest(raw, engine=self.engine, keystore=self.ks, audit=self.audit,
                   sensitive_filter=FILTER, clock=self.clock)  # fmt: skip
        assert r.status is IngestStatus.ACCEPTED, r.reason
        return list(r.booking_ids)

    def stored(self) -> dict[str, Booking]:
        with self.engine.connect() as conn:
            repo = BookingRepository(conn, self.ks)
            rows = conn.execute(select(booking.c.id, booking.c.locator)).all()
            return {r.locator: repo.get(r.id) for r in rows}


def test_the_corpus_through_file_ingest(engine: Engine) -> None:
    w = World(engine)
    raw, where = corpus_message(ITEMS, prepared=T0)
    baseline = {b.locator: b for b in read_message(raw).bookings}  # the reader, no filter
    w.ingest(raw)
    stored = w.stored()
    assert set(stored) == set(where)  # every booking kept, however much was deleted from it
    reached = 0
    for locator, item in where.items():
        if item.expect == "delete":
            reached += survives(item.term, baseline[locator])
            assert not survives(item.term, stored[locator]), (item.field, item.text)
        elif value_at(minimise(baseline[locator])[0], item) == item.text:
            # Kept by Annex I minimisation (general remarks are not: C-817/19), so the
            # filter must not lose it either.
            assert value_at(stored[locator], item) == item.text, (item.field, item.text)
    # The writer and reader carry most fields: most planted items did reach the filter.
    assert reached >= 0.8 * len(PLANTED), reached


_PATHS = {
    "remark.text": "remarks.0.text",
    "history.text": "history.0.text",
    "contact.value": "contacts.0.value",
    "payment.holder": "payments.0.holder",
    "address.street": "addresses.0.street",
    "billing.street": "payments.0.billing_address.street",
    "agency.location": "agency.location",
    "ticket.fare_calculation": "tickets.0.fare_calculation",
    "ff.tier": "travellers.0.frequent_flyers.0.tier",
    "traveller.given_names": "travellers.0.given_names",
    "traveller.surname": "travellers.0.surname",
    "traveller.birth_place": "travellers.0.birth_place",
}


def test_rectified_text_goes_through_the_filter(engine: Engine) -> None:
    w = World(engine)
    # General remarks are never stored (Annex I as C-817/19 reads it): nothing to rectify there.
    items = [i for i in PLANTED if i.field in _PATHS and i.field != "remark.text"][:60]
    assert len(items) >= 40
    fillers = [dataclass_keep() for _ in range(len(items) + 1)]
    raw, _ = corpus_message(fillers, prepared=T0)  # one ordinary booking per item, and one more
    ids = w.ingest(raw)
    for item, bid in zip(items, ids, strict=False):
        rid = request_rectification(
            dpo="dpo1", booking_id=bid, field_path=_PATHS[item.field], channel="letter",
            engine=engine, clock=w.clock,
        )  # fmt: skip
        apply_rectification(
            rid, dpo="dpo1", value=item.text, reason="traveller's letter", engine=engine,
            keystore=w.ks, audit=w.audit, clock=w.clock,
        )  # fmt: skip
        with engine.connect() as conn:
            now = BookingRepository(conn, w.ks).get(bid)
        assert not survives(item.term, now), (item.field, item.text)
    bid = ids[-1]
    kept = next(i for i in KEPT if i.field == "payment.holder")
    rid = request_rectification(
        dpo="dpo1", booking_id=bid, field_path="payments.0.holder", channel="letter",
        engine=engine, clock=w.clock,
    )  # fmt: skip
    apply_rectification(
        rid, dpo="dpo1", value=kept.text, reason="r", engine=engine, keystore=w.ks, audit=w.audit,
        clock=w.clock,
    )  # fmt: skip
    with engine.connect() as conn:
        assert BookingRepository(conn, w.ks).get(bid).payments[0].holder == kept.text


def dataclass_keep() -> object:
    from sensitive_corpus import Item

    return Item("keep", "", "", "remark.text", "TKT BY 15JAN", "")


CATEGORY_NAMES = [c.value for c in Category]


def test_a_one_booking_message_leaves_no_category_on_its_rows(sqlite_engine: Engine, tmp_path: Path) -> None:
    w = World(sqlite_engine)
    b = base_booking(locator="ONE001")
    b.remarks.append(Remark(kind="OSI", text="MUSLIM PAX 7 MONTHS PREGNANT"))
    from pnrguard.formats.pnrgov import write_pnrgov

    text = write_pnrgov([b], flight=b.itinerary[0], sender="XX", recipient="PIU", prepared=T0)
    raw = text.encode("latin-1")
    [bid] = w.ingest(raw)
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(message)).one()
        assert row.sensitive == {}
        entries = conn.execute(select(audit_entry)).all()
    tied = [e for e in entries if bid in json.loads(e.record_ids) or e.reference == row.id]
    assert tied
    for e in tied:
        assert "sensitive" not in e.counts
        for name in CATEGORY_NAMES:
            assert name not in e.counts
    # The raw database file and its WAL: no category as a JSON key or an audit count key.
    data = (tmp_path / "pnrguard.db").read_bytes()
    wal = tmp_path / "pnrguard.db-wal"
    data += wal.read_bytes() if wal.exists() else b""
    for name in CATEGORY_NAMES:
        assert re.search(rb'"(sensitive\.)?' + name.encode() + rb'"\s*:', data) is None, name
    # Only the per-carrier, per-day aggregate knows, and the DPO sees "<5".
    report = statistics(sqlite_engine, start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1))
    shown = {key: value for section, key, value in statistics_rows(report) if section == "sensitive_deleted"}
    day = T0.date().isoformat()
    assert shown[f"{day} XX health"] == "<5"
    assert shown[f"{day} XX religious_or_philosophical_beliefs"] == "<5"
    assert set(shown.values()) == {"<5"}


def test_aggregate_counts_add_up_and_show_when_large(engine: Engine) -> None:
    w = World(engine)
    bookings = []
    for n in range(7):
        b = base_booking(locator=f"AGG{n:03d}")
        b.remarks.append(Remark(kind="OSI", text="PAX IN WHEELCHAIR"))
        bookings.append(b)
    from pnrguard.formats.pnrgov import write_pnrgov

    raw = write_pnrgov(bookings, flight=bookings[0].itinerary[0], sender="XX", recipient="PIU", prepared=T0)
    w.ingest(raw.encode("latin-1"))
    report = statistics(engine, start=T0 - dt.timedelta(days=1), end=T0 + dt.timedelta(days=1))
    shown = {key: value for section, key, value in statistics_rows(report) if section == "sensitive_deleted"}
    assert shown[f"{T0.date().isoformat()} XX health"] == "7"


def test_cli_ingest_and_stats_show_only_the_suppressed_aggregate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pnrguard.cli import app
    from pnrguard.formats.pnrgov import write_pnrgov

    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'node.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    b = base_booking(locator="CLI002")
    b.remarks.append(Remark(kind="OSI", text="PAX IN WHEELCHAIR"))
    path = tmp_path / "one.edi"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    path.write_bytes(write_pnrgov([b], flight=b.itinerary[0], prepared=now).encode("latin-1"))
    runner = CliRunner()
    done = runner.invoke(app, ["ingest", str(path)])
    assert done.exit_code == 0, done.output
    assert "health" not in done.output  # a one-file run names no category
    day = now.date()
    stats = runner.invoke(app, ["dpo", "stats", "--from", str(day), "--to", str(day + dt.timedelta(days=1))])
    assert stats.exit_code == 0, stats.output
    assert "sensitive_deleted" in stats.output
    assert "<5" in stats.output


def test_the_node_reads_the_dpos_file_from_its_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pnrguard.config import Settings
    from pnrguard.service.bootstrap import Node

    extra = tmp_path / "terms.csv"
    rows = "kind,pattern,category,note\nword,QWERTYPARTY,political_opinions,test\n"
    extra.write_text(rows, encoding="utf-8")
    monkeypatch.setenv("PNRGUARD_SENSITIVE_TERMS_FILE", str(extra))
    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'n.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(tmp_path / "keys.json"))
    with Node.from_settings(Settings()) as node:
        assert node.sensitive_filter.categories("QWERTYPARTY") == {"political_opinions"}


def test_migration_0012_clears_the_per_message_counts(tmp_path: Path) -> None:
    from sqlalchemy import text

    from pnrguard.store.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0009_judicial_senior")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO message (id, received_at, sha256, size, message_type, sender, channel,"
                    " status, deviations, minimisation, sensitive) VALUES ('m1', :at, :sha, 1, 'PNRGOV',"
                    " 'XX', 'file', 'accepted', '{}', '{}', :sensitive)"
                ),
                {"at": T0.replace(tzinfo=None), "sha": b"x" * 32, "sensitive": '{"health": 1}'},
            )
        upgrade(engine)
        with engine.connect() as conn:
            assert json.loads(conn.execute(text("SELECT sensitive FROM message")).scalar_one()) == {}
            assert conn.execute(text("SELECT count(*) FROM sensitive_deletion")).scalar_one() == 0
    finally:
        engine.dispose()
