"""The clock port: use cases ask it for the time instead of calling `datetime.now`.

Why a port: retention, quarantine expiry and every audit timestamp depend on "now", and
tests must be able to fix or advance time without sleeping (STYLE.md: inject the clock).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod


class Clock(ABC):
    """Contract: `now()` returns a timezone-aware datetime in UTC, never going backwards
    within one process for the real clock (tests may set any time on the fixed one)."""

    @abstractmethod
    def now(self) -> dt.datetime: ...

    def __call__(self) -> dt.datetime:
        """A clock is also a zero-argument callable, the form the audit log takes."""
        return self.now()


class SystemClock(Clock):
    """Wall-clock time in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FixedClock(Clock):
    """A clock that says what it is told: for tests and for replaying a scenario."""

    def __init__(self, at: dt.datetime) -> None:
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        if at.utcoffset() is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> None:
        self._at = self._at + delta

    def now(self) -> dt.datetime:
        return self._at
