"""Signing in with an emailed link: one use, fifteen minutes, members of the public only, and
the same answer whether or not the address has an account."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from sqlalchemy import func, select
from web_helpers import add_user

from onestory.notify.tables import NotifyMessage
from onestory.sharing.identity_tables import SignInLink
from onestory.store.base import utcnow

LINK = re.compile(r"http://127\.0\.0\.1:8000(/sign-in/email/[A-Za-z0-9_-]+)")


def _ask(client: PageCheckingClient, email: str) -> None:
    token = csrf_token_from(client.get("/sign-in/email"))
    response = client.post("/sign-in/email", data={"csrf_token": token, "email": email})
    assert response.status_code == 200
    assert "Check your email" in response.text


def _messages(app: FastAPI) -> list[NotifyMessage]:
    with app.state.sessions() as session:
        return list(session.scalars(select(NotifyMessage).order_by(NotifyMessage.created_at)))


def _link_in(message: NotifyMessage) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(1)


def _use(client: PageCheckingClient, path: str) -> int:
    page = client.get(path)
    if page.status_code != 200:
        return page.status_code
    token = csrf_token_from(page)
    return client.post(path, data={"csrf_token": token}, follow_redirects=False).status_code


def test_a_link_signs_a_member_of_the_public_in_once(
    app: FastAPI, client: PageCheckingClient
) -> None:
    add_user(app, email="jo@example.org", role="victim", organisation=None)
    _ask(client, "Jo@Example.org")
    [message] = _messages(app)
    assert message.template == "sign-in-link" and message.address == "jo@example.org"
    path = _link_in(message)
    assert _use(client, path) == 303  # signed in, sent on to their story
    assert "Signed in as" in client.get("/account").text
    other = PageCheckingClient(app)
    assert _use(other, path) == 400  # used up
    with app.state.sessions() as session:
        stored = session.scalars(select(SignInLink)).one()
        assert path.rsplit("/", 1)[1] not in stored.token_hash  # only the hash is kept


def test_unknown_addresses_and_staff_get_the_same_page_and_no_email(
    app: FastAPI, client: PageCheckingClient
) -> None:
    add_user(app, email="pc@example.org", role="police_officer", organisation=("POL01", "Police"))
    _ask(client, "nobody@example.org")
    _ask(client, "pc@example.org")
    assert _messages(app) == []


def test_an_expired_link_is_refused(app: FastAPI, client: PageCheckingClient) -> None:
    add_user(app, email="jo@example.org", role="victim", organisation=None)
    _ask(client, "jo@example.org")
    path = _link_in(_messages(app)[0])
    with app.state.sessions() as session:
        link = session.scalars(select(SignInLink)).one()
        link.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert _use(client, path) == 400
    assert client.get("/account", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("email", ["", "not-an-address"])
def test_a_bad_address_says_what_is_wrong(
    app: FastAPI, client: PageCheckingClient, email: str
) -> None:
    token = csrf_token_from(client.get("/sign-in/email"))
    response = client.post("/sign-in/email", data={"csrf_token": token, "email": email})
    assert response.status_code == 400
    assert "Enter an email address in the correct format" in response.text
    with app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotifyMessage)) == 0


def test_sign_in_pages_have_the_quick_exit(client: PageCheckingClient) -> None:
    # People signing in to follow their story may need to leave fast (domestic abuse).
    for path in ("/sign-in", "/sign-in/email"):
        button = soup_of(client.get(path)).select_one(".govuk-exit-this-page a")
        assert button is not None and "Exit this page" in button.get_text(" ", strip=True)
