"""Signing in with OpenID Connect, against a stand-in identity provider served on a local port.

The stand-in is a real HTTP server (FastAPI under uvicorn) with discovery, a JWKS, an authorize
endpoint that signs the person in at once, and a token endpoint that checks PKCE and the client's
secret and returns the ID token each test asks for.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from page_checks import PageCheckingClient, soup_of
from sqlalchemy import select, update
from web_helpers import add_user

from onestory.config import OidcProvider, Settings
from onestory.sharing.identity_tables import ExternalIdentity, WebSession
from onestory.sharing.tables import UserAccount

CLIENT_ID = "onestory-test"
CLIENT_SECRET = "a client secret for tests only"
SUBJECT = "officer-4821"
EMAIL = "alex.morgan@northshire.police.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class StandInIdP:
    """What the stand-in provider does; each test changes it and ``reset`` puts it back."""

    issuer: str
    key: RSAKey = field(default_factory=lambda: _new_key("key-1"))
    published: list[RSAKey] = field(default_factory=list)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    without: set[str] = field(default_factory=set)
    header: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | OctKey | None = None
    unsigned: bool = False
    authorize_error: str | None = None
    token_status: int | None = None
    auth_methods: list[str] | None = None
    client_auth_seen: list[str] = field(default_factory=list)
    jwks_requests: int = 0

    def reset(self) -> None:
        self.published = [self.key]
        self.codes.clear()
        self.claims = {"email": EMAIL, "email_verified": True}
        self.without = set()
        self.header = {}
        self.sign_with = None
        self.unsigned = False
        self.authorize_error = None
        self.token_status = None
        self.auth_methods = None
        self.client_auth_seen = []
        self.jwks_requests = 0

    def rotate(self) -> None:
        """Replace the signing key with one of a new kid, and publish only that one."""
        self.key = _new_key(f"key-{secrets.token_hex(4)}")
        self.published = [self.key]

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": SUBJECT,
            "aud": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            **self.claims,
        }
        for name in self.without:
            claims.pop(name, None)
        if self.unsigned:
            header = {"alg": "none", "typ": "JWT"}
            return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."
        header = {"alg": "RS256", "kid": self.key.kid, **self.header}
        key = self.sign_with or self.key
        return jwt.encode(header, claims, key, algorithms=[header["alg"]])

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            document: dict[str, Any] = {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
            if self.auth_methods is not None:
                document["token_endpoint_auth_methods_supported"] = self.auth_methods
            return document

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            self.jwks_requests += 1
            return {"keys": [key.as_dict(private=False) for key in self.published]}

        @app.get("/authorize")
        def authorize(request: Request) -> Response:
            query = request.query_params
            assert query["response_type"] == "code"
            assert query["client_id"] == CLIENT_ID
            assert query["code_challenge_method"] == "S256"
            assert "openid" in query["scope"].split()
            back = {"state": query["state"]}
            if self.authorize_error:
                back["error"] = self.authorize_error
            else:
                code = secrets.token_urlsafe(16)
                self.codes[code] = {
                    "nonce": query["nonce"],
                    "challenge": query["code_challenge"],
                    "redirect_uri": query["redirect_uri"],
                }
                back["code"] = code
            return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

        @app.post("/token")
        async def token(request: Request) -> Response:
            form = await request.form()
            if self.token_status is not None:
                return JSONResponse({"error": "invalid_grant"}, status_code=self.token_status)
            authorization = request.headers.get("authorization", "")
            if authorization.startswith("Basic "):
                pair = base64.b64decode(authorization[6:]).decode()
                client_id, _, secret = (unquote(part) for part in pair.partition(":"))
                self.client_auth_seen.append("client_secret_basic")
            else:
                client_id, secret = str(form.get("client_id")), str(form.get("client_secret"))
                self.client_auth_seen.append("client_secret_post")
            if client_id != CLIENT_ID or secret != CLIENT_SECRET:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            record = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier"))
            if (
                record is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != record["redirect_uri"]
                or _b64(hashlib.sha256(verifier.encode()).digest()) != record["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(
                {
                    "access_token": "not used",
                    "token_type": "Bearer",
                    "id_token": self.id_token(record["nonce"]),
                }
            )

        return app


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInIdP]:
    port = _free_port()
    idp = StandInIdP(issuer=f"http://127.0.0.1:{port}")
    idp.reset()
    server = uvicorn.Server(
        uvicorn.Config(idp.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stand-in identity provider did not start")
        time.sleep(0.05)
    try:
        yield idp
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def idp(stand_in: StandInIdP) -> StandInIdP:
    stand_in.reset()
    return stand_in


@pytest.fixture
def settings(tmp_path: Path, stand_in: StandInIdP) -> Settings:
    """Test settings with the stand-in provider, and one whose server is not there."""
    return Settings(
        env="test",
        data_dir=tmp_path,
        secret_key="x" * 48,
        public_base_url="http://testserver",
        oidc_providers=[
            OidcProvider(
                name="northshire",
                label="Northshire Police",
                issuer=stand_in.issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            ),
            OidcProvider(
                name="gone",
                label="A closed service",
                issuer=f"http://127.0.0.1:{_free_port()}",
                client_id=CLIENT_ID,
            ),
        ],
    )


@pytest.fixture
def account_id(app: FastAPI) -> int:
    return add_user(app, email=EMAIL, role="police_officer", organisation=("P01", "Northshire"))


def _sign_in(client: PageCheckingClient, provider: str = "northshire", **start: str):
    """Start at OneStory, visit the provider, and come back: the response to the callback."""
    started = client.get(f"/sign-in/oidc/{provider}", params=start, follow_redirects=False)
    assert started.status_code == 303, started.text
    at_provider = httpx.get(started.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    return client.get(at_provider.headers["location"])


def _links(app: FastAPI) -> list[tuple[str, str, int]]:
    with app.state.sessions() as session:
        rows = session.scalars(select(ExternalIdentity).order_by(ExternalIdentity.id))
        return [(row.issuer, row.subject, row.user_account_id) for row in rows]


def _link(app: FastAPI, idp: StandInIdP, account_id: int) -> None:
    with app.state.sessions() as session:
        session.add(
            ExternalIdentity(issuer=idp.issuer, subject=SUBJECT, user_account_id=account_id)
        )
        session.commit()


def _refused(response, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    soup = soup_of(response)
    assert soup.h1.get_text(strip=True) == "You could not be signed in"
    assert words in soup.main.get_text(" ", strip=True)
    assert "Traceback" not in response.text
    assert "Signed in as" not in response.text


UNTRUSTED = "answer could not be trusted"


def test_sign_in_page_offers_each_provider_above_the_password_form(
    client: PageCheckingClient,
) -> None:
    soup = soup_of(client.get("/sign-in?next=/account"))
    buttons = soup.select("a.govuk-button.govuk-button--secondary")
    assert [b.get_text(strip=True) for b in buttons] == [
        "Sign in with Northshire Police",
        "Sign in with A closed service",
    ]
    assert buttons[0]["href"] == "/sign-in/oidc/northshire?next=/account"
    assert soup.find("p", id="sign-in-or").get_text(strip=True) == "or"
    assert soup.find("form", action="/sign-in") is not None


def test_a_linked_identity_signs_in_its_account(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.without = {"email", "email_verified"}

    response = _sign_in(client, next="/account")

    assert response.url.path == "/account"
    assert "Signed in as Alex Morgan" in response.text
    assert idp.client_auth_seen == ["client_secret_basic"]
    with app.state.sessions() as session:
        [row] = session.scalars(select(WebSession)).all()
    assert row.user_account_id == account_id
    assert row.method == "oidc:northshire"


def test_first_sign_in_links_by_verified_email(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    idp.claims["email"] = EMAIL.upper()

    response = _sign_in(client)

    assert response.url.path == "/"
    assert "Signed in as Alex Morgan" in response.text
    assert _links(app) == [(idp.issuer, SUBJECT, account_id)]
    # From now on the link is what counts, whatever the token says about email.
    idp.without = {"email", "email_verified"}
    with PageCheckingClient(app) as again:
        assert "Signed in as Alex Morgan" in _sign_in(again).text
    assert len(_links(app)) == 1


@pytest.mark.parametrize("verified", [False, "true", None])
def test_an_unverified_email_is_not_linked(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int, verified: object
) -> None:
    idp.claims["email_verified"] = verified
    _refused(_sign_in(client), 403, "no OneStory account for this sign-in")
    assert _links(app) == []


def test_someone_with_no_account_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    idp.claims["email"] = "someone.else@northshire.police.example"
    response = _sign_in(client)
    _refused(response, 403, "Ask your administrator")
    assert _links(app) == []
    with app.state.sessions() as session:
        assert (
            session.scalar(select(UserAccount.id).where(UserAccount.email.like("someone%"))) is None
        )


def test_a_second_identity_is_not_linked_to_an_already_linked_account(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    with app.state.sessions() as session:
        session.add(
            ExternalIdentity(issuer=idp.issuer, subject="other", user_account_id=account_id)
        )
        session.commit()
    _refused(_sign_in(client), 403, "no OneStory account")


def test_a_locked_account_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    with app.state.sessions() as session:
        session.execute(update(UserAccount).values(failed_sign_ins=5))
        session.commit()
    _refused(_sign_in(client), 403, "Your OneStory account is locked")


@pytest.mark.parametrize(
    ("claims", "without", "logged"),
    [
        pytest.param(
            {"nonce": "a nonce from another sign-in"}, set(), "claim 'nonce'", id="wrong-nonce"
        ),
        pytest.param({}, {"nonce"}, "claim 'nonce'", id="no-nonce"),
        pytest.param({"aud": "another-client"}, set(), "claim 'aud'", id="wrong-aud"),
        pytest.param(
            {"aud": ["another-client", CLIENT_ID]}, set(), "azp is not ours", id="aud-without-azp"
        ),
        pytest.param({"iss": "https://idp.example"}, set(), "claim 'iss'", id="wrong-iss"),
        pytest.param(
            {"iat": int(time.time()) + 3600}, set(), "claim 'iat'", id="issued-in-the-future"
        ),
        pytest.param({}, {"sub"}, "claim 'sub'", id="no-sub"),
    ],
)
def test_a_token_with_wrong_claims_is_refused(
    app: FastAPI,
    client: PageCheckingClient,
    idp: StandInIdP,
    account_id: int,
    claims: dict[str, Any],
    without: set[str],
    logged: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _link(app, idp, account_id)
    idp.claims.update(claims)
    idp.without = without
    with caplog.at_level(logging.WARNING, logger="onestory.web.oidc"):
        _refused(_sign_in(client), 400, UNTRUSTED)
    assert "OIDC sign-in with northshire failed" in caplog.text
    assert logged in caplog.text
    assert "eyJ" not in caplog.text  # no token in the log
    assert "Signed in as" not in client.get("/").text


def test_several_audiences_with_our_azp_are_accepted(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.claims.update({"aud": ["another-client", CLIENT_ID], "azp": CLIENT_ID})
    assert "Signed in as Alex Morgan" in _sign_in(client).text


def test_an_expired_token_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    now = int(time.time())
    idp.claims.update({"iat": now - 3600, "exp": now - 600})
    _refused(_sign_in(client), 400, "took too long")


def test_a_token_within_the_clock_leeway_is_accepted(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    now = int(time.time())
    idp.claims.update({"iat": now + 20, "exp": now - 20})
    assert "Signed in as Alex Morgan" in _sign_in(client).text


def test_a_bad_signature_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.sign_with = _new_key(idp.key.kid or "key-1")  # same kid, another key
    _refused(_sign_in(client), 400, UNTRUSTED)


def test_an_unsigned_token_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.unsigned = True
    _refused(_sign_in(client), 400, UNTRUSTED)


def test_a_token_signed_with_a_shared_secret_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.header = {"alg": "HS256"}
    idp.sign_with = OctKey.import_key(secrets.token_bytes(32))
    _refused(_sign_in(client), 400, UNTRUSTED)


def test_a_rotated_key_is_fetched_once(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    assert "Signed in as" in _sign_in(client).text
    assert idp.jwks_requests == 1
    with PageCheckingClient(app) as second:
        assert "Signed in as" in _sign_in(second).text
    assert idp.jwks_requests == 1  # cached

    idp.rotate()
    with PageCheckingClient(app) as third:
        assert "Signed in as Alex Morgan" in _sign_in(third).text
    assert idp.jwks_requests == 2


def test_an_unknown_kid_is_refetched_once_then_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.header = {"kid": "never-published"}
    _refused(_sign_in(client), 400, UNTRUSTED)
    assert idp.jwks_requests == 2


def test_a_mismatched_state_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    started = client.get("/sign-in/oidc/northshire", follow_redirects=False)
    back = httpx.get(started.headers["location"], follow_redirects=False).headers["location"]
    parts = urlsplit(back)
    code = parse_qs(parts.query)["code"][0]
    forged = f"{parts.path}?{urlencode({'code': code, 'state': 'not the state'})}"
    _refused(client.get(forged), 400, "out of date")


def test_a_callback_from_another_browser_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    started = client.get("/sign-in/oidc/northshire", follow_redirects=False)
    back = httpx.get(started.headers["location"], follow_redirects=False).headers["location"]
    with PageCheckingClient(app) as attacker:
        _refused(attacker.get(back), 400, "not started from this browser")


def test_a_replayed_callback_is_refused(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    started = client.get("/sign-in/oidc/northshire", follow_redirects=False)
    back = httpx.get(started.headers["location"], follow_redirects=False).headers["location"]
    before = client.cookies["onestory_session"]
    assert "Signed in as" in client.get(back).text
    # A copy of the cookie from before the callback still holds the state, but the code was
    # one use only at the provider.
    with PageCheckingClient(app) as replay:
        replay.cookies.set("onestory_session", before)
        _refused(replay.get(back), 400, "would not complete your sign-in")
    # And in the same browser the state is spent (the person stays signed in as before).
    again = client.get(back)
    assert again.status_code == 400
    assert "out of date" in soup_of(again).main.get_text()


def test_the_provider_saying_no_is_explained(
    client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    idp.authorize_error = "access_denied"
    _refused(_sign_in(client), 400, "did not let you in, or you cancelled")


@pytest.mark.parametrize(
    ("status", "shown", "words"), [(400, 400, "would not complete"), (503, 502, "could not reach")]
)
def test_a_token_endpoint_failure_is_explained(
    client: PageCheckingClient,
    idp: StandInIdP,
    account_id: int,
    status: int,
    shown: int,
    words: str,
) -> None:
    idp.token_status = status
    _refused(_sign_in(client), shown, words)


def test_client_secret_post_when_discovery_asks_for_it(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    idp.auth_methods = ["client_secret_post"]
    assert "Signed in as" in _sign_in(client).text
    assert idp.client_auth_seen == ["client_secret_post"]


def test_a_provider_needing_private_key_jwt_is_explained(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    idp.auth_methods = ["private_key_jwt"]
    _refused(_sign_in(client), 502, "not set up to work with this sign-in service")
    assert idp.client_auth_seen == []


def test_an_unreachable_provider_is_a_502_page(client: PageCheckingClient) -> None:
    response = client.get("/sign-in/oidc/gone", follow_redirects=False)
    _refused(response, 502, "could not reach your organisation's sign-in service")


def test_an_unknown_provider_is_not_found(client: PageCheckingClient) -> None:
    assert client.get("/sign-in/oidc/nobody", follow_redirects=False).status_code == 404
    assert client.get("/sign-in/oidc/nobody/callback?code=x&state=y").status_code == 404


def test_an_oidc_session_is_revoked_by_sign_out(
    app: FastAPI, client: PageCheckingClient, idp: StandInIdP, account_id: int
) -> None:
    _link(app, idp, account_id)
    signed_in = _sign_in(client)
    token = soup_of(signed_in).find("form", action="/sign-out").find("input")["value"]
    copied = client.cookies["onestory_session"]
    client.post("/sign-out", data={"csrf_token": token})
    with PageCheckingClient(app) as thief:
        thief.cookies.set("onestory_session", copied)
        assert "Signed in as" not in thief.get("/").text
