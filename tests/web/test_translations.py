"""The workspace speaks every offered language completely, and no template can slip
English past gettext.

- Every message extracted from the templates and the web package (Babel's extractors) is
  translated in every catalogue, not fuzzy, with the same placeholders.
- Every template (except those listed in `PENDING`, which other branches are editing and
  the coordinator wraps after merging) shows no text outside `_()`/`{% trans %}`: text
  between tags and the user-visible attributes (`aria-label`, `title`, `placeholder`, `alt`)
  must come from gettext.
- A page is rendered in the person's language: Accept-Language first, the account's choice
  over it, English otherwise.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st
from workspace_env import Env, csrf_from, env  # noqa: F401 — `env` is the fixture

from pnrguard.errors import N_
from pnrguard.service.accounts import Role
from pnrguard.web import i18n
from pnrguard.web.i18n_catalog import extract, po_path
from pnrguard.web.templates import TEMPLATE_DIR, TEMPLATES

#: Templates not wrapped yet: keep empty, so no template can regress.
PENDING: frozenset[str] = frozenset()
#: Words that are the same in every language (names of things, codes).
UNTRANSLATED = frozenset(
    {"pnrguard", "OIDC", "TOTP", "UTC", "JSON", "PDF", "CSV", "v", "op", "Europol", "SHA"}
)
_VISIBLE_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
_HOLE = "\x00"  # where a Jinja expression or tag stood


@pytest.mark.unit
@pytest.mark.parametrize("locale", [loc for loc in i18n.LOCALES if loc != i18n.DEFAULT_LOCALE])
def test_every_message_is_translated(locale: str) -> None:
    template = extract()
    with po_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    problems: list[str] = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        where = f"{message.id!r} ({message.locations[0][0]}:{message.locations[0][1]})"
        if found is None:
            problems.append(f"missing: {where}")
        elif found.fuzzy:
            problems.append(f"fuzzy: {where}")
        elif not found.string or any(
            not s for s in (found.string if isinstance(found.string, tuple) else [found.string])
        ):
            problems.append(f"untranslated: {where}")
    for message, errors in catalog.check():
        problems.extend(f"{e}: {message.id!r}" for e in errors)
    assert not problems, "run `python -m pnrguard.web.i18n_catalog` and translate:\n" + "\n".join(
        problems[:40]
    )


def _holes(source: str) -> str:
    """The template with every Jinja construct replaced by a hole, raw text kept.

    The text of a `{% trans %}...{% endtrans %}` block is gettext's, so it is a hole too.
    """
    out: list[str] = []
    in_trans = False
    after_block_begin = False
    for _lineno, kind, value in TEMPLATES.env.lex(source):
        if after_block_begin and kind == "name":
            in_trans = value in ("trans", "pluralize") or (in_trans and value != "endtrans")
        if kind != "whitespace":
            after_block_begin = kind == "block_begin"
        out.append(value if kind == "data" and not in_trans else _HOLE)
    return "".join(out)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            if name in _VISIBLE_ATTRIBUTES and value:
                self._check(value, f"{tag}[{name}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._check(data, "text")

    def _check(self, text: str, where: str) -> None:
        words = [w for w in re.findall(r"[^\W\d_]+", text.replace(_HOLE, " ")) if w not in UNTRANSLATED]
        if words:
            self.found.append(f"{where}: {text.replace(_HOLE, '…').strip()[:80]!r}")


def _raw_text(source: str) -> list[str]:
    parser = _Visible()
    parser.feed(_holes(source))
    parser.close()
    return parser.found


def _all_templates() -> dict[str, str]:
    """Every template the workspace renders: the files, and pages written inline in Python
    (a `_PAGES` dict of a web module, served through a `DictLoader`)."""
    found = {p.name: p.read_text(encoding="utf-8") for p in sorted(TEMPLATE_DIR.glob("*.html"))}
    for module in sorted(TEMPLATE_DIR.parent.glob("*.py")):
        inline = getattr(importlib.import_module(f"pnrguard.web.{module.stem}"), "_PAGES", None)
        if isinstance(inline, dict):
            found.update({name: str(src) for name, src in inline.items()})
    return found


@pytest.mark.unit
def test_templates_show_no_text_outside_gettext() -> None:
    templates = _all_templates()
    assert set(templates) >= PENDING, "a pending template was renamed or removed: update PENDING"
    offenders = {
        name: found
        for name, source in templates.items()
        if name not in PENDING and (found := _raw_text(source))
    }
    assert not offenders, 'wrap these in {{ _("...") }}:\n' + "\n".join(
        f"{name}: {line}" for name, lines in offenders.items() for line in lines
    )


@pytest.mark.unit
def test_the_checker_finds_raw_text() -> None:
    """The checker itself: raw text and a raw aria-label are found, gettext is not."""
    parser = _Visible()
    parser.feed(
        _holes(
            '<p>Hello {{ _("World") }}</p><nav aria-label="Main"></nav><b>{{ x }} · 3</b>'
            "<i>{% trans n=1 %}{{ n }} hit{% pluralize %}{{ n }} hits{% endtrans %}</i><u>Raw</u>"
        )
    )
    assert [f.split(":")[0] for f in parser.found] == ["text", "nav[aria-label]", "text"]


@pytest.mark.unit
def test_accept_language_is_negotiated() -> None:
    assert i18n.negotiate("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert i18n.negotiate("de-DE,de;q=0.9,fr;q=0.5") == "fr"
    assert i18n.negotiate("de-DE, en;q=0.1") == "en"
    assert i18n.negotiate("fr;q=0, en") == "en"
    assert i18n.negotiate(None) == "en"
    assert i18n.negotiate("*") == "en"


def test_login_page_follows_the_browser_and_the_account_its_own_choice(env: Env) -> None:  # noqa: F811
    with httpx.Client(base_url=env.base) as c:
        french = c.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9", "Accept": "text/html"})
        assert french.status_code == 200  # the anonymous root is the login form
        assert "Se connecter" in french.text
        assert "Nom d'utilisateur" in french.text
        english = c.get("/login", headers={"Accept-Language": "de"})
        assert "Log in" in english.text
        assert "Se connecter" not in english.text
    with env.client(Role.ANALYST) as c:
        page = c.get("/account/password")
        assert "Your account" in page.text
        saved = c.post("/account/locale", data={"locale": "fr", "csrf_token": csrf_from(page.text)})
        assert saved.status_code in (200, 303)
        assert "Votre compte" in c.get("/account/password").text  # whatever the browser asks
        assert "Demandes de démasquage" in c.get("/unmasking").text
        back = c.post("/account/locale", data={"locale": "", "csrf_token": csrf_from(page.text)})
        assert back.status_code in (200, 303)
        assert "Your account" in c.get("/account/password").text
        refused = c.post("/account/locale", data={"locale": "xx", "csrf_token": csrf_from(page.text)})
        assert refused.status_code == 400


# --- errors raised below the web layer, shown on pages ------------------------------------

#: Errors whose messages answer machines in their own format and never reach a page as
#: text of ours: carriers' parse errors and gateway rejections (CONTRL/JSON), a peer's
#: signed refusal (its own words), audit verification (operators' tooling).
_MACHINE_ERRORS = frozenset(
    {
        "ParseError", "EdifactError", "MessageError", "UnsupportedMessageError", "GatewayRejection",
        "PeerRefused", "AuditVerificationError", "CheckpointRefused",
    }
)  # fmt: skip


def _error_classes() -> set[str]:
    """The names of every `PnrguardError` subclass defined in the package."""
    from pnrguard.errors import PnrguardError

    for module in pkgutil.walk_packages([str(_PACKAGE)], prefix="pnrguard."):
        if not module.name.startswith("pnrguard.cli") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[str] = set()
    todo = [PnrguardError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


_PACKAGE = Path(i18n.__file__).resolve().parents[1]


def _unmarked_errors(source: str, filename: str, errors: set[str]) -> list[str]:
    """Where an error of ours is made with a message that is not a marked literal
    (`N_("...")`, or `gettext("...")` in the web package, or a module constant set to
    `N_("...")`): such a message cannot be in the catalogues, so a page shows it in English."""
    tree = ast.parse(source)
    marked = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name) and node.value.func.id == "N_"
        for t in node.targets if isinstance(t, ast.Name)
    }  # fmt: skip
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in errors):
            continue
        if node.func.id in _MACHINE_ERRORS or not node.args:
            continue
        first = node.args[0]
        ok = (
            isinstance(first, ast.Call)
            and isinstance(first.func, ast.Name)
            and first.func.id in ("N_", "gettext")
            and len(first.args) == 1
            and isinstance(first.args[0], ast.Constant)
        ) or (isinstance(first, ast.Name) and first.id in marked)
        if not ok:
            out.append(f"{filename}:{node.lineno}: {node.func.id}({ast.unparse(first)[:60]})")
    return out


@pytest.mark.unit
def test_every_error_that_can_reach_a_page_is_marked_for_translation() -> None:
    """Every error raised in the packages whose errors reach pages (the service layer and
    what it calls, and the web package) carries a marked message id; with
    `test_every_message_is_translated`, each is translated in every catalogue."""
    from pnrguard.web.i18n_catalog import ERROR_PACKAGES

    errors = _error_classes()
    problems: list[str] = []
    for package in (*ERROR_PACKAGES, "web"):
        for path in sorted((_PACKAGE / package).rglob("*.py")):
            problems += _unmarked_errors(path.read_text("utf-8"), str(path.relative_to(_PACKAGE)), errors)
    for path in sorted(_PACKAGE.glob("*.py")):
        problems += _unmarked_errors(path.read_text("utf-8"), path.name, errors)
    assert not problems, "mark the message N_(\"... %(name)s ...\", name=value):\n" + "\n".join(problems)


@pytest.mark.unit
def test_the_error_checker_finds_an_unmarked_message() -> None:
    source = 'raise InputError(f"hit {hit_id} is gone")\nraise InputError(N_("hit %(id)s is gone"), id=x)\n'
    [found] = _unmarked_errors(source, "x.py", {"InputError"})
    assert found.startswith("x.py:1: InputError(f")


@pytest.mark.unit
def test_a_service_error_is_shown_in_the_readers_language() -> None:
    from pnrguard.errors import ConflictError, InputError
    from pnrguard.service.triage import SENSITIVE_REFUSED

    reopened = ConflictError(
        N_("hit %(hit_id)s is %(status)s: only a decided hit is reopened"), hit_id="h1", status="open"
    )
    refused = InputError(SENSITIVE_REFUSED, categories="health")
    assert str(reopened) == "hit h1 is open: only a decided hit is reopened"  # logs, JSON, CLI
    try:
        i18n.set_locale("fr")
        assert i18n.error_text(reopened) == "le résultat h1 est ouvert : seul un résultat décidé est rouvert"
        assert i18n.error_text(refused).startswith("la note révèle des données d'une catégorie particulière")
    finally:
        i18n.set_locale("en")
    assert i18n.error_text(reopened) == str(reopened)


@pytest.mark.unit
def test_codes_inside_an_error_are_shown_as_their_labels() -> None:
    from pnrguard.errors import ConflictError
    from pnrguard.store.hits import HitStatus

    message = N_("hit %(hit_id)s is %(status)s, not open")
    decided = ConflictError(message, hit_id="h1", status=HitStatus.CONFIRMED)
    unknown = ConflictError(message, hit_id="h1", status="on_hold")
    try:
        i18n.set_locale("fr")
        assert i18n.error_text(decided) == "le résultat h1 est confirmé, pas ouvert"
        assert i18n.error_text(unknown) == "le résultat h1 est on hold, pas ouvert"  # never a raw code
    finally:
        i18n.set_locale("en")
    assert i18n.error_text(decided) == "hit h1 is confirmed, not open"


@pytest.mark.unit
@given(st.integers(min_value=1, max_value=10**6), st.from_regex(r"[0-9a-f]{8,32}", fullmatch=True))
def test_a_reason_the_node_wrote_is_shown_in_the_readers_language(version: int, host: str) -> None:
    from pnrguard.service.system_reasons import CHANGED_IN_LIST, COLLAPSED, shown_reason, system_reason

    changed = system_reason(CHANGED_IN_LIST, version=version)
    collapsed = system_reason(COLLAPSED, host=host)
    try:
        i18n.set_locale("fr")
        assert shown_reason(changed, i18n.gettext) == (
            f"entrée modifiée dans la liste en version {version}, elle ne correspond plus"
        )
        assert shown_reason(collapsed, i18n.gettext) == (
            f"fusionné dans le résultat {host} : son enregistrement a été rattaché au même voyageur"
        )
        # A person's own words are never taken for a system reason, whatever they say.
        assert shown_reason(f"entry removed from list version {version} (checked)", i18n.gettext) == (
            f"entry removed from list version {version} (checked)"
        )
    finally:
        i18n.set_locale("en")
    assert shown_reason(changed, i18n.gettext) == changed
