"""Signing in and out.

Email and password are checked behind the ``Authenticator`` protocol (``PasswordAuthenticator``
by default). OpenID Connect, for agencies with their own identity provider, is a redirect flow
rather than a form, so it has its own router in ``web.oidc``; both end in the same
``identity.start_session``, which creates the server-side session. ``current_user`` and
``require_user`` are the dependencies every other page uses.

Sign-in attempts are rate limited per client address and per email address (``web.ratelimit``)
on top of the account lockout: the lockout protects one account, the limit slows one source
trying many accounts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestory.sharing.passwords import hash_password, needs_rehash, verify_password
from onestory.sharing.tables import UserAccount
from onestory.web.deps import SessionDep
from onestory.web.identity import (
    MAX_FAILED_SIGN_INS,
    CurrentUser,
    SignedInUser,
    SignInRequired,
    current_user,
    end_session,
    is_locked,
    require_user,
    revoke_sessions,
    start_session,
)
from onestory.web.ratelimit import SignInLimiter
from onestory.web.templating import render

__all__ = [
    "Authenticator",
    "CurrentUser",
    "PasswordAuthenticator",
    "SignInOutcome",
    "SignInRequired",
    "SignInResult",
    "SignedInUser",
    "current_user",
    "require_user",
    "revoke_sessions",
    "router",
]

WRONG_DETAILS = "Your email address or password is wrong"
LOCKED = (
    f"Your account is locked because the password was entered wrongly {MAX_FAILED_SIGN_INS} "
    "times in a row. Contact your administrator to unlock it"
)


def too_many_attempts(retry_after_seconds: int) -> str:
    """The message for a refused attempt, with the wait rounded up to whole minutes."""
    minutes = max(1, math.ceil(retry_after_seconds / 60))
    return f"Too many attempts. Wait {minutes} minute{'s' if minutes != 1 else ''} and try again"


PASSWORD_METHOD = "password"  # noqa: S105 - how someone signed in, not a password

router = APIRouter(include_in_schema=False)


class SignInOutcome(StrEnum):
    """How an attempt to sign in ended."""

    SIGNED_IN = "signed_in"
    WRONG_DETAILS = "wrong_details"
    LOCKED = "locked"
    NO_ACCOUNT = "no_account"


@dataclass(frozen=True)
class SignInResult:
    """What an authenticator decided; ``user`` is set only when signed in."""

    outcome: SignInOutcome
    user: UserAccount | None = None


class Authenticator(Protocol):
    """A way of checking who someone is. It may update the account (counters, hashes) but
    leaves committing to the caller."""

    def authenticate(self, session: Session, email: str, password: str) -> SignInResult: ...


@cache
def _decoy_hash() -> str:
    return hash_password("a password nobody has")


class PasswordAuthenticator:
    """Email and password, checked against the argon2 hash on the account.

    Wrong passwords are counted; the account locks at ``MAX_FAILED_SIGN_INS`` in a row and stays
    locked, even for the right password, until an administrator resets the count.
    """

    def authenticate(self, session: Session, email: str, password: str) -> SignInResult:
        user = session.scalars(
            select(UserAccount).where(func.lower(UserAccount.email) == email.strip().lower())
        ).one_or_none()
        if user is None:
            # Spend the same time as for a real account, so timing does not reveal which
            # email addresses have accounts.
            verify_password(_decoy_hash(), password)
            return SignInResult(SignInOutcome.WRONG_DETAILS)
        if is_locked(user):
            return SignInResult(SignInOutcome.LOCKED)
        if not verify_password(user.password_hash, password):
            # Counted in SQL, so that attempts racing each other each count.
            user.failed_sign_ins = UserAccount.failed_sign_ins + 1
            session.flush()
            session.refresh(user)
            if is_locked(user):
                return SignInResult(SignInOutcome.LOCKED)
            return SignInResult(SignInOutcome.WRONG_DETAILS)
        user.failed_sign_ins = 0
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return SignInResult(SignInOutcome.SIGNED_IN, user)


def get_authenticator(request: Request) -> Authenticator:
    """The authenticator the application was created with."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]

_limiter_lock = threading.Lock()


def get_sign_in_limiter(request: Request) -> SignInLimiter:
    """The application's sign-in limiter, made on first use; a test may set its own first."""
    with _limiter_lock:
        limiter: SignInLimiter | None = getattr(request.app.state, "sign_in_limiter", None)
        if limiter is None:
            limiter = SignInLimiter()
            request.app.state.sign_in_limiter = limiter
        return limiter


SignInLimiterDep = Annotated[SignInLimiter, Depends(get_sign_in_limiter)]


def safe_next_path(value: str | None) -> str | None:
    """``value`` if it is a path on this site, else None, so sign-in cannot be used to send
    people to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def _sign_in_page(
    request: Request,
    *,
    email: str = "",
    next_path: str | None = None,
    errors: dict[str, object] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "sign_in.html",
        {
            "email": email,
            "next_path": next_path,
            "errors": errors,
            "providers": request.app.state.settings.oidc_providers,
        },
        status_code=status_code,
    )


def _errors(email: str | None = None, password: str | None = None) -> dict[str, object]:
    summary = []
    if email:
        summary.append({"text": email, "href": "#email"})
    if password:
        summary.append({"text": password, "href": "#password"})
    return {"email": email, "password": password, "summary": summary}


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _sign_in_page(request, next_path=safe_next_path(next))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    authenticator: AuthenticatorDep,
    limiter: SignInLimiterDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    next_path = safe_next_path(next)
    email = email.strip()
    if not email or not password:
        errors = _errors(
            email=None if email else "Enter your email address",
            password=None if password else "Enter your password",
        )
        return _sign_in_page(
            request, email=email, next_path=next_path, errors=errors, status_code=400
        )
    address = request.client.host if request.client else "unknown"
    wait = limiter.attempt(address, email)
    if wait is not None:
        response = _sign_in_page(
            request,
            email=email,
            next_path=next_path,
            errors=_errors(email=too_many_attempts(wait)),
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    result = authenticator.authenticate(session, email, password)
    session.commit()
    if result.user is not None:
        limiter.succeeded(address, email)
    if result.user is None:
        message = LOCKED if result.outcome is SignInOutcome.LOCKED else WRONG_DETAILS
        return _sign_in_page(
            request,
            email=email,
            next_path=next_path,
            errors=_errors(email=message),
            status_code=400,
        )
    start_session(request, result.user, PASSWORD_METHOD)
    return RedirectResponse(next_path or "/", status_code=303)


@router.post("/sign-out")
def sign_out(request: Request) -> RedirectResponse:
    end_session(request)
    return RedirectResponse("/", status_code=303)


@router.post("/sign-out/everywhere")
def sign_out_everywhere(request: Request, session: SessionDep, user: SignedInUser) -> Response:
    """End every session of the account: this browser's and any other, copied cookies too."""
    revoke_sessions(session, user.id)
    session.commit()
    end_session(request)
    return RedirectResponse("/", status_code=303)
