"""Audit entries: codes, the non-personal guard, and the canonical encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.audit.models import (
    ANNEX_II_PURPOSES,
    INVESTIGATIVE_PURPOSES,
    AuditEntry,
    Operation,
    Purpose,
)
from pnrguard.errors import AuditError

pytestmark = pytest.mark.unit

AT = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def entry(**overrides: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "seq": 3,
        "at": AT,
        "actor": "user-17",
        "role": "analyst",
        "operation": Operation.CONSULTATION,
        "purpose": Purpose.TRAFFICKING_IN_HUMAN_BEINGS,
        "record_ids": ("bk-01HZX3", "bk-01HZX4"),
        "counts": MappingProxyType({"sensitive.health": 2, "api.documents": 1}),
        "reference": "case-2026-0042",
    }
    fields.update(overrides)
    return AuditEntry(**fields)


def test_annex_ii_has_its_26_offences_and_terrorism_is_apart() -> None:
    assert len(ANNEX_II_PURPOSES) == 26
    assert ANNEX_II_PURPOSES[0] is Purpose.PARTICIPATION_IN_CRIMINAL_ORGANISATION
    assert ANNEX_II_PURPOSES[-1] is Purpose.INDUSTRIAL_ESPIONAGE
    assert Purpose.TERRORIST_OFFENCES not in ANNEX_II_PURPOSES
    assert Purpose.TERRORIST_OFFENCES in INVESTIGATIVE_PURPOSES
    assert Purpose.INGEST not in INVESTIGATIVE_PURPOSES
    assert len(Purpose) == 1 + 26 + 5
    assert all(p.value == p.name.lower() for p in Purpose)


def test_operations_cover_the_law_s_list() -> None:
    required = {"collection", "consultation", "alteration", "combination", "disclosure", "erasure"}
    assert required <= {o.value for o in Operation}


def test_canonical_bytes_are_sorted_compact_utf8_json() -> None:
    data = entry().canonical_bytes()
    assert data == (
        b'{"actor":"user-17","at":"2026-05-01T12:00:00.123456Z",'
        b'"counts":{"api.documents":1,"sensitive.health":2},"operation":"consultation",'
        b'"purpose":"trafficking_in_human_beings","record_ids":["bk-01HZX3","bk-01HZX4"],'
        b'"reference":"case-2026-0042","role":"analyst","seq":3,"v":1}'
    )
    assert AuditEntry.from_canonical(data) == entry()


def test_time_is_normalised_to_utc() -> None:
    cet = timezone(timedelta(hours=2))
    e = entry(at=datetime(2026, 5, 1, 14, 0, 0, 123456, tzinfo=cet))
    assert e.at == AT
    assert e.at.tzinfo is UTC
    with pytest.raises(AuditError, match="timezone-aware"):
        entry(at=datetime(2026, 5, 1, 12, 0))  # a naive time is refused


@pytest.mark.parametrize(
    "bad_id",
    [
        "JOHN SMITH",  # a name with a space
        "x" * 65,  # too long for an id
        "john.smith@example.org",  # an e-mail address
        "",
        "bk-1\n",
        "Ölçek",  # outside the id alphabet
    ],
)
def test_personal_looking_ids_are_refused_and_not_echoed(bad_id: str) -> None:
    with pytest.raises(AuditError) as info:
        entry(record_ids=("bk-1", bad_id))
    assert "record_ids[1]" in str(info.value)
    if bad_id:
        assert bad_id.strip() not in str(info.value)
    with pytest.raises(AuditError):
        entry(actor=bad_id)
    with pytest.raises(AuditError):
        entry(reference=bad_id)


def test_record_ids_must_be_a_sequence_not_a_string() -> None:
    with pytest.raises(AuditError):
        entry(record_ids="bk-1")


@pytest.mark.parametrize(
    "counts",
    [
        {"Sensitive Health": 1},
        {"sensitive.health": -1},
        {"sensitive.health": True},
        {"sensitive.health": 1.0},
        {"a" * 65: 1},
        {"name.JOHN": 1},
    ],
)
def test_counts_are_category_codes_with_non_negative_integers(counts: dict[str, Any]) -> None:
    with pytest.raises(AuditError):
        entry(counts=counts)


@pytest.mark.parametrize(
    "field_", [{"role": "Analyst"}, {"operation": "peek"}, {"purpose": "curiosity"}, {"seq": -1}]
)
def test_codes_are_checked(field_: dict[str, Any]) -> None:
    with pytest.raises(AuditError):
        entry(**field_)


def test_entries_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        AuditEntry(0, AT, "u", "analyst", Operation.COLLECTION, Purpose.INGEST)  # type: ignore[misc]


def test_every_bit_flip_of_the_canonical_bytes_changes_or_breaks_the_entry() -> None:
    original = entry()
    data = original.canonical_bytes()
    for i in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[i // 8] ^= 1 << (i % 8)
        try:
            decoded = AuditEntry.from_canonical(bytes(flipped))
        except AuditError:
            continue
        assert decoded != original
        assert decoded.canonical_bytes() == bytes(flipped)


def test_non_canonical_encodings_are_refused() -> None:
    data = entry().canonical_bytes()
    for variant in (
        data.replace(b'"seq":3', b'"seq": 3'),
        data.replace(b"123456Z", b"123456+00:00"),
        data.replace(b'{"actor"', b'{"v":1,"actor"'),
        data + b"\n",
    ):
        with pytest.raises(AuditError):
            AuditEntry.from_canonical(variant)


ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/+=#-]{0,20}", fullmatch=True)


@given(
    seq=st.integers(0, 2**53),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    actor=ids,
    operation=st.sampled_from(Operation),
    purpose=st.sampled_from(Purpose),
    record_ids=st.lists(ids, max_size=5),
    counts=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True), st.integers(0)),
    reference=st.none() | ids,
)
def test_canonical_encoding_round_trips(
    seq: int,
    at: datetime,
    actor: str,
    operation: Operation,
    purpose: Purpose,
    record_ids: list[str],
    counts: dict[str, int],
    reference: str | None,
) -> None:
    e = AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        role="dpo",
        operation=operation,
        purpose=purpose,
        record_ids=tuple(record_ids),
        counts=counts,
        reference=reference,
    )
    assert AuditEntry.from_canonical(e.canonical_bytes()) == e
