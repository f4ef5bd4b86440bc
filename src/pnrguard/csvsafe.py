"""The one CSV writer of pnrguard: cells that a spreadsheet would run as a formula are
defused (CWE-1236, OWASP "CSV injection").

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe, which spreadsheets show as text and never evaluate; numbers, booleans
and dates are written as they are. Every CSV the product writes goes through
`safe_writer` (`tests/unit/test_csvsafe.py` fails if a module calls ``csv.writer`` itself).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["FORMULA_PREFIXES", "SafeWriter", "defuse", "safe_writer"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, s: str, /) -> Any: ...


def defuse(value: object) -> object:
    """The cell as a spreadsheet may safely open it."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` with every text cell defused."""

    def __init__(self, out: _Writable, **kwargs: Any) -> None:
        self._w = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._w.writerow([defuse(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(out: _Writable, **kwargs: Any) -> SafeWriter:
    return SafeWriter(out, **kwargs)
