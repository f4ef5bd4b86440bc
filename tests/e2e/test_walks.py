"""Role walks in Debian's chromium, with screenshots for docs/workspace.md (set
$PNRGUARD_SCREENSHOTS=docs/screenshots to refresh them):

- a supervisor back-tests a draft criterion over recent flights, then enables it;
- the DPO finds a traveller and answers an access request;
- a visitor whose browser asks for French gets the login form in French at `/`.

(The judge's unmasking decision is walked in test_browser.py.)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from workspace_env import PASSWORD, Env, browser_log_in, env  # noqa: F401 — after the path above; `env` is the fixture

from pnrguard.formats.synth import generate
from pnrguard.service import screening
from pnrguard.store.screening import hit

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("PNRGUARD_SCREENSHOTS")
    out = Path(target) if target else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return CHROMIUM


def test_supervisor_back_tests_then_enables_a_criterion(env: Env, shots: Path, chromium: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright
    from sqlalchemy import func, select

    today = env.node.clock().date()
    for push in generate(11, flights=3, base_date=today):  # flights in the coming days
        env.node.ingest(push.pnrgov.encode("utf-8"))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        browser_log_in(page, env.base, "u-supervisor", PASSWORD)
        page.goto(f"{env.base}/criteria")
        page.get_by_role("link", name="Write a criterion").click()
        page.get_by_label("Identifier").fill("late-one-way")
        page.get_by_label("Name", exact=True).fill("Late one-way booking")
        page.get_by_label("Expression (CEL)").fill(
            "booking.one_way && booking.days_booked_before_departure >= 0 "
            "&& booking.days_booked_before_departure <= 7"
        )
        page.get_by_label("Purpose", exact=True).select_option("illicit_trafficking_in_drugs")
        page.get_by_label("Owner").fill("Drugs desk")
        page.get_by_label("Back-test over the flights of the last … days").fill("7")
        page.get_by_role("button", name="Back-test").click()
        expect(page.get_by_role("heading", name="Back-test")).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("travellers")
        page.screenshot(path=str(shots / "criterion-backtest.png"), full_page=True)
        with env.node.engine.connect() as conn:  # a back-test flags no one
            before = conn.execute(
                select(func.count()).select_from(hit).where(hit.c.kind == "rule")
            ).scalar_one()
        assert before == 0
        page.get_by_label("Enabled (runs on every booking received)").check()
        page.get_by_role("button", name="Save version").click()
        expect(page.get_by_role("status")).to_contain_text("saved as a new version")
        expect(page.get_by_role("cell", name="Late one-way booking")).to_be_visible()
        page.screenshot(path=str(shots / "criteria.png"), full_page=True)
        browser.close()
    [rule] = [r for r in screening.list_rules(engine=env.node.engine) if r.rule_id == "late-one-way"]
    assert rule.enabled
    assert rule.is_active(today)
    assert rule.version == 1


def test_dpo_answers_an_access_request(env: Env, shots: Path, chromium: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright
    from test_dpo_rights_web import _someone

    from pnrguard.audit.models import Purpose

    booking_id, surname, dob = _someone(env)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        browser_log_in(page, env.base, "u-dpo", PASSWORD)
        page.get_by_role("link", name="Travellers' rights").click()
        page.get_by_label("Surname").fill(surname.title())
        page.get_by_label("Date of birth").fill(dob)
        page.get_by_role("button", name="Find").click()
        expect(page.get_by_role("heading", name="Bookings found")).to_be_visible()
        expect(page.locator(f'input[name="booking"][value="{booking_id}"]')).to_be_checked()
        page.get_by_role("heading", name="Find the traveller").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "dpo-rights.png"))
        page.get_by_label("Request came by").select_option("letter")
        page.get_by_role("button", name="Access report").click()
        expect(page.get_by_role("heading", name="Access report")).to_be_visible()
        expect(page.locator("pre.report")).to_contain_text(surname)  # the traveller's own copy
        expect(page.get_by_role("cell", name="access", exact=True).first).to_be_visible()
        page.get_by_role("heading", name="Register of requests").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "dpo-rights-answered.png"))
        browser.close()
    answered = env.audit(purpose=Purpose.DATA_SUBJECT_REQUEST)
    assert answered
    assert all(surname not in str(e.to_json_obj()) for e in answered)


def test_the_root_shows_the_login_form_in_the_browsers_language(env: Env, shots: Path, chromium: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 700}, locale="fr-FR").new_page()
        page.goto(f"{env.base}/")
        expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
        expect(page.get_by_label("Nom d'utilisateur")).to_be_focused()
        page.screenshot(path=str(shots / "login-fr.png"))
        english = browser.new_context(viewport={"width": 1280, "height": 700}, locale="en-GB").new_page()
        english.goto(f"{env.base}/")
        expect(english.get_by_role("heading", name="Log in")).to_be_visible()
        browser.close()
