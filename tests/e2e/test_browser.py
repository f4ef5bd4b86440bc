"""The workspace in a real browser (Debian's chromium driven by Playwright).

An analyst logs in with the keyboard, reviews the queue, dismisses one hit, confirms
another and proposes its transmission; a supervisor gives the second approval; opening a
record without a purpose is refused. Screenshots of the main pages go to
$PNRGUARD_SCREENSHOTS (set it to docs/screenshots to refresh the README's pictures).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))

from workspace_env import PASSWORD, Env, browser_log_in, env  # noqa: F401 — after the path above; `env` is the fixture

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


def test_review_dismiss_confirm_transmit_and_refuse_without_purpose(env: Env, shots: Path) -> None:  # noqa: F811 — the imported fixture
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    base = env.base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()

        def log_in(username: str) -> None:
            browser_log_in(page, base, username, PASSWORD)
            # An analyst lands on the queue, a supervisor on what waits (issue 15).
            page.wait_for_url(f"{base}/hits" if username == "u-analyst" else f"{base}/")

        # The analyst logs in and sees the queue.
        log_in("u-analyst")
        expect(page.get_by_role("heading", name="Hits to review")).to_be_visible()
        page.screenshot(path=str(shots / "queue.png"))

        # Dismiss the first hit, with a reason.
        page.locator("tbody a", has_text="Open").first.click()
        expect(page.get_by_role("heading", name="Why it matched")).to_be_visible()
        page.screenshot(path=str(shots / "hit.png"), full_page=False)
        page.get_by_label("Dismiss").check()
        page.get_by_label("Reason (mandatory)").fill("Different date of birth and nationality.")
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text("Hit dismissed")

        # Confirm the next one and propose its transmission.
        page.goto(f"{base}/hits")
        page.locator("tbody a", has_text="Open").first.click()
        page.get_by_label("Confirm").check()
        page.get_by_label("Reason (mandatory)").fill("Same name, date of birth and nationality as the entry.")
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text("Hit confirmed")
        page.get_by_label("Competent authority").select_option(label="National Police (POLICE)")
        page.get_by_label("Justification (mandatory)").fill("Alert for the national counter-terrorism case.")
        page.get_by_role("button", name="Propose transmission").click()
        expect(page.get_by_role("status")).to_contain_text("waits for a supervisor")
        transmission_url = page.url.split("?")[0]
        page.screenshot(path=str(shots / "transmission-pending.png"))
        page.get_by_role("button", name="Log out").click()

        # The supervisor gives the second approval.
        log_in("u-supervisor")
        page.goto(transmission_url)
        # The approver sees exactly what leaves: the package, built by the code that builds it.
        preview = page.locator("#package-preview")
        expect(preview).to_be_visible()
        expect(preview).to_contain_text("Alert for the national counter-terrorism case.")
        page.screenshot(path=str(shots / "transmission-preview.png"))  # the top: the summary
        page.get_by_label("Reason (mandatory)").fill("Necessary and proportionate for the stated purpose.")
        page.get_by_role("button", name="Approve and release").click()
        expect(page.get_by_role("status")).to_contain_text("Transmission released")
        expect(page.get_by_role("link", name="PDF")).to_be_visible()
        page.screenshot(path=str(shots / "transmission-released.png"))

        # A record cannot be opened without a purpose.
        booking_id = env.audit()[-1].record_ids[0]
        page.goto(f"{base}/bookings/{booking_id}")
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("opens only under a purpose")
        page.screenshot(path=str(shots / "refused-without-purpose.png"))

        # The requests page, for the README.
        page.goto(f"{base}/requests/new")
        page.get_by_label("Case reference").fill("CASE-2025/17")
        page.get_by_label("Purpose").select_option("illicit_trafficking_in_drugs")
        page.get_by_label("Reason").fill("Suspected courier of a trafficking network; travel dates needed.")
        page.get_by_role("button", name="Register").click()
        expect(page.get_by_role("heading", name="Search under this request")).to_be_visible()
        page.screenshot(path=str(shots / "request.png"))
        browser.close()

    released = [e for e in env.audit() if e.operation.value == "disclosure"]
    assert len(released) == 1
    assert released[0].actor == "u-supervisor"
    assert len(env.hit_ids("dismissed")) == 1
    assert len(env.hit_ids("confirmed")) == 1


def test_judge_approves_an_unmasking_request(env: Env, shots: Path) -> None:  # noqa: F811
    """A judge finds the pending request through the navigation, reads the reasoning (no
    traveller on the page) and approves it; the DPO is notified."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    import datetime as dt

    from playwright.sync_api import expect, sync_playwright
    from test_unmasking import REASON, _hits_by_booking, _mask_all

    from pnrguard.service.accounts import Role
    from pnrguard.service.dpo import notifications
    from pnrguard.service.unmasking import request_unmasking

    [(_, booking_id)] = _hits_by_booking(env, 1)
    _mask_all(env)
    now = dt.datetime.now(dt.UTC)
    rid = request_unmasking(
        requester=env.users[Role.ANALYST], purpose="terrorist_offences", case_reference="CASE-2026/7",
        reason=REASON, booking_ids=[booking_id], valid_from=now, valid_until=now + dt.timedelta(days=7),
        engine=env.node.engine, keystore=env.node.keystore, clock=env.node.clock,
    )  # fmt: skip
    base = env.base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
        browser_log_in(page, base, "u-judicial", PASSWORD)
        page.wait_for_url(f"{base}/")
        page.get_by_role("link", name="Unmasking", exact=True).click()  # the menu
        expect(page.get_by_role("heading", name="Unmasking requests to decide")).to_be_visible()
        page.get_by_role("link", name="Decide").first.click()
        expect(page.get_by_text(REASON)).to_be_visible()
        page.get_by_label("Approve").check()
        page.get_by_label("Reason (mandatory)").fill("Necessary and proportionate for the stated case.")
        page.screenshot(path=str(shots / "unmasking-decision.png"))
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text("Approved")
        browser.close()
    assert ("unmasking_approved", rid) in [(n.kind, n.reference) for n in notifications(env.node.engine)]


