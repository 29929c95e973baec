"""System clients calling the API with a bearer key: who they are, and what they are refused."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI
from page_checks import PageCheckingClient
from sqlalchemy import select

import onestory.sharing.client_tables  # noqa: F401  (the api_client table, for the fixtures)
from onestory.sharing.authorize import Actor
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import ClientKeyError, issue_key, revoke_key
from onestory.sharing.tables import Organisation
from onestory.web.api_auth import require_api_client

ADMIN = Actor("user:1", "administrator", None, None)
SCOPED_PATH = "/api/test/cases"


@pytest.fixture
def api_app(app: FastAPI) -> FastAPI:
    """The application (which serves the client API), plus a scoped route for these tests."""
    scoped = APIRouter()

    @scoped.get(SCOPED_PATH)
    def read_cases(actor: Annotated[Actor, Depends(require_api_client("read:case"))]) -> dict:
        return {"actor": actor.user_or_client_id, "org": actor.organisation_code}

    app.include_router(scoped)
    with app.state.sessions() as session:
        session.add(Organisation(code="CPS-01", name="CPS Wessex", kind="cps"))
        session.commit()
    return app


def _issue(app: FastAPI, scopes: list[str]) -> str:
    with app.state.sessions() as session:
        _, key = issue_key(
            session,
            actor=ADMIN,
            organisation_code="CPS-01",
            name="Case bridge",
            role="cps_prosecutor",
            scopes=scopes,
        )
        session.commit()
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_whoami_describes_the_client(api_app: FastAPI, client: PageCheckingClient) -> None:
    key = _issue(api_app, ["read:case", "purpose:prosecution"])
    response = client.get("/api/whoami", headers=_bearer(key))
    assert response.status_code == 200
    assert response.json() == {
        "client": f"client:{key[3:11]}",
        "name": "Case bridge",
        "organisation": {"code": "CPS-01", "name": "CPS Wessex", "kind": "cps"},
        "role": "cps_prosecutor",
        "scopes": ["purpose:prosecution", "read:case"],
    }
    with api_app.state.sessions() as session:
        assert session.scalars(select(ApiClient.last_used_at)).one() is not None


def test_a_key_with_the_scope_gets_an_actor(api_app: FastAPI, client: PageCheckingClient) -> None:
    key = _issue(api_app, ["read:case"])
    response = client.get(SCOPED_PATH, headers={"authorization": f"bearer  {key} "})
    assert response.status_code == 200
    assert response.json() == {"actor": f"client:{key[3:11]}", "org": "CPS-01"}


def test_a_key_without_the_scope_is_forbidden(api_app: FastAPI, client: PageCheckingClient) -> None:
    key = _issue(api_app, ["create:hearing"])
    assert client.get("/api/whoami", headers=_bearer(key)).status_code == 200
    response = client.get(SCOPED_PATH, headers=_bearer(key))
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert "read:case" in response.json()["message"]
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def _revoked_key(app: FastAPI) -> str:
    key = _issue(app, ["read:case"])
    with app.state.sessions() as session:
        revoke_key(session, actor=ADMIN, prefix=key[3:11])
        session.commit()
    return key


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed_authorization"),
        ({"Authorization": "Bearer"}, "malformed_authorization"),
        ({"Authorization": "Bearer not-a-key"}, "malformed_key"),
        ({"Authorization": "Bearer os_0123abcd_" + "x" * 43}, "invalid_key"),
        ("wrong", "invalid_key"),
        ("revoked", "revoked_key"),
    ],
)
@pytest.mark.parametrize("path", ["/api/whoami", SCOPED_PATH])
def test_requests_without_a_valid_key_are_unauthorised(
    api_app: FastAPI,
    client: PageCheckingClient,
    headers: dict[str, str] | str,
    code: str,
    path: str,
) -> None:
    if headers == "wrong":
        headers = _bearer(_issue(api_app, ["read:case"])[:-1] + "~")
    elif headers == "revoked":
        headers = _bearer(_revoked_key(api_app))
    assert isinstance(headers, dict)
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="OneStory"')
    assert ("error=" in challenge) == (code != "missing_key")


def test_a_misspelt_scope_fails_when_the_route_is_declared() -> None:
    with pytest.raises(ClientKeyError, match="'read:cases' is not a scope"):
        require_api_client("read:cases")
