"""Security headers, the CSP nonce and the session cookie."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from page_checks import PageCheckingClient, soup_of
from sqlalchemy import Engine

from onestory.config import Settings
from onestory.web.app import create_app

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "x-frame-options": "DENY",
}


def _nonce(response) -> str:
    match = re.search(
        r"script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'",
        response.headers["content-security-policy"],
    )
    assert match, response.headers["content-security-policy"]
    return match.group(1)


@pytest.mark.parametrize(
    "path", ["/", "/sign-in", "/healthz", "/assets/govuk-frontend.min.css", "/no-such-page"]
)
def test_every_response_carries_the_security_headers(client: PageCheckingClient, path: str) -> None:
    response = client.get(path)
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, name
    assert "camera=()" in response.headers["permissions-policy"]
    csp = response.headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "strict-transport-security" not in response.headers


def test_nonce_is_fresh_for_each_request_and_on_every_script(
    client: PageCheckingClient,
) -> None:
    first, second = client.get("/"), client.get("/")
    assert _nonce(first) != _nonce(second)
    scripts = soup_of(second).find_all("script")
    assert len(scripts) == 2
    assert {script["nonce"] for script in scripts} == {_nonce(second)}


def test_pages_are_not_cached(client: PageCheckingClient) -> None:
    assert client.get("/").headers["cache-control"] == "no-store"


def test_session_cookie_is_http_only_and_same_site(client: PageCheckingClient) -> None:
    cookie = client.get("/sign-in").headers["set-cookie"]
    assert cookie.startswith("onestory_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_production_adds_hsts_and_secure_cookies(engine: Engine, tmp_path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, secret_key="p" * 48)
    with TestClient(create_app(settings, engine=engine), base_url="https://testserver") as client:
        response = client.get("/sign-in")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert "; secure" in response.headers["set-cookie"].lower()
