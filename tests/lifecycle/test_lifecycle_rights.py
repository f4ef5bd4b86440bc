"""Travellers' rights and the DPO's view: the access report (everything about one traveller,
nothing about anyone else), rectification, the Art. 20 statistics and the audit export."""

from __future__ import annotations

import datetime as dt

import pytest
from lifecycle_helpers import ORIGIN, T0, World, person, pnr
from sqlalchemy.engine import Engine

from pnrguard.audit.models import Operation, Purpose
from pnrguard.domain.model import Contact
from pnrguard.errors import ConflictError
from pnrguard.service.dpo import (
    audit_csv,
    search_audit,
    statistics,
    statistics_csv,
)
from pnrguard.service.rights import (
    access_report,
    apply_rectification,
    reject_rectification,
    request_rectification,
)
from pnrguard.service.unmasking import Principal, approve_unmasking, request_unmasking

pytestmark = pytest.mark.storage


def _report(w: World, surname: str, **kw: object) -> str:
    r = access_report(
        dpo="dpo1",
        surname=surname,
        engine=w.engine,
        keystore=w.ks,
        audit=w.audit,
        clock=w.clock,
        origin=ORIGIN,
        **kw,
    )  # type: ignore[arg-type]
    return r.to_json()


def test_access_report_lists_everything_about_the_traveller_and_nothing_else(engine: Engine) -> None:
    w = World(engine)
    shared = pnr(
        "FAM001",
        [
            person("1", "KOWALCZYK", "ANNA", doc="PL1111111", dob=dt.date(1980, 5, 1)),
            person("2", "NIEDERMEYER", "BORIS", doc="DE2222222"),
        ],
        contacts=[
            Contact(kind="email", value="anna.k@example.test", traveller_ref="1"),
            Contact(kind="phone", value="+48111222333", traveller_ref="2"),
            Contact(kind="phone", value="+49999000111"),
        ],  # booking-level: could be either's
    )
    fam = w.save(shared)
    solo = w.save(
        pnr(
            "SOLO01",
            [person("1", "KOWALCZYK", "ANNA", doc="PL1111111")],
            contacts=[Contact(kind="phone", value="+48555666777")],
        )
    )
    stranger = w.save(pnr("STR001", [person("1", "ZIMMERMANN", "CARL")]))
    own_hit = w.add_hit(fam, traveller_ref="1", status="confirmed")
    other_hit = w.add_hit(fam, traveller_ref="2", status="open")
    w.clock.set(T0 + dt.timedelta(days=200))
    assert w.run().masked == 3
    # Without a decided unmasking, masked bookings are counted, not opened (Art. 12(3)).
    closed = _report(w, "Kowalczyk", carrier="XY", locator="FAM001", booking_ids=[solo, stranger])
    assert "KOWALCZYK" not in closed
    assert '"masked_not_opened": 3' in closed
    # The DPO asks a judge, who decides; the report then opens them (audited, with the id).
    rid = request_unmasking(
        requester=Principal("dpo1", frozenset({"dpo"})),
        purpose=Purpose.DATA_SUBJECT_REQUEST,
        case_reference="DSR-2026-1",
        reason="The traveller asked for access to everything held (LED Art. 14).",
        booking_ids=[fam, solo, stranger],
        valid_from=w.clock.now(),
        valid_until=w.clock.now() + dt.timedelta(days=7),
        engine=engine, keystore=w.ks,
        clock=w.clock,
    )
    approve_unmasking(
        rid, judge=Principal("judge1", frozenset({"judicial"})), decision="approved",
        reason="Access right of the data subject.", engine=engine,
        keystore=w.ks, audit=w.audit, clock=w.clock,
    )  # fmt: skip

    text = _report(
        w, "Kowalczyk", carrier="XY", locator="FAM001", booking_ids=[solo, stranger], unmasking_request_id=rid
    )
    for present in ("KOWALCZYK", "PL1111111", "anna.k@example.test", "+48555666777", fam, solo, own_hit):
        assert present in text, present
    for absent in (
        "NIEDERMEYER",
        "BORIS",
        "DE2222222",
        "+48111222333",
        "+49999000111",
        "ZIMMERMANN",
        stranger,
        other_hit,
    ):
        assert absent not in text, absent
    assert '"withheld_elements": 2' in text  # Boris's phone and the shared one, counted not shown
    entries = w.entries()
    assert any(
        e.operation is Operation.UNMASKING and e.purpose is Purpose.DATA_SUBJECT_REQUEST for e in entries
    )
    consult = [
        e
        for e in entries
        if e.operation is Operation.CONSULTATION and e.purpose is Purpose.DATA_SUBJECT_REQUEST
    ]
    assert sorted(consult[-1].record_ids) == sorted([fam, solo])
    # The masking entry named all three bookings; the report shows only the traveller's own.
    assert '"other_record_ids": 1' in text
    # With a date of birth the solo booking (no birth date recorded) no longer matches.
    narrowed = _report(
        w, "KOWALCZYK", date_of_birth=dt.date(1980, 5, 1), booking_ids=[fam, solo], unmasking_request_id=rid
    )
    assert fam in narrowed
    assert solo not in narrowed


