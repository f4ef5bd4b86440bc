"""Accessibility: axe-core (vendored, `vendor/README.md`) over the main pages of every role,
in Debian's chromium. No serious or critical violation may appear (WCAG 2.x A/AA rules and
axe's best practices), in English and in French.

On the same walk, from the browser's computed layout and styles (`page_problems`):

- at a 1280-pixel-wide viewport no page scrolls horizontally (the document's `scrollWidth`
  at most 1280, and no table reaching past the right edge, in a scrolling box or not);
- every link, button and field shows a focus ring (outline) of at least 3:1 contrast
  against the background it is drawn on (WCAG 2.2, 1.4.11 and 2.4.13);
- no id appears twice on a page (`aria-labelledby` and labels must name one element).

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


WIDTH = 1280

_LAYOUT = """(width) => {
  const out = [];
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = rgb(c).map(v => v / 255).map(
      v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const opaque = c => { const v = rgb(c); return v.length < 4 || v[3] > 0; };
  const behind = el => { for (let e = el.parentElement; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor; if (opaque(c)) return c; }
    return 'rgb(255, 255, 255)'; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '');
  const doc = document.documentElement.scrollWidth;
  if (doc > width) out.push(`scrolls horizontally: the document is ${doc} px wide`);
  for (const t of document.querySelectorAll('table')) {
    const right = Math.round(t.getBoundingClientRect().right);
    if (right > width) out.push(`table ${name(t)} reaches ${right} px`);
  }
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) ids[el.id] = (ids[el.id] || 0) + 1;
  for (const [id, n] of Object.entries(ids)) if (n > 1) out.push(`id "${id}" appears ${n} times`);
  const seen = new Set();
  for (const el of document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    el.focus();
    if (document.activeElement !== el) continue;
    const s = getComputedStyle(el);
    const key = name(el) + s.outlineColor + behind(el);
    if (seen.has(key)) continue;
    seen.add(key);
    if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) {
      out.push(`${name(el)}: no focus ring (outline ${s.outlineStyle} ${s.outlineWidth})`); continue; }
    const ratio = contrast(s.outlineColor, behind(el));
    if (ratio < 3)
      out.push(`${name(el)}: focus ring ${s.outlineColor} on ${behind(el)} is ${ratio.toFixed(2)}:1`);
  }
  document.activeElement && document.activeElement.blur();
  return out;
}"""


def page_problems(page: Any) -> list[str]:
    """Horizontal scrolling at 1280 pixels, focus rings under 3:1, and repeated ids on the
    page as it is now (computed layout and styles)."""
    found: list[str] = page.evaluate(_LAYOUT, WIDTH)
    return found


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
        Role.ANALYST: ["/", "/hits", f"/hits/{hit_id}", "/hits?status=all", "/requests", "/requests/new",
                       "/unmasking", "/criteria", "/watchlists", "/suppressions", "/exchange", "/leads",
                       "/account/password"],
        Role.SUPERVISOR: ["/", "/transmissions?status=all", "/criteria/new", "/watchlists",
                          f"/hits/{hit_id}"],
        Role.JUDICIAL: ["/", "/unmasking"],
        Role.DPO: ["/", "/dpo/rights", "/dpo/audit", "/dpo/approvals", "/dpo/statistics", "/quality",
                   "/exchange"],
        Role.ADMIN: ["/", "/admin/accounts", "/admin/authorities", "/admin/approvals", "/admin/peers",
                     "/admin/carriers"],
    }  # fmt: skip


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_main_pages_of_every_role_have_no_serious_accessibility_violation(env: Env, locale: str) -> None:  # noqa: F811
    """axe, and the layout checks of `page_problems`, on every main page of every role."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for role, paths in _pages(env).items():
            context = browser.new_context(
                viewport={"width": WIDTH, "height": 860}, bypass_csp=True, locale=locale
            )
            page = context.new_page()
            if role is None:  # the check itself can fail: an image without a text alternative
                page.set_content(
                    '<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main>'
                )
                assert [v["id"] for v in violations(page)] == ["image-alt"]
                # ...and so can the layout checks: too wide, a faint ring, an id twice.
                page.set_content(
                    '<!doctype html><html lang="en"><title>t</title><main><table style="width:1500px">'
                    '<tr><td id="x">a</td><td id="x"><a href="#" style="outline:3px solid #ddd">b</a>'
                    "</td></tr></table></main>"
                )
                found = " | ".join(page_problems(page))
                for expected in ("scrolls horizontally", "reaches", 'id "x" appears 2 times', "focus ring"):
                    assert expected in found, found
            else:
                log_in(page, env, env.users[role].username)
            for path in paths:
                page.goto(f"{env.base}{path}")
                who = role.value if role else "anonymous"
                problems.extend(f"{who} {path}: {p}" for p in page_problems(page))
                for v in violations(page):
                    problems.append(f"{who} {path}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}")
            context.close()
        browser.close()
    assert not problems, "\n".join(problems)
