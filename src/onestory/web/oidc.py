"""Signing in with an OpenID Connect provider: an agency's own identity provider, for example.

The authorization code flow with PKCE (S256). ``/sign-in/oidc/{name}`` keeps a fresh ``state``,
``nonce`` and code verifier in the cookie session and sends the browser to the provider; the
provider sends it back to ``/sign-in/oidc/{name}/callback``, where the state is checked, the code
exchanged at the token endpoint and the ID token validated: signature against the provider's
published keys (RS256, ES256 or EdDSA only), issuer, audience, expiry, issue time and nonce.

Deny by default: an identity signs in only an account it is linked to. An unknown identity is
linked on first use only when the provider vouches for an email address (``email_verified``)
that is exactly an account's; OneStory never creates staff accounts from a sign-in.

Client authentication is ``client_secret_basic`` or ``client_secret_post`` (or none, for a public
client); ``private_key_jwt`` (GOV.UK One Login) is not supported yet.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx2 as httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import KeySet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.config import OidcProvider
from onestory.sharing.identity_tables import ExternalIdentity
from onestory.sharing.tables import UserAccount
from onestory.web.auth import SignInOutcome, SignInResult, safe_next_path
from onestory.web.deps import SessionDep
from onestory.web.identity import is_locked, start_session
from onestory.web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

ALGORITHMS = ("RS256", "ES256", "EdDSA")
HTTP_TIMEOUT_SECONDS = 5.0
CLOCK_LEEWAY_SECONDS = 60
DISCOVERY_MAX_AGE_SECONDS = 3600
PENDING_KEY = "oidc_pending"


class OidcError(Exception):
    """A sign-in that cannot go on. ``message`` is for the person; ``reason`` is for the log."""

    def __init__(self, message: str, reason: str, status_code: int = 400) -> None:
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status_code = status_code


def _unreachable(what: str, error: Exception) -> OidcError:
    return OidcError(
        "OneStory could not reach your organisation's sign-in service. Try again later, or "
        "sign in with your email address and password.",
        f"{what}: {type(error).__name__}: {error}",
        status_code=502,
    )


def _untrusted_token(reason: str) -> OidcError:
    return OidcError(
        "The sign-in service's answer could not be trusted, so OneStory did not sign you in. "
        "Try again; if it happens again, tell your administrator.",
        reason,
    )


def redirect_uri(base_url: str, provider: OidcProvider) -> str:
    """Where the provider sends the browser back to (register this with the provider)."""
    return f"{base_url.rstrip('/')}/sign-in/oidc/{provider.name}/callback"


def code_challenge(verifier: str) -> str:
    """The PKCE S256 challenge for ``verifier`` (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class ProviderClient:
    """One provider's endpoints and keys, fetched when first needed and then cached."""

    provider: OidcProvider
    _discovery: dict[str, Any] | None = None
    _discovered_at: float = 0.0
    _keys: KeySet | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT_SECONDS)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise _unreachable(f"{what} {url}", error) from error
        if not isinstance(document, dict):
            raise _unreachable(f"{what} {url}", ValueError("not a JSON object"))
        return document

    def discovery(self) -> dict[str, Any]:
        """The provider's ``.well-known/openid-configuration``."""
        with self._lock:
            fresh = time.monotonic() - self._discovered_at < DISCOVERY_MAX_AGE_SECONDS
            if self._discovery is not None and fresh:
                return self._discovery
        url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._get_json(url, "discovery")
        if document.get("issuer") != self.provider.issuer:
            raise _unreachable(
                "discovery",
                ValueError(
                    f"issuer {document.get('issuer')!r} is not the configured "
                    f"{self.provider.issuer!r}"
                ),
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(name), str):
                raise _unreachable("discovery", ValueError(f"no {name}"))
        with self._lock:
            self._discovery = document
            self._discovered_at = time.monotonic()
        return document

    def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's signing keys, fetched again when ``refresh`` (after a key rotation)."""
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        document = self._get_json(self.discovery()["jwks_uri"], "JWKS")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as error:
            raise _unreachable("JWKS", error) from error
        with self._lock:
            self._keys = keys
        return keys

    def authorization_url(self, *, redirect_to: str, state: str, nonce: str, verifier: str) -> str:
        """Where to send the browser to sign in."""
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.provider.client_id,
                "redirect_uri": redirect_to,
                "scope": " ".join(self.provider.scopes),
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint: str = self.discovery()["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange_code(self, *, code: str, verifier: str, redirect_to: str) -> str:
        """Trade the authorization code for an ID token (not yet validated)."""
        discovery = self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_to,
            "code_verifier": verifier,
        }
        headers = {"Accept": "application/json"}
        secret = self.provider.client_secret
        # No list in discovery means client_secret_basic (OpenID Connect Discovery 1.0, 3).
        methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if secret is None and "none" in methods:
            form["client_id"] = self.provider.client_id
        elif secret is not None and "client_secret_basic" in methods:
            # RFC 6749 2.3.1: each part form-encoded before Basic encoding.
            pair = f"{quote(self.provider.client_id, safe='')}:"
            pair += quote(secret.get_secret_value(), safe="")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif secret is not None and "client_secret_post" in methods:
            form["client_id"] = self.provider.client_id
            form["client_secret"] = secret.get_secret_value()
        else:
            raise OidcError(
                "OneStory is not set up to work with this sign-in service. Tell your "
                "administrator.",
                f"no client authentication we can do (client secret "
                f"{'set' if secret else 'not set'}) is among the provider's: {methods}",
                status_code=502,
            )
        try:
            response = httpx.post(
                discovery["token_endpoint"],
                data=form,
                headers=headers,
                timeout=HTTP_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as error:
            raise _unreachable("token endpoint", error) from error
        if response.status_code >= 500:
            raise _unreachable("token endpoint", ValueError(f"status {response.status_code}"))
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            error_code = body.get("error") if isinstance(body, dict) else None
            raise OidcError(
                "The sign-in service would not complete your sign-in. Start again from the "
                "sign-in page.",
                f"token endpoint refused the code: status {response.status_code}, "
                f"error {error_code!r}",
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise _untrusted_token("token response has no id_token")
        return id_token

    def validate_id_token(self, id_token: str, *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims are checked."""
        try:
            header = jws.extract_compact(id_token.encode("ascii")).headers()
        except (JoseError, UnicodeError, ValueError) as error:
            raise _untrusted_token(f"ID token is not a JWS: {error}") from error
        if header.get("alg") not in ALGORITHMS:
            raise _untrusted_token(f"ID token algorithm {header.get('alg')!r} is not allowed")
        try:
            try:
                token = jwt.decode(id_token, self.keys(), algorithms=ALGORITHMS)
            except InvalidKeyIdError:
                # The provider may have rotated its keys since we fetched them: fetch once more.
                token = jwt.decode(id_token, self.keys(refresh=True), algorithms=ALGORITHMS)
        except InvalidKeyIdError as error:
            raise _untrusted_token(f"no published key has kid {header.get('kid')!r}") from error
        except (BadSignatureError, UnsupportedAlgorithmError) as error:
            raise _untrusted_token(f"ID token signature is invalid: {error}") from error
        except (JoseError, ValueError) as error:
            raise _untrusted_token(f"ID token could not be verified: {error}") from error
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": self.provider.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.provider.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise OidcError(
                "Your sign-in took too long or the sign-in service's clock is wrong. Start again "
                "from the sign-in page.",
                "ID token has expired",
            ) from error
        except ClaimError as error:
            raise _untrusted_token(f"ID token claim {error.claim!r} is wrong or missing") from error
        audience = claims["aud"]
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != self.provider.client_id:
            raise _untrusted_token("ID token has several audiences and azp is not ours")
        return claims


def _clients(request: Request) -> dict[str, ProviderClient]:
    state = request.app.state
    with _clients_lock:
        clients: dict[str, ProviderClient] | None = getattr(state, "oidc_clients", None)
        if clients is None:
            clients = {p.name: ProviderClient(p) for p in state.settings.oidc_providers}
            state.oidc_clients = clients
        return clients


_clients_lock = threading.Lock()


def _client(request: Request, name: str) -> ProviderClient:
    client = _clients(request).get(name)
    if client is None:
        raise HTTPException(status_code=404)
    return client


def account_for_identity(session: Session, *, issuer: str, claims: dict[str, Any]) -> SignInResult:
    """The account a validated ID token signs in, linking it by verified email the first time.

    Adds the link to ``session``; the caller commits.
    """
    subject = str(claims["sub"])
    link = session.scalars(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    ).one_or_none()
    if link is not None:
        user = session.get(UserAccount, link.user_account_id)
        if user is None:
            return SignInResult(SignInOutcome.NO_ACCOUNT)
        if is_locked(user):
            return SignInResult(SignInOutcome.LOCKED)
        return SignInResult(SignInOutcome.SIGNED_IN, user)
    email = claims.get("email")
    if not isinstance(email, str) or claims.get("email_verified") is not True:
        return SignInResult(SignInOutcome.NO_ACCOUNT)
    user = session.scalars(
        select(UserAccount).where(func.lower(UserAccount.email) == email.strip().lower())
    ).one_or_none()
    if user is None:
        return SignInResult(SignInOutcome.NO_ACCOUNT)
    if is_locked(user):
        return SignInResult(SignInOutcome.LOCKED)
    already_linked = session.scalar(
        select(ExternalIdentity.id).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.user_account_id == user.id
        )
    )
    if already_linked is not None:
        # Another identity at this provider already signs in as this account: a second one
        # claiming the same email needs an administrator, not an automatic link.
        return SignInResult(SignInOutcome.NO_ACCOUNT)
    session.add(ExternalIdentity(issuer=issuer, subject=subject, user_account_id=user.id))
    return SignInResult(SignInOutcome.SIGNED_IN, user)


def _problem_page(request: Request, name: str, error: OidcError) -> HTMLResponse:
    logger.warning("OIDC sign-in with %s failed: %s", name, error.reason)
    return render(
        request,
        "error.html",
        {
            "heading": "You could not be signed in",
            "paragraphs": [error.message],
        },
        status_code=error.status_code,
    )


@router.get("/sign-in/oidc/{name}")
def start(request: Request, name: str, next: str | None = None) -> Response:
    """Send the browser to the provider, remembering what the callback must see."""
    client = _client(request, name)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    try:
        location = client.authorization_url(
            redirect_to=redirect_uri(request.app.state.settings.public_base_url, client.provider),
            state=state,
            nonce=nonce,
            verifier=verifier,
        )
    except OidcError as error:
        return _problem_page(request, name, error)
    request.session[PENDING_KEY] = {
        "provider": name,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next_path(next),
    }
    return RedirectResponse(location, status_code=303)


@router.get("/sign-in/oidc/{name}/callback")
def callback(
    request: Request,
    session: SessionDep,
    name: str,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """Finish the sign-in the provider sends the browser back from."""
    client = _client(request, name)
    # One use only: a replayed callback finds nothing to match.
    pending = request.session.pop(PENDING_KEY, None)
    try:
        user = _finish(request, session, client, pending, code=code, state=state, error=error)
    except OidcError as problem:
        return _problem_page(request, name, problem)
    start_session(request, user, f"oidc:{name}")
    logger.info("OIDC sign-in with %s: account %s signed in", name, user.id)
    next_path = pending.get("next") if isinstance(pending, dict) else None
    return RedirectResponse(safe_next_path(next_path) or "/", status_code=303)


def _finish(
    request: Request,
    session: Session,
    client: ProviderClient,
    pending: object,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> UserAccount:
    provider = client.provider
    if (
        not isinstance(pending, dict)
        or pending.get("provider") != provider.name
        or not isinstance(pending.get("state"), str)
        or not state
        or not hmac.compare_digest(state.encode(), str(pending["state"]).encode())
    ):
        raise OidcError(
            "This sign-in link is out of date or was not started from this browser. Start again "
            "from the sign-in page.",
            "callback state does not match the one this session started",
        )
    if error is not None:
        if error == "access_denied":
            raise OidcError(
                "The sign-in service did not let you in, or you cancelled. Start again from the "
                "sign-in page if you want to try again.",
                "provider returned error=access_denied",
            )
        raise OidcError(
            "The sign-in service reported a problem and did not sign you in. Try again later.",
            f"provider returned error={error[:64]!r}",
        )
    if not code:
        raise OidcError(
            "The sign-in service did not say who you are. Start again from the sign-in page.",
            "callback has no code",
        )
    id_token = client.exchange_code(
        code=code,
        verifier=str(pending.get("verifier", "")),
        redirect_to=redirect_uri(request.app.state.settings.public_base_url, provider),
    )
    claims = client.validate_id_token(id_token, nonce=str(pending.get("nonce", "")))
    result = account_for_identity(session, issuer=provider.issuer, claims=claims)
    session.commit()
    if result.outcome is SignInOutcome.LOCKED:
        raise OidcError(
            "Your OneStory account is locked. Contact your administrator to unlock it.",
            f"account for subject at {provider.issuer} is locked",
            status_code=403,
        )
    if result.user is None:
        raise OidcError(
            "There is no OneStory account for this sign-in. Ask your administrator to set one "
            "up for you.",
            f"no account for this subject at {provider.issuer} "
            "(not linked, and no verified email matching an account)",
            status_code=403,
        )
    return result.user
