"""Tell us once, end to end in a real Chromium on a phone, with axe-core on every victim page.

A victim tells their story once; the police and the Witness Care Unit see it in their worklists
without asking again; a court lists a hearing through the API; the victim's timeline shows it
and a message reaches them within one working day, so duty R8.2 reads "Done on time"; the
victim withdraws consent for Victim Support, which can then no longer read the story.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select
from victims_helpers import PASSWORD, add_account, add_organisations

from onestory.config import Settings
from onestory.domain.identifiers import CaseURN
from onestory.notify.channels import FileChannel
from onestory.notify.contact import next_allowed
from onestory.notify.worker import deliver_due
from onestory.sharing.authorize import Actor
from onestory.sharing.clients import issue_key, scope
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.victims import questions, timeline
from onestory.victims.duties import LONDON
from onestory.victims.tables import DutyClock, Story
from onestory.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
AXE = Path(__file__).resolve().parents[2] / "build/axe/node_modules/axe-core/axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.browser

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
DESK: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}

VICTIM_EMAIL = "jo@example.org"
POLICE, WCU, SUPPORT = "pc@pol01.example.org", "wcu@wcu01.example.org", "worker@vs.example.org"
URN = "01AB1234526"
STORY_TEXT = "Someone broke into my car on the High Street and took my bag."
NEEDS = "Large print please"
SAFE_TIME = "weekday_morning"
R8_2 = "R8.2"
MY_STORY_PAGES = {  # link text on the case page -> the page it opens
    "See who has read your story": "who-has-seen",
    "Change who can see your story": "sharing",
    "Update your story": "update",
    "Write a Victim Personal Statement": "statement",
    "Make a complaint": "complaint",
}
VICTIM_PAGES = {
    "/tell-us",
    "/register",
    "/tell-us/about-you (with errors)",
    *(f"/tell-us/{slug}" for slug in questions.ORDER),
    "/tell-us/confirmation/<ref>",
    "/my-story/<ref>",
    "/my-story/<ref>?saved=sharing",
    *(f"/my-story/<ref>/{tail}" for tail in MY_STORY_PAGES.values()),
}
BAD_REQUEST = "Failed to load resource: the server responded with a status of 400 (Bad Request)"


def _require(path: Path, reason: str) -> None:
    if path.exists():
        return
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires the browser tests to run")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base_url: str
    app: FastAPI
    court_key: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """OneStory on uvicorn (SQLite), with one police area's organisations, staff and a court
    system's API key."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'journey.sqlite3'}")
    load_metadata().create_all(engine)
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="j" * 48,
        notify_interval=0,  # the test runs the worker itself, at a moment it chooses
        webhook_interval=0,
        ledger_checkpoint_interval=0,
    )
    app = create_app(settings, engine=engine)
    with app.state.sessions() as session:
        add_organisations(session)
        admin = add_account(session, "admin@example.org", "administrator")
        add_account(session, POLICE, "police_officer", "POL01")
        add_account(session, WCU, "witness_care_officer", "WCU01")
        add_account(session, SUPPORT, "victim_support_worker", "VS")
        _, court_key = issue_key(
            session,
            actor=Actor(f"user:{admin.id}", "administrator", None, None),
            organisation_code="STRAMC",
            name="Stratford listings system",
            role="court_officer",
            scopes=[scope("create", "hearing")],
        )
        session.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Served(f"http://127.0.0.1:{port}", app, court_key)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@dataclass
