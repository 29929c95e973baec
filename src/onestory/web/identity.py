"""Who is signed in: server-side sessions, and the dependencies that read them.

Signing in creates a ``web_session`` row and puts a random token in the (signed) session cookie;
the database keeps only the token's hash. Every request looks the token up, so a session ends
everywhere at once when it is revoked (sign-out, "sign out of all devices", an administrator),
when it has been idle for ``IDLE_TIMEOUT`` or reaches ``ABSOLUTE_LIFETIME``, or when the account
is locked. The cookie still holds the CSRF token and other state that proves nobody's identity.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from onestory.sharing.identity_tables import WebSession, hash_session_token
from onestory.sharing.tables import UserAccount
from onestory.store.base import utcnow
from onestory.web.csrf import rotate_csrf_token
from onestory.web.deps import SessionDep

TOKEN_KEY = "session_token"  # noqa: S105 - the cookie key, not a token
MAX_FAILED_SIGN_INS = 5
ABSOLUTE_LIFETIME = timedelta(hours=8)
IDLE_TIMEOUT = timedelta(minutes=30)
# last_seen_at is written at most this often, rather than on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
USER_AGENT_LENGTH = 200


def now() -> datetime:
    """The current time (UTC); tests replace it to move the clock."""
    return utcnow()


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_locked(user: UserAccount) -> bool:
    """Whether too many wrong passwords in a row have locked the account."""
    return user.failed_sign_ins >= MAX_FAILED_SIGN_INS


def _revoke_token(session: Session, token: object, moment: datetime) -> None:
    if isinstance(token, str) and token:
        session.execute(
            update(WebSession)
            .where(
                WebSession.token_hash == hash_session_token(token),
                WebSession.revoked_at.is_(None),
            )
            .values(revoked_at=moment)
        )


def start_session(request: Request, user: UserAccount, method: str) -> None:
    """Record ``user`` as signed in (by ``method``: "password" or "oidc:<provider>").

    Call it once the account is committed. The previous session, if any, is revoked and the
    cookie session cleared with a new CSRF token, so nothing planted before sign-in -- by another
    person on a shared computer, or by an attacker -- survives it.
    """
    token = secrets.token_urlsafe(32)  # 256 bits
    moment = now()
    user_agent = request.headers.get("user-agent", "")[:USER_AGENT_LENGTH] or None
    with request.app.state.sessions() as session:
        _revoke_token(session, request.session.get(TOKEN_KEY), moment)
        session.add(
            WebSession(
                token_hash=hash_session_token(token),
                user_account_id=user.id,
                method=method,
                user_agent=user_agent,
                created_at=moment,
                last_seen_at=moment,
                expires_at=moment + ABSOLUTE_LIFETIME,
            )
        )
        session.commit()
    request.session.clear()
    request.session[TOKEN_KEY] = token
    rotate_csrf_token(request)
    request.state.user = user


def end_session(request: Request) -> None:
    """Revoke this browser's session and forget everything else the cookie held."""
    token = request.session.get(TOKEN_KEY)
    if token is not None:
        with request.app.state.sessions() as session:
            _revoke_token(session, token, now())
            session.commit()
    request.session.clear()
    request.state.user = None


def revoke_sessions(session: Session, user_id: int) -> int:
    """Revoke every live session of the account (the caller commits); returns how many.

    For "sign out of all devices", and for administrators locking an account or changing its
    password.
    """
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_account_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def is_live(row: WebSession, moment: datetime) -> bool:
    """Whether a session row still signs its browser in at ``moment``."""
    return (
        row.revoked_at is None
        and moment < row.expires_at
        and moment - row.last_seen_at < IDLE_TIMEOUT
    )


def _load_user(request: Request, session: Session) -> UserAccount | None:
    token = request.session.get(TOKEN_KEY)
    if not isinstance(token, str) or not token:
        return None
    row = session.scalars(
        select(WebSession).where(WebSession.token_hash == hash_session_token(token))
    ).one_or_none()
    moment = now()
    if row is None or not is_live(row, moment):
        request.session.pop(TOKEN_KEY, None)
        return None
    # The organisation comes with it: the page header shows staff their agency's pages.
    user = session.get(
        UserAccount, row.user_account_id, options=[joinedload(UserAccount.organisation)]
    )
    if user is None or is_locked(user):
        return None
    if moment - row.last_seen_at >= LAST_SEEN_RESOLUTION:
        # In a session of its own, so that the handler's transaction stays the handler's.
        with request.app.state.sessions() as writer:
            writer.execute(
                update(WebSession)
                .where(WebSession.id == row.id, WebSession.last_seen_at < moment)
                .values(last_seen_at=moment)
            )
            writer.commit()
    return user


def current_user(request: Request, session: SessionDep) -> UserAccount | None:
    """The signed-in account, or None."""
    user = _load_user(request, session)
    request.state.user = user
    return user


CurrentUser = Annotated[UserAccount | None, Depends(current_user)]


def require_user(request: Request, user: CurrentUser) -> UserAccount:
    """The signed-in account; without one, the browser is sent to sign in and brought back."""
    if user is None:
        raise SignInRequired(request.url.path)
    return user


SignedInUser = Annotated[UserAccount, Depends(require_user)]


def user_for_display(request: Request) -> UserAccount | None:
    """The signed-in account for the page header, looked up only if the handler did not."""
    try:
        user: UserAccount | None = request.state.user
        return user
    except AttributeError:
        pass
    if TOKEN_KEY not in request.session:
        user = None
    else:
        with request.app.state.sessions() as session:
            user = _load_user(request, session)
    request.state.user = user
    return user
