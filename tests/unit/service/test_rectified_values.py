"""A rectified value takes the type of the field it corrects, also where the field was empty,
and a value of the wrong shape is refused with an error that names the field, not the value."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pnrguard.domain.model import Document, Traveller
from pnrguard.errors import InputError
from pnrguard.service.rights import set_field

pytestmark = pytest.mark.unit

EMPTY_DOC = Traveller(
    ref="1", surname="WANG", given_names="LEI", documents=[Document(doc_type="P", number="E1")]
)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_an_empty_birth_date_corrected_is_a_date(day: dt.date) -> None:
    # An API record's document often has no birth date of its own: the correction must still
    # be a date, or the blind index and screening would read a string.
    fixed = set_field(EMPTY_DOC, "documents.0.date_of_birth", day.isoformat())
    assert fixed.documents[0].date_of_birth == day
    assert set_field(EMPTY_DOC, "date_of_birth", day.isoformat()).date_of_birth == day


@pytest.mark.parametrize("value", ["1990-13-01", "05/05/1990", "WANG LEI 1990", ""])
def test_a_date_of_the_wrong_shape_is_refused_without_repeating_it(value: str) -> None:
    with pytest.raises(InputError) as refused:
        set_field(EMPTY_DOC, "documents.0.date_of_birth", value)
    assert "date_of_birth" in str(refused.value)
    assert value not in str(refused.value) or value == ""  # personal data stays out of errors


def test_a_text_field_takes_the_text_as_it_is() -> None:
    assert set_field(EMPTY_DOC, "surname", "WANG-LI").surname == "WANG-LI"