def test_queue_shows_each_person_once_with_both_sources_and_search_pages(env: Env, shots: Path) -> None:  # noqa: F811
    """The API records of the queue's flights arrive: the queue still lists each matched
    person once, says "PNR + API", and the hit page shows the other source. Then a search
    by flight typed with a space finds the flight's records."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright
    from test_traveller_review import _api_of_the_same_flights

    from pnrguard.service.review import hit_queue
    from pnrguard.store.screening import HitStatus

    open_before = env.hit_ids("open")
    _api_of_the_same_flights(env)
    assert env.hit_ids("open") == open_before
    queue = hit_queue(env.node.engine, env.node.keystore, status=HitStatus.OPEN, page_size=100)
    row = next(r for r in queue.items if r.sources == "PNR + API")
    base = env.base
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
        browser_log_in(page, base, "u-analyst", PASSWORD)  # password, then the second factor
        page.wait_for_url(f"{base}/hits")
        expect(page.get_by_role("columnheader", name="Sources")).to_be_visible()
        expect(page.locator(f'a[href="/hits/{row.hit_id}"]')).to_have_count(1)
        expect(page.locator("td.sources", has_text="PNR + API").first).to_be_visible()
        page.screenshot(path=str(shots / "queue-linked.png"))
        page.locator(f'a[href="/hits/{row.hit_id}"]').click()
        expect(page.get_by_role("heading", name="Sources of this traveller")).to_be_visible()
        expect(page.locator("#sources td", has_text="API").first).to_be_visible()

        page.goto(f"{base}/requests/new")
        page.get_by_label("Case reference").fill("CASE-2025/18")
        page.get_by_label("Purpose").select_option("terrorist_offences")
        page.get_by_label("Reason").fill("A listed person's travel on this flight; both sources needed.")
        page.get_by_role("button", name="Register").click()
        carrier, number = row.flight[:2], row.flight[2:].lstrip("0")
        page.get_by_label("Flight", exact=True).fill(f"{carrier} {number}")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("#search-results tbody tr").first).to_be_visible()
        expect(page.get_by_role("status")).to_contain_text("page 1 of")
        if page.get_by_role("button", name="Next page").count():  # paged, never cut off
            page.get_by_role("button", name="Next page").click()
            expect(page.get_by_role("status")).to_contain_text("page 2 of")
        page.screenshot(path=str(shots / "search-results.png"))
        browser.close()
