"""What the real-browser tests share: Debian's Chromium and how to launch it, axe-core and an
audit that collects its violations and the console's errors page by page, and OneStory served by
uvicorn on a free loopback port for the length of a test.

A module of its own (tests/web is put on the import path by the test packages that use it) so the
browser journeys of each capability differ only in what the person does.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn
from fastapi import FastAPI

if TYPE_CHECKING:
    from playwright.sync_api import Page

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


def require_browser() -> None:
    """Skip (fail under CI=true) when Chromium or axe-core is missing, saying how to get it."""
    for path, reason in (
        (CHROMIUM, f"{CHROMIUM} is not installed (apt-get install chromium)"),
        (AXE, f"{AXE} is missing: run `make test`, which fetches axe-core"),
    ):
        if path.exists():
            continue
        if IN_CI:
            pytest.fail(f"{reason}; CI=true requires the browser tests to run")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: FastAPI, port: int) -> Iterator[None]:
    """``app`` on uvicorn at 127.0.0.1:``port`` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Audit:
    """axe-core violations per page, and console errors, for one report at the end."""

    def __init__(self) -> None:
        self.axe_source = AXE.read_text(encoding="utf-8")
        self.violations: dict[str, list[dict[str, Any]]] = {}
        self.console: list[str] = []

    def watch(self, page: Page) -> None:
        page.on(
            "console",
            lambda m: self.console.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.console.append(f"{page.url}: {error}"))

    def check(self, page: Page, name: str) -> None:
        # Through the DevTools protocol, so the page's CSP stays on while axe runs.
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
        if found:
            self.violations[name] = found

    def report(self) -> str:
        return "\n".join(
            f"{name}: {v['id']} [{v['impact']}] {v['help']}: {', '.join(v['targets'][:3])}"
            for name, found in self.violations.items()
            for v in found
        )
