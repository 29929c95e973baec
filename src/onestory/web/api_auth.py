"""System clients calling the JSON API with ``Authorization: Bearer <key>``.

``require_api_client(scope)`` is the dependency an API route uses to get the calling client as
an ``Actor``; ``current_api_client`` gives the client row itself. Errors follow RFC 6750: 401
with ``WWW-Authenticate: Bearer`` when there is no usable key, 403 when the key lacks the
scope. The body is ``{"code": ..., "message": ...}`` once ``api_auth_error`` is registered as
the handler for ``ApiAuthError``; until then the application's generic handler answers with
the same status and headers and that object under ``detail``.

API requests carry no cookies that matter: the key is the whole of the authentication, which
is why JSON requests are exempt from the CSRF check (see ``web.csrf``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from onestory.sharing.authorize import Actor
from onestory.sharing.client_tables import ApiClient
from onestory.sharing.clients import KeyStatus, check_key, check_scope, client_actor
from onestory.web.deps import SessionDep

REALM = "OneStory"

_FAILURES: dict[KeyStatus, tuple[str, str]] = {
    KeyStatus.MALFORMED: (
        "malformed_key",
        "The API key is not in the form os_<prefix>_<secret>; send the whole key you were given",
    ),
    KeyStatus.UNKNOWN: (
        "invalid_key",
        "The API key is not recognised; check it, or ask your administrator for a new one",
    ),
    KeyStatus.REVOKED: (
        "revoked_key",
        "The API key has been revoked; ask your administrator for a new one",
    ),
}


class ApiAuthError(HTTPException):
    """An API request refused for its credentials; ``detail`` is ``{"code", "message"}``."""

    def __init__(
        self, status_code: int, code: str, message: str, *, challenge: str | None = None
    ) -> None:
        headers = {"WWW-Authenticate": challenge} if challenge else None
        super().__init__(status_code, {"code": code, "message": message}, headers=headers)
        self.code = code


async def api_auth_error(request: Request, exc: Exception) -> Response:
    """The handler for ``ApiAuthError``: the error object as the whole body."""
    assert isinstance(exc, ApiAuthError)
    return JSONResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


def _unauthenticated(code: str, message: str, *, token_error: bool = True) -> ApiAuthError:
    # RFC 6750 s3: no error attribute when the request carried no credentials at all.
    challenge = f'Bearer realm="{REALM}"'
    if token_error:
        challenge += ', error="invalid_token"'
    return ApiAuthError(401, code, message, challenge=challenge)


def current_api_client(request: Request, session: SessionDep) -> ApiClient:
    """The client whose key the request carries; 401 without a valid, unrevoked one."""
    header = request.headers.get("authorization")
    if header is None:
        raise _unauthenticated(
            "missing_key",
            "Send your API key in the header Authorization: Bearer <key>",
            token_error=False,
        )
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthenticated(
            "malformed_authorization",
            "The Authorization header must read Bearer <key>, with your API key after a space",
        )
    status, client = check_key(session, token)
    if client is None:
        raise _unauthenticated(*_FAILURES[status])
    # check_key notes when the key was last used; keep that even if the handler fails later.
    session.commit()
    return client


ApiClientDep = Annotated[ApiClient, Depends(current_api_client)]


def require_api_client(scope: str | None = None) -> Callable[..., Actor]:
    """A dependency giving the calling client as an ``Actor``, refusing keys without ``scope``.

    The scope is checked here, when the route is declared, so a misspelt scope stops start-up
    rather than refusing every request.
    """
    if scope is not None:
        check_scope(scope)

    def dependency(client: ApiClientDep) -> Actor:
        if scope is not None and scope not in client.scopes:
            raise ApiAuthError(
                403,
                "insufficient_scope",
                f"This API key does not have the scope {scope}; ask your administrator for a "
                "key that does",
                challenge=f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"',
            )
        return client_actor(client)

    return dependency


router = APIRouter(prefix="/api", tags=["clients"])


@router.get("/whoami")
def whoami(client: ApiClientDep) -> dict[str, Any]:
    """The calling client as OneStory sees it: name, organisation, role and scopes."""
    return {
        "client": f"client:{client.key_prefix}",
        "name": client.name,
        "organisation": {
            "code": client.organisation.code,
            "name": client.organisation.name,
            "kind": client.organisation.kind,
        },
        "role": client.role,
        "scopes": list(client.scopes),
    }
