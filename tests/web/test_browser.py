"""The start page in a real Chromium: GOV.UK Frontend's CSS and JavaScript load and run under
the Content-Security-Policy, and the console stays clean."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from onestory.config import Settings
from onestory.store import create_engine_for
from onestory.store.catalog import load_metadata
from onestory.web.app import create_app

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
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

pytestmark = pytest.mark.browser


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true requires the browser tests to run")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """OneStory served by uvicorn on a free local port, on a SQLite database."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    load_metadata().create_all(engine)
    settings = Settings(env="test", data_dir=tmp_path, secret_key="b" * 48)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine=engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def test_start_page_in_chromium(base_url: str, tmp_path: Path) -> None:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            # CSP violations and failed loads are reported as console errors.
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console {message.type}: {message.text}")
                    if message.type in {"error", "warning"}
                    else None
                ),
            )
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))

            response = page.goto(base_url + "/", wait_until="networkidle")
            assert response is not None and response.status == 200

            assert page.locator("h1").inner_text() == "OneStory"
            assert page.title() == "OneStory"
            # GOV.UK Frontend's stylesheet is applied ...
            assert (
                page.locator(".govuk-width-container").first.evaluate(
                    "el => getComputedStyle(el).maxWidth"
                )
                == "960px"
            )
            # ... with OneStory's own typeface rule on top (GDS Transport is for GOV.UK only).
            font = page.locator("body").evaluate("el => getComputedStyle(el).fontFamily")
            assert font.lower().startswith("arial"), font
            # The inline script carrying the nonce ran ...
            body_classes = page.locator("body").get_attribute("class") or ""
            assert "govuk-frontend-supported" in body_classes
            # ... and so did the module that imports GOV.UK Frontend and calls initAll().
            page.wait_for_selector("[data-govuk-skip-link-init]", state="attached", timeout=5000)
            page.wait_for_selector(
                "[data-govuk-service-navigation-init]", state="attached", timeout=5000
            )

            page.screenshot(path=str(tmp_path / "start-page.png"), full_page=True)
        finally:
            browser.close()

    assert problems == []
    assert (tmp_path / "start-page.png").stat().st_size > 10_000


def test_sign_in_and_see_who_has_seen_your_data_in_chromium(base_url: str, tmp_path: Path) -> None:
    """A person signs in through the real form and reads their account page."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    from onestory.sharing.passwords import hash_password
    from onestory.sharing.tables import UserAccount
    from onestory.store import session_factory

    engine = create_engine_for(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    with session_factory(engine)() as session:
        session.add(
            UserAccount(
                email="jo@example.org",
                display_name="Jo Evans",
                role="victim",
                password_hash=hash_password("a long and private passphrase"),
            )
        )
        session.commit()
    engine.dispose()

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message: (
                    problems.append(f"console: {message.text}") if message.type == "error" else None
                ),
            )
            page.goto(base_url + "/sign-in")
            page.get_by_label("Email address").fill("jo@example.org")
            page.get_by_label("Password", exact=True).fill("a long and private passphrase")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base_url + "/")
            page.goto(base_url + "/account")
            assert page.locator("h1").inner_text() == "Your account"
            assert "Jo Evans" in page.locator("main").inner_text()
            page.screenshot(path=str(tmp_path / "account.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
