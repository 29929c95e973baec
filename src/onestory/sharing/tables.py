"""Organisations and the accounts of the people who work in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.store.base import Base, utcnow


class Organisation(Base):
    """An agency or body that takes part in OneStory (a police force, a CPS area, a court...)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    # The police force area (PNC force code) a local organisation serves; None for national
    # bodies such as the compensation authority. Stories are routed by it.
    police_area: Mapped[str | None] = mapped_column(String(8), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    accounts: Mapped[list[UserAccount]] = relationship(back_populates="organisation")


class UserAccount(Base):
    """A person who signs in: agency staff, or a member of the public with no organisation."""

    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)

    organisation: Mapped[Organisation | None] = relationship(back_populates="accounts")
