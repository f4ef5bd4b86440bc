"""PAXLST values read leniently: counts, dates and stamps with century windows, flight
identifiers, and the copy of a leg each booking gets."""

from __future__ import annotations

import datetime as dt

from pnrguard.domain.model import (
    Leg,
)
from pnrguard.formats.edifact import (
    Segment,
)

# Century windows: a birth or issue date is never after the interchange date; an expiry or a
# flight time lies within 50 years after it.
_NEAR_YEARS = 50
_MAX_COUNT_DIGITS = 9


def _digits(value: str) -> bool:
    """ASCII digits only: `str.isdigit` alone accepts superscripts that `int` refuses."""
    return value.isascii() and value.isdigit()


def _count(value: str) -> int | None:
    value = value.strip()
    return int(value) if value and len(value) <= _MAX_COUNT_DIGITS and _digits(value) else None


def _stamp(value: str) -> tuple[int, bool, int, int, int, int, int] | None:
    """Split a DTM value into (year, has_century, month, day, hour, minute, second).

    The layout is told by the length (6 YYMMDD, 8 CCYYMMDD, 10 YYMMDDHHMM, 12 CCYYMMDDHHMM,
    14 CCYYMMDDHHMMSS) rather than by the format code, because carriers send 201 on values
    of every length; the lengths are unambiguous, so nothing is guessed.
    """
    v = value.strip()
    n = len(v)
    if not _digits(v) or n not in (6, 8, 10, 12, 14):
        return None
    century = n in (8, 12, 14)
    off = 4 if century else 2
    year = int(v[:off])
    month, day = int(v[off : off + 2]), int(v[off + 2 : off + 4])
    hour = minute = second = 0
    if n >= 10:
        hour, minute = int(v[off + 4 : off + 6]), int(v[off + 6 : off + 8])
    if n == 14:
        second = int(v[12:14])
    return year, century, month, day, hour, minute, second


def _past_date(value: str, ref: dt.date) -> dt.date | None:
    """A date that cannot lie after `ref` (birth, document issue): YY in the future -> 19YY."""
    parts = _stamp(value)
    if parts is None:
        return None
    year, century, month, day = parts[0], parts[1], parts[2], parts[3]
    try:
        if century:
            return dt.date(year, month, day)
        if year + 2000 > ref.year:
            return dt.date(1900 + year, month, day)
        try:
            date = dt.date(2000 + year, month, day)
        except ValueError:  # 29 February of a year that is leap only in one century
            return dt.date(1900 + year, month, day)
        return date if date <= ref else dt.date(1900 + year, month, day)
    except ValueError:
        return None


def _near_year(year: int, century: bool, ref: dt.date) -> int:
    if century:
        return year
    return 2000 + year if 2000 + year <= ref.year + _NEAR_YEARS else 1900 + year


def _near_date(value: str, ref: dt.date) -> dt.date | None:
    """A date within 50 years after `ref` (document expiry)."""
    parts = _stamp(value)
    if parts is None:
        return None
    try:
        return dt.date(_near_year(parts[0], parts[1], ref), parts[2], parts[3])
    except ValueError:
        return None


def _near_datetime(value: str, ref: dt.date) -> dt.datetime | None:
    """A flight time (local, naive, as the carrier sends it)."""
    parts = _stamp(value)
    if parts is None:
        return None
    year, century, month, day, hour, minute, second = parts
    try:
        return dt.datetime(_near_year(year, century, ref), month, day, hour, minute, second)
    except ValueError:
        return None


def _reference_date(prepared: str) -> dt.date:
    """The interchange date (UNB), against which two-digit years are placed.

    Using the message's own date keeps reading deterministic: the same bytes give the same
    bookings whenever they are read. Only an unreadable UNB date falls back to today.
    """
    parts = _stamp(prepared.split(":", 1)[0])
    if parts is not None:
        year = parts[0] if parts[1] else 2000 + parts[0]
        try:
            return dt.date(year, parts[2], parts[3])
        except ValueError:
            pass
    return dt.date.today()


def _split_flight(ident: str, carrier: str) -> tuple[str, str, bool]:
    """(carrier, flight number, designators differ) from TDT 8028 and C040.

    The carrier element wins where present (it names the carrier of the flight); the
    designator in front of the number is stripped whatever it is. "Progressive" flights send
    a continuing leg as `TDT+20+ZX877+++XZ`: cutting len(carrier) characters would be right
    only by accident (GTAS issue 813), so the designator is split off on its own.
    """
    ident = ident.replace(" ", "")
    if carrier and ident.startswith(carrier) and len(ident) > len(carrier):
        return carrier, ident[len(carrier) :], False
    designator, number = "", ident
    if len(ident) > 3 and ident[:3].isascii() and ident[:3].isalpha() and ident[3].isdigit():
        designator, number = ident[:3], ident[3:]  # ICAO three-letter designator
    elif (
        len(ident) > 2
        and ident[:2].isascii()
        and ident[:2].isalnum()
        and not ident[:2].isdigit()
        and ident[2].isdigit()
    ):
        designator, number = ident[:2], ident[2:]  # IATA two-character designator
    if carrier:
        return carrier, number, bool(designator) and designator != carrier
    return designator, number, False


def _pair(seg: Segment, i: int, j: int, k: int, m: int) -> tuple[str, str]:
    """Components (i, j) and (k, m), stripped: the common case without bounds checks."""
    els = seg.elements
    try:
        return els[i][j].strip(), els[k][m].strip()
    except IndexError:  # a short segment: fall back to the checked accessor
        return seg.get(i, j).strip(), seg.get(k, m).strip()


def _copy_leg(leg: Leg) -> Leg:
    """Each booking gets its own legs: later stages (masking) may change one booking."""
    return Leg(leg.carrier, leg.flight_number, leg.origin, leg.destination, leg.departure, leg.arrival)
