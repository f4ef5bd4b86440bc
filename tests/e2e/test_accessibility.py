"""Accessibility: axe-core (vendored, `vendor/README.md`) over the main pages of every role,
in Debian's chromium. No serious or critical violation may appear (WCAG 2.x A/AA rules and
axe's best practices), in English and in French.

The workspace's Content Security Policy allows no script, so the browser context bypasses
CSP to inject axe; nothing else changes on the pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from workspace_env import PASSWORD, Env, env  # noqa: F401 — after the path above; `env` is the fixture

from pnrguard.service.accounts import Role

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's serious and critical violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [v for v in found if v["impact"] in BLOCKING]


def log_in(page: Any, env: Env, username: str) -> None:  # noqa: F811
    """`browser_log_in` by field ids, so it works in every language."""
    from workspace_env import TOTP_SECRETS, reset_totp_step_engine, totp_code

    page.goto(f"{env.base}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/login/totp.*"))
    key = (env.base.rstrip("/"), username)
    shown = page.locator("#totp-secret")
    if shown.count():
        TOTP_SECRETS[key] = shown.inner_text().strip()
    else:
        reset_totp_step_engine(env.base, username)
    page.locator("#code").fill(totp_code(TOTP_SECRETS[key]))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def _pages(env: Env) -> dict[Role | None, list[str]]:  # noqa: F811
    hit_id = env.hit_ids("open")[0]
    return {
        None: ["/login", "/"],
        Role.ANALYST: ["/hits", f"/hits/{hit_id}", "/requests", "/requests/new", "/unmasking", "/criteria",
                       "/watchlists", "/account/password"],
        Role.SUPERVISOR: ["/transmissions", "/criteria/new", "/watchlists"],
        Role.JUDICIAL: ["/", "/unmasking"],
        Role.DPO: ["/dpo/rights", "/dpo/audit", "/dpo/approvals", "/dpo/statistics", "/quality"],
        Role.ADMIN: ["/", "/admin/accounts", "/admin/authorities", "/admin/approvals"],
    }  # fmt: skip


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_main_pages_of_every_role_have_no_serious_accessibility_violation(env: Env, locale: str) -> None:  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for role, paths in _pages(env).items():
            context = browser.new_context(
                viewport={"width": 1280, "height": 860}, bypass_csp=True, locale=locale
            )
            page = context.new_page()
            if role is None:  # the check itself can fail: an image without a text alternative
                page.set_content(
                    '<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main>'
                )
                assert [v["id"] for v in violations(page)] == ["image-alt"]
            else:
                log_in(page, env, env.users[role].username)
            for path in paths:
                page.goto(f"{env.base}{path}")
                for v in violations(page):
                    problems.append(f"{role.value if role else 'anonymous'} {path}: {v['impact']} {v['id']} "
                                    f"({v['help']}) at {v['nodes']}")  # fmt: skip
            context.close()
        browser.close()
    assert not problems, "\n".join(problems)
