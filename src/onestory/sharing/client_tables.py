"""System clients: other agencies' software that calls OneStory's API with a scoped key.

Only a hash of each key is stored. The first characters of the key (``key_prefix``) are kept in
the clear so that an administrator can tell keys apart and revoke one without ever seeing it
again, and so that authentication finds the row by an indexed lookup rather than by hash.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.sharing.tables import Organisation
from onestory.store.base import Base, JSONDocument, utcnow


class ApiClient(Base):
    """A system that acts for an organisation, in one role, within its scopes."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    role: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONDocument)
    key_prefix: Mapped[str] = mapped_column(String(8), unique=True)
    # SHA-256 hex of the whole key. A key is 32 random bytes, so there is nothing to guess and
    # a slow password hash (argon2) would only cost time on every API call.
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
