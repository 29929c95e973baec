"""Creating organisations' user accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestory.sharing.authorize import Actor
from onestory.sharing.passwords import hash_password
from onestory.sharing.tables import Organisation, UserAccount


class AccountError(ValueError):
    """An account that cannot be created as asked."""


def create_account(
    session: Session,
    *,
    email: str,
    display_name: str,
    role: str,
    password: str,
    organisation_code: str | None = None,
) -> UserAccount:
    """Add an account with an argon2-hashed password (the caller commits)."""
    email = email.strip().lower()
    if session.scalar(select(UserAccount.id).where(UserAccount.email == email)) is not None:
        raise AccountError(f"an account for {email} already exists")
    organisation = None
    if organisation_code is not None:
        organisation = session.scalar(
            select(Organisation).where(Organisation.code == organisation_code)
        )
        if organisation is None:
            raise AccountError(f"no organisation with code {organisation_code!r}")
    account = UserAccount(
        email=email,
        display_name=display_name,
        role=role,
        organisation=organisation,
        password_hash=hash_password(password),
    )
    session.add(account)
    return account


def account_actor(user: UserAccount) -> Actor:
    """A signed-in person acting for their organisation, if they have one (or for themselves
    as an account holder)."""
    organisation = user.organisation
    return Actor(
        user_or_client_id=f"user:{user.id}",
        role=user.role,
        organisation_code=organisation.code if organisation else None,
        organisation_kind=organisation.kind if organisation else None,
    )
