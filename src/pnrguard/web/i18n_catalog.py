"""Extraction of the workspace's messages and upkeep of the catalogues (Babel).

`extract()` reads every `_()`, `gettext`, `ngettext` and `N_` of the templates and of the
web package's Python, every error message marked `N_` in the packages whose errors reach
pages (`ERROR_PACKAGES`: the service layer and what it calls; `pnrguard.errors`), plus the
criteria view's field meanings (shown in the criteria editor).
`tests/web/test_translations.py` holds each catalogue to it; `python -m
pnrguard.web.i18n_catalog` merges new messages into every `.po` (untranslated, so the
test names them until someone translates them).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_python
from babel.messages.pofile import read_po, write_po

from pnrguard.screening.criteria_view import VIEW_FIELDS
from pnrguard.web.i18n import DEFAULT_LOCALE, LOCALE_DIR, LOCALES

__all__ = ["ERROR_PACKAGES", "PACKAGE_DIR", "WEB_DIR", "extract", "po_path", "update"]

WEB_DIR = Path(__file__).parent
PACKAGE_DIR = WEB_DIR.parent
#: Where errors that reach pages are raised: everything but the command line (English, for
#: operators) and the carrier formats (their errors answer carriers in the wire format).
ERROR_PACKAGES = ("service", "store", "protection", "screening", "exchange", "audit", "domain")
_METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
_OPTIONS = {"templates/**.html": {"newstyle_gettext": "true"}}


def extract() -> Catalog:
    """Every message the workspace can show, with where it is used."""
    catalog = Catalog(project="pnrguard", domain="messages", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(WEB_DIR), _METHODS, _OPTIONS, keywords=DEFAULT_KEYWORDS
    ):
        if filename.startswith("i18n_catalog"):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for package in ERROR_PACKAGES:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE_DIR / package), [("**.py", "python")], keywords={"N_": None}
        ):
            catalog.add(
                message, None, [(f"{package}/{filename}", lineno)], auto_comments=comments, context=context
            )
    for module in sorted(PACKAGE_DIR.glob("*.py")):
        with module.open("rb") as fh:
            for line, _func, text, _notes in extract_python(fh, {"N_": None}, [], {}):
                catalog.add(text, None, [(module.name, line)])
    for root, names in VIEW_FIELDS.items():
        for name, meaning in names.items():
            catalog.add(meaning, None, [(f"criteria_view:{root}.{name}", 0)])
    return catalog


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def update() -> None:
    """Merge the extracted messages into every catalogue (new ones untranslated)."""
    template = extract()
    for locale in LOCALES:
        if locale == DEFAULT_LOCALE:
            continue
        path = po_path(locale)
        if path.exists():
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="pnrguard", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=100, sort_output=True, ignore_obsolete=True, omit_header=False)


if __name__ == "__main__":
    update()
