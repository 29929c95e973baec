"""A test client that checks every HTML page it receives, and helpers for tests of pages.

The checks are the ones a person would notice first with a screen reader or a security review:
a title and one main heading, unique ids, labels that point somewhere, the CSRF token in every
form, and the CSP nonce on every script.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from bs4 import BeautifulSoup
from bs4.element import Tag
from fastapi.testclient import TestClient

NONCE_IN_CSP = re.compile(r"'nonce-([^']+)'")


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def page_problems(response: httpx.Response) -> list[str]:
    """Everything wrong with an HTML page, as sentences; empty when it passes."""
    soup = BeautifulSoup(response.text, "html.parser")
    problems: list[str] = []

    titles = soup.find_all("title")
    if len(titles) != 1 or not titles[0].get_text(strip=True):
        problems.append(f"expected exactly one non-empty <title>, found {len(titles)}")

    h1s = soup.find_all("h1")
    if len(h1s) != 1:
        problems.append(f"expected exactly one <h1>, found {len(h1s)}")

    html = soup.find("html")
    if not isinstance(html, Tag) or not html.get("lang"):
        problems.append("<html> has no lang attribute")

    ids = Counter(str(tag["id"]) for tag in soup.find_all(id=True))
    duplicates = sorted(name for name, count in ids.items() if count > 1)
    if duplicates:
        problems.append(f"duplicate id(s): {', '.join(duplicates)}")

    for label in soup.find_all("label", attrs={"for": True}):
        if label["for"] not in ids:
            problems.append(f"<label for={label['for']!r}> points to no element")

    levels = [int(tag.name[1]) for tag in soup.find_all(re.compile(r"^h[1-6]$"))]
    for before, after in pairwise(levels):
        if after > before + 1:
            problems.append(f"heading levels skip from h{before} to h{after}")

    for form in soup.find_all("form"):
        method = str(form.get("method", "get")).lower()
        action = form.get("action")
        if action is not None and not str(action).strip():
            problems.append("a <form> has an empty action")
        if method == "post":
            token = form.find("input", attrs={"name": "csrf_token"})
            if not isinstance(token, Tag) or not token.get("value"):
                problems.append(f"POST form to {action!r} has no csrf_token with a value")

    for link in soup.find_all("a"):
        href = link.get("href")
        if href is None:
            problems.append(f"<a> without href: {link.get_text(strip=True)!r}")
        elif _is_local(str(href)) and str(href).strip() in {"", "#"}:
            problems.append(f"<a> with empty href: {link.get_text(strip=True)!r}")

    csp = response.headers.get("content-security-policy", "")
    match = NONCE_IN_CSP.search(csp)
    csp_nonce = match.group(1) if match else None
    for script in soup.find_all("script"):
        if csp_nonce is None or script.get("nonce") != csp_nonce:
            problems.append(
                f"<script> nonce {script.get('nonce')!r} does not match the CSP nonce {csp_nonce!r}"
            )
    return problems


def assert_good_page(response: httpx.Response) -> None:
    """Fail, naming the URL, if an HTML response breaks any page rule."""
    problems = page_problems(response)
    if problems:
        where = f"{response.request.method} {response.request.url}"
        raise AssertionError(f"{where} returned a faulty page:\n  - " + "\n  - ".join(problems))


class PageCheckingClient(TestClient):
    """A TestClient that runs ``assert_good_page`` on every text/html response it returns."""

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_good_page(response)
        return response


def csrf_token_from(response: httpx.Response) -> str:
    """The CSRF token in the first form of a page."""
    soup = BeautifulSoup(response.text, "html.parser")
    field = soup.find("input", attrs={"name": "csrf_token"})
    assert isinstance(field, Tag), f"no csrf_token field on {response.request.url}"
    return str(field["value"])


def soup_of(response: httpx.Response) -> BeautifulSoup:
    """The parsed page."""
    return BeautifulSoup(response.text, "html.parser")
