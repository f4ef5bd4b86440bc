"""The disclosure PDF shows every value of the JSON package, in the names' own script."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from pnrguard.service.package_pdf import find_unicode_font, render_package_pdf

pytestmark = pytest.mark.unit


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages).split()
    )


def _package(**booking: Any) -> dict[str, Any]:
    return {
        "format": "pnrguard-disclosure/1",
        "transmission_id": "tx-41",
        "node": "node-de",
        "released_at": "2026-12-05T10:00:00+00:00",
        "recipient": {"code": "POLICE", "name": "National Police", "kind": "competent_authority"},
        "purpose": {"code": "terrorist_offences", "label": "Terrorist offences"},
        "legal_basis": "Directive (EU) 2016/681, Art. 6(2)(a)",
        "conditions": "Processed only for the purpose stated",
        "justification": "Document numbers agree",
        "approvals": [
            {"step": "proposed", "by": "analyst-7", "at": "2026-12-05T09:00:00+00:00"},
            {"step": "released", "by": "supervisor-2", "at": "2026-12-05T10:00:00+00:00",
             "reason": "proportionate"},
        ],
        "hit": {"hit_id": "hit-9", "match": {"list": "UN", "entity_id": "QDi.123"}},
        "booking": booking,
    }


def _leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [] if value is None else [str(value)]


def test_every_value_of_the_package_is_printed() -> None:
    data = _package(
        locator="QX7K2A",
        travellers=[
            {"surname": "MÜLLER", "given_names": "Jürgen", "dob": "1980-01-02",
             "documents": [{"number": "C01X00T47"}]},
            {"surname": "Дмитриев", "given_names": "Иван"},
        ],
        legs=[{"flight": "LH400", "from": "FRA", "to": "JFK"}],
    )
    if find_unicode_font() is None:
        pytest.skip("no Unicode font installed (Debian: fonts-dejavu-core)")
    shown = _text(render_package_pdf(data))
    # The format id and the purpose code are for machines; the document prints the label.
    for leaf in set(_leaves(data)) - {"pnrguard-disclosure/1", "terrorist_offences"}:
        assert leaf in shown, leaf


def test_without_a_unicode_font_names_are_transliterated_not_dropped() -> None:
    data = _package(travellers=[{"surname": "Дмитриев", "given_names": "王小明"}])
    shown = _text(render_package_pdf(data, unicode_font=False))
    assert "Dmitriev" in shown
    assert "WangXiaoMing" in shown.replace(" ", "")
    assert "transliterated" in shown


def test_the_same_package_renders_to_the_same_bytes() -> None:
    data = _package(travellers=[{"surname": "ROSSI"}])
    assert render_package_pdf(data) == render_package_pdf(data)


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_any_text_renders_and_latin_text_survives(free_text: str) -> None:
    data = _package(travellers=[{"surname": "KOWALSKI", "given_names": free_text}])
    data["justification"] = free_text
    shown = _text(render_package_pdf(data))
    assert "KOWALSKI" in shown
