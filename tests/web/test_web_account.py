"""The account page: who you are, and who has seen your data."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, soup_of
from web_helpers import add_user, sign_in

from onestory.ledger.entries import Subject
from onestory.ledger.log import append
from onestory.sharing.tables import Organisation


@pytest.fixture
def site(app: FastAPI) -> FastAPI:
    """The application, which serves /account (kept as a fixture name the tests share)."""
    return app


def test_account_needs_sign_in(site: FastAPI, client: PageCheckingClient) -> None:
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Faccount"


def test_account_shows_who_you_are_and_who_has_seen_your_data(
    site: FastAPI, client: PageCheckingClient
) -> None:
    me = add_user(
        site,
        email="alex@example.org",
        role="police_officer",
        organisation=("P01", "Northshire Police"),
    )
    other = add_user(site, email="kim@example.org", role="victim", organisation=None)
    with site.state.sessions() as session:
        session.add(Organisation(code="C01", name="CPS North", kind="cps"))
        seen = append(
            session,
            entry_type="sharing.decision",
            actor="prosecutor-9",
            actor_org="C01",
            purpose="prosecution",
            subjects=[Subject("user", str(me))],
            payload={"action": "read", "allowed": True},
        )
        append(session, entry_type="case.read", actor="x", subjects=[Subject("user", str(other))])
        session.commit()
    sign_in(client, "alex@example.org")

    soup = soup_of(client.get("/account"))

    summary = soup.select_one(".govuk-summary-list").get_text(" ", strip=True)
    for shown in ("Alex Morgan", "alex@example.org", "Police officer", "Northshire Police (P01)"):
        assert shown in summary
    table = soup.select_one("#access-history")
    # Newest first: this very page's read of the account (decided and ledgered like any other),
    # then the prosecutor's.
    assert table.select_one("caption").get_text(strip=True) == "Uses of your records (2)"
    own = [td.get_text(" ", strip=True) for td in table.select("tbody tr")[0].select("td")]
    assert own[2:5] == [f"user:{me}", "Asked to use your record (read: allowed)", "own access"]
    cells = [td.get_text(" ", strip=True) for td in table.select("tbody tr")[1].select("td")]
    assert cells[1:5] == [
        "CPS North (C01)",
        "prosecutor-9",
        "Asked to use your record (read: allowed)",
        "prosecution",
    ]
    link = table.select("tbody a")[1]
    assert link["href"] == f"/api/ledger/proofs/inclusion?seq={seen.seq}"
    assert link.get_text(" ", strip=True) == f"Proof for entry {seen.seq}"


def test_reading_your_own_account_is_itself_in_your_history(
    site: FastAPI, client: PageCheckingClient
) -> None:
    me = add_user(site, email="kim@example.org", role="victim", organisation=None)
    sign_in(client, "kim@example.org")
    soup = soup_of(client.get("/account"))
    table = soup.select_one("#access-history")
    assert table.select_one("caption").get_text(strip=True) == "Uses of your records (1)"
    cells = [td.get_text(" ", strip=True) for td in table.select("tbody tr")[0].select("td")]
    assert cells[2] == f"user:{me}"
