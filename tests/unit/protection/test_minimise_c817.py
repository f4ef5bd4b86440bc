"""Annex I as C-817/19 reads it (issue 10, item 6): place of birth, document issue date and
general remarks other than on unaccompanied minors are never stored."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.domain.annex import NOT_STORED
from pnrguard.domain.model import Booking, Document, Remark, Traveller
from pnrguard.protection.minimise import is_minor_remark, minimise
from pnrguard.protection.protect import protect
from pnrguard.protection.sensitive import SensitiveFilter

pytestmark = pytest.mark.unit

FILTER = SensitiveFilter.load()


def _booking(*remarks: str) -> Booking:
    return Booking(
        carrier="XX",
        locator="MIN001",
        travellers=[
            Traveller(
                ref="1",
                surname="DOE",
                birth_place="LYON",
                documents=[Document(doc_type="P", number="X1", date_of_issue=dt.date(2020, 1, 2),
                                    place_of_issue="PARIS", valid_for="FR")],
            )
        ],
        remarks=[Remark("OSI", r) for r in remarks],
    )


def test_place_of_birth_and_issue_date_are_dropped_and_counted() -> None:
    b = _booking()
    before = copy.deepcopy(b)
    out, counts = minimise(b)
    assert out.travellers[0].birth_place == ""
    assert out.travellers[0].documents[0].date_of_issue is None
    assert out.travellers[0].documents[0].place_of_issue == ""
    assert out.travellers[0].documents[0].number == "X1"  # heading 18 data stays
    assert out.travellers[0].documents[0].valid_for == "FR"
    assert counts == {
        "dropped.field.birth_place": 1, "dropped.field.date_of_issue": 1, "dropped.field.place_of_issue": 1,
    }  # fmt: skip
    assert b == before  # never mutates
    never = {("Traveller", "birth_place"), ("Document", "date_of_issue"), ("Document", "place_of_issue")}
    assert never == NOT_STORED


@pytest.mark.parametrize(
    "text",
    ["UMNR 08YRS MET BY MOTHER +33100000000", "UM09", "UM 12YRS", "YY UNACCOMPANIED MINOR SPEAKS FR"],
)
def test_remarks_on_unaccompanied_minors_stay(text: str) -> None:
    out = protect(_booking(text), sensitive_filter=FILTER).booking
    assert [r.text for r in out.remarks] == [text]


@pytest.mark.parametrize(
    "text", ["THIS PASSENGER IS A VIP", "TKT BY 15JAN", "HUMBLE 5", "UMBRELLA IN CABIN", "SUMMER 10"]
)
def test_every_other_general_remark_goes(text: str) -> None:
    result = protect(_booking(text), sensitive_filter=FILTER)
    assert result.booking.remarks == []
    assert result.minimised["dropped.remark.general"] == 1


@given(st.lists(st.text(max_size=40), max_size=6))
def test_minimise_keeps_only_minor_remarks_and_is_idempotent(texts: list[str]) -> None:
    once, _ = minimise(_booking(*texts))
    assert all(is_minor_remark(r) for r in once.remarks)
    assert [r.text for r in once.remarks] == [t for t in texts if is_minor_remark(Remark("OSI", t))]
    twice, counts = minimise(once)
    assert twice == once
    assert counts == {}
