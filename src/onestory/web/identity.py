"""Who is signed in: the session's record of it, and the dependencies that read it.

The session cookie holds only the account id; every request looks the account up again, so a
locked or deleted account stops working at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from onestory.sharing.tables import UserAccount
from onestory.web.csrf import rotate_csrf_token
from onestory.web.deps import SessionDep

USER_KEY = "user_id"
MAX_FAILED_SIGN_INS = 5


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def is_locked(user: UserAccount) -> bool:
    """Whether too many wrong passwords in a row have locked the account."""
    return user.failed_sign_ins >= MAX_FAILED_SIGN_INS


def start_session(request: Request, user: UserAccount) -> None:
    """Record ``user`` as signed in, discarding everything the session held before.

    Starting afresh (with a new CSRF token) means nothing planted in the session before sign-in
    -- by another person on a shared computer, or by an attacker -- survives it.
    """
    request.session.clear()
    request.session[USER_KEY] = user.id
    rotate_csrf_token(request)
    request.state.user = user


def end_session(request: Request) -> None:
    """Forget the signed-in user and everything else in the session."""
    request.session.clear()
    request.state.user = None


def _load_user(request: Request, session: Session) -> UserAccount | None:
    user_id = request.session.get(USER_KEY)
    if not isinstance(user_id, int):
        return None
    user = session.get(UserAccount, user_id)
    if user is None or is_locked(user):
        return None
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
    if USER_KEY not in request.session:
        user = None
    else:
        with request.app.state.sessions() as session:
            user = _load_user(request, session)
    request.state.user = user
    return user
