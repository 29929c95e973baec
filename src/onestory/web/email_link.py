"""Signing in with a link sent by email: the passwordless way for members of the public.

Asking for a link always shows the same "check your email" page, whether or not an account
exists, so the form cannot be used to find out who has told OneStory a story. The link is single
use and lasts 15 minutes; opening it shows a button that signs in (a POST), so an email
scanner that follows links cannot use it up. Only members of the public may sign in this way:
staff sign in with a password or their organisation's identity provider. Requests share the
password form's rate limits.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, update

from onestory.notify.outbox import enqueue
from onestory.sharing.identity_tables import SignInLink, hash_session_token
from onestory.sharing.tables import UserAccount
from onestory.sharing.vocabulary import Role
from onestory.store.base import utcnow
from onestory.web.auth import SignInLimiterDep, too_many_attempts
from onestory.web.deps import SessionDep, SettingsDep
from onestory.web.identity import is_locked, start_session
from onestory.web.templating import render

router = APIRouter(include_in_schema=False)

# Members of the public sign in with a link (staff accounts use passwords or their own IdP): a
# victim, and a learner whose passport access prison, probation or education staff gave them.
EMAIL_LINK_ROLES = frozenset({Role.VICTIM, Role.LEARNER})
LEARNER_LANDING = "/passport"
LINK_LIFETIME = timedelta(minutes=15)
AFTER_SIGN_IN = "/my-story"


@router.get("/sign-in/email", response_class=HTMLResponse)
def ask_form(request: Request) -> HTMLResponse:
    return render(request, "email_link/ask.html", {"title": "Sign in with a link"})


@router.post("/sign-in/email", response_class=HTMLResponse)
def ask(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: SignInLimiterDep,
    email: Annotated[str, Form()] = "",
) -> Response:
    email = email.strip()
    if "@" not in email:
        errors = {"email": "Enter an email address in the correct format, like name@example.com"}
        return render(
            request,
            "email_link/ask.html",
            {
                "title": "Sign in with a link",
                "errors": errors,
                "summary": [{"text": errors["email"], "href": "#email"}],
                "email": email,
            },
            status_code=400,
        )
    address = request.client.host if request.client else "unknown"
    wait = limiter.attempt(address, email)
    if wait is not None:
        message = too_many_attempts(wait)
        response = render(
            request,
            "email_link/ask.html",
            {
                "title": "Sign in with a link",
                "errors": {"email": message},
                "summary": [{"text": message, "href": "#email"}],
                "email": email,
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = session.scalars(
        select(UserAccount).where(func.lower(UserAccount.email) == email.lower())
    ).one_or_none()
    if user is not None and user.role in EMAIL_LINK_ROLES and not is_locked(user):
        token = secrets.token_urlsafe(32)
        now = utcnow()
        link = SignInLink(
            token_hash=hash_session_token(token),
            user_account_id=user.id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
        session.add(link)
        session.flush()
        enqueue(
            session,
            recipient_subject_id=f"user:{user.id}",
            channel="email",
            address=user.email,
            template="sign-in-link",
            language="en",
            personalisation={
                "link": f"{settings.public_base_url.rstrip('/')}/sign-in/email/{token}",
                "minutes": int(LINK_LIFETIME.total_seconds() // 60),
            },
            idempotency_key=f"sign-in-link:{link.id}",
            reference=f"sign-in-link:{link.id}",
        )
        session.commit()
    return render(request, "email_link/sent.html", {"title": "Check your email", "email": email})


def _usable(session: SessionDep, token: str) -> SignInLink | None:
    link = session.scalar(
        select(SignInLink).where(SignInLink.token_hash == hash_session_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


@router.get("/sign-in/email/{token}", response_class=HTMLResponse)
def open_link(request: Request, token: str, session: SessionDep) -> HTMLResponse:
    if _usable(session, token) is None:
        return _expired(request)
    return render(request, "email_link/confirm.html", {"title": "Sign in", "token": token})


@router.post("/sign-in/email/{token}", response_class=HTMLResponse)
def use_link(request: Request, token: str, session: SessionDep) -> Response:
    link = _usable(session, token)
    user = session.get(UserAccount, link.user_account_id) if link else None
    if link is None or user is None or is_locked(user):
        return _expired(request)
    # Used up in a conditional update, so two presses racing each other sign in only once.
    claimed = session.scalar(
        update(SignInLink)
        .where(SignInLink.id == link.id, SignInLink.used_at.is_(None))
        .values(used_at=utcnow())
        .returning(SignInLink.id)
    )
    session.commit()
    if claimed is None:
        return _expired(request)
    start_session(request, user, "email-link")
    landing = LEARNER_LANDING if user.role == Role.LEARNER else AFTER_SIGN_IN
    return RedirectResponse(landing, status_code=303)


def _expired(request: Request) -> HTMLResponse:
    return render(
        request, "email_link/expired.html", {"title": "This link has expired"}, status_code=400
    )
