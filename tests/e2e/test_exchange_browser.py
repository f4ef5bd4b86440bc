"""Exchange between two real nodes in a real browser (Debian's chromium driven by Playwright).

Austria (A) and Belgium (B) each run their workspace and their mutual-TLS peer API
(`pnrguard peers serve`, a process of its own). A's administrator registers B on the peers
page from B's identity card and the two fingerprints; B's analyst sends a request about a
traveller; A's analyst finds it in the inbox (the menu counts it), searches under it from
its subject, ticks the record and sends the answer; B's analyst sees the answer in the
inbox, rendered like a booking, and the request's receipt. Screenshots go to
$PNRGUARD_SCREENSHOTS (docs/screenshots refreshes docs/federation.md's pictures).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "federation"))

from fed_env import Member, make_member, start, stop, trust, wait_ready
from test_accessibility import page_problems
from workspace_env import ENGINES, browser_log_in

from live_server import live_server
from pnrguard.formats.synth import generate
from pnrguard.service import accounts
from pnrguard.service.accounts import Role
from pnrguard.service.review import ReviewPolicy
from pnrguard.store.repository import BookingRepository
from pnrguard.web.admin_trust import grouped
from pnrguard.web.app import create_app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "x" * 16  # fed_env's accounts


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = os.environ.get("PNRGUARD_SCREENSHOTS")
    out = Path(target) if target else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Member, Member]]:
    a = make_member(tmp_path, "at.piu", f"sqlite:///{tmp_path / 'a.db'}", country="AT")
    b = make_member(tmp_path, "be.piu", f"sqlite:///{tmp_path / 'b.db'}", country="BE")
    try:
        accounts.create_account(
            a.node.engine, username="at-admin", role=Role.ADMIN, password=PASSWORD, now=a.node.clock()
        )
        for push in generate(5, flights=1, base_date=dt.date.today() + dt.timedelta(days=2)):
            a.node.ingest(push.pnrgov.encode("utf-8"))
        trust(b, a)  # Belgium's operator registered Austria already (through its CLI)
        yield a, b
    finally:
        for m in (a, b):
            stop(m)
            m.close()


def _traveller(m: Member) -> tuple[str, dt.date]:
    with m.node.engine.connect() as conn:
        repo = BookingRepository(conn, m.node.keystore)
        for bid in conn.exec_driver_sql("SELECT id FROM booking ORDER BY id").scalars():
            b = repo.get(bid)
            if b.travellers and b.travellers[0].surname and b.itinerary and b.itinerary[0].departure:
                return b.travellers[0].surname, b.itinerary[0].departure.date()
    raise AssertionError("no named traveller")


def test_admin_registers_a_peer_and_a_request_is_answered_by_choosing_a_record(
    nodes: tuple[Member, Member], shots: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    a, b = nodes
    surname, day = _traveller(a)
    card = b.card()
    app_a, app_b = create_app(a.node), create_app(b.node)
    app_a.state.review_policy = ReviewPolicy(four_eyes=False)
    with live_server(app_a) as base_a, live_server(app_b) as base_b, sync_playwright() as pw:
        ENGINES[base_a] = a.node.engine
        ENGINES[base_b] = b.node.engine
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()

            # 1. Austria's administrator registers Belgium with the fingerprints read to them.
            browser_log_in(page, base_a, "at-admin", PASSWORD)
            page.get_by_role("link", name="Peers").click()
            expect(page.get_by_role("heading", name="Peer PIUs")).to_be_visible()
            page.locator("#card").fill(card.to_json())
            page.locator("#cert_fingerprint").fill(card.cert_fingerprint)
            page.locator("#key_fingerprint").fill(card.keyid)
            page.get_by_role("button", name="Register the peer").click()
            expect(page.locator("#peer-message")).to_contain_text("be.piu registered")
            expect(page.locator("#peers")).to_contain_text(grouped(card.cert_fingerprint))  # whole, not cut
            expect(page.locator("#peers")).to_contain_text(grouped(card.keyid))
            page.screenshot(path=str(shots / "admin-peers.png"), full_page=True)
            page.get_by_role("button", name="Log out").click()
            for m in (a, b):  # (a running peer API would admit it too: test_fed_live_trust.py)
                start(m)
            for m in (a, b):
                wait_ready(m)

            # 2. Belgium's analyst asks Austria about a traveller.
            browser_log_in(page, base_b, "be-analyst", PASSWORD)
            page.goto(f"{base_b}/exchange/new/request")
            page.locator("#peer").select_option("at.piu")
            page.locator("#purpose").select_option("terrorist_offences")
            page.locator("#case_ref").fill("BE-2026-41")
            page.locator("#reasoning").fill(
                "Courier network: the subject travelled with two seized couriers."
            )
            page.locator("#s-surname").fill(surname)
            page.locator("#s-flight_date").fill(day.isoformat())
            page.get_by_role("button", name="Send the request").click()
            expect(page.get_by_role("status")).to_contain_text("Delivered")
            expect(page.locator("#receipt")).to_contain_text("signed receipt")
            request_url = page.url.split("?")[0]
            page.screenshot(path=str(shots / "exchange-request-sent.png"), full_page=True)
            page.get_by_role("button", name="Log out").click()

            # 3. Austria's analyst: the menu counts it, the inbox lists it, the search starts
            #    from the subject, a record is ticked and the answer leaves.
            browser_log_in(page, base_a, "at-analyst", PASSWORD)
            expect(page.locator("#exchange-waiting")).to_have_text("1")
            page.get_by_role("link", name="Exchange").click()
            expect(page.locator("#inbox")).to_contain_text("BE-2026-41")
            page.screenshot(path=str(shots / "exchange-inbox.png"), full_page=True)
            page.locator("#inbox a", has_text="Open").first.click()
            expect(page.locator("#subject")).to_contain_text(surname)
            expect(page.locator("#search-form input[name=surname]")).to_have_value(surname)
            page.get_by_role("button", name="Search", exact=True).click()
            results = page.locator("#search-results")
            expect(results).to_contain_text(surname.upper() if surname.isupper() else surname)
            for box in results.locator("input[type=checkbox]").all():  # every record found
                box.check()
            page.locator("#answer-reason").fill(
                "The traveller's booking matches the subject and flight date."
            )
            page.screenshot(path=str(shots / "exchange-answer.png"), full_page=True)
            page.get_by_role("button", name="Approve and send the answer").click()
            expect(page.get_by_role("status")).to_contain_text("Answer approved and delivered")
            page.get_by_role("button", name="Log out").click()

            # 4. Belgium's analyst: the answer waits in the inbox and reads like a booking.
            browser_log_in(page, base_b, "be-analyst", PASSWORD)
            page.goto(f"{base_b}/exchange?folder=answers")
            expect(page.locator("#count-answers")).to_have_text("1")
            page.locator("#inbox a", has_text="Open").first.click()
            bookings = page.locator("#bookings")
            expect(bookings.get_by_role("heading", name="Booking").first).to_be_visible()
            expect(bookings).to_contain_text(surname)
            expect(bookings).to_contain_text("Itinerary")
            assert page_problems(page) == []  # ids unique with several bookings, fits, focus rings
            page.screenshot(path=str(shots / "exchange-received.png"), full_page=True)
            page.goto(request_url)
            expect(page.locator("#replies")).to_contain_text("data")
            expect(page.locator("h1")).to_contain_text("answered")
        finally:
            browser.close()
            for app in (app_a, app_b):
                client = getattr(app.state, "peer_client", None)
                if client is not None:
                    client.close()
