"""The synthetic traffic generator: deterministic, realistic, and readable by our own readers.

Round trips (model -> write -> read) run on every generated message, so the generator is
also a broad regression test of the PNRGOV and PAXLST writers and readers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pnrguard.domain.model import Booking, TravellerType, to_dict
from pnrguard.formats.pnrgov import CHECKED_IN, pnrgov_normalise, read_pnrgov
from pnrguard.formats.synth import (
    SENSITIVE_REMARKS,
    SENSITIVE_SSR_CODES,
    Push,
    PushKind,
    generate,
)
from pnrguard.formats.synth_names import CULTURES, romanise, synthetic_person_names

pytestmark = pytest.mark.unit

BASE = dt.date(2025, 6, 1)
CARRIER_NAME = re.compile(r"^[A-Z][A-Z' -]*[A-Z]$|^[A-Z]$")


@cache
def pushes(seed: int = 5, flights: int = 6, rate: float = 0.05) -> tuple[Push, ...]:
    """Shared traffic for the read-only tests (generation is the slow part)."""
    return tuple(
        generate(seed, flights=flights, passengers_per_flight=(20, 60), base_date=BASE, sensitive_rate=rate)
    )


def all_bookings(ps: tuple[Push, ...]) -> list[Booking]:
    return [b for p in ps for b in p.bookings]


# --- names ---------------------------------------------------------------------------------


def test_name_tables_are_large_enough() -> None:
    assert len(CULTURES) >= 15
    for culture in CULTURES.values():
        assert len(set(culture.surnames)) >= 40, culture.key
        assert len(set(culture.male) | set(culture.female)) >= 40, culture.key


def test_person_names_are_deterministic_and_in_carrier_form() -> None:
    names = synthetic_person_names(42, 3000)
    assert names == synthetic_person_names(42, 3000)
    assert names != synthetic_person_names(43, 3000)
    for p in names:
        for part in (p.surname, p.given_names):
            assert part.isascii(), part
            assert CARRIER_NAME.match(part), part
        assert p.gender in ("M", "F")
        assert len(p.nationality) == 3
    assert {p.culture for p in names} == set(CULTURES)
    assert any("'" in p.surname for p in names)  # O'BRIEN, D'SOUZA: the release character
    assert any("-" in p.surname for p in names)  # AL-RASHID
    assert any(" " in p.surname for p in names)  # VAN DER MEER, DE LA CRUZ


def test_romanise_follows_carrier_habits() -> None:
    assert romanise("Müller", icao_umlauts=True) == "MUELLER"
    assert romanise("Nguyễn Văn Ân") == "NGUYEN VAN AN"
    assert romanise("Щербаков") == "SHCHERBAKOV"
    assert romanise("Παπαδόπουλος", script="greek") == "PAPADOPOULOS"
    assert romanise("欣怡", script="han") == "XINYI"
    assert romanise("van 't Hof") == "VAN 'T HOF"


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_traffic() -> None:
    a = list(generate(9, flights=3, passengers_per_flight=(20, 40), base_date=BASE))
    b = list(generate(9, flights=3, passengers_per_flight=(20, 40), base_date=BASE))
    assert [(p.pnrgov_filename, p.pnrgov, p.paxlst) for p in a] == [
        (p.pnrgov_filename, p.pnrgov, p.paxlst) for p in b
    ]
    c = list(generate(10, flights=3, passengers_per_flight=(20, 40), base_date=BASE))
    assert [p.pnrgov for p in a] != [p.pnrgov for p in c]


def test_iterating_twice_gives_the_same_pushes() -> None:
    traffic = generate(9, flights=2, passengers_per_flight=20, base_date=BASE)
    assert [p.pnrgov for p in traffic] == [p.pnrgov for p in traffic]
    assert len(traffic) == 4


def test_base_date_drives_every_date() -> None:
    traffic = generate(9, flights=4, passengers_per_flight=20, base_date=dt.date(2031, 2, 27))
    for leg in traffic.flights:
        assert leg.departure is not None
        assert dt.date(2031, 2, 27) <= leg.departure.date() <= dt.date(2031, 3, 1)


# --- pushes and versions -------------------------------------------------------------------


def test_each_flight_is_pushed_twice_with_new_versions() -> None:
    ps = pushes()
    by_flight: dict[str, list[Push]] = {}
    for p in ps:
        by_flight.setdefault(p.pnrgov_filename.rsplit("-", 1)[0], []).append(p)
    for group in by_flight.values():
        assert [p.kind for p in group] == [PushKind.INITIAL, PushKind.CLOSURE]
        initial, closure = group
        assert initial.prepared < closure.prepared
        assert initial.paxlst is None
        assert closure.paxlst is not None
        departure = closure.flight.departure
        assert departure is not None
        assert dt.timedelta(hours=24) <= departure - initial.prepared <= dt.timedelta(hours=48)
        first = {(b.carrier, b.locator, b.created): b for b in initial.bookings}
        second = {(b.carrier, b.locator, b.created): b for b in closure.bookings}
        common = first.keys() & second.keys()
        assert len(common) >= 0.8 * len(first)
        for key in common:
            assert to_dict(first[key]) != to_dict(second[key])  # a new version, not a re-send
        checked_in = sum(bool(second[key].check_ins) for key in common)
        assert checked_in >= 0.8 * len(common)  # the rest are no-shows
        for b in closure.bookings:
            assert b.created is not None
            assert b.created < closure.prepared
        for b in initial.bookings:
            assert b.created is not None
            assert b.created < initial.prepared


def test_bookings_cover_the_annex_i_elements() -> None:
    bookings = all_bookings(pushes())
    travellers = [t for b in bookings for t in b.travellers]
    assert any(t.traveller_type is TravellerType.INFANT and t.accompanied_by_ref for t in travellers)
    assert any(t.traveller_type is TravellerType.CHILD for t in travellers)
    groups = [b for b in bookings if any(r.text.startswith("GROUP ") for r in b.remarks)]
    assert any(len(b.travellers) >= 6 for b in groups)
    assert all(len(b.travellers) <= 9 for b in bookings)
    assert any(b.split_from for b in bookings)
    assert any(len(b.itinerary) >= 3 for b in bookings)
    assert any(leg.operating_carrier for b in bookings for leg in b.itinerary)
    assert any(b.tickets for b in bookings)
    assert any(b.seats for b in bookings)
    assert {bag.pool for b in bookings for bag in b.bags} >= {"head", "member", ""}
    assert any(t.frequent_flyers for t in travellers)
    assert any(c.kind == "email" for b in bookings for c in b.contacts)
    assert any(c.value.startswith("+") for b in bookings for c in b.contacts)
    cards = [p.card_number for b in bookings for p in b.payments if p.form == "CC"]
    assert cards
    assert all(re.fullmatch(r"X{12}\d{4}", c) for c in cards)
    assert any(b.agency and b.agency.iata_number for b in bookings)
    assert any(t.documents for t in travellers)
    assert {c.status for b in bookings for c in b.check_ins} == {CHECKED_IN}
    assert any(b.history for b in bookings)
    for t in travellers:
        assert CARRIER_NAME.match(t.surname)
        assert CARRIER_NAME.match(t.given_names)


# --- sensitive data ------------------------------------------------------------------------


def _sensitive(b: Booking) -> bool:
    return any(s.code in SENSITIVE_SSR_CODES for s in b.service_requests) or any(
        r.text in SENSITIVE_REMARKS for r in b.remarks
    )


def test_sensitive_rate_controls_sensitive_ssrs_and_remarks() -> None:
    always = all_bookings(pushes(rate=1.0))
    never = all_bookings(pushes(rate=0.0))
    assert all(_sensitive(b) for b in always)
    assert not any(_sensitive(b) for b in never)
    default = [b for p in pushes() if p.kind is PushKind.INITIAL for b in p.bookings]
    share = sum(_sensitive(b) for b in default) / len(default)
    assert 0.01 <= share <= 0.12
    codes = Counter(s.code for b in always for s in b.service_requests if s.code in SENSITIVE_SSR_CODES)
    assert set(codes) == set(SENSITIVE_SSR_CODES)


def test_plain_content_is_not_mistaken_for_sensitive() -> None:
    """With the rate at 0 the DPO's filter deletes nothing: plain remarks stay plain."""
    from pnrguard.protection.sensitive import SensitiveFilter

    fil = SensitiveFilter.load()
    for b in all_bookings(pushes(rate=0.0)):
        _, report = fil.apply(b)
        assert report.deleted == 0, [r.text for r in b.remarks]