def test_rectification_is_a_new_audited_version(engine: Engine) -> None:
    w = World(engine)
    bid = w.save(pnr("RECT01", [person("1", "MUELLLER", "JOHANN")]))
    rid = request_rectification(
        dpo="dpo1",
        booking_id=bid,
        field_path="travellers.0.surname",
        channel="letter",
        engine=engine,
        clock=w.clock,
    )
    version = apply_rectification(
        rid,
        dpo="dpo1",
        value="MUELLER",
        reason="Passport copy shows MUELLER.",
        engine=engine,
        keystore=w.ks,
        audit=w.audit,
        clock=w.clock,
    )
    assert version == 2
    assert w.get(bid).travellers[0].surname == "MUELLER"
    assert w.get(bid, version=1).travellers[0].surname == "MUELLLER"  # history kept (element 19)
    [alt] = w.entries(Operation.ALTERATION)
    assert (alt.record_ids, alt.reference, alt.purpose) == ((bid,), rid, Purpose.DATA_SUBJECT_REQUEST)
    assert "MUELLER" not in repr(alt)
    with pytest.raises(ConflictError):
        apply_rectification(
            rid,
            dpo="dpo1",
            value="X",
            reason="again",
            engine=engine,
            keystore=w.ks,
            audit=w.audit,
            clock=w.clock,
        )
    other = request_rectification(
        dpo="dpo1",
        booking_id=bid,
        field_path="travellers.0.given_names",
        channel="email",
        engine=engine,
        clock=w.clock,
    )
    reject_rectification(
        other, dpo="dpo1", reason="Matches the travel document.", engine=engine, keystore=w.ks, clock=w.clock
    )
    # Deleting the booking leaves the requests without any value of the traveller's.
    w.clock.set(T0.replace(year=T0.year + 6))
    assert w.run().deleted == 1


def test_art20_statistics_on_a_known_dataset(engine: Engine) -> None:
    w = World(engine)
    y = T0.replace(month=3, day=1)
    a = w.save(pnr("ST0001", [person("1", "A1"), person("2", "A2"), person("3", "A3")]), at=y)
    b = w.save(pnr("ST0002", [person("1", "B1")]), at=y + dt.timedelta(days=1))
    c = w.save(pnr("ST0003", [person("1", "C1"), person("2", "C2")]), at=y + dt.timedelta(days=2))
    w.save(pnr("ST0004", [person("1", "LATE")]), at=y.replace(year=y.year + 1))  # outside the period
    w.add_hit(a, traveller_ref="1", status="confirmed", at=y)
    w.add_hit(a, traveller_ref="1", status="confirmed", rule_id="R2", at=y)  # same traveller twice
    w.add_hit(a, traveller_ref="2", status="dismissed", at=y)
    w.add_hit(b, traveller_ref="1", status="confirmed", rule_id=None, list_name="UNSC", at=y)
    w.add_hit(c, traveller_ref="2", status="open", rule_id=None, list_name="UNSC", at=y)
    with engine.begin() as conn:
        w.audit(conn).append(
            actor="analyst7",
            role="analyst",
            operation=Operation.DISCLOSURE,
            purpose=Purpose.FRAUD,
            record_ids=[a, b],
            reference="peer-msg-1",
        )
        w.audit(conn).append(
            actor="analyst7",
            role="analyst",
            operation=Operation.DISCLOSURE,
            purpose=Purpose.FRAUD,
            record_ids=[a],
            reference="peer-msg-2",
        )
    # Ingest adds each booking's travellers to its day's tally (store/tally.py): nothing per booking.
    start, end = y.replace(month=1, day=1), y.replace(year=y.year + 1, month=1, day=1)
    r = statistics(engine, start=start, end=end)
    assert r.bookings == {"PNR": 3}
    assert r.passengers_collected == {"PNR": 6}
    assert r.bookings_without_count == 0
    assert r.passengers_exchanged == 4  # every traveller of the bookings disclosed: a (3) and b (1)
    assert r.identified_for_further_examination == 2  # (a, 1) and (b, 1)
    assert (r.hits, r.confirmed_hits) == (5, 3)
    per = {(p.kind, p.name): (p.hits, p.confirmed) for p in r.per_rule_or_list}
    assert per == {("rule", "R1"): (2, 1), ("rule", "R2"): (1, 1), ("list", "UNSC"): (2, 1)}
    text = statistics_csv(r)
    assert "passengers_collected,total,6" in text
    assert "confirmed_hits_per_list,UNSC,1" in text

    found = search_audit(engine, origin=ORIGIN, operation=Operation.DISCLOSURE, record_id=b)
    assert [e.reference for e in found] == ["peer-msg-1"]
    exported = audit_csv(found)
    assert exported.splitlines()[0].startswith("seq,at,actor")
    assert "peer-msg-1" in exported
