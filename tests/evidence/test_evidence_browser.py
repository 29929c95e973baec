"""Evidence end to end in a real Chromium, with axe-core on the case and item pages.

A police officer signs in, opens a case, adds a small PNG through the page, sees the browser's
own image preview, and shares the exhibit with a CPS prosecutor; the prosecutor signs in, finds
the case under "Evidence shared with you" and downloads the exhibit, byte for byte the same.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from evidence_helpers import CASE_URN, PASSWORD, People, add_people
from fastapi import FastAPI
from sqlalchemy import select

from onestory.config import Settings
from onestory.evidence.tables import CustodyEntry
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

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
DESK: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True}

pytestmark = pytest.mark.browser


def png(width: int, height: int) -> bytes:
    """A small, valid PNG: a red-to-blue gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((255 - x * 4 % 256, 0, x * 4 % 256)) for x in range(width))
        for _ in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


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
    people: People


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """OneStory on uvicorn (SQLite) with the people of one prosecution."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'evidence.sqlite3'}")
    load_metadata().create_all(engine)
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="b" * 48,
        notify_interval=0,
        webhook_interval=0,
        ledger_checkpoint_interval=0,
    )
    app = create_app(settings, engine=engine)
    people = add_people(app)
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
        yield Served(f"http://127.0.0.1:{port}", app, people)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


class Audit:
    """axe-core violations per page, and console errors, for one report at the end."""

    def __init__(self, axe_source: str) -> None:
        self.axe_source = axe_source
        self.violations: dict[str, list[dict[str, Any]]] = {}
        self.console: list[str] = []
        self.checked: list[str] = []

    def watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda m: self.console.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.console.append(f"{page.url}: {error}"))

    def check(self, page: Page, name: str) -> None:
        # Evaluated through the DevTools protocol, so the page's CSP (which would block an
        # injected <script>) stays on and a CSP break in our pages would still show.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.axe_source + "\n;true")
        found = page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(' ')),
                }));
            }""",
            AXE_TAGS,
        )
        self.checked.append(name)
        if found:
            self.violations[name] = found

    def report(self) -> str:
        return "\n".join(
            f"{name}: {v['id']} [{v['impact']}] {v['help']}: {', '.join(v['targets'][:3])}"
            for name, found in self.violations.items()
            for v in found
        )