# --- round trips through our readers -------------------------------------------------------


def test_every_pnrgov_push_reads_back_to_the_generated_bookings() -> None:
    """model -> write -> read gives the model back, up to what PNRGOV cannot express."""
    releases = 0
    for p in pushes():
        result = read_pnrgov(p.pnrgov)
        assert result.message_type == "PNRGOV"
        assert not result.deviations
        assert not result.unknown_segments
        expected = [pnrgov_normalise(b, flight=p.flight) for b in p.bookings]
        for got, want in zip(result.bookings, expected, strict=True):
            assert to_dict(got) == to_dict(want)
        releases += p.pnrgov.count("?'") + p.pnrgov.count("?+")
    assert releases > 0  # O'BRIEN and +49 phone numbers went through the release character


def test_every_paxlst_push_reads_back_to_the_travellers() -> None:
    from pnrguard.formats.paxlst import read_paxlst

    for p in pushes():
        if p.paxlst is None:
            continue
        result = read_paxlst(p.paxlst)
        sent = [
            (b.locator, t.surname, t.given_names, t.gender, t.date_of_birth, t.nationality,
             [(d.doc_type, d.number, d.issuing_country, d.expiry) for d in t.documents])
            for b in p.paxlst_bookings for t in b.travellers
        ]  # fmt: skip
        got = [
            (b.locator, t.surname, t.given_names, t.gender, t.date_of_birth, t.nationality,
             [(d.doc_type, d.number, d.issuing_country, d.expiry) for d in t.documents])
            for b in result.bookings for t in b.travellers
        ]  # fmt: skip
        assert got == sent
        assert result.flight is not None
        assert result.flight.flight_number == p.flight.flight_number


# --- CLI -----------------------------------------------------------------------------------


def test_cli_writes_files_and_a_summary(tmp_path: Path) -> None:
    from pnrguard.cli import app

    out = tmp_path / "traffic"
    args = ["synth", str(out), "--flights", "2", "--seed", "3", "--base-date", "2025-06-01"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.pnrgov.edi"))) == 4
    assert len(list(out.glob("*.paxlst.edi"))) == 2
    assert "flights" in result.output
    again = tmp_path / "again"
    CliRunner().invoke(app, ["synth", str(again), "--flights", "2", "--seed", "3"])
    for f in out.iterdir():
        assert (again / f.name).read_bytes() == f.read_bytes()
