"""Issue 10, item 9: travellers' rights found by name and date of birth, on SQLite and
PostgreSQL: the look-up, erasure (crypto-shredding; removal from a shared booking; evidence
kept), restriction (kept, out of screening), rectification through the sensitive filter,
and the register (no content)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Remark
from pnrguard.errors import InputError, NotFoundError
from pnrguard.service.person_lookup import find_bookings_for_person
from pnrguard.service.rights import apply_rectification, request_rectification
from pnrguard.service.screening import import_watchlist
from pnrguard.service.subject_rights import Person, erase, lift_restriction, lookup, restrict
from pnrguard.store.lifecycle import sealed_key
from pnrguard.store.rights import subject_request
from pnrguard.store.screening import hit
from pnrguard.store.tables import booking, booking_key, booking_version

pytestmark = pytest.mark.storage

DOB = dt.date(1984, 3, 9)
ANNA = Person(surname="Łukasiewicz", date_of_birth=DOB)


def _anna(ref: str = "1") -> object:
    return person(ref, "ŁUKASIEWICZ", "ANNA", doc="PL7000001", dob=DOB)


def _kw(w: World) -> dict[str, object]:
    return {"engine": w.engine, "keystore": w.ks, "audit": w.audit, "clock": w.clock}


def test_lookup_finds_the_person_by_name_and_birth_date_only(engine: Engine) -> None:
    w = World(engine)
    solo = w.save(pnr("LK0001", [_anna()]))  # type: ignore[list-item]
    shared = w.save(pnr("LK0002", [person("1", "NOWAK", "PIOTR", dob=DOB), _anna("2")]))  # type: ignore[list-item]
    w.save(pnr("LK0003", [person("1", "LUKASIEWICZ", "ANNA", dob=dt.date(1990, 1, 1))]))  # same name
    w.save(pnr("LK0004", [person("1", "NOWAK", "ANNA", dob=DOB)]))  # same birth date
    with engine.connect() as conn:
        found = find_bookings_for_person(conn, w.ks, surname="lukasiewicz", date_of_birth=DOB)
        assert sorted(found.booking_ids) == sorted([solo, shared])
        assert {m.booking_id: m.traveller_refs for m in found.matches}[shared] == frozenset({"2"})
        assert found.scanned == 2  # only the index's candidates are decrypted, not the node
        elsewhere = find_bookings_for_person(
            conn, w.ks, surname="ŁUKASIEWICZ", date_of_birth=DOB, carrier="ZZ"
        )
        assert elsewhere.matches == []
        with pytest.raises(InputError):  # bounded: never more candidates than max_scan
            find_bookings_for_person(conn, w.ks, surname="lukasiewicz", date_of_birth=DOB, max_scan=1)
    res = lookup(dpo="dpo1", person=ANNA, **_kw(w))  # type: ignore[arg-type]
    assert sorted(res.booking_ids) == sorted([solo, shared])
    [entry] = w.entries(Operation.CONSULTATION)
    assert entry.purpose is Purpose.DATA_SUBJECT_REQUEST
    assert sorted(entry.record_ids) == sorted([solo, shared])
    assert "UKASIEWICZ" not in repr(entry)


def test_erasure_shreds_own_bookings_removes_from_shared_and_keeps_evidence(engine: Engine) -> None:
    w = World(engine)
    solo = w.save(pnr("ER0001", [_anna()]))  # type: ignore[list-item]
    shared_b = pnr("ER0002", [person("1", "NOWAK", "PIOTR", doc="PL7000002"), _anna("2")])  # type: ignore[list-item]
    shared = w.save(shared_b)
    w.save(dataclasses.replace(shared_b, remarks=[Remark("OSI", "UMNR 09YRS", traveller_ref="2")]))  # v2
    her_hit = w.add_hit(shared, traveller_ref="2", status="open")
    his_hit = w.add_hit(shared, traveller_ref="1", status="open", rule_id="R9")
    evidence = w.save(pnr("ER0003", [_anna()]))  # type: ignore[list-item]
    w.add_hit(evidence, status="confirmed")
    stranger = w.save(pnr("ER0004", [person("1", "ZIMMERMANN", "CARL")]))
    with pytest.raises(NotFoundError):  # only the person's own bookings can be named
        erase(dpo="dpo1", person=ANNA, booking_ids=[stranger], channel="letter", **_kw(w))  # type: ignore[arg-type]
    ans = erase(
        dpo="dpo1", person=ANNA, booking_ids=[solo, shared, evidence], channel="letter", **_kw(w)  # type: ignore[arg-type]
    )
    assert (ans.status, ans.outcome) == ("answered", "partial")
    assert sorted(ans.booking_ids) == sorted([solo, shared])
    assert ans.kept_linked == [evidence]  # LED Art. 16(3)(b): kept as evidence
    assert w.state(solo) == "deleted"
    with engine.connect() as conn:
        assert conn.execute(select(booking_key).where(booking_key.c.booking_id == solo)).all() == []
        assert conn.execute(select(sealed_key).where(sealed_key.c.booking_id == solo)).all() == []
        versions = conn.execute(
            select(booking_version.c.version).where(booking_version.c.booking_id == shared)
        ).scalars().all()
        assert versions == [3]  # the versions that named her are gone
        row = conn.execute(select(subject_request).where(subject_request.c.id == ans.request_id)).one()
        assert (row.kind, row.status, row.bookings, row.outcome) == ("erasure", "answered", 2, "partial")
        assert "UKASIEWICZ" not in repr(tuple(row))
    left = w.get(shared)
    assert [t.surname for t in left.travellers] == ["NOWAK"]  # the fellow traveller stays
    assert left.remarks == []  # her elements went with her
    assert "UKASIEWICZ" not in repr(left)
    assert w.state(evidence) == "active"
    with engine.connect() as conn:
        hits = {r.id: r for r in conn.execute(select(hit).where(hit.c.booking_id == shared))}
    assert (hits[her_hit].status, hits[her_hit].person_digest) == ("withdrawn", None)
    assert hits[his_hit].status == "open"
    assert {h.booking_version for h in hits.values()} == {3}  # the version that remains
    kd = w.entries(Operation.KEY_DESTRUCTION)
    er = w.entries(Operation.ERASURE)
    assert [e.record_ids for e in kd] == [(solo,)]
    assert sorted(er[-1].record_ids) == sorted([solo, shared])
    assert {e.reference for e in kd + er} == {ans.request_id}
    assert lookup(dpo="dpo1", person=ANNA, **_kw(w)).booking_ids == [evidence]  # type: ignore[arg-type]


CSV = b"entity_id,name,aliases,dob,nationality,documents\nE1,ANNA LUKASIEWICZ,,1984-03-09,PL,\n"


def _hits(engine: Engine, booking_id: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(hit.c.id).where(hit.c.booking_id == booking_id)).all())


def test_restriction_keeps_the_booking_out_of_screening_until_lifted(engine: Engine) -> None:
    w = World(engine)
    kept = w.save(pnr("RS0001", [_anna()]))  # type: ignore[list-item]
    other = w.save(pnr("RS0002", [_anna()], flight="456"))  # type: ignore[list-item]
    ans = restrict(dpo="dpo1", person=ANNA, booking_ids=[kept], channel="email", **_kw(w))  # type: ignore[arg-type]
    assert (ans.outcome, ans.booking_ids) == ("restricted", [kept])
    with engine.connect() as conn:
        at = conn.execute(select(booking.c.restricted_at).where(booking.c.id == kept)).scalar_one()
        assert at is not None
    import_watchlist(
        CSV, name="rights-test", fmt="csv", purpose=Purpose.TERRORIST_OFFENCES, actor="t", **_kw(w)  # type: ignore[arg-type]
    )
    assert _hits(engine, other) == 1
    assert _hits(engine, kept) == 0  # restricted: not screened
    assert w.state(kept) == "active"  # but kept
    found = lookup(dpo="dpo1", person=ANNA, **_kw(w))  # type: ignore[arg-type]
    assert {m.booking_id: m.restricted for m in found.matches} == {kept: True, other: False}
    [alt] = [e for e in w.entries(Operation.ALTERATION) if e.reference == ans.request_id]
    assert alt.counts == {"restriction.set": 1}
    again = restrict(dpo="dpo1", person=ANNA, booking_ids=[kept], channel="email", **_kw(w))  # type: ignore[arg-type]
    assert again.outcome == "unchanged"
    lifted = lift_restriction(dpo="dpo1", person=ANNA, booking_ids=[kept], channel="email", **_kw(w))  # type: ignore[arg-type]
    assert lifted.outcome == "lifted"
    with engine.connect() as conn:
        assert conn.execute(select(booking.c.restricted_at).where(booking.c.id == kept)).scalar_one() is None


def test_rectified_text_goes_through_the_sensitive_filter(engine: Engine) -> None:
    w = World(engine)
    bid = w.save(pnr("RC0001", [_anna()], remark="UMNR 08YRS"))  # type: ignore[list-item]
    rid = request_rectification(
        dpo="dpo1", booking_id=bid, field_path="remarks.0.text", channel="letter", engine=engine,
        clock=w.clock,
    )  # fmt: skip
    apply_rectification(
        rid, dpo="dpo1", value="UMNR 08YRS PAX IN WHEELCHAIR", reason="Traveller's letter.", **_kw(w)  # type: ignore[arg-type]
    )
    stored = w.get(bid)
    assert "WHEELCHAIR" not in repr(stored)
    [alt] = w.entries(Operation.ALTERATION)
    assert alt.counts["sensitive.deleted"] == 1
    rid2 = request_rectification(
        dpo="dpo1", booking_id=bid, field_path="travellers.0.birth_place", channel="letter",
        engine=engine, clock=w.clock,
    )  # fmt: skip
    apply_rectification(rid2, dpo="dpo1", value="KRAKÓW", reason="Letter.", **_kw(w))  # type: ignore[arg-type]
    assert w.get(bid).travellers[0].birth_place == ""  # not Annex I: minimised on the way in too


def test_the_register_is_pruned_with_the_audit_log(engine: Engine) -> None:
    w = World(engine)
    w.save(pnr("RG0001", [_anna()]))  # type: ignore[list-item]
    bid = w.save(pnr("RG0002", [_anna()]))  # type: ignore[list-item]
    restrict(dpo="dpo1", person=ANNA, booking_ids=[bid], channel="email", **_kw(w))  # type: ignore[arg-type]
    w.clock.set(T0.replace(year=T0.year + 5, month=T0.month + 1))
    assert w.run().tables["subject_requests.deleted"] == 1
