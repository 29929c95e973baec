"""Server-side sessions: revoked on sign-out everywhere they were copied, timed out when idle or
old, and stored only as a hash of the token."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from sqlalchemy import select, update
from web_helpers import PASSWORD, add_user, sign_in

from onestory.sharing.identity_tables import WebSession
from onestory.store.base import utcnow
from onestory.web import identity

EMAIL = "sam.taylor@example.org"


@pytest.fixture
def user_id(app: FastAPI) -> int:
    return add_user(app, email=EMAIL, role="victim", organisation=None)


def _signed_in(client: PageCheckingClient) -> bool:
    return client.get("/account", follow_redirects=False).status_code == 200


def _sessions(app: FastAPI, user_id: int) -> list[WebSession]:
    with app.state.sessions() as session:
        return list(
            session.scalars(
                select(WebSession)
                .where(WebSession.user_account_id == user_id)
                .order_by(WebSession.id)
            )
        )


class Clock:
    """A clock the tests move by hand, standing in for ``identity.now``."""

    def __init__(self) -> None:
        self.moment = utcnow()

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(identity, "now", clock)
    return clock


def test_sign_in_records_a_session_with_only_the_tokens_hash(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    client.headers["user-agent"] = "Test browser/1.0 " + "x" * 300
    sign_in(client, EMAIL)

    [row] = _sessions(app, user_id)
    # The token is in the (signed, not encrypted) cookie, where the browser keeps it.
    token = _cookie_token(client)
    assert token is not None and len(token) >= 43  # 32 random bytes, base64url
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_hash != token
    assert row.method == "password"
    assert row.revoked_at is None
    assert row.expires_at - row.created_at == identity.ABSOLUTE_LIFETIME
    assert row.user_agent is not None and len(row.user_agent) == identity.USER_AGENT_LENGTH

    # Nowhere in the table is the token in the clear.
    with app.state.sessions() as session:
        values = session.execute(select(WebSession.__table__)).all()
    assert all(token not in str(value) for value in values)


def _cookie_token(client: PageCheckingClient) -> str | None:
    cookie = client.cookies["onestory_session"]
    payload = cookie.split(".", 1)[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    token = data.get(identity.TOKEN_KEY)
    return token if isinstance(token, str) else None


def test_a_copied_cookie_stops_working_after_sign_out(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    sign_in(client, EMAIL)
    copied = client.cookies["onestory_session"]
    token = csrf_token_from(client.get("/account"))

    signed_out = client.post("/sign-out", data={"csrf_token": token})
    assert "Signed in as" not in signed_out.text

    with PageCheckingClient(app) as thief:
        thief.cookies.set("onestory_session", copied)
        response = thief.get("/account", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in")
        assert "Signed in as" not in thief.get("/").text
    [row] = _sessions(app, user_id)
    assert row.revoked_at is not None


def test_sign_out_everywhere_ends_every_session(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    other_id = add_user(app, email="kim@example.org", role="victim", organisation=None)
    with PageCheckingClient(app) as laptop, PageCheckingClient(app) as someone_else:
        sign_in(laptop, EMAIL)
        sign_in(someone_else, "kim@example.org")
        sign_in(client, EMAIL)
        assert _signed_in(laptop) and _signed_in(client)

        account = client.get("/account")
        form = soup_of(account).find("form", action="/sign-out/everywhere")
        assert form is not None
        assert "Sign out of all devices" in form.get_text()
        response = client.post(
            "/sign-out/everywhere", data={"csrf_token": csrf_token_from(account)}
        )

        assert response.url.path == "/"
        assert "Signed in as" not in response.text
        assert not _signed_in(client)
        assert not _signed_in(laptop)
        # Other people's sessions are theirs.
        assert _signed_in(someone_else)
    assert all(row.revoked_at is not None for row in _sessions(app, user_id))
    assert all(row.revoked_at is None for row in _sessions(app, other_id))


def test_sign_out_everywhere_needs_the_form_token(client: PageCheckingClient, user_id: int) -> None:
    sign_in(client, EMAIL)
    assert client.post("/sign-out/everywhere").status_code == 403
    assert _signed_in(client)


def test_revoke_sessions_is_what_an_administrator_calls(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    sign_in(client, EMAIL)
    with app.state.sessions() as session:
        assert identity.revoke_sessions(session, user_id) == 1
        session.commit()
        assert identity.revoke_sessions(session, user_id) == 0
    assert not _signed_in(client)
    # Signing in again works: revocation ends sessions, not the account.
    sign_in(client, EMAIL)
    assert _signed_in(client)


def test_an_idle_session_times_out(
    app: FastAPI, client: PageCheckingClient, user_id: int, clock: Clock
) -> None:
    sign_in(client, EMAIL)
    # Active every 20 minutes for two hours: never idle for 30, so still signed in.
    for _ in range(6):
        clock.advance(minutes=20)
        assert _signed_in(client)
    clock.advance(minutes=31)
    assert not _signed_in(client)
    # The cookie forgot the dead token: nothing is looked up for it any more.
    assert _cookie_token(client) is None


def test_last_seen_is_written_at_most_once_a_minute(
    app: FastAPI, client: PageCheckingClient, user_id: int, clock: Clock
) -> None:
    sign_in(client, EMAIL)
    [started] = _sessions(app, user_id)
    clock.advance(seconds=30)
    assert _signed_in(client)
    [row] = _sessions(app, user_id)
    assert row.last_seen_at == started.last_seen_at
    clock.advance(seconds=31)
    assert _signed_in(client)
    [row] = _sessions(app, user_id)
    assert row.last_seen_at == clock.moment


def test_a_session_ends_after_eight_hours_however_busy(
    app: FastAPI, client: PageCheckingClient, user_id: int, clock: Clock
) -> None:
    sign_in(client, EMAIL)
    # Active every 20 minutes, so never idle: at 7 hours 40 still signed in ...
    for _ in range(23):
        clock.advance(minutes=20)
        assert _signed_in(client)
    # ... and at 8 hours out, though the last request was only 20 minutes ago.
    clock.advance(minutes=20)
    assert not _signed_in(client)


def test_an_expired_row_is_refused_even_with_a_fresh_cookie(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    sign_in(client, EMAIL)
    with app.state.sessions() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert not _signed_in(client)


def test_signing_in_again_revokes_the_previous_session(
    app: FastAPI, client: PageCheckingClient, user_id: int
) -> None:
    sign_in(client, EMAIL)
    token = csrf_token_from(client.get("/sign-in"))
    client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token})
    first, second = _sessions(app, user_id)
    assert first.revoked_at is not None
    assert second.revoked_at is None
    assert _signed_in(client)
