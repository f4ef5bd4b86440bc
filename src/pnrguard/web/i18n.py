"""The workspace's languages: gettext catalogues (Babel), the locale of the request, and
locale-aware dates and numbers.

Why a context variable: one request is rendered by one task (or one worker thread, which
inherits the task's context), so a `ContextVar` gives every page its own language without
passing it through every call. `LocaleMiddleware` sets it from `Accept-Language` for each
request; `views.render` narrows it to the account's own choice (`account.locale`) once the
account is known. English is the source language and the fallback.

Catalogues live in `web/locale/<lang>/LC_MESSAGES/messages.po` and are compiled **in
memory at first use** (Babel's `read_po` + `write_mo`): no `.mo` file is committed or needs a
build step, so a clean clone runs translated (`*.mo` is ignored by git).
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import io
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextvars import ContextVar
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date as _format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal as _format_decimal
from babel.support import Translations

from pnrguard.errors import N_, PnrguardError

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_DIR",
    "N_",
    "LocaleMiddleware",
    "current_locale",
    "error_text",
    "format_date",
    "format_datetime",
    "format_number",
    "gettext",
    "negotiate",
    "ngettext",
    "set_locale",
    "translations",
]

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en"
#: The languages a person may choose (code, name in that language). English is the source.
LOCALES: dict[str, str] = {"en": "English", "fr": "Français"}

_current: ContextVar[str] = ContextVar("pnrguard_locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The catalogue of `locale`, compiled from its `.po` once per process."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain="messages")


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str | None) -> None:
    """Switch the current request's language (ignored when `locale` is not offered)."""
    if locale in LOCALES:
        _current.set(locale)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def error_text(exc: BaseException) -> str:
    """An error's message in the reader's language: its message id (`pnrguard.errors`)
    translated, then its parameters filled in; English when the catalogue has no entry
    (`tests/web/test_translations.py` makes sure it has)."""
    if not isinstance(exc, PnrguardError) or not exc.message:
        return error_text(exc)
    translated = gettext(exc.message)
    if not exc.params:
        return translated
    try:
        return translated % _shown_params(exc.params)
    except (KeyError, TypeError, ValueError):
        return error_text(exc)


#: Error parameters that carry a stored code (a status, a purpose, a role): a page shows
#: its label in the reader's language ("est ouvert", not "est open").
_CODED_PARAMS = frozenset({"status", "state", "kind", "decision", "outcome"})


def _shown_params(params: Mapping[str, object]) -> dict[str, object]:
    # Imported here: labels builds on this module's gettext.
    from pnrguard.web.labels import purpose_label, role_label, status_label

    shown = dict(params)
    for name, value in params.items():
        if value is None:
            continue
        if name in _CODED_PARAMS:
            shown[name] = status_label(value)
        elif name == "purpose":
            shown[name] = purpose_label(str(getattr(value, "value", value)))
        elif name == "role":
            shown[name] = role_label(str(getattr(value, "value", value)))
    return shown


def negotiate(header: str | None) -> str:
    """The offered language an `Accept-Language` header prefers most, else English."""
    if not header:
        return DEFAULT_LOCALE
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip().lower()))
    for _q, _i, tag in sorted(weighted):
        base = tag.split("-")[0].split("_")[0]
        if base in LOCALES:
            return base
    return DEFAULT_LOCALE


def _babel_locale() -> Locale:
    return Locale.parse(_current.get())


def format_datetime(at: dt.datetime | None, fmt: str = "medium") -> str:
    """A UTC time in the reader's language ("Dec 6, 2026 03:17 UTC", "6 déc. 2026 03:17 UTC")."""
    if at is None:
        return ""
    at = at.astimezone(dt.UTC)
    return f"{_format_date(at.date(), fmt, locale=_babel_locale())} {at:%H:%M} UTC"


def format_date(day: dt.date | None, fmt: str = "medium") -> str:
    if day is None:
        return ""
    return str(_format_date(day, fmt, locale=_babel_locale()))


def format_number(value: int | float | Decimal | None) -> str:
    if value is None:
        return ""
    return str(_format_decimal(value, locale=_babel_locale()))


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class LocaleMiddleware:
    """Sets the request's language from `Accept-Language` (pure ASGI: nothing buffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"accept-language"), None
        )
        token = _current.set(negotiate(header))
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)
