"""Protection against cross-site request forgery for every browser form.

A random token is kept in the signed session cookie and repeated in every form as the hidden
field ``csrf_token`` (write ``{{ csrf_field() }}`` inside the form). ``verify_csrf`` runs before
every route of the application and checks each unsafe request (POST, PUT, PATCH, DELETE).

Requests whose body is JSON (``application/json`` or ``application/*+json``) are not checked
here: a browser can only send such a body cross-site after a CORS preflight, which OneStory never
grants, and they are meant for system clients that will authenticate with API keys, not cookies.
Every other unsafe request -- form-encoded, multipart, text/plain, or no body at all -- needs the
token, in the form field or in the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Public endpoints that need no session, change nothing a forged request could exploit, and take
# bodies that are not JSON (a JWT as text/plain): a credential check answers anyone the same.
EXEMPT_PATHS = frozenset({"/api/passport/verify"})


class CsrfError(HTTPException):
    """The request did not carry this session's CSRF token."""

    def __init__(self, reason: str) -> None:
        super().__init__(status_code=403, detail=reason)
        self.reason = reason


def csrf_token(request: Request) -> str:
    """This session's token, created on first use."""
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = rotate_csrf_token(request)
    return token


def rotate_csrf_token(request: Request) -> str:
    """Replace the token, so that one seen before a sign-in is useless after it."""
    token = secrets.token_urlsafe(32)
    request.session[SESSION_KEY] = token
    return token


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe, non-JSON request whose token is missing or wrong."""
    if request.method in SAFE_METHODS or request.url.path in EXEMPT_PATHS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        # An API key, not a cookie: a browser never adds this header to a cross-site request
        # by itself, so there is nothing to forge (uploads and DELETEs carry no JSON body).
        return
    media_type = _media_type(request)
    if _is_json(media_type):
        return
    expected = request.session.get(SESSION_KEY)
    given: object = request.headers.get(HEADER)
    if given is None and media_type in FORM_CONTENT_TYPES:
        # FastAPI caches the parsed form on the request, so the handler can still read it.
        given = (await request.form()).get(FORM_FIELD)
    if not isinstance(expected, str) or not expected:
        raise CsrfError("the session has no form token (cookies may be blocked or expired)")
    if not isinstance(given, str) or not given:
        raise CsrfError("the form did not include its security token")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfError("the form's security token does not match this session")