class Audit:
    """What the browser saw going wrong: axe violations per page, and console errors."""

    axe_source: str
    violations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    console: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def unexpected_console(self) -> list[str]:
        """Console errors, less one of each that the test caused on purpose."""
        left = list(self.console)
        for message in self.expected:
            assert message in left, f"expected {message!r} in the console; got {left}"
            left.remove(message)
        return left

    def watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda m: (
                self.console.append(f"{_where(page)}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.console.append(f"{_where(page)}: {error}"))

    def victim_page(self, page: Page, state: str = "") -> None:
        """Check a victim page: the "Exit this page" control is there, and axe finds nothing."""
        from playwright.sync_api import expect

        where = _where(page) + (f" ({state})" if state else "")
        expect(page.get_by_role("button", name="Emergency Exit this page")).to_be_visible()
        # The page's CSP admits scripts only from 'self' or carrying the response's nonce, so
        # add_script_tag (an inline <script> without the nonce) would be blocked. Code that
        # Playwright evaluates through the DevTools protocol is not subject to the page's CSP,
        # so axe goes in that way; bypass_csp=True on the context would instead switch the CSP
        # off for the whole page, and then a CSP break in our own pages would go unnoticed.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.axe_source + "\n;true")
        found = page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                    targets: v.nodes.map(n => n.target.join(' ')),
                    html: v.nodes.map(n => n.html),
                }));
            }""",
            AXE_TAGS,
        )
        self.checked.append(where)
        if found:
            self.violations[where] = found

    def report(self) -> str:
        lines = []
        for where, found in self.violations.items():
            for v in found:
                targets = ", ".join(v["targets"][:3])
                more = f" (+{len(v['targets']) - 3} more)" if len(v["targets"]) > 3 else ""
                lines.append(
                    f"{where}: {v['id']} [{v['impact']}] {v['help']}: {targets}{more}"
                    f"\n    {v['html'][0][:200]}\n    {v['helpUrl']}"
                )
        return "\n".join(lines)


def _where(page: Page) -> str:
    """The page's path and query, to name it in a report."""
    url = urlsplit(page.url)
    return url.path + (f"?{url.query}" if url.query else "")


def _path(served: Served, path: str) -> str:
    return served.base_url + path


def _continue(page: Page, button: str, to: str) -> None:
    """Press the page's button and arrive at ``to`` (a path or a pattern), with no error."""
    page.get_by_role("button", name=button).click()
    page.wait_for_url(re.compile(to))
    assert page.locator(".govuk-error-summary").count() == 0, page.locator("main").inner_text()


def _sign_in(context: BrowserContext, served: Served, audit: Audit, email: str) -> Page:
    """A member of staff signs in through the form, in their own browser context."""
    context.set_default_timeout(10_000)
    page = context.new_page()
    audit.watch(page)
    page.goto(_path(served, "/sign-in"))
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(_path(served, "/"))
    return page


def _tell_the_story(page: Page, served: Served, audit: Audit) -> str:
    """The victim registers and answers every page; the story's reference."""
    check: Callable[..., None] = audit.victim_page
    page.goto(_path(served, "/tell-us"))
    check(page)
    page.get_by_role("button", name="Create an account").click()
    page.wait_for_url(re.compile("/register$"))
    check(page)
    page.get_by_label("Your name").fill("Jo Bloggs")
    page.get_by_label("Email address").fill(VICTIM_EMAIL)
    page.get_by_label("Create a password").fill(PASSWORD)
    _continue(page, "Create account", "/tell-us/about-you$")

    check(page)
    # Errors are part of the page too: the summary, and each message by its field.
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(".govuk-error-summary")
    assert page.get_by_role("link", name="Enter your full name").count() == 1
    check(page, "with errors")
    # Chromium logs any 4xx response as an error, so this one is expected (and only this one).
    audit.expected.append(f"{_where(page)}: {BAD_REQUEST}")
    page.get_by_label("Full name").fill("Jo Bloggs")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("4")
    page.get_by_label("Year").fill("1990")
    page.get_by_label("Email address").fill(VICTIM_EMAIL)
    page.get_by_label("UK telephone number").fill("07700 900123")
    _continue(page, "Continue", "/tell-us/what-happened$")

    check(page)
    page.get_by_label("What happened?").fill(STORY_TEXT)
    _continue(page, "Continue", "/tell-us/when-and-where$")

    check(page)
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    page.get_by_label("Day").fill(str(yesterday.day))
    page.get_by_label("Month").fill(str(yesterday.month))
    page.get_by_label("Year").fill(str(yesterday.year))
    page.get_by_label("Where did it happen? (optional)").fill("Outside 10 High Street")
    page.get_by_label("Which police force area did it happen in?").select_option(
        label="Metropolitan Police Service"
    )
    _continue(page, "Continue", "/tell-us/crime-reference$")

    check(page)
    page.get_by_label("No", exact=True).check()
    _continue(page, "Continue", "/tell-us/language$")

    check(page)
    page.get_by_label("English", exact=True).check()
    _continue(page, "Continue", "/tell-us/support-needs$")

    check(page)
    page.get_by_label(re.compile("Do you need anything to help you")).fill(NEEDS)
    _continue(page, "Continue", "/tell-us/circumstances$")

    check(page)
    page.get_by_label("Domestic abuse").check()
    _continue(page, "Continue", "/tell-us/contact$")

    check(page)
    page.get_by_label("Email", exact=True).check()
    _continue(page, "Continue", "/tell-us/safe-times$")

    check(page)
    page.get_by_label(timeline.SAFE_TIMES[SAFE_TIME][0]).check()
    page.get_by_label("Do not leave voicemail or messages with anyone else").check()
    _continue(page, "Continue", "/tell-us/who-can-see$")

    check(page)
    consent = page.get_by_role("group", name="Can Victim Support receive it?")
    consent.get_by_label("Yes", exact=True).check()
    compensation = "Can Criminal Injuries Compensation Authority receive it?"
    page.get_by_role("group", name=compensation).get_by_label("No", exact=True).check()
    _continue(page, "Continue", "/tell-us/check-answers$")

    check(page)
    answers = page.locator("main").inner_text()
    assert "Jo Bloggs" in answers and STORY_TEXT in answers and NEEDS in answers
    _continue(page, "Send my story", "/tell-us/confirmation/")

    check(page)
    panel = page.locator(".govuk-panel")
    assert "Your story has been sent" in panel.inner_text()
    reference = panel.locator("strong").inner_text().strip()
    assert reference and page.url.endswith(f"/tell-us/confirmation/{reference}")
    return reference


