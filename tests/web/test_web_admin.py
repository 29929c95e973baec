"""The administration pages: for administrators only, and "not found" for everyone else."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from web_helpers import add_user, sign_in

ADMIN = "admin@example.org"


@pytest.fixture
def site(app: FastAPI) -> FastAPI:
    """The application, which serves /admin."""
    return app


def test_admin_needs_sign_in(site: FastAPI, client: PageCheckingClient) -> None:
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fadmin"


@pytest.mark.parametrize(
    "path",
    ["/admin", "/admin/agreements/police-investigation", "/admin/subject-access/victim/v1"],
)
def test_admin_is_not_found_for_anyone_else(
    site: FastAPI, client: PageCheckingClient, path: str
) -> None:
    add_user(site, email="alex@example.org", role="police_officer", organisation=("P01", "North"))
    sign_in(client, "alex@example.org")
    response = client.get(path)
    assert response.status_code == 404
    assert soup_of(response).h1.get_text(strip=True) == "Page not found"


def test_admin_shows_organisations_users_and_agreements(
    site: FastAPI, client: PageCheckingClient
) -> None:
    add_user(site, email=ADMIN, role="administrator", organisation=None)
    add_user(site, email="alex@example.org", role="police_officer", organisation=("P01", "North"))
    sign_in(client, ADMIN)

    soup = soup_of(client.get("/admin"))

    def rows(table_id: str) -> list[list[str]]:
        table = soup.select_one(f"#{table_id}")
        return [
            [cell.get_text(" ", strip=True) for cell in tr.select("th, td")]
            for tr in table.select("tbody tr")
        ]

    assert rows("organisations") == [["P01", "North", "police"]]
    assert rows("users") == [
        [ADMIN, "Alex Morgan", "administrator", "None", "You"],
        [
            "alex@example.org",
            "Alex Morgan",
            "police officer",
            "North (P01)",
            "Lock alex@example.org",
        ],
    ]
    agreements = {row[0]: row for row in rows("agreements")}
    assert len(agreements) == len(site.state.policies.agreements)
    investigation = agreements["Police records made while investigating a crime"]
    assert investigation[1:] == ["police", "law enforcement", "investigation", "6 years"]
    link = soup.find("a", string="Police records made while investigating a crime")
    assert link["href"] == "/admin/agreements/police-investigation"
    with site.state.sessions() as session:
        from sqlalchemy import select

        from onestory.ledger.tables import LedgerEntry

        listed = session.scalars(
            select(LedgerEntry.entry_type).where(
                LedgerEntry.entry_type == "sharing.accounts.listed"
            )
        ).all()
    assert len(listed) == 1
    # The listing is in the history of each person on the list.
    client.post("/sign-out", data={"csrf_token": csrf_token_from(client.get("/account"))})
    sign_in(client, "alex@example.org")
    history = soup_of(client.get("/account")).select_one("#access-history").get_text(" ")
    assert "An administrator looked at the list of accounts" in history


def test_agreement_page_shows_the_explanation_and_legal_reference(
    site: FastAPI, client: PageCheckingClient
) -> None:
    add_user(site, email=ADMIN, role="administrator", organisation=None)
    sign_in(client, ADMIN)
    policy = site.state.policies.by_id["police-investigation"]

    soup = soup_of(client.get("/admin/agreements/police-investigation"))

    assert soup.h1.get_text(strip=True) == policy.title
    assert soup.select_one("#explanation").get_text(" ", strip=True) == policy.explanation
    terms = soup.select_one(".govuk-summary-list").get_text(" ", strip=True)
    assert policy.legal_reference in terms
    assert "6 years (P6Y)" in terms


def test_unknown_agreement_is_not_found(site: FastAPI, client: PageCheckingClient) -> None:
    add_user(site, email=ADMIN, role="administrator", organisation=None)
    sign_in(client, ADMIN)
    assert client.get("/admin/agreements/no-such-agreement").status_code == 404


def test_subject_access_export_is_json_and_is_itself_ledgered(
    site: FastAPI, client: PageCheckingClient
) -> None:
    from onestory.ledger.entries import Subject
    from onestory.ledger.log import append

    add_user(site, email=ADMIN, role="administrator", organisation=None)
    with site.state.sessions() as session:
        append(
            session,
            entry_type="sharing.decision",
            actor="user:9",
            actor_org="P01",
            purpose="investigation",
            subjects=[Subject("victim", "v1")],
            payload={"action": "read", "allowed": True},
        )
        session.commit()
    sign_in(client, ADMIN)
    first = client.get("/admin/subject-access/victim/v1")
    assert first.status_code == 200
    types = [entry["type"] for entry in first.json()["ledgerEntries"]]
    assert "sharing.decision" in types
    assert "sharing.subject_access.exported" in types
    again = client.get("/admin/subject-access/victim/v1").json()
    exported = [e for e in again["ledgerEntries"] if e["type"].endswith("exported")]
    assert len(exported) == 2


def test_an_administrator_locks_and_unlocks_an_account(
    site: FastAPI, client: PageCheckingClient
) -> None:
    add_user(site, email=ADMIN, role="administrator", organisation=None)
    alex = add_user(site, email="alex@example.org", role="victim", organisation=None)
    with PageCheckingClient(site) as alexs_browser:
        sign_in(alexs_browser, "alex@example.org")
        sign_in(client, ADMIN)
        token = csrf_token_from(client.get("/admin"))
        client.post(f"/admin/accounts/{alex}/lock", data={"csrf_token": token})
        # Locked: the session already open is ended, and the password no longer signs in.
        assert alexs_browser.get("/account", follow_redirects=False).status_code == 303
        page = soup_of(client.get("/admin")).select_one("#users").get_text(" ", strip=True)
        assert "Locked" in page and "Unlock alex@example.org" in page
        token = csrf_token_from(client.get("/admin"))
        client.post(f"/admin/accounts/{alex}/unlock", data={"csrf_token": token})
        sign_in(alexs_browser, "alex@example.org")
        history = soup_of(alexs_browser.get("/account")).select_one("#access-history")
        words = history.get_text(" ", strip=True)
        assert "An administrator locked your account" in words
        assert "An administrator unlocked your account" in words
    # An administrator cannot lock themselves out.
    token = csrf_token_from(client.get("/admin"))
    with site.state.sessions() as session:
        from onestory.sharing.tables import UserAccount

        admin_id = session.query(UserAccount.id).filter_by(email=ADMIN).scalar()
    assert (
        client.post(f"/admin/accounts/{admin_id}/lock", data={"csrf_token": token}).status_code
        == 404
    )
