"""Item 5 of issue 10 (C-817/19): the *default* retention profile deletes at 6 months every
booking with no objective link to a risk, and masks (keeps) the linked ones until 5 years.
On SQLite and PostgreSQL, with the clock moved to 7 months."""

from __future__ import annotations

import datetime as dt

import pytest
from lifecycle_helpers import T0, World, person, pnr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from pnrguard.config import Settings
from pnrguard.errors import CryptoError, NotFoundError
from pnrguard.protection.retention import DEFAULT_PROFILE, EU_2016_681, PROFILES, get_profile
from pnrguard.service.retention import run_retention
from pnrguard.store.lifecycle import read_sealed, retention_hold, sealed_key
from pnrguard.store.repository import new_id
from pnrguard.store.tables import booking, booking_key, booking_version
from pnrguard.store.workspace import competent_authority, transmission

pytestmark = pytest.mark.storage

SEVEN_MONTHS = T0.replace(month=T0.month + 7)


def test_default_profile_is_the_c817_reading_and_the_looser_ones_keep_their_names() -> None:
    assert DEFAULT_PROFILE.delete_unlinked_at_mask
    assert DEFAULT_PROFILE.name == "eu-2016-681-cjeu"
    assert get_profile(Settings().retention_profile) is DEFAULT_PROFILE
    assert PROFILES["eu-2016-681-c817"] is DEFAULT_PROFILE  # the earlier name still works
    assert not PROFILES["eu-2016-681"].delete_unlinked_at_mask  # explicit, never the default
    assert PROFILES["eu-us-2012"].dormant_after_months == 60


def _transmit(engine: Engine, booking_id: str, hit_id: str) -> None:
    with engine.begin() as conn:
        aid = new_id()
        conn.execute(
            competent_authority.insert().values(
                id=aid, code=f"A{aid[:8]}", name="Police", kind="national", created_at=T0
            )
        )
        conn.execute(
            transmission.insert().values(
                id=new_id(),
                hit_id=hit_id,
                booking_id=booking_id,
                booking_version=1,
                authority_id=aid,
                purpose="terrorist_offences",
                justification="j",
                status="released",
                proposed_by="a1",
                proposed_at=T0,
                decided_by="s1",
                decided_at=T0,
                released_at=T0,
                package_sha256=b"\0" * 32,
            )
        )


def test_at_seven_months_unlinked_is_shredded_and_linked_is_masked(engine: Engine) -> None:
    w = World(engine)
    plain = w.save(pnr("DEF001", [person("1", "UNLINKEDSKA", doc="P1000001")]))
    open_hit = w.save(pnr("DEF002", [person("1", "OPENHITOVA")]))
    confirmed = w.save(pnr("DEF003", [person("1", "CONFIRMEDOV", doc="P1000003")]))
    transferred = w.save(pnr("DEF004", [person("1", "TRANSFERRIK")]))
    held = w.save(pnr("DEF005", [person("1", "CASEHELDOVA")]))
    w.add_hit(open_hit, status="open")  # a proposal, not evidence: no link
    w.add_hit(confirmed, status="confirmed")
    _transmit(engine, transferred, w.add_hit(transferred, status="dismissed", rule_id="R2"))
    with engine.begin() as conn:
        conn.execute(
            retention_hold.insert().values(
                id=new_id(), booking_id=held, case_reference="CASE-7", created_by="a1", created_at=T0
            )
        )
    w.clock.set(SEVEN_MONTHS)
    # No profile named: the node's default.
    s = run_retention(engine=engine, keystore=w.ks, audit=w.audit, clock=w.clock)
    assert (s.deleted, s.deleted_unlinked, s.masked) == (2, 2, 3)
    states = {b: w.state(b) for b in (plain, open_hit, confirmed, transferred, held)}
    assert states == {
        plain: "deleted",
        open_hit: "deleted",
        confirmed: "masked",
        transferred: "masked",
        held: "masked",
    }
    with engine.connect() as conn:
        for gone in (plain, open_hit):  # crypto-shredded: no key, no version, no locator
            assert conn.execute(select(booking_key).where(booking_key.c.booking_id == gone)).all() == []
            assert conn.execute(select(sealed_key).where(sealed_key.c.booking_id == gone)).all() == []
            assert (
                conn.execute(select(booking_version).where(booking_version.c.booking_id == gone)).all() == []
            )
            assert conn.execute(select(booking.c.locator).where(booking.c.id == gone)).scalar_one() == ""
            with pytest.raises((CryptoError, NotFoundError)):
                read_sealed(conn, gone, keystore=w.ks, seal_keystore=w.ks, tier="masked")
        # The linked booking is kept, masked: identity only through the sealed key.
        kept = read_sealed(conn, confirmed, keystore=w.ks, seal_keystore=w.ks, tier="masked")
        assert kept.travellers[0].surname == "CONFIRMEDOV"
    with pytest.raises(CryptoError):
        w.get(confirmed)
    # ... and deleted at 5 years all the same.
    w.clock.set(T0.replace(year=T0.year + 5) + dt.timedelta(hours=1))
    assert run_retention(engine=engine, keystore=w.ks, audit=w.audit, clock=w.clock).deleted == 3


def test_the_looser_profile_masks_everyone_when_named(engine: Engine) -> None:
    w = World(engine)
    plain = w.save(pnr("LOOSE1", [person("1", "LOOSEOVA")]))
    w.clock.set(SEVEN_MONTHS)
    s = run_retention(engine=engine, keystore=w.ks, audit=w.audit, clock=w.clock, profile=EU_2016_681)
    assert (s.deleted, s.masked) == (0, 1)
    assert w.state(plain) == "masked"
