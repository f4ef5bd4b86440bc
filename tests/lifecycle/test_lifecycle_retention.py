"""`run_retention` on SQLite and PostgreSQL: masking, deletion, the C-817/19 option, EU-US
dormancy, idempotence, concurrent workers, quarantine and audit-log retention."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from lifecycle_helpers import ORIGIN, T0, World, person, pnr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from pnrguard.audit.checkpoint import Signer
from pnrguard.audit.models import Operation
from pnrguard.domain.model import Contact
from pnrguard.errors import CryptoError
from pnrguard.protection.crypto import KeyKind, key_context
from pnrguard.protection.keystore import InMemoryKeyStore, WrappedKey
from pnrguard.protection.retention import EU_2016_681, EU_2016_681_STRICT, EU_US_2012
from pnrguard.service.retention import due_counts, last_runs, run_retention
from pnrguard.store.audit import SqlAuditLog
from pnrguard.store.lifecycle import read_sealed, retention_hold, sealed_key
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import new_id
from pnrguard.store.tables import booking, booking_key
from pnrguard.store.tally import travellers_counted
from pnrguard.store.workspace import AUTHORITY_KINDS, authority_request, competent_authority, request_result

pytestmark = pytest.mark.storage


def _after(months: int, extra: dt.timedelta = dt.timedelta(hours=1)) -> dt.datetime:
    """T0 plus whole calendar months (the inverse of `months_before`) plus `extra`."""
    total = T0.year * 12 + T0.month - 1 + months
    return T0.replace(year=total // 12, month=total % 12 + 1) + extra


def test_masking_at_six_months_hides_identity_in_every_read_path(engine: Engine) -> None:
    w = World(engine)
    b = pnr(
        "MASK01",
        [person("1", "QUIXOTEWSKI", doc="P7733001")],
        contacts=[Contact(kind="email", value="q.w@example.test", traveller_ref="1")],
        remark="CALL HIM",
    )
    bid = w.save(b)
    w.clock.set(_after(6, -dt.timedelta(hours=1)))
    assert w.run().masked == 0  # not yet due
    w.clock.set(_after(6))
    s = w.run()
    assert (s.masked, s.deleted) == (1, 0)
    assert w.state(bid) == "masked"

    with pytest.raises(CryptoError):  # the default read path cannot open identity any more
        w.get(bid)
    masked = w.get(bid, include_identity=False)
    assert masked.travellers == []
    assert masked.contacts == []
    assert masked.remarks == []
    assert masked.itinerary == b.itinerary
    assert masked.locator == "MASK01"
    with engine.connect() as conn:
        kinds = set(conn.execute(select(booking_key.c.kind).where(booking_key.c.booking_id == bid)).scalars())
        assert kinds == {"content"}
        assert conn.execute(select(booking.c.identity_digest).where(booking.c.id == bid)).scalar_one() is None
        sealed = conn.execute(select(sealed_key).where(sealed_key.c.booking_id == bid)).one()
        assert sealed.tier == "masked"
        # The sealed blob does not open under the normal read path's context ...
        with pytest.raises(CryptoError):
            w.ks.unwrap(
                WrappedKey(sealed.kek_version, bytes(sealed.wrapped)),
                context=key_context(bid, KeyKind.IDENTITY, sealed.key_version),
            )
        # ... nor at the dormant tier; only the approval-checked path opens it.
        with pytest.raises(CryptoError):
            read_sealed(conn, bid, keystore=w.ks, seal_keystore=w.ks, tier="dormant")
        assert read_sealed(conn, bid, keystore=w.ks, seal_keystore=w.ks, tier="masked") == b
        # Art. 12(2)(a): nothing says how many travellers this booking held, only its day's tally.
        assert "travellers" not in booking.c
        day = T0.date()
        assert travellers_counted(conn, start=day, end=day + dt.timedelta(days=1))["PNR"][1] >= 1
    masking = w.entries(Operation.MASKING)
    assert [e.record_ids for e in masking] == [(bid,)]
    assert masking[0].counts == {"bookings.masked": 1}
    assert masking[0].reference == s.run_id


def test_deletion_at_five_years_crypto_shreds_and_audits(engine: Engine) -> None:
    w = World(engine)
    old = w.save(pnr("DEL001", [person("1", "AAA")]))
    young = w.save(pnr("KEEP01", [person("1", "BBB")]), at=_after(12))
    w.clock.set(_after(60))
    s = w.run()
    assert (s.deleted, s.masked, s.versions_deleted, s.keys_destroyed) == (1, 1, 1, 2)
    assert w.state(old) == "deleted"
    assert w.state(young) == "masked"
    with engine.connect() as conn:
        assert conn.execute(select(booking_key).where(booking_key.c.booking_id == old)).all() == []
        assert conn.execute(select(sealed_key).where(sealed_key.c.booking_id == old)).all() == []
        row = conn.execute(select(booking).where(booking.c.id == old)).one()
        assert (row.locator, row.created, row.identity_digest) == ("", None, None)
    destroyed = w.entries(Operation.KEY_DESTRUCTION)
    # The booking's keys, then (the old booking was the last of its month) the month's KEK,
    # logged by period only (issue 10, item 8).
    kd = [e for e in destroyed if not (e.reference or "").startswith("period:")]
    assert [(e.reference, e.record_ids) for e in destroyed if e not in kd] == [("period:2026-01", ())]
    er = w.entries(Operation.ERASURE)
    assert [e.record_ids for e in kd] == [(old,)]
    assert kd[0].counts == {"keys.destroyed": 2}
    assert [e.record_ids for e in er] == [(old,)]
    assert er[0].counts == {"bookings.deleted": 1, "booking_versions.deleted": 1}
    assert kd[0].seq < er[0].seq  # keys first


def test_c817_option_deletes_unlinked_at_six_months_and_keeps_linked(engine: Engine) -> None:
    w = World(engine)
    plain = w.save(pnr("C81701", [person("1", "PLAIN")]))
    with_hit = w.save(pnr("C81702", [person("1", "HIT")]))
    dismissed = w.save(pnr("C81703", [person("1", "DISMISSED")]))
    held = w.save(pnr("C81704", [person("1", "HELD")]))
    released = w.save(pnr("C81705", [person("1", "RELEASED")]))
    requested = w.save(pnr("C81706", [person("1", "REQUESTED")]))
    answered = w.save(pnr("C81707", [person("1", "ANSWERED")]))
    w.add_hit(with_hit, status="confirmed")
    w.add_hit(dismissed, status="dismissed")
    with engine.begin() as conn:
        for bid, rel in ((held, None), (released, T0)):
            conn.execute(
                retention_hold.insert().values(
                    id=new_id(),
                    booking_id=bid,
                    case_reference="CASE-1",
                    created_by="analyst1",
                    created_at=T0,
                    released_by="analyst1" if rel else None,
                    released_at=rel,
                )
            )
        # A competent authority's request that found a booking links it while it is open.
        conn.execute(
            competent_authority.insert().values(
                id="a" * 32, code="POL", name="Police", kind=AUTHORITY_KINDS[0], created_at=T0
            )
        )
        for rid, bid, status in (("b" * 32, requested, "open"), ("c" * 32, answered, "answered")):
            conn.execute(
                authority_request.insert().values(
                    id=rid,
                    authority_id="a" * 32,
                    case_reference="C-9",
                    purpose="fraud",
                    reason="r",
                    status=status,
                    registered_by="analyst1",
                    registered_at=T0,
                )
            )
            conn.execute(request_result.insert().values(request_id=rid, booking_id=bid, found_at=T0))
    w.clock.set(_after(6))
    s = w.run(EU_2016_681_STRICT)
    assert (s.masked, s.deleted, s.deleted_unlinked) == (3, 4, 4)
    assert (w.state(requested), w.state(answered)) == ("masked", "deleted")
    assert {b: w.state(b) for b in (plain, with_hit, dismissed, held, released)} == {
        plain: "deleted",
        with_hit: "masked",
        dismissed: "deleted",
        held: "masked",
        released: "deleted",
    }
    er = w.entries(Operation.ERASURE)
    assert er[0].counts["bookings.deleted_unlinked"] == 4
    # The linked ones are deleted at 5 years all the same.
    w.clock.set(_after(60))
    assert w.run(EU_2016_681_STRICT).deleted == 3


def test_eu_us_profile_dormant_after_five_years_deleted_after_ten(engine: Engine) -> None:
    w = World(engine)
    a = w.save(pnr("EUUS01", [person("1", "DORMANTA")]))
    b = w.save(pnr("EUUS02", [person("1", "DORMANTB")]))
    w.clock.set(_after(6))
    assert w.run(EU_US_2012).masked == 2
    c = w.save(pnr("EUUS03", [person("1", "STILLACTIVE")]), at=T0)  # found late, still active
    w.clock.set(_after(60))
    s = w.run(EU_US_2012)
    assert (s.dormant, s.deleted, s.masked) == (3, 0, 0)
    with engine.connect() as conn:
        tiers = dict(conn.execute(select(sealed_key.c.booking_id, sealed_key.c.tier)).all())
        assert tiers == {a: "dormant", b: "dormant", c: "dormant"}
        assert conn.execute(select(booking.c.state).where(booking.c.id == c)).scalar_one() == "masked"
        with pytest.raises(CryptoError):  # the masked tier no longer opens it
            read_sealed(conn, a, keystore=w.ks, seal_keystore=w.ks, tier="masked")
        assert (
            read_sealed(conn, a, keystore=w.ks, seal_keystore=w.ks, tier="dormant").travellers[0].surname
            == "DORMANTA"
        )
    assert w.run(EU_US_2012).dormant == 0
    w.clock.set(_after(120))
    assert w.run(EU_US_2012).deleted == 3


def test_rerun_is_idempotent(engine: Engine) -> None:
    w = World(engine)
    for i in range(5):
        w.save(pnr(f"IDEM{i:02d}", [person("1", f"IDEM{i}")]), at=T0 if i < 3 else _after(-60))
    w.clock.set(_after(7))
    first = w.run()
    assert (first.masked, first.deleted) == (3, 2)
    with engine.connect() as conn:
        size = SqlAuditLog(conn, origin=ORIGIN).size()
    again = w.run()
    assert (again.masked, again.deleted, again.dormant, again.keys_destroyed) == (0, 0, 0, 0)
    with engine.connect() as conn:
        assert SqlAuditLog(conn, origin=ORIGIN).size() == size  # nothing appended
    assert due_counts(engine, profile=EU_2016_681, now=w.clock.now()) == {
        "delete": 0,
        "dormant": 0,
        "mask": 0,
    }
    runs = last_runs(engine)
    assert [r.status for r in runs] == ["done", "done"]


def test_two_concurrent_workers_never_double_process(engine: Engine) -> None:
    w = World(engine)
    ids = [w.save(pnr(f"CONC{i:03d}", [person("1", f"CONC{i}")])) for i in range(60)]
    ids += [w.save(pnr(f"COLD{i:03d}", [person("1", f"COLD{i}")]), at=_after(-60)) for i in range(20)]
    w.clock.set(_after(7))
    results = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            results.append(w.run(batch_size=7, worker=name))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.masked for r in results) == 60
    assert sum(r.deleted for r in results) == 20
    masked_ids = Counter(i for e in w.entries(Operation.MASKING) for i in e.record_ids)
    erased_ids = Counter(i for e in w.entries(Operation.ERASURE) for i in e.record_ids)
    shredded_ids = Counter(i for e in w.entries(Operation.KEY_DESTRUCTION) for i in e.record_ids)
    assert set(masked_ids) == set(ids[:60])
    assert max(masked_ids.values()) == 1
    assert set(erased_ids) == set(ids[60:])
    assert max(erased_ids.values()) == 1
    assert shredded_ids == erased_ids
    with engine.connect() as conn:
        assert (
            SqlAuditLog(conn, origin=ORIGIN)
            .verify(Signer(name=ORIGIN, private_key=w.ks.signing_key()).verifier())
            .ok
        )


def test_quarantine_and_audit_log_have_retention_too(engine: Engine) -> None:
    w = World(engine)
    with engine.begin() as conn:
        mid = new_id()
        msgs = MessageRepository(conn, w.ks)
        msgs.add(
            message_id=mid,
            received_at=T0,
            sha256=mid.encode()[:32],
            size=3,
            channel="test",
            status=MessageStatus.QUARANTINED,
        )
        msgs.quarantine(mid, b"UNH", reason_code="x", reason_text="y", at=T0)
        log = w.audit(conn)
        for _ in range(3):
            log.append(
                actor="a1",
                role="operator",
                operation=Operation.CONSULTATION,
                purpose="ingest",  # type: ignore[arg-type]
                record_ids=[],
            )
        log.checkpoint(Signer(name=ORIGIN, private_key=w.ks.signing_key()))
    w.clock.set(T0 + dt.timedelta(days=29))
    assert w.run().quarantine_expired == 0
    w.clock.set(T0 + dt.timedelta(days=31))
    assert w.run().quarantine_expired == 1
    w.clock.set(_after(61))
    s = w.run()
    assert s.audit_entries_pruned >= 3
    with engine.connect() as conn:
        log = SqlAuditLog(conn, origin=ORIGIN)
        assert log.verify(Signer(name=ORIGIN, private_key=w.ks.signing_key()).verifier()).ok
        assert log.anchor() is not None


def test_no_booking_is_half_processed_when_a_batch_fails(engine: Engine) -> None:
    w = World(engine)
    bid = w.save(pnr("FAIL01", [person("1", "FAIL")]))
    w.clock.set(_after(7))
    with pytest.raises(CryptoError):  # another node's keys: the unwrap fails, the batch rolls back
        run_retention(
            engine=engine, keystore=InMemoryKeyStore(), audit=w.audit, clock=w.clock, profile=EU_2016_681
        )
    assert w.state(bid) == "active"
    assert w.entries(Operation.MASKING) == []
    assert [r.status for r in last_runs(engine)] == ["failed"]
    assert w.run().masked == 1
