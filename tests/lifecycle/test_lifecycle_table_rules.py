"""Issue 10, item 6: every table has a retention rule, and the retention run enforces the
ones that concern personal data: quarantined raw bytes (72 hours by default, a setting),
failed pushes, rectification requests of deleted bookings. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation
from pnrguard.errors import NotFoundError
from pnrguard.service.gateway import encrypt_payload
from pnrguard.service.rights import request_rectification
from pnrguard.store.gateway import gateway_inbox
from pnrguard.store.inventory import TABLES as TABLE_RULES
from pnrguard.store.lifecycle import rectification_request
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import new_id
from pnrguard.store.tables import message, quarantine

pytestmark = pytest.mark.storage

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
RAW = b"UNB+IATA:1+XX'UNH+1+PNRGOV'TIF+RAWBYTESOVA+ANNA'"


def test_every_table_of_the_migrated_schema_has_a_rule_and_is_documented(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    missing = sorted(tables - set(TABLE_RULES))
    assert not missing, f"tables without a retention rule in store/inventory.py (TABLES): {missing}"
    doc = DOC.read_text(encoding="utf-8")
    undocumented = sorted(t for t in tables if f"| `{t}` |" not in doc)
    assert not undocumented, f"tables missing from the rule table in docs/data-protection.md: {undocumented}"
    for rule in TABLE_RULES.values():  # a table with personal data names who enforces its rule
        assert not rule.personal or not rule.enforced_by.startswith("no personal data"), rule.table


def _quarantined(w: World, at: dt.datetime) -> str:
    with w.engine.begin() as conn:
        mid = new_id()
        msgs = MessageRepository(conn, w.ks)
        msgs.add(
            message_id=mid, received_at=at, sha256=new_id().encode()[:32], size=len(RAW), channel="test",
            status=MessageStatus.QUARANTINED,
        )  # fmt: skip
        msgs.quarantine(mid, RAW, reason_code="syntax", reason_text="segment 3", at=at)
    return mid


def test_quarantine_keeps_raw_bytes_72_hours_then_only_reason_and_digest(engine: Engine) -> None:
    w = World(engine)
    mid = _quarantined(w, T0)
    w.clock.set(T0 + dt.timedelta(hours=71))
    assert w.run().tables["quarantine.raw_expired"] == 0
    with engine.connect() as conn:
        assert MessageRepository(conn, w.ks).raw(mid) == RAW
    w.clock.set(T0 + dt.timedelta(hours=72, minutes=1))
    s = w.run()
    assert s.tables["quarantine.raw_expired"] == 1
    with engine.connect() as conn:
        row = conn.execute(select(quarantine).where(quarantine.c.message_id == mid)).one()
        assert (row.raw_blob, row.wrapped_key, row.kek_version) == (None, None, None)
        assert (row.reason_code, row.reason_text) == ("syntax", "segment 3")
        assert conn.execute(select(message.c.sha256).where(message.c.id == mid)).scalar_one() is not None
        with pytest.raises(NotFoundError):
            MessageRepository(conn, w.ks).raw(mid)
    assert any(mid in e.record_ids for e in w.entries(Operation.ERASURE))
    assert w.run().tables["quarantine.raw_expired"] == 0  # idempotent
    w.clock.set(T0 + dt.timedelta(days=31))
    assert w.run().quarantine_expired == 1  # the entry itself after 30 days


def test_quarantine_raw_hours_is_a_setting(engine: Engine) -> None:
    w = World(engine)
    mid = _quarantined(w, T0)
    w.clock.set(T0 + dt.timedelta(hours=25))
    assert w.run(quarantine_raw_hours=24).tables["quarantine.raw_expired"] == 1
    with engine.connect() as conn, pytest.raises(NotFoundError):
        MessageRepository(conn, w.ks).raw(mid)


def test_reprocessing_does_not_extend_the_raw_bytes_life(engine: Engine) -> None:
    w = World(engine)
    mid = _quarantined(w, T0)
    with engine.begin() as conn:  # quarantined again two days later (a reader fix that failed)
        MessageRepository(conn, w.ks).quarantine(
            mid, RAW, reason_code="syntax", reason_text="again", at=T0 + dt.timedelta(hours=48)
        )
    w.clock.set(T0 + dt.timedelta(hours=73))
    assert w.run().tables["quarantine.raw_expired"] == 1


def test_failed_pushes_lose_their_raw_bytes_after_72_hours(engine: Engine) -> None:
    w = World(engine)
    ids = []
    with engine.begin() as conn:
        for i, at in enumerate((T0, T0 + dt.timedelta(hours=60))):
            rid = new_id()
            ids.append(rid)
            conn.execute(
                insert(gateway_inbox).values(
                    id=rid, carrier="XY", control_ref=f"F{i}", received_at=at, size=len(RAW),
                    sha256=b"\1" * 32, status="failed", attempts=8, available_at=at,
                    **encrypt_payload(w.ks, rid, RAW),
                )
            )  # fmt: skip
    w.clock.set(T0 + dt.timedelta(hours=73))
    assert w.run().tables["gateway.failed_expired"] == 1
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(gateway_inbox))}
    old, young = rows[ids[0]], rows[ids[1]]
    assert (old.status, old.outcome, old.payload, old.wrapped_key) == ("done", "expired", None, None)
    assert young.status == "failed"
    assert young.payload is not None


def test_rectification_requests_go_with_their_booking(engine: Engine) -> None:
    w = World(engine)
    bid = w.save(pnr("RECT01", [person("1", "RECTIFYOVA")]))
    request_rectification(
        dpo="dpo1", booking_id=bid, field_path="travellers.0.surname", channel="letter",
        engine=engine, clock=w.clock,
    )  # fmt: skip
    w.clock.set(T0.replace(year=T0.year + 5) + dt.timedelta(days=1))
    assert w.run().tables["rectification_requests.deleted"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(rectification_request)).all() == []
