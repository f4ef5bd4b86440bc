"""Screening storage on SQLite and PostgreSQL: list entry history by version, rules as
versions, the hit table's constraints, suppressions, and the entry JSON round trip."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from pnrguard.audit.models import Purpose
from pnrguard.domain.model import Booking, Leg, Source, Traveller
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.screening.criteria import Rule
from pnrguard.screening.models import WatchlistEntry
from pnrguard.screening.watchlists import entry_fingerprint, load_watchlist, parse_csv
from pnrguard.store import screening as store
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, new_id
from pnrguard.store.screening import HitKind, HitRecord, HitStatus

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
PURPOSE = Purpose.TERRORIST_OFFENCES

LIST = b"""entity_id,name,aliases,dob,nationality,documents
A1,"DOE, John",Johnny Doe,1970-01-01;1971,US;GB,passport:P123 (USA)
A2,Jane Roe,,1980,,
"""


def test_entry_json_round_trip_keeps_the_fingerprint(shared_dir: Path) -> None:
    entries = parse_csv(LIST) + load_watchlist(shared_dir / "data" / "ofac-sdn-2024-05-03.csv", "ofac")
    for e in entries:
        back = store.entry_from_data(store.entry_to_data(e))
        assert back == e
        assert entry_fingerprint(back) == entry_fingerprint(e)


def _entries(conn: Connection, wl: int, version: int) -> dict[str, str]:
    return {e.entity_id: e.name for e, _ in store.entries_at_version(conn, wl, version)}


@pytest.mark.storage
def test_entry_history_answers_every_version(engine: Engine) -> None:
    a1, a2 = parse_csv(LIST)
    a1_new = dataclasses.replace(a1, aliases=(*a1.aliases, "J. Doe"))
    a3 = WatchlistEntry("A3", "csv", "Max Mustermann")

    def fp(e: WatchlistEntry) -> tuple[WatchlistEntry, str]:
        return e, entry_fingerprint(e)

    with engine.begin() as conn:
        wl = store.create_watchlist(conn, name="l", fmt="csv", purpose=PURPOSE, at=T0)
        for version in (1, 2):
            store.add_version(
                conn, watchlist_id=wl, version=version, at=T0, by="operator:x", sha256=bytes(32),
                added=0, removed=0, changed=0, total=0,
            )  # fmt: skip
        store.add_entries(conn, wl, [fp(a1), fp(a2)], version=1)
        # Version 2: A1 changed, A2 removed, A3 added.
        store.retire_entries(conn, wl, ["A1", "A2"], version=2)
        store.add_entries(conn, wl, [fp(a1_new), fp(a3)], version=2)

        assert _entries(conn, wl, 1) == {"A1": a1.name, "A2": a2.name}
        assert _entries(conn, wl, 2) == {"A1": a1.name, "A3": a3.name}
        expected = {"A1": entry_fingerprint(a1_new), "A3": entry_fingerprint(a3)}
        assert store.current_fingerprints(conn, wl) == expected
        assert [e.entity_id for e, _ in store.entries_first_in(conn, wl, 2)] == ["A1", "A3"]
        assert store.entities_superseded_in(conn, wl, 2) == ["A1"]
        old = store.entries_at(conn, wl, ["A1", "A2"], 1)
        assert old["A1"][0] == a1
        assert old["A2"][0] == a2
        assert store.entries_at(conn, wl, ["A1", "A2"], 2)["A1"][0] == a1_new
        assert "A2" not in store.entries_at(conn, wl, ["A2"], 2)
        [current] = store.current_lists(conn)
        assert (current.id, current.name, current.version, current.purpose) == (wl, "l", 2, PURPOSE)
        assert [v.version for v in store.versions(conn, wl)] == [1, 2]
    with engine.begin() as conn, pytest.raises(IntegrityError):
        store.create_watchlist(conn, name="l", fmt="csv", purpose=PURPOSE, at=T0)


def _rule(version: int, **kw: object) -> Rule:
    values: dict[str, object] = {
        "rule_id": "R1", "version": version, "name": "n", "expression": "true", "purpose": PURPOSE,
        "owner": "o", "review_date": dt.date(2026, 6, 1), "expires": dt.date(2027, 1, 1),
    }  # fmt: skip
    values.update(kw)
    return Rule(**values)  # type: ignore[arg-type]


@pytest.mark.storage
def test_rules_are_rows_per_version(engine: Engine) -> None:
    with engine.begin() as conn:
        store.insert_rule(conn, _rule(1), at=T0, by="analyst:a")
        store.insert_rule(conn, _rule(2, enabled=False, description="paused"), at=T0, by="analyst:a")
        store.insert_rule(conn, _rule(1, rule_id="R2"), at=T0, by="analyst:a")
        assert [(r.rule_id, r.version, r.enabled) for r in store.latest_rules(conn)] == [
            ("R1", 2, False), ("R2", 1, True)
        ]  # fmt: skip
        assert store.rule_version(conn, "R1", 1) == _rule(1)
        assert store.latest_rule(conn, "R9") is None
    with engine.begin() as conn, pytest.raises(IntegrityError):
        store.insert_rule(conn, _rule(1), at=T0, by="analyst:a")


def _booking_id(conn: Connection, ks: InMemoryKeyStore) -> str:
    mid = new_id()
    MessageRepository(conn, ks).add(
        message_id=mid, received_at=T0, sha256=mid.encode(), size=1, channel="test",
        status=MessageStatus.ACCEPTED,
    )  # fmt: skip
    b = Booking(
        source=Source.PNR, carrier="XY", locator=mid[-6:], created=dt.datetime(2026, 2, 1),
        reported_flight=Leg(carrier="XY", flight_number="1", origin="FRA", destination="JFK"),
        travellers=[Traveller(ref="1", surname="DOE", given_names="JOHN")],
    )  # fmt: skip
    return BookingRepository(conn, ks, now=T0).save_version(b, message_id=mid, received_at=T0).booking_id


def _hit(booking_id: str, wl: int, **kw: object) -> HitRecord:
    values: dict[str, object] = {
        "id": new_id(), "booking_id": booking_id, "booking_version": 1, "traveller_ref": "1",
        "kind": HitKind.WATCHLIST, "purpose": PURPOSE, "match_key": "list:l:A1", "watchlist_id": wl,
        "list_version": 1, "entity_id": "A1", "fingerprint": "f" * 64, "rule_id": None,
        "rule_version": None, "score": 0.93, "features": (("name", 0.9), ("dob", 0.1)),
        "person_digest": bytes(range(32)), "status": HitStatus.OPEN, "created_at": T0,
    }  # fmt: skip
    values.update(kw)
    return HitRecord(**values)  # type: ignore[arg-type]


@pytest.mark.storage
def test_hit_table_constraints_and_round_trip(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        bid = _booking_id(conn, ks)
        wl = store.create_watchlist(conn, name="l", fmt="csv", purpose=PURPOSE, at=T0)
        store.add_version(
            conn, watchlist_id=wl, version=1, at=T0, by="operator:x", sha256=bytes(32),
            added=1, removed=0, changed=0, total=1,
        )  # fmt: skip
        first = _hit(bid, wl)
        store.insert_hits(conn, [first])
        assert store.get_hit(conn, first.id) == first
        assert store.hits_for(conn, [bid], ["list:l:A1"]) == {first.key: first}
        assert store.hits_for(conn, [bid], ["list:l:A9"]) == {}
        review = {"by": "analyst:a", "at": T0, "reason": "r"}
        assert store.set_review(conn, first.id, status=HitStatus.DISMISSED, **review)  # type: ignore[arg-type]
        assert not store.set_review(conn, first.id, status=HitStatus.CONFIRMED, **review)  # type: ignore[arg-type]
        store.add_suppression(
            conn, hit_id=first.id, person_digest=bytes(range(32)), match_key="list:l:A1",
            fingerprint="f" * 64, at=T0, by="analyst:a", reason="r",
        )  # fmt: skip
        digest = bytes(range(32))
        assert store.suppressions_for(conn, [digest]) == {(digest, "list:l:A1"): {"f" * 64}}
    bad = [
        _hit(bid, wl),  # the same (booking, traveller, match key) twice
        _hit(bid, wl, match_key="list:l:A2", rule_id="R1", rule_version=1),  # list and rule at once
        _hit(bid, wl, match_key="list:l:A3", list_version=None),  # no list version
        _hit(bid, wl, match_key="list:l:A4", list_version=7),  # a version that does not exist
    ]
    for record in bad:
        with engine.begin() as conn, pytest.raises(IntegrityError):
            store.insert_hits(conn, [record])
    with engine.begin() as conn, pytest.raises(IntegrityError):
        conn.exec_driver_sql("UPDATE hit SET status = 'maybe'")


@pytest.mark.storage
def test_withdraw_open_hits_leaves_decisions_alone(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        bid = _booking_id(conn, ks)
        wl = store.create_watchlist(conn, name="l", fmt="csv", purpose=PURPOSE, at=T0)
        for v in (1, 2):
            store.add_version(
                conn, watchlist_id=wl, version=v, at=T0, by="operator:x", sha256=bytes(32),
                added=1, removed=0, changed=0, total=1,
            )  # fmt: skip
        open_old = _hit(bid, wl)
        open_new = _hit(bid, wl, traveller_ref="2", list_version=2)
        decided = _hit(bid, wl, traveller_ref="3", status=HitStatus.CONFIRMED)
        other = _hit(bid, wl, traveller_ref="4", entity_id="A2", match_key="list:l:A2")
        store.insert_hits(conn, [open_old, open_new, decided, other])
        gone = store.withdraw_open_hits(
            conn, watchlist_id=wl, entity_ids=["A1"], at=T0, by="operator:x", reason="changed",
            before_version=2, active_bookings_only=True,
        )  # fmt: skip
        assert gone == [open_old.id]
        assert store.get_hit(conn, open_old.id).status is HitStatus.WITHDRAWN
        assert store.get_hit(conn, open_new.id).status is HitStatus.OPEN
        assert store.get_hit(conn, decided.id).status is HitStatus.CONFIRMED
        assert store.count_hits(conn, status=HitStatus.OPEN) == 2
