"""Engines keep personal data out of error messages, which end up in logs: statement
parameters are hidden, and PostgreSQL's DETAIL line (which quotes the failing row) is cut."""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from pnrguard.store.tables import booking

pytestmark = pytest.mark.storage


def test_a_failing_statement_quotes_neither_parameters_nor_the_row(engine: Engine) -> None:
    row = {"id": "x" * 32, "source": "ZZZ", "carrier": "XX", "locator": "SECRET1"}
    with pytest.raises(DBAPIError) as info, engine.begin() as conn:
        conn.execute(insert(booking), row)
    message = str(info.value)
    assert "SECRET1" not in message
    assert "hidden due to hide_parameters" in message
    assert "constraint" in message  # the cause stays readable