def _follow_the_case(page: Page, served: Served, audit: Audit, reference: str) -> None:
    """Every page of "your case", reached by its link on the case page."""
    page.get_by_role("link", name="follow your case").click()
    page.wait_for_url(_path(served, f"/my-story/{reference}"))
    audit.victim_page(page)
    for name, tail in MY_STORY_PAGES.items():
        page.get_by_role("link", name=name).click()
        page.wait_for_url(_path(served, f"/my-story/{reference}/{tail}"))
        audit.victim_page(page)
        page.get_by_role("link", name="Back", exact=True).click()
        page.wait_for_url(_path(served, f"/my-story/{reference}"))


def _hearing_listed(starts_at: datetime) -> dict[str, Any]:
    """A court's ``court.hearing.listed`` event in the common model (camelCase JSON)."""
    return {
        "id": str(uuid.uuid4()),
        "eventType": "court.hearing.listed",
        "version": 1,
        "occurredAt": datetime.now(UTC).isoformat(),
        "assertedBy": "STRAMC",
        "caseReferences": [{"type": "URN", "value": URN}],
        "payload": {
            "hearing": {
                "hearingId": str(uuid.uuid4()),
                "caseUrn": URN,
                "court": "STRAMC",
                "hearingType": "first_appearance",
                "startsAt": starts_at.isoformat(),
            },
            "defendantId": str(uuid.uuid4()),
        },
    }