def _sign_in(browser: Browser, served: Served, audit: Audit, email: str) -> Page:
    context = browser.new_context(**DESK)
    context.set_default_timeout(10_000)
    page = context.new_page()
    audit.watch(page)
    page.goto(served.base_url + "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(served.base_url + "/")
    return page


def test_an_officer_adds_and_shares_a_photo_and_the_prosecutor_downloads_it(
    served: Served, tmp_path: Path
) -> None:
    _require(CHROMIUM, f"{CHROMIUM} is not installed (apt-get install chromium)")
    _require(AXE, f"{AXE} is missing: run `make test`, which fetches axe-core")
    from playwright.sync_api import expect, sync_playwright

    image = png(48, 32)
    audit = Audit(AXE.read_text(encoding="utf-8"))
    people = served.people
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # 1. The officer opens the case from the Evidence page.
            police = _sign_in(browser, served, audit, people.officer.email)
            police.get_by_role("link", name="Evidence", exact=True).click()
            police.wait_for_url(re.compile("/evidence$"))
            audit.check(police, "/evidence (police)")
            police.get_by_label("Case URN").fill(CASE_URN)
            police.get_by_role("button", name="Open case").click()
            police.wait_for_url(re.compile(f"/evidence/cases/{CASE_URN}$"))
            audit.check(police, "case page (empty)")

            # 2. Adds a photograph through the form. The page's script sends it as a resumable
            # upload; the first piece is lost on the way (the connection drops), so the script
            # must ask the server how much arrived and send it again.
            sent: list[str] = []
            dropped: list[str] = []

            def drop_first_patch(route: Route) -> None:
                sent.append(route.request.method)
                if route.request.method == "PATCH" and not dropped:
                    dropped.append(route.request.url)
                    route.abort("connectionreset")
                else:
                    route.continue_()

            police.route("**/api/evidence/uploads/*", drop_first_patch)
            police.get_by_label("File", exact=True).set_input_files(
                files=[{"name": "window.png", "mimeType": "image/png", "buffer": image}]
            )
            police.get_by_label("Exhibit reference").fill("SJ/1")
            police.get_by_label("Description").fill("Photograph of the broken window")
            police.locator("#seized-day").fill("1")
            police.locator("#seized-month").fill("11")
            police.locator("#seized-year").fill("2026")
            police.get_by_label("Time seized or produced (optional)").fill("10:30")
            police.get_by_label("SHA-256 of the file (optional)").fill(
                hashlib.sha256(image).hexdigest()
            )
            police.get_by_role("button", name="Add item").click()
            police.wait_for_url(
                re.compile(r"/evidence/items/[0-9a-f-]{36}\?added=1$"), timeout=30_000
            )
            item_url = police.url.split("?")[0]
            assert dropped and sent.count("PATCH") == 2 and "HEAD" in sent, sent
            # The browser logs the connection this test dropped on purpose; nothing else may.
            audit.console[:] = [c for c in audit.console if "ERR_CONNECTION_RESET" not in c]
            banner = police.locator(".govuk-notification-banner").inner_text()
            assert "Exhibit SJ/1 added" in banner, banner

            # 3. The browser's own image preview shows it.
            preview = police.locator("img#preview")
            expect(preview).to_be_visible()
            police.wait_for_function(
                "() => { const i = document.querySelector('img#preview');"
                " return i.complete && i.naturalWidth > 0; }"
            )
            assert preview.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [48, 32]
            audit.check(police, "item page (holder)")

            # 4. Shares the exhibit with the prosecutor.
            police.get_by_role("link", name=f"Case {CASE_URN}").click()
            police.wait_for_url(re.compile(f"/evidence/cases/{CASE_URN}$"))
            audit.check(police, "case page (one item)")
            police.get_by_label("Email address of the person to share with").fill(
                people.prosecutor.email
            )
            police.get_by_label("Exhibit SJ/1").check()
            police.get_by_role("button", name="Share").click()
            police.wait_for_url(re.compile(f"/evidence/cases/{CASE_URN}"))
            assert (
                f"{people.prosecutor.name} can see exhibit SJ/1"
                in police.locator(".govuk-notification-banner").inner_text()
            )
            expect(police.locator("#grants")).to_contain_text("Live")
            audit.check(police, "case page (shared)")

            # 5. The prosecutor signs in, finds it, and downloads it.
            cps = _sign_in(browser, served, audit, people.prosecutor.email)
            cps.get_by_role("link", name="Evidence", exact=True).click()
            cps.wait_for_url(re.compile("/evidence$"))
            audit.check(cps, "/evidence (prosecutor)")
            cps.get_by_role("link", name=CASE_URN).click()
            cps.wait_for_url(re.compile(f"/evidence/cases/{CASE_URN}$"))
            expect(cps.get_by_role("button", name="Add item")).to_have_count(0)
            audit.check(cps, "case page (prosecutor)")
            cps.get_by_role("link", name="SJ/1").click()
            cps.wait_for_url(item_url)
            audit.check(cps, "item page (prosecutor)")
            with cps.expect_download() as info:
                cps.locator("#download").click()
            download = info.value
            saved = tmp_path / "downloaded.png"
            download.save_as(saved)
            assert saved.read_bytes() == image
            assert download.suggested_filename == "window.png"
        finally:
            browser.close()

    with served.app.state.sessions() as session:
        actions = list(
            session.scalars(select(CustodyEntry.action).order_by(CustodyEntry.ledger_seq))
        )
    # The officer's and the prosecutor's previews, the share, the download: all in custody.
    assert actions[:2] == ["acquired", "uploaded"]
    assert "shared" in actions and actions[-1] == "downloaded"
    assert actions.count("viewed") >= 2
    assert not audit.console, "console errors:\n" + "\n".join(audit.console)
    assert len(audit.checked) == 8
    assert not audit.violations, "axe-core found accessibility problems:\n" + audit.report()
