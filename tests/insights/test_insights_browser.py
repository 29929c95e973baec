"""The statistics pages in a real Chromium, with axe-core (WCAG 2.2 AA) on every page visited.

A member of the public opens Statistics from the navigation, reads the release, opens one
measure, looks at its chart and table, and narrows the figures with the filters. An analyst then
opens the same measure's unsuppressed figures. The release is written by the test, as in
``test_insights_pages``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, Audit, free_port, require_browser, serving
from fastapi import FastAPI
from test_insights_pages import AREAS, MEASURE, truth_rows, write_release

from onestory.config import Settings
from onestory.insights import engine as insights_engine
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import UserAccount
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.web.app import create_app

if TYPE_CHECKING:
    pass

ANALYST_EMAIL = "analyst@moj.test"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.browser


@dataclass
class Served:
    base_url: str
    app: FastAPI


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """OneStory on uvicorn (SQLite) with a published release and an analyst's account."""
    insights_engine.all_measures()
    monkeypatch.setitem(insights_engine.MEASURES, MEASURE.id, MEASURE)
    write_release(tmp_path, truth_rows())
    engine = create_engine_for(f"sqlite:///{tmp_path / 'insights.sqlite3'}")
    load_metadata().create_all(engine)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="s" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
        passport_issue_interval=0,
        public_base_url=base_url,
    )
    app = create_app(settings, engine=engine)
    with app.state.sessions() as session:
        session.add(
            UserAccount(
                email=ANALYST_EMAIL,
                display_name="Ana Lyst",
                role="analyst",
                password_hash=hash_password(PASSWORD),
            )
        )
        session.commit()
    try:
        with serving(app, port):
            yield Served(base_url, app)
    finally:
        engine.dispose()


def test_the_statistics_pages_pass_axe_and_filter_in_a_browser(served: Served) -> None:
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

            # 1. Opens Statistics from the navigation: the release and its measures.
            page.goto(served.base_url + "/")
            page.get_by_role("link", name="Statistics", exact=True).click()
            page.wait_for_url(re.compile("/insights$"))
            expect(page.get_by_role("heading", level=1)).to_have_text("Statistics")
            expect(page.locator("#release")).to_contain_text("entry 12,345")
            audit.check(page, "dashboard")

            # 2. Opens the measure: a chart, named and described, and the table.
            page.get_by_role("link", name=MEASURE.title).click()
            page.wait_for_url(re.compile(f"/insights/{MEASURE.id}$"))
            chart = page.get_by_role("img", name=re.compile("met on time by duty"))
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box is not None and box["width"] >= 300
            expect(page.locator("#figures")).to_contain_text("[c]")
            if shots := os.environ.get("INSIGHTS_SCREENSHOTS"):  # to look at the page
                page.screenshot(path=str(Path(shots) / "insights-measure.png"), full_page=True)
            audit.check(page, "measure page")

            # 3. Narrows the figures to one police area.
            page.get_by_label("Police area").select_option(AREAS[1])
            page.get_by_role("button", name="Apply filters").click()
            page.wait_for_url(re.compile(f"police_area={AREAS[1]}"))
            areas = page.locator("#figures tbody tr td:nth-child(2)").all_inner_texts()
            assert areas and set(areas) == {AREAS[1]}
            audit.check(page, "filtered measure page")

            # 4. An analyst signs in and opens the unsuppressed figures.
            page.goto(served.base_url + "/sign-in")
            page.get_by_label("Email address").fill(ANALYST_EMAIL)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(served.base_url + "/")
            page.goto(served.base_url + f"/insights/internal/{MEASURE.id}")
            expect(page.locator("#not-for-publication")).to_contain_text("Not for publication")
            expect(page.locator("#figures")).not_to_contain_text("[c]")
            audit.check(page, "internal page")
        finally:
            browser.close()

    assert not audit.violations, "axe found accessibility problems:\n" + audit.report()
    assert not audit.console, "the browser reported errors:\n" + "\n".join(audit.console)