def test_tell_us_once_from_the_victim_to_every_agency_in_chromium(
    served: Served, tmp_path: Path
) -> None:
    _require(CHROMIUM, f"{CHROMIUM} is not installed (apt-get install chromium)")
    _require(AXE, f"{AXE} is missing: run `make test`, which fetches axe-core")
    from playwright.sync_api import sync_playwright

    assert str(CaseURN(URN)) == URN
    audit = Audit(AXE.read_text(encoding="utf-8"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # 1. The victim, on a phone, tells their story once.
            victim = browser.new_context(**PHONE)
            victim.set_default_timeout(10_000)
            page = victim.new_page()
            audit.watch(page)
            reference = _tell_the_story(page, served, audit)
            _follow_the_case(page, served, audit, reference)

            # 2. The police see it in their worklist, needs first, and link the case.
            police = _sign_in(browser.new_context(**DESK), served, audit, POLICE)
            police.goto(_path(served, "/worklist"))
            row = police.locator(f"#story-{reference}")
            assert row.count() == 1
            row_text = row.inner_text()
            assert "Jo Bloggs" in row_text and "New" in row_text
            assert NEEDS in row_text and "Do not leave messages" in row_text
            row.get_by_role("link").first.click()
            police.wait_for_url(_path(served, f"/worklist/{reference}"))
            headings = police.locator("main h2").all_inner_texts()
            assert headings[0] == "Needs and safe contact", headings
            assert police.locator("#what-happened").inner_text() == STORY_TEXT
            police.get_by_label("Case reference (URN)").fill(URN)
            police.get_by_role("button", name="Link the case").click()
            police.wait_for_url(_path(served, f"/worklist/{reference}"))
            banner = police.locator(".govuk-notification-banner").inner_text()
            assert f"Linked to police case {URN}" in banner

            # 3. The Witness Care Unit sees the needs and safe times, not the story itself.
            wcu = _sign_in(browser.new_context(**DESK), served, audit, WCU)
            wcu.goto(_path(served, "/worklist"))
            assert wcu.locator(f"#story-{reference}").count() == 1
            row_text = wcu.locator(f"#story-{reference}").inner_text()
            assert NEEDS in row_text and "Do not leave messages" in row_text
            assert timeline.SAFE_TIMES[SAFE_TIME][0] in row_text
            assert STORY_TEXT not in wcu.content()

            # The support service chosen by the victim can read it, for now.
            support = _sign_in(browser.new_context(**DESK), served, audit, SUPPORT)
            support.goto(_path(served, "/worklist"))
            assert support.locator(f"#story-{reference}").count() == 1
            allowed = support.request.get(_path(served, f"/worklist/{reference}"))
            assert allowed.status == 200 and STORY_TEXT in allowed.text()

            # 4. The court's system lists a hearing through the API.
            sitting = datetime.now(LONDON).date() + timedelta(days=28)
            while sitting.weekday() >= 5:  # courts sit on weekdays
                sitting += timedelta(days=1)
            starts_at = datetime.combine(sitting, dt_time(10), tzinfo=LONDON)
            day = f"{starts_at:%A} {starts_at.day} {starts_at:%B %Y}"
            response = httpx.post(
                _path(served, "/api/events"),
                params={"purpose": "prosecution"},
                json=_hearing_listed(starts_at),
                headers={"Authorization": f"Bearer {served.court_key}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text

            # 5. The victim's timeline shows it; the message goes out at the first safe time,
            # within the one working day R8.2 allows, and the duty reads "Done on time".
            page.reload()
            events = page.locator(".onestory-timeline").inner_text()
            assert "Stratford Magistrates' Court" in events and day in events, events
            with served.app.state.sessions() as session:
                story = session.scalars(select(Story).where(Story.reference == reference)).one()
                assert story.case_urn == URN
                due = session.scalars(
                    select(DutyClock).where(
                        DutyClock.story_id == story.id, DutyClock.rule_id == R8_2
                    )
                ).one()
                due_at = due.due_at
            safe = [timeline.SAFE_TIMES[SAFE_TIME][1]]
            deliver_at = next_allowed(datetime.now(UTC) + timedelta(seconds=1), safe)
            assert deliver_at <= due_at, (deliver_at, due_at)
            outbox = tmp_path / "outbox"
            report = deliver_due(served.app.state.sessions, FileChannel(outbox), now=deliver_at)
            assert report.failed == 0, report
            sent = [json.loads(p.read_text()) for p in outbox.glob("*.json")]
            hearing = [m for m in sent if m["template"] == "hearing-listed"]
            assert len(hearing) == 1, sent
            assert hearing[0]["to"] == VICTIM_EMAIL, hearing
            assert "Stratford Magistrates' Court" in hearing[0]["body"], hearing
            with served.app.state.sessions() as session:
                clock = session.get(DutyClock, due.id)
                assert clock is not None and clock.met_at is not None
                assert timeline.duty_status(clock) == "met_on_time"
            page.reload()
            duty = page.locator(".govuk-summary-list__row").filter(
                has_text=timeline.rule_title(R8_2, due.code_version)
            )
            assert "Done on time" in duty.locator(".govuk-tag").inner_text()
            audit.victim_page(page)

            # 6. The victim withdraws consent for Victim Support, which loses the story at once.
            page.get_by_role("link", name="Change who can see your story").click()
            page.wait_for_url(_path(served, f"/my-story/{reference}/sharing"))
            audit.victim_page(page)
            consent = page.get_by_role("group", name="Can Victim Support see it?")
            consent.get_by_label("No", exact=True).check()
            page.get_by_role("button", name="Save my choices").click()
            page.wait_for_url(_path(served, f"/my-story/{reference}?saved=sharing"))
            saved = page.locator(".govuk-notification-banner").inner_text()
            assert "Your choices have been saved" in saved
            audit.victim_page(page)
            # Asked through the context's own client (its cookies, no navigation), so the
            # expected 404 is not a console error of a page.
            refused = support.request.get(_path(served, f"/worklist/{reference}"))
            assert refused.status == 404
            support.goto(_path(served, "/worklist"))
            assert support.locator(f"#story-{reference}").count() == 0
            assert STORY_TEXT not in support.content()
        finally:
            browser.close()

    visited = {re.sub(r"OS-[A-Z0-9-]+", "<ref>", where) for where in audit.checked}
    assert visited == VICTIM_PAGES, visited ^ VICTIM_PAGES
    assert not audit.violations, "axe-core found accessibility problems:\n" + audit.report()
    assert audit.unexpected_console() == []
