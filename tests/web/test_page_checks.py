"""The page checker must catch what it claims to catch, or every page test is hollow."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from page_checks import page_problems

GOOD_HEAD = "<head><title>Sign in – OneStory</title></head>"
CSP = {"content-security-policy": "script-src 'self' 'nonce-abc123'"}


def _response(body: str, *, lang: bool = True, headers: dict[str, str] | None = None):
    html = f"<html{' lang=en' if lang else ''}>{body}</html>"
    return httpx.Response(
        200,
        html=html,
        headers=CSP if headers is None else headers,
        request=httpx.Request("GET", "http://testserver/page"),
    )


def test_a_good_page_passes() -> None:
    body = (
        f"{GOOD_HEAD}<body><script nonce=abc123></script><h1>Sign in</h1><h2>More</h2>"
        '<form method=post action="/sign-in"><input name=csrf_token value=t>'
        "<label for=email>Email</label><input id=email></form>"
        '<a href="/privacy">Privacy</a></body>'
    )
    assert page_problems(_response(body)) == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<body><h1>x</h1></body>", "non-empty <title>"),
        (f"{GOOD_HEAD}<body><h1>a</h1><h1>b</h1></body>", "exactly one <h1>, found 2"),
        (f"{GOOD_HEAD}<body><h1 id=a>a</h1><p id=a></p></body>", "duplicate id(s): a"),
        (f"{GOOD_HEAD}<body><h1>a</h1><label for=nowhere>x</label></body>", "points to no"),
        (f"{GOOD_HEAD}<body><h1>a</h1><h3>skipped</h3></body>", "skip from h1 to h3"),
        (
            f"{GOOD_HEAD}<body><h1>a</h1><form method=POST action=/x></form></body>",
            "has no csrf_token",
        ),
        (
            f"{GOOD_HEAD}<body><h1>a</h1><form method=post action=''>"
            "<input name=csrf_token value=t></form></body>",
            "empty action",
        ),
        (f'{GOOD_HEAD}<body><h1>a</h1><a href="">x</a></body>', "empty href"),
        (f"{GOOD_HEAD}<body><h1>a</h1><script>alert(1)</script></body>", "does not match"),
        (
            f"{GOOD_HEAD}<body><h1>a</h1><script nonce=other></script></body>",
            "does not match",
        ),
    ],
)
def test_each_fault_is_reported(body: str, expected: str) -> None:
    problems = page_problems(_response(body))
    assert any(expected in problem for problem in problems), problems


def test_missing_lang_is_reported() -> None:
    problems = page_problems(_response(f"{GOOD_HEAD}<body><h1>a</h1></body>", lang=False))
    assert problems == ["<html> has no lang attribute"]
