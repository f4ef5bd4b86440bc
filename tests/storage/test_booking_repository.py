"""BookingRepository and MessageRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from pnrguard.domain.model import Booking, Document, Leg, Remark, Source, Traveller
from pnrguard.errors import CryptoError, NotFoundError
from pnrguard.formats.synth import generate
from pnrguard.protection.keystore import InMemoryKeyStore
from pnrguard.store.messages import MessageRepository, MessageStatus
from pnrguard.store.repository import BookingRepository, SaveStatus, new_id
from pnrguard.store.tables import booking, booking_key, booking_version

pytestmark = pytest.mark.storage

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _pnr(locator: str = "ABC123", remark: str = "CALL BEFORE 10") -> Booking:
    flight = Leg(carrier="XY", flight_number="123", origin="FRA", destination="JFK",
                 departure=dt.datetime(2026, 3, 3, 9, 15))  # fmt: skip
    return Booking(
        source=Source.PNR,
        carrier="XY",
        locator=locator,
        created=dt.datetime(2026, 2, 1, 10, 10),
        reported_flight=flight,
        itinerary=[dataclasses.replace(flight)],
        travellers=[Traveller(ref="1", surname="OBRIEN", given_names="SEAN MR")],
        remarks=[Remark(kind="OSI", text=remark)],
    )


def _api(surname: str, doc: str) -> Booking:
    flight = Leg(carrier="XY", flight_number="123", origin="FRA", destination="JFK",
                 departure=dt.datetime(2026, 3, 3, 9, 15))  # fmt: skip
    return Booking(
        source=Source.API,
        carrier="XY",
        locator="ABC123",
        reported_flight=flight,
        travellers=[
            Traveller(ref="1", surname=surname, given_names="ANNA",
                      date_of_birth=dt.date(1980, 1, 2), documents=[Document(doc_type="P", number=doc)])
        ],
    )  # fmt: skip


def _message(conn: Connection, ks: InMemoryKeyStore, at: dt.datetime = T0) -> str:
    mid = new_id()
    MessageRepository(conn, ks).add(
        message_id=mid, received_at=at, sha256=mid.encode()[:32], size=1, channel="test",
        status=MessageStatus.ACCEPTED,
    )  # fmt: skip
    return mid


def test_new_version_duplicate_and_round_trip(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        m1 = _message(conn, ks)
        first = repo.save_version(_pnr(), message_id=m1, received_at=T0)
        assert first.status is SaveStatus.NEW
        assert first.version == 1
        m2 = _message(conn, ks, T0 + dt.timedelta(hours=1))
        same = repo.save_version(_pnr(), message_id=m2, received_at=T0 + dt.timedelta(hours=1))
        assert (same.booking_id, same.version, same.status) == (first.booking_id, 1, SaveStatus.DUPLICATE)
        changed = repo.save_version(
            _pnr(remark="LATE"), message_id=m2, received_at=T0 + dt.timedelta(hours=1)
        )
        assert (changed.booking_id, changed.version, changed.status) == (
            first.booking_id, 2, SaveStatus.NEW_VERSION,
        )  # fmt: skip
    with engine.connect() as conn:
        repo = BookingRepository(conn, ks)
        assert repo.get(first.booking_id) == _pnr(remark="LATE")
        assert repo.get(first.booking_id, version=1) == _pnr()
        assert [v.version for v in repo.versions(first.booking_id)] == [1, 2]
        assert [v.message_id for v in repo.versions(first.booking_id)] == [m1, m2]
        summary = repo.summary(first.booking_id)
        assert summary.first_seen == T0
        assert summary.last_seen == T0 + dt.timedelta(hours=1)
        assert summary.flight_date == dt.date(2026, 3, 3)
        assert summary.origin == "FRA"
        assert [s.id for s in repo.find("XY", "ABC123")] == [first.booking_id]
        assert [s.id for s in repo.find("XY", "ABC123", dt.datetime(2026, 2, 1, 10, 10))] == [
            first.booking_id
        ]
        assert repo.find("XY", "ABC123", dt.datetime(2025, 2, 1, 10, 10)) == []
        masked_view = repo.get(first.booking_id, include_identity=False)
        assert masked_view.travellers == []
        assert masked_view.itinerary == _pnr().itinerary


def test_api_travellers_sharing_a_locator_are_separate_bookings(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        mid = _message(conn, ks)
        outcomes = repo.save_versions(
            [_api("MUELLER", "C01X00T47"), _api("SCHMIDT", "C01X00T48"), _api("MUELLER", "C01X00T47")],
            message_id=mid,
            received_at=T0,
        )
    assert [o.status for o in outcomes] == [SaveStatus.NEW, SaveStatus.NEW, SaveStatus.DUPLICATE]
    assert outcomes[0].booking_id != outcomes[1].booking_id == outcomes[1].booking_id
    assert outcomes[2].booking_id == outcomes[0].booking_id


def test_same_booking_twice_in_one_message_gets_two_versions(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        mid = _message(conn, ks)
        a, b = repo.save_versions([_pnr(), _pnr(remark="X")], message_id=mid, received_at=T0)
        assert (a.status, a.version, b.status, b.version) == (SaveStatus.NEW, 1, SaveStatus.NEW_VERSION, 2)
        assert repo.get(a.booking_id) == _pnr(remark="X")


def test_ciphertexts_are_bound_to_their_row(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        mid = _message(conn, ks)
        a = repo.save_version(_pnr(), message_id=mid, received_at=T0)
        repo.save_version(_pnr(remark="X"), message_id=mid, received_at=T0)
        v1 = conn.execute(
            select(booking_version.c.content_blob).where(
                booking_version.c.booking_id == a.booking_id, booking_version.c.version == 1
            )
        ).scalar_one()
        # Replay version 1's content as version 2: authentication fails, nothing decrypts.
        conn.execute(
            update(booking_version)
            .where(booking_version.c.booking_id == a.booking_id, booking_version.c.version == 2)
            .values(content_blob=v1)
        )
        with pytest.raises(CryptoError):
            repo.get(a.booking_id)
    with engine.connect() as conn, pytest.raises(CryptoError):
        BookingRepository(conn, InMemoryKeyStore()).get(a.booking_id)  # another node's keys


def test_delete_crypto_shreds(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        mid = _message(conn, ks)
        a = repo.save_version(_pnr(), message_id=mid, received_at=T0)
        keep = repo.save_version(_pnr("ZZZ999"), message_id=mid, received_at=T0)
        assert repo.delete(a.booking_id, at=T0) is True
        assert repo.delete(a.booking_id, at=T0) is False
    with engine.connect() as conn:
        repo = BookingRepository(conn, ks)
        assert conn.execute(select(booking_key).where(booking_key.c.booking_id == a.booking_id)).all() == []
        assert repo.versions(a.booking_id) == []
        row = conn.execute(select(booking).where(booking.c.id == a.booking_id)).one()
        assert (row.state, row.locator, row.created, row.identity_digest) == ("deleted", "", None, None)
        with pytest.raises(NotFoundError):
            repo.get(a.booking_id)
        assert [s.id for s in repo.iter_active()] == [keep.booking_id]
        assert repo.find("XY", "ABC123") == []
    with engine.begin() as conn:  # the same booking pushed again starts afresh
        repo = BookingRepository(conn, ks)
        again = repo.save_version(_pnr(), message_id=_message(conn, ks), received_at=T0)
        assert again.status is SaveStatus.NEW
        assert again.booking_id != a.booking_id


def test_masked_booking_stops_receiving_pushes(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        a = repo.save_version(_pnr(), message_id=_message(conn, ks), received_at=T0)
        api = repo.save_version(_api("MUELLER", "C01X00T47"), message_id=_message(conn, ks), received_at=T0)
        assert repo.mark_masked(a.booking_id, at=T0) is True
        assert repo.mark_masked(a.booking_id, at=T0) is False
        # A masking run that only set the state: the digest is retired on the next match.
        conn.execute(update(booking).where(booking.c.id == api.booking_id).values(state="masked"))
        assert (
            conn.execute(select(booking.c.identity_digest).where(booking.c.id == a.booking_id)).scalar_one()
            is None
        )
        again = repo.save_version(_api("MUELLER", "C01X00T47"), message_id=_message(conn, ks), received_at=T0)
        assert again.status is SaveStatus.NEW
        assert again.booking_id != api.booking_id
        b = repo.save_version(_pnr(), message_id=_message(conn, ks), received_at=T0)
        assert b.status is SaveStatus.NEW
        assert b.booking_id != a.booking_id
        assert repo.summary(a.booking_id).state == "masked"


def test_iter_active_pages_and_filters(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        mid = _message(conn, ks)
        ids = {o.booking_id for o in repo.save_versions(
            [_pnr(f"L{i:05d}") for i in range(7)], message_id=mid, received_at=T0
        )}  # fmt: skip
    with engine.connect() as conn:
        repo = BookingRepository(conn, ks)
        assert {s.id for s in repo.iter_active(batch_size=3)} == ids
        assert list(repo.iter_active(first_seen_before=T0)) == []
        assert len(list(repo.iter_active(flight_carrier="XY", flight_number="123",
                                         flight_date=dt.date(2026, 3, 3)))) == 7  # fmt: skip
        assert repo.count(state="active") == 7


def test_quarantine_round_trip(engine: Engine) -> None:
    ks = InMemoryKeyStore()
    raw = b"UNB+garbage'SECRET-NAME-OBRIEN'"
    with engine.begin() as conn:
        msgs = MessageRepository(conn, ks)
        mid = new_id()
        msgs.add(message_id=mid, received_at=T0, sha256=b"\x01" * 32, size=len(raw), channel="test",
                 status=MessageStatus.QUARANTINED)  # fmt: skip
        msgs.quarantine(mid, raw, reason_code="edifact_syntax", reason_text="segment 1: no UNH", at=T0)
    with engine.connect() as conn:
        msgs = MessageRepository(conn, ks)
        assert msgs.raw(mid) == raw
        [q] = msgs.quarantined()
        assert (q.message_id, q.reason_code, q.attempts, q.size) == (mid, "edifact_syntax", 1, len(raw))
        with pytest.raises(CryptoError):
            MessageRepository(conn, InMemoryKeyStore()).raw(mid)
    with engine.begin() as conn:
        msgs = MessageRepository(conn, ks)
        assert msgs.discard(mid) is True
        assert msgs.discard(mid) is False
        record = msgs.get(mid)
        assert record.status is MessageStatus.DISCARDED
        assert record.sha256 is None
        with pytest.raises(NotFoundError):
            msgs.raw(mid)


def test_synthetic_bookings_round_trip_exactly(engine: Engine) -> None:
    pushes = list(generate(11, flights=1, passengers_per_flight=25, base_date=dt.date(2026, 3, 2)))
    bookings = [b for p in pushes for b in [*p.bookings, *p.paxlst_bookings]]
    assert len(bookings) > 20
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        outcomes = repo.save_versions(bookings, message_id=_message(conn, ks), received_at=T0)
        for b, o in zip(bookings, outcomes, strict=True):
            assert repo.get(o.booking_id, version=o.version) == b


def test_get_many_equals_get_in_two_queries(engine: Engine) -> None:
    from sqlalchemy import delete, event

    pushes = list(generate(12, flights=1, passengers_per_flight=20, base_date=dt.date(2026, 3, 2)))
    bookings = [b for p in pushes for b in [*p.bookings, *p.paxlst_bookings]]
    ks = InMemoryKeyStore()
    with engine.begin() as conn:
        repo = BookingRepository(conn, ks)
        outcomes = repo.save_versions(bookings, message_id=_message(conn, ks), received_at=T0)
        two = repo.save_versions([_pnr(), _pnr(remark="X")], message_id=_message(conn, ks), received_at=T0)
        masked, deleted = outcomes[0].booking_id, outcomes[1].booking_id
        conn.execute(  # what masking does: the identity key leaves `booking_key`
            delete(booking_key).where(booking_key.c.booking_id == masked, booking_key.c.kind == "identity")
        )
        assert repo.mark_masked(masked, at=T0)
        assert repo.delete(deleted, at=T0)
    ids = list(dict.fromkeys(o.booking_id for o in outcomes))
    old = (two[0].booking_id, 1)
    refs: list[tuple[str, int | None]] = [(i, None) for i in ids] + [old]
    with engine.connect() as conn:
        repo = BookingRepository(conn, ks)
        statements: list[str] = []

        def seen(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(conn, "before_cursor_execute", seen)
        many = repo.get_many(refs)
        event.remove(conn, "before_cursor_execute", seen)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 2  # keys, versions: not four per booking
    assert masked not in many  # its identity key is gone: `get` raises CryptoError
    assert deleted not in many
    with engine.connect() as conn:
        repo = BookingRepository(conn, ks)
        readable = [i for i in ids if i not in (masked, deleted)]
        assert set(many) == {*readable, old[0]}
        for i in readable:
            assert many[i] == repo.get(i)
        assert many[old[0]] == repo.get(old[0], version=1) == _pnr()
        # Names only (link analysis's labels): the latest version's travellers, the same ones,
        # from the identity part alone; a masked or deleted booking is left out likewise.
        names = repo.travellers_many([*ids, "no-such-booking"])
        assert set(names) == set(readable)
        for i in readable:
            assert names[i] == repo.get(i).travellers
        # The masked view: content key only, equal to `get(include_identity=False)`.
        content_only = repo.get_many([(i, None) for i in ids], include_identity=False)
        assert set(content_only) == set(readable) | {masked}
        for i in [*readable, masked]:
            assert content_only[i] == repo.get(i, include_identity=False)
        with pytest.raises(CryptoError):
            repo.get(masked)
        with pytest.raises(NotFoundError):
            repo.get(deleted)
        # Unknown ids and versions, another node's keys: left out, as `get` would refuse them.
        assert repo.get_many([("0" * 32, None), (old[0], 9)]) == {}
        assert repo.get_many([]) == {}
        assert BookingRepository(conn, InMemoryKeyStore()).get_many(refs) == {}
