"""Error pages: not found, server error, and JSON errors under /api/."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from page_checks import PageCheckingClient, assert_good_page, soup_of


def test_not_found_page(client: PageCheckingClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    soup = soup_of(response)
    assert soup.title.get_text(strip=True) == "Page not found – OneStory"
    assert soup.h1.get_text(strip=True) == "Page not found"
    assert "check you copied the entire address" in soup.main.get_text()
    assert soup.select_one(".govuk-generic-header") is not None


def test_api_errors_are_json(client: PageCheckingClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_server_error_page_keeps_the_layout_and_the_headers(app: FastAPI) -> None:
    router = APIRouter()

    @router.get("/broken")
    def broken() -> None:
        raise RuntimeError("something inside failed")

    app.include_router(router)
    with PageCheckingClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    soup = soup_of(response)
    assert soup.h1.get_text(strip=True) == "Sorry, there is a problem with the service"
    assert "something inside failed" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert_good_page(response)  # the nonce on its scripts matches its CSP header
