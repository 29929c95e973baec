"""The start page, the capability pages, the statements and the API documentation page."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, soup_of

from onestory.exchange.tables import StoredEvent
from onestory.ledger.entries import NewEntry
from onestory.ledger.log import append_many
from onestory.sharing.tables import Organisation
from onestory.web.pages import CAPABILITIES


def _holdings(client: PageCheckingClient) -> dict[str, str]:
    rows = soup_of(client.get("/")).select("#holdings .govuk-summary-list__row")
    return {
        row.select_one("dt").get_text(strip=True): row.select_one("dd").get_text(strip=True)
        for row in rows
    }


def test_start_page_explains_onestory(client: PageCheckingClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.title.get_text(strip=True) == "OneStory"
    assert soup.h1.get_text(strip=True) == "OneStory"
    assert "one record of a criminal case" in soup.main.get_text()


def test_start_page_links_to_every_capability(client: PageCheckingClient) -> None:
    main = soup_of(client.get("/")).main
    links = {a["href"]: a.get_text(strip=True) for a in main.find_all("a")}
    for capability in CAPABILITIES:
        assert links[f"/capabilities/{capability.slug}"] == capability.title


def test_start_page_counts_what_the_database_holds(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    assert _holdings(client) == {
        "Organisations": "0",
        "Accounts": "0",
        "Events received from agencies": "0",
        "Entries in the ledger": "0 (none signed yet)",
    }
    with app.state.sessions() as session:
        session.add_all(
            [
                Organisation(code="01", name="Metropolitan Police", kind="police"),
                Organisation(code="CPS-LDN", name="CPS London", kind="prosecutor"),
            ]
        )
        session.add_all(
            StoredEvent(
                id=str(uuid.uuid4()),
                type="court.hearing.listed",
                version=1,
                occurred_at=datetime(2025, 3, day, 10, tzinfo=UTC),
                asserted_by="C01",
                envelope={},
            )
            for day in range(1, 4)
        )
        append_many(session, [NewEntry("test.entry", "user:1") for _ in range(1234)])
        session.commit()
    add_account()

    assert _holdings(client) == {
        "Organisations": "2",
        "Accounts": "1",
        "Events received from agencies": "3",
        "Entries in the ledger": "1,234 (none signed yet)",
    }


@pytest.mark.parametrize("capability", CAPABILITIES, ids=lambda c: c.slug)
def test_capability_page_says_what_it_is_and_its_status(
    client: PageCheckingClient, capability
) -> None:
    response = client.get(f"/capabilities/{capability.slug}")
    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.title.get_text(strip=True) == f"{capability.title} – OneStory"
    assert soup.h1.get_text(strip=True) == capability.title
    headings = [h2.get_text(strip=True) for h2 in soup.main.find_all("h2")]
    assert headings == ["What it is for", "Who it is for", "What exists today"]
    expected = {"trust-and-the-ledger": "Ledger available, sharing rules in development"}
    status = soup.select_one("main .govuk-tag").get_text(strip=True)
    assert status == expected.get(capability.slug, "In development")


def test_unknown_capability_is_not_found(client: PageCheckingClient) -> None:
    response = client.get("/capabilities/time-travel")
    assert response.status_code == 404
    assert soup_of(response).h1.get_text(strip=True) == "Page not found"


@pytest.mark.parametrize(
    ("path", "title", "must_say"),
    [
        ("/accessibility", "Accessibility statement", "WCAG"),
        ("/privacy", "Privacy", "onestory_session"),
    ],
)
def test_statements(client: PageCheckingClient, path: str, title: str, must_say: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.title.get_text(strip=True) == f"{title} – OneStory"
    assert must_say in soup.main.get_text()


def test_footer_links_to_the_statements(client: PageCheckingClient) -> None:
    footer = soup_of(client.get("/privacy")).footer
    assert {a.get_text(strip=True): a["href"] for a in footer.find_all("a")} == {
        "Accessibility statement": "/accessibility",
        "Privacy": "/privacy",
        "API documentation": "/api/docs",
    }


def test_layout_is_not_dressed_as_gov_uk(client: PageCheckingClient) -> None:
    soup = soup_of(client.get("/"))
    assert soup.select_one(".govuk-generic-header__homepage-link").get_text(strip=True) == (
        "OneStory"
    )
    assert soup.select_one(".govuk-header") is None
    assert "Crown copyright" not in soup.get_text()
    assert soup.select_one(".govuk-phase-banner .govuk-tag").get_text(strip=True) == "Alpha"
    assert soup.select_one("a.govuk-skip-link")["href"] == "#main-content"
    assert soup.select_one("main#main-content") is not None


def test_every_local_link_on_the_start_page_works(client: PageCheckingClient) -> None:
    soup = soup_of(client.get("/"))
    hrefs = {a["href"] for a in soup.find_all("a") if a["href"].startswith("/")}
    hrefs |= {link["href"] for link in soup.find_all("link") if link["href"].startswith("/")}
    assert len(hrefs) > 10
    for href in sorted(hrefs):
        assert client.get(href).status_code == 200, href


def test_api_docs_list_the_operations_offline(client: PageCheckingClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    soup = soup_of(response)
    assert soup.h1.get_text(strip=True) == "API documentation"
    paths = [code.get_text(strip=True) for code in soup.select("table code")]
    assert "/healthz" in paths
    assert soup.find("a", href="/api/openapi.json") is not None
    # Nothing from another origin: the page works without internet and under the strict CSP.
    assert not soup.find_all(src=lambda value: value and not value.startswith("/"))


def test_openapi_document_holds_the_api_not_the_pages(client: PageCheckingClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert document["info"]["title"] == "OneStory"
    assert "/healthz" in document["paths"]
    assert "/" not in document["paths"]
    assert "/sign-in" not in document["paths"]
