"""Signing in and out, locking after wrong passwords, and the CSRF check on forms."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI
from page_checks import PageCheckingClient, csrf_token_from, soup_of
from sqlalchemy import select

from onestory.sharing.tables import UserAccount
from onestory.web.auth import SignedInUser

EMAIL = "sam.taylor@example.org"
PASSWORD = "correct horse battery staple"


def _sign_in(client: PageCheckingClient, email: str, password: str, **extra: str):
    token = csrf_token_from(client.get("/sign-in"))
    return client.post(
        "/sign-in", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def _failed_sign_ins(app: FastAPI, email: str = EMAIL) -> int:
    with app.state.sessions() as session:
        return session.scalars(
            select(UserAccount.failed_sign_ins).where(UserAccount.email == email)
        ).one()


def _error_summary(response) -> list[str]:
    return [li.get_text(strip=True) for li in soup_of(response).select(".govuk-error-summary li")]


def test_sign_in_page_has_the_form(client: PageCheckingClient) -> None:
    soup = soup_of(client.get("/sign-in"))
    assert soup.title.get_text(strip=True) == "Sign in – OneStory"
    form = soup.find("form", action="/sign-in")
    assert form.find("input", attrs={"name": "email", "type": "email"})
    assert form.find("input", attrs={"name": "password", "type": "password"})


def test_sign_in_with_the_right_password(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    add_account(failed_sign_ins=3)
    before = client.get("/sign-in")
    cookie_before = client.cookies["onestory_session"]

    response = _sign_in(client, "Sam.Taylor@Example.org ", PASSWORD)

    assert response.status_code == 200
    assert response.url.path == "/"
    nav = soup_of(response).select_one(".govuk-service-navigation").get_text(" ", strip=True)
    assert "Signed in as Sam Taylor" in nav
    assert "Sign out" in nav
    assert _failed_sign_ins(app) == 0
    # The session is started afresh: new cookie, new CSRF token.
    assert client.cookies["onestory_session"] != cookie_before
    assert csrf_token_from(response) != csrf_token_from(before)


def test_wrong_password_says_so_without_saying_which(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    add_account()
    response = _sign_in(client, EMAIL, "not the password")
    assert response.status_code == 400
    soup = soup_of(response)
    assert soup.title.get_text(strip=True).startswith("Error: Sign in")
    assert _error_summary(response) == ["Your email address or password is wrong"]
    assert soup.select_one(".govuk-error-summary a")["href"] == "#email"
    assert "Your email address or password is wrong" in soup.select_one("#email-error").get_text()
    assert soup.find("input", attrs={"name": "email"})["value"] == EMAIL
    assert not soup.find("input", attrs={"name": "password"}).get("value")
    assert _failed_sign_ins(app) == 1

    unknown = _sign_in(client, "nobody@example.org", "not the password")
    assert _error_summary(unknown) == _error_summary(response)


def test_empty_fields_each_get_an_error(client: PageCheckingClient) -> None:
    response = _sign_in(client, "", "")
    assert response.status_code == 400
    assert _error_summary(response) == ["Enter your email address", "Enter your password"]
    soup = soup_of(response)
    assert soup.select_one("#email-error") is not None
    assert soup.select_one("#password-error") is not None


def test_five_wrong_passwords_lock_the_account(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    add_account()
    for _ in range(4):
        response = _sign_in(client, EMAIL, "guess")
        assert _error_summary(response) == ["Your email address or password is wrong"]

    fifth = _sign_in(client, EMAIL, "guess")
    [message] = _error_summary(fifth)
    assert "Your account is locked" in message
    assert "Contact your administrator" in message

    # Locked means locked: even the right password is refused, and nothing resets the count.
    right = _sign_in(client, EMAIL, PASSWORD)
    assert "Your account is locked" in _error_summary(right)[0]
    assert right.url.path == "/sign-in"
    assert _failed_sign_ins(app) == 5


def test_post_without_csrf_token_is_refused(client: PageCheckingClient, add_account) -> None:
    add_account()
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 403
    soup = soup_of(response)
    assert soup.h1.get_text(strip=True) == "Your form could not be sent"
    assert "reload the page" in soup.main.get_text()
    assert "Signed in as" not in response.text


def test_post_with_another_sessions_token_is_refused(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    add_account()
    with PageCheckingClient(app) as other:
        foreign_token = csrf_token_from(other.get("/sign-in"))
    client.get("/sign-in")
    response = client.post(
        "/sign-in", data={"email": EMAIL, "password": PASSWORD, "csrf_token": foreign_token}
    )
    assert response.status_code == 403


def test_sign_out_ends_the_session(client: PageCheckingClient, add_account) -> None:
    add_account()
    signed_in = _sign_in(client, EMAIL, PASSWORD)
    sign_out_form = soup_of(signed_in).find("form", action="/sign-out")
    token = sign_out_form.find("input", attrs={"name": "csrf_token"})["value"]

    response = client.post("/sign-out", data={"csrf_token": token})

    assert response.url.path == "/"
    nav = soup_of(response).select_one(".govuk-service-navigation")
    assert nav.find("a", href="/sign-in") is not None
    assert "Signed in as" not in nav.get_text()


def test_sign_out_without_token_is_refused(client: PageCheckingClient, add_account) -> None:
    add_account()
    _sign_in(client, EMAIL, PASSWORD)
    assert client.post("/sign-out").status_code == 403
    assert "Signed in as Sam Taylor" in client.get("/").text


@pytest.fixture
def private_page(app: FastAPI) -> str:
    router = APIRouter()

    @router.get("/private")
    def private(user: SignedInUser) -> dict[str, str]:
        return {"name": user.display_name}

    @router.post("/echo")
    def echo() -> dict[str, bool]:
        return {"accepted": True}

    app.include_router(router)
    return "/private"


def test_require_user_sends_people_to_sign_in_and_back(
    client: PageCheckingClient, add_account, private_page: str
) -> None:
    add_account()
    response = client.get(private_page)
    assert response.url.path == "/sign-in"
    assert response.url.params["next"] == private_page
    token = csrf_token_from(response)
    back = client.post(
        "/sign-in",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": token, "next": private_page},
    )
    assert back.url.path == private_page
    assert back.json() == {"name": "Sam Taylor"}


def test_sign_in_never_redirects_to_another_site(client: PageCheckingClient, add_account) -> None:
    add_account()
    response = _sign_in(client, EMAIL, PASSWORD, next="//evil.example/")
    assert str(response.url) == "http://testserver/"


def test_locked_account_loses_its_session(
    app: FastAPI, client: PageCheckingClient, add_account
) -> None:
    add_account()
    _sign_in(client, EMAIL, PASSWORD)
    with app.state.sessions() as session:
        account = session.scalars(select(UserAccount).where(UserAccount.email == EMAIL)).one()
        account.failed_sign_ins = 5
        session.commit()
    assert "Signed in as" not in client.get("/").text


def test_csrf_covers_every_form_body_but_not_json(
    client: PageCheckingClient, private_page: str
) -> None:
    token = csrf_token_from(client.get("/sign-in"))
    assert client.post("/echo", data={"x": "1"}).status_code == 403
    assert client.post("/echo", files={"f": ("a.txt", b"a")}).status_code == 403
    assert (
        client.post("/echo", content=b"x", headers={"content-type": "text/plain"}).status_code
        == 403
    )
    assert client.post("/echo").status_code == 403
    assert client.post("/echo", data={"csrf_token": token}).json() == {"accepted": True}
    assert (
        client.post("/echo", files={"f": ("a.txt", b"a")}, data={"csrf_token": token}).status_code
        == 200
    )
    assert client.post("/echo", headers={"X-CSRF-Token": token}).status_code == 200
    # JSON can only come cross-site after a CORS preflight, which is never granted.
    assert client.post("/echo", json={"x": 1}).status_code == 200


def test_a_token_from_before_sign_in_is_refused_after_it(
    client: PageCheckingClient, add_account
) -> None:
    add_account()
    old_token = csrf_token_from(client.get("/sign-in"))
    signed_in = _sign_in(client, EMAIL, PASSWORD)
    assert "Signed in as" in signed_in.text
    replayed = client.post("/sign-out", data={"csrf_token": old_token})
    assert replayed.status_code == 403
    assert "Signed in as" in client.get("/").text


def test_an_expired_session_is_signed_out(
    client: PageCheckingClient, add_account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import itsdangerous.timed

    from onestory.web.app import SESSION_MAX_AGE_SECONDS

    add_account()
    assert "Signed in as" in _sign_in(client, EMAIL, PASSWORD).text
    assert client.get("/account", follow_redirects=False).status_code == 200
    now = itsdangerous.timed.time.time()
    later = now + SESSION_MAX_AGE_SECONDS + 60
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: later)
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")
