"""Dates, times and numbers as PNRGOV writes them (DDMMYY, HHMM, DDMMMYY), read and written."""

from __future__ import annotations

import datetime as dt
from typing import Final, cast

from pnrguard.formats.edifact import Segment
from pnrguard.formats.edifact.splitting import ACCEL

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NO = {m: i + 1 for i, m in enumerate(_MONTHS)}


# Date and time strings repeat a great deal (a flight's date in every booking, tickets
# issued the same day, a traveller's DOCS in each push): the parsers below are cached (the
# reader ran 10% faster, and 8% more with `_date7`, measured). Plain dicts, emptied when
# full, rather than `functools.lru_cache`: its wrapper took 1,000 instructions a call in
# the compiled reader, a dict look-up a tenth of that (docs/performance.md). Results are
# immutable, so sharing them between bookings is safe; the caches only ever hold what the
# functions return, so a reading never depends on what was read before.
#
# Where `make compile` built the C accelerator (formats/edifact/_csplit.c), it reads the
# commonest shapes (exact-length ASCII digits, and a month name) without any cache: building
# the value there costs less than the cached look-up of a tuple key, and a day of traffic,
# which empties the caches over and over, no longer pays the misses. It answers False for
# any other shape, which the functions below then read; tests/unit/formats/test_csplit.py
# holds its answers equal to theirs.
_CACHE_MAX = 4096
# Final: mypyc keeps them in C statics (a plain module global is a dict look-up per call).
_C_DATE6: Final = ACCEL.date6 if ACCEL is not None else None
_C_TIME: Final = ACCEL.time if ACCEL is not None else None
_C_DATETIME: Final = ACCEL.datetime if ACCEL is not None else None
_C_DATE7: Final = ACCEL.date7 if ACCEL is not None else None
_DATE6: dict[str, dt.date | None] = {}
_TIME: dict[str, dt.time | None] = {}
_DATETIME: dict[tuple[str, str], dt.datetime | None] = {}
_DATE7: dict[tuple[str, bool, dt.date], dt.date | None] = {}


def _date6(value: str) -> dt.date | None:
    """DDMMYY as PNRGOV sends event dates (bookings, flights, check-in): always 20YY."""
    if _C_DATE6 is not None:
        found = _C_DATE6(value)
        if found is not False:
            return cast("dt.date | None", found)
    try:
        return _DATE6[value]
    except KeyError:
        pass
    day = _read_date6(value)
    if len(_DATE6) >= _CACHE_MAX:
        _DATE6.clear()
    _DATE6[value] = day
    return day


def _read_date6(value: str) -> dt.date | None:
    if len(value) != 6 or not value.isdigit():
        value = value.strip()
        if len(value) != 6 or not value.isdigit():
            return None
    try:
        return dt.date(2000 + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except ValueError:
        return None


def _time(value: str) -> dt.time | None:
    """HHMM or HHMMSS."""
    if _C_TIME is not None:
        found = _C_TIME(value)
        if found is not False:
            return cast("dt.time | None", found)
    try:
        return _TIME[value]
    except KeyError:
        pass
    tm = _read_time(value)
    if len(_TIME) >= _CACHE_MAX:
        _TIME.clear()
    _TIME[value] = tm
    return tm


def _read_time(value: str) -> dt.time | None:
    value = value.strip()
    n = len(value)
    if n not in (4, 6) or not value.isdigit():
        return None
    try:
        return dt.time(int(value[0:2]), int(value[2:4]), int(value[4:6]) if n == 6 else 0)
    except ValueError:
        return None


def _datetime(date_value: str, time_value: str) -> dt.datetime | None:
    """The moment, or None when the date or a time that was sent is unreadable (an
    impossible time such as 4321 is not midnight); a date alone is midnight."""
    if _C_DATETIME is not None:
        found = _C_DATETIME(date_value, time_value)
        if found is not False:
            return cast("dt.datetime | None", found)
    key = (date_value, time_value)
    try:
        return _DATETIME[key]
    except KeyError:
        pass
    moment = _read_datetime(date_value, time_value)
    if len(_DATETIME) >= _CACHE_MAX:
        _DATETIME.clear()
    _DATETIME[key] = moment
    return moment


def _read_datetime(date_value: str, time_value: str) -> dt.datetime | None:
    day = _date6(date_value)
    if day is None:
        return None
    tm = _time(time_value)
    if tm is None:
        return None if time_value.strip() else dt.datetime(day.year, day.month, day.day)
    return dt.datetime.combine(day, tm)


def _moments_ok(seg: Segment, element: int, pairs: int) -> bool:
    """Whether every date and time sent in `element` (date, time, date, time ...) reads."""
    comps = seg.elements[element] if element < len(seg.elements) else _NONE
    for i, value in enumerate(comps[: 2 * pairs]):
        if value.strip() and (_time(value) if i % 2 else _date6(value)) is None:
            if i == 2 and not comps[3:4] and _time(value) is not None:
                continue  # TVL+date:time:time, the arrival time alone
            return False
    return True


def _date7(value: str, past: bool, today: dt.date) -> dt.date | None:
    """DDMMMYY as in SSR DOCS. `past` dates (birth, issue) are never in the future, so the
    century is 20YY unless that lies after today; other dates (expiry) are 20YY."""
    if _C_DATE7 is not None:
        found = _C_DATE7(value, past, today)
        if found is not False:
            return cast("dt.date | None", found)
    key = (value, past, today)
    try:
        return _DATE7[key]
    except KeyError:
        pass
    day = _read_date7(value, past, today)
    if len(_DATE7) >= _CACHE_MAX:
        _DATE7.clear()
    _DATE7[key] = day
    return day


def _read_date7(value: str, past: bool, today: dt.date) -> dt.date | None:
    value = value.strip().upper()
    n = len(value)
    if n not in (7, 9) or not (value[:2].isdigit() and value[5:].isdigit()):
        return None  # DDMMMYY, or DDMMMYYYY as some carriers send: the century is given
    month = _MONTH_NO.get(value[2:5])
    if month is None:
        return None
    try:
        if n == 9:
            return dt.date(int(value[5:]), month, int(value[:2]))
        day = dt.date(2000 + int(value[5:]), month, int(value[:2]))
        if past and day > today:
            day = day.replace(year=day.year - 100)
    except ValueError:
        return None
    return day


def _fmt_date6(day: dt.date) -> str:
    return f"{day.day:02d}{day.month:02d}{day.year % 100:02d}"


def _fmt_time(moment: dt.datetime, *, seconds: bool = False) -> str:
    if seconds and moment.second:
        return f"{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return f"{moment.hour:02d}{moment.minute:02d}"


def _fmt_date7(day: dt.date | None) -> str:
    if day is None:
        return ""
    return f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year % 100:02d}"


def _int(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


_NONE: list[str] = []  # an element the carrier left out (only ever read, never changed)


def _comp(elements: list[list[str]], element: int, component: int = 0) -> str:
    if element < len(elements):
        comps = elements[element]
        if component < len(comps):
            return comps[component]
    return ""
