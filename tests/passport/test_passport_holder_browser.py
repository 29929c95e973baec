"""The holder's passport end to end in a real Chromium, with axe-core on every page visited.

Jordan signs in, opens "Your passport", creates a share for an employer, sees the link and its
QR code, then makes and opens the printable card. The link the page shows is the one
``shares.live_share`` opens.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, Audit, free_port, require_browser, serving
from fastapi import FastAPI
from passport_helpers import PASSWORD, add_learner, add_organisations_and_staff
from sqlalchemy import select

from onestory.config import Settings
from onestory.passport import credentials, shares
from onestory.passport.tables import PassportHolder
from onestory.sharing.tables import UserAccount
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.web.app import create_app

if TYPE_CHECKING:
    pass

LEARNER_EMAIL = "jordan.reece@example.test"

pytestmark = pytest.mark.browser


@dataclass
class Served:
    base_url: str
    app: FastAPI


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """OneStory on uvicorn (SQLite) with Jordan's passport issued and linked to their account."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'passport.sqlite3'}")
    load_metadata().create_all(engine)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="p" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
        public_base_url=base_url,
    )
    app = create_app(settings, engine=engine)
    with app.state.sessions() as session:
        add_organisations_and_staff(session)
        add_learner(session)
        session.commit()
        credentials.issue_pending(
            session, app.state.passport_issuer, actor="test", base_url=base_url
        )
        holder = session.scalars(select(PassportHolder)).one()
        holder.account_id = session.scalars(
            select(UserAccount.id).where(UserAccount.email == LEARNER_EMAIL)
        ).one()
        session.commit()
    try:
        with serving(app, port):
            yield Served(base_url, app)
    finally:
        engine.dispose()


def test_a_learner_shares_their_passport_and_prints_a_card(served: Served) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    audit = Audit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(10_000)
            page = context.new_page()
            audit.watch(page)

            # 1. Signs in and opens the passport from the navigation.
            page.goto(served.base_url + "/sign-in")
            page.get_by_label("Email address").fill(LEARNER_EMAIL)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(served.base_url + "/")
            page.get_by_role("link", name="Your passport", exact=True).click()
            page.wait_for_url(re.compile("/passport$"))
            expect(page.get_by_role("heading", level=1)).to_have_text("Your skills passport")
            expect(page.locator(".govuk-summary-card")).to_have_count(2)
            audit.check(page, "/passport")

            # 2. Opens one qualification.
            page.get_by_role("link", name=re.compile("View and download.*Mathematics")).click()
            page.wait_for_url(re.compile("/passport/credentials/[0-9a-f-]{36}$"))
            expect(page.locator("#not-in-it")).to_contain_text("does not name your prison")
            audit.check(page, "credential page")

            # 3. Shares the maths qualification with an employer for 30 days.
            page.goto(served.base_url + "/passport/share")
            audit.check(page, "share form")
            page.get_by_label(re.compile("Mathematics")).check()
            page.get_by_label("Who is it for? (optional)").fill("For Bright Futures Construction")
            page.get_by_label("30 days").check()
            page.get_by_role("button", name="Create link").click()
            page.wait_for_url(re.compile(r"/passport/shares/\d+$"))
            url = page.locator("#share-url").inner_text().strip()
            assert url.startswith(served.base_url + "/passport/s/"), url
            qr = page.get_by_role("img", name=re.compile("QR code"))
            expect(qr).to_be_visible()
            box = qr.bounding_box()
            assert box is not None and box["width"] >= 100
            audit.check(page, "new share")
            with served.app.state.sessions() as session:
                live = shares.live_share(session, url.rsplit("/", 1)[1])
                assert live is not None and live.label == "For Bright Futures Construction"

            # 4. Sees it in the list of shares.
            page.goto(served.base_url + "/passport/shares")
            expect(page.locator("#shares")).to_contain_text("For Bright Futures Construction")
            audit.check(page, "shares list")

            # 5. Makes a card with everything valid, and sees the print button.
            page.goto(served.base_url + "/passport/card")
            audit.check(page, "card chooser")
            page.get_by_role("button", name="Make my card").click()
            card = page.locator("#card")
            expect(card).to_contain_text("Jordan Reece")
            expect(card).to_contain_text("Functional Skills Qualification in Mathematics")
            expect(card.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
            expect(page.get_by_role("button", name="Print this card")).to_be_visible()
            audit.check(page, "card")
            page.emulate_media(media="print")
            expect(page.locator("h1")).to_be_hidden()
            expect(card).to_be_visible()
        finally:
            browser.close()

    assert not audit.violations, "axe found accessibility problems:\n" + audit.report()
    assert not audit.console, "the browser reported errors:\n" + "\n".join(audit.console)
