"""The one Jinja environment of the workspace: templates, translation, filters.

Every page is rendered by `TEMPLATES` (one loader, one set of filters), with the
`jinja2.ext.i18n` extension whose `_()`, `gettext`, `ngettext` and `{% trans %}` read the
request's language (`web/i18n.py`). Dates and numbers go through Babel: `| utc` and
`| day` for times and dates, `| number` for counts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pnrguard.audit.models import Purpose
from pnrguard.service.accounts import Role
from pnrguard.service.hit_queue import countdown
from pnrguard.service.review import MASKED, Moment
from pnrguard.service.system_reasons import shown_reason
from pnrguard.store.copies import shown_text
from pnrguard.web import i18n
from pnrguard.web.labels import field_label, purpose_label, role_label, short_id, status_label

__all__ = ["TEMPLATES", "TEMPLATE_DIR"]

TEMPLATE_DIR = Path(__file__).parent / "templates"


class WorkspaceEnvironment(Environment):
    """Keeps the real translations installed.

    Branches written before translation existed add `install_null_translations(...)` after
    creating their templates; on this environment that call changes nothing, so such a line
    left in by a merge cannot switch the workspace back to untranslated English.
    """

    def install_null_translations(self, newstyle: bool | None = None) -> None:
        return None


def utc(at: dt.datetime | None) -> str:
    return i18n.format_datetime(at)


def day(value: dt.date | None) -> str:
    return i18n.format_date(value)


def when(m: Moment | None) -> str:
    """A flight time as local airport time and UTC: "Jun 1, 2025 10:05 CDG local (08:05 UTC)"."""
    if m is None:
        return ""
    out = i18n.gettext("{time} {airport} local").format(
        time=f"{i18n.format_date(m.local.date())} {m.local:%H:%M}", airport=m.airport
    )
    if m.utc is not None:
        out += f" ({m.utc:%H:%M} UTC)"
    return out


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value == MASKED


def _environment() -> WorkspaceEnvironment:
    env = WorkspaceEnvironment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["purpose"] = purpose_label
    env.filters["utc"] = utc
    env.filters["day"] = day
    env.filters["number"] = i18n.format_number
    env.filters["shown"] = shown_text  # a sealed text (store/copies.py) is never printed
    env.filters["when"] = when
    env.filters["short_id"] = short_id
    env.filters["short"] = short_id
    env.filters["countdown"] = countdown
    env.filters["status"] = status_label
    env.filters["reason"] = lambda text: shown_reason(text, i18n.gettext)  # system reasons translated
    env.filters["role"] = role_label
    env.filters["field"] = field_label
    env.tests["masked"] = is_masked
    env.globals["Role"] = Role
    env.globals["Purpose"] = Purpose
    env.globals["LOCALES"] = i18n.LOCALES
    env.globals["current_locale"] = i18n.current_locale
    return env


TEMPLATES = Jinja2Templates(env=_environment())
