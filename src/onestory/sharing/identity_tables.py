"""Where sign-in state lives: browser sessions, and the outside identities linked to accounts.

A browser session is a row here, not just a signed cookie, so that signing out, "sign out of all
devices" and an administrator's action end it for every copy of the cookie. The cookie carries a
random token; only its SHA-256 hash is stored, so a leaked copy of the table cannot be replayed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, utcnow


def hash_session_token(token: str) -> str:
    """The SHA-256 hex digest a session token is stored and looked up by.

    The token is 32 random bytes, so a fast hash is enough: there is nothing to guess.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WebSession(Base):
    """One signed-in browser: live until it is revoked, idles out or reaches ``expires_at``."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # "password", or "oidc:<provider name>".
    method: Mapped[str] = mapped_column(String(80))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ExternalIdentity(Base):
    """A person at an OpenID Connect provider (issuer and subject) who signs in as an account."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    user_account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignInLink(Base):
    """A one-time link emailed to a member of the public so they can sign in without a
    password; only the hash of its token is stored, and it works once, briefly."""

    __tablename__ = "sign_in_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
