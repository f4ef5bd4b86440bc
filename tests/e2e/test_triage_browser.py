"""An analyst's and a supervisor's day in a real browser (Debian's chromium, Playwright):
the analyst triages the queue (flights about to leave first), filters it, takes a hit,
raises its priority, writes a note and dismisses it; the supervisor lands on what waits,
finds the dismissal among the suppressions and reopens the hit with a reason.

Screenshots go to $PNRGUARD_SCREENSHOTS (docs/screenshots to refresh docs/workspace.md);
synthetic data only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from triage_env import triage_sqlite  # noqa: F401 — after the path above; the fixture
from workspace_env import PASSWORD, Env, browser_log_in

from pnrguard.store.hit_notes import hit_note
from pnrguard.store.screening import hit

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NOTE = "Checked with the airline: booked two days ago, paid in cash."
DISMISS = "Different date of birth and nationality than the entry."
HEALTH = "Passenger on dialysis, check medical certificate"
REOPEN = "The list entry was corrected today: the birth dates now agree."


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("PNRGUARD_SCREENSHOTS")
    out = Path(target) if target else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_analyst_triages_and_supervisor_reopens(triage_sqlite: Env, shots: Path) -> None:  # noqa: F811
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    env = triage_sqlite
    base = env.base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

        # The analyst lands on the queue: departing flights first, with the time left.
        browser_log_in(page, base, "u-analyst", PASSWORD)
        page.wait_for_url(f"{base}/hits")
        departing = page.locator("#departing")
        expect(departing).to_be_visible()
        expect(page.locator("#departed")).to_be_visible()
        expect(departing.locator("td.when strong").first).to_contain_text("in ")
        page.screenshot(path=str(shots / "triage-queue.png"))

        # Filter by the first flight, then open its first hit.
        flight = departing.locator("tbody tr").first.locator("td").nth(1).locator("a").inner_text()
        page.get_by_label("Flight", exact=True).fill(flight)
        page.get_by_label("Flights", exact=True).select_option("departing")
        page.get_by_role("button", name="Filter").click()
        expect(page.locator("#departing tbody tr").first).to_contain_text(flight)
        page.locator("#departing tbody a", has_text="Open").first.click()
        hit_id = page.url.rstrip("/").split("/")[-1]

        # Take it, make it urgent, write a note.
        page.get_by_role("button", name="Take it").click()
        expect(page.get_by_role("status")).to_contain_text("Assignment saved")
        page.get_by_label("Priority", exact=True).select_option(label="urgent")
        page.get_by_role("button", name="Set priority").click()
        expect(page.get_by_role("status")).to_contain_text("Priority saved")
        page.get_by_label("Add a note").fill(NOTE)
        page.get_by_role("button", name="Add note").click()
        expect(page.locator("#notes")).to_contain_text(NOTE)
        page.screenshot(path=str(shots / "hit-triage.png"), full_page=True)

        # A note about health is refused and the text stays in the form.
        page.get_by_label("Add a note").fill(HEALTH)
        page.get_by_role("button", name="Add note").click()
        expect(page.get_by_role("alert")).to_contain_text("health")
        expect(page.get_by_label("Add a note")).to_have_value(HEALTH)

        # Decide: dismiss, with a reason.
        page.get_by_label("Dismiss").check()
        page.get_by_label("Reason (mandatory)").fill(DISMISS)
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text("Hit dismissed")
        page.locator("dd a[href^='/flights/']").click()  # the flight page: no one by name
        expect(page.locator("#countdown")).to_contain_text("in ")
        page.screenshot(path=str(shots / "flight.png"), full_page=True)
        page.get_by_role("button", name="Log out").click()

        # The supervisor lands on what waits, finds the dismissal and reopens the hit.
        browser_log_in(page, base, "u-supervisor", PASSWORD)
        page.wait_for_url(f"{base}/")
        expect(page.locator("#waiting")).to_contain_text("Transmissions to approve")
        page.screenshot(path=str(shots / "landing-supervisor.png"))
        page.get_by_role("link", name="Suppressions").first.click()
        expect(page.locator(f'#suppressions a[href="/hits/{hit_id}"]')).to_be_visible()
        page.screenshot(path=str(shots / "suppressions.png"))
        page.locator(f'#suppressions a[href="/hits/{hit_id}"]').click()
        why = page.get_by_label("Why reopen (mandatory)")
        why.fill("wrong")
        page.get_by_role("button", name="Reopen the hit").click()  # too short: the form stays
        assert why.evaluate("el => el.checkValidity()") is False
        expect(why).to_have_value("wrong")
        page.get_by_label("Why reopen (mandatory)").fill(REOPEN)
        page.get_by_role("button", name="Reopen the hit").click()
        expect(page.get_by_role("status")).to_contain_text("Hit reopened")
        expect(page.locator("#notes")).to_contain_text(REOPEN)
        expect(page.locator("#notes")).to_contain_text(DISMISS)
        page.screenshot(path=str(shots / "hit-reopened.png"), full_page=True)
        browser.close()

    with env.node.engine.connect() as conn:
        h = conn.execute(select(hit).where(hit.c.id == hit_id)).one()
        kinds = sorted(conn.execute(select(hit_note.c.kind).where(hit_note.c.hit_id == hit_id)).scalars())
    assert h.status == "open"
    assert h.assignee == "u-analyst"
    assert h.priority == 2
    assert kinds == ["decision", "note", "reopen"]
