"""Helpers the web tests share: accounts and signing in through the real form."""

from __future__ import annotations

from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from

from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount

PASSWORD = "correct horse battery staple"


def add_user(app: FastAPI, *, email: str, role: str, organisation: tuple[str, str] | None) -> int:
    """An account, in a new organisation (code, name) when given; returns its id."""
    with app.state.sessions() as session:
        org = None
        if organisation is not None:
            org = Organisation(code=organisation[0], name=organisation[1], kind="police")
            session.add(org)
        user = UserAccount(
            email=email,
            display_name="Alex Morgan",
            role=role,
            organisation=org,
            password_hash=hash_password(PASSWORD),
        )
        session.add(user)
        session.commit()
        return user.id


def sign_in(client: PageCheckingClient, email: str) -> None:
    token = csrf_token_from(client.get("/sign-in"))
    response = client.post(
        "/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 200, response.text
