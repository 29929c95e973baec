"""The skills passport's tables: holders, the credentials issued to them, status lists, shares.

A credential is issued from one learning record (an ``agency_record`` of kind
``education.learning`` whose outcome is ``achieved``) and is kept exactly as it was signed, in
each securing mechanism, so a download today is byte for byte what was issued. Who the credential
belongs to is decided through the person index: a holder is a linked person, and their
credentials are those issued from records the index places in that person (so a later merge or
split of records moves credentials with their records, never by copying).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, utcnow


class PassportHolder(Base):
    """A person who holds a passport: the linked person, and the account they sign in with.

    ``id`` is a random UUID used as ``credentialSubject.id`` (``urn:uuid:<id>``): it names the
    holder in their credentials without revealing any agency's identifier for them.
    """

    __tablename__ = "passport_holder"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    # The name written into credentials (the holder may correct how it is spelt).
    full_name: Mapped[str] = mapped_column(String(200))
    # Whether new credentials name the establishment where the learning took place. Off unless
    # the holder turns it on: a credential should not tell an employer that someone was in prison.
    name_establishment: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class PassportCredential(Base):
    """One credential issued for one achievement, kept as signed."""

    __tablename__ = "passport_credential"
    __table_args__ = (UniqueConstraint("status_list", "status_index"),)

    # The credential's id is ``urn:uuid:<id>``.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # One credential per learning record: issuing twice (two runs at once) fails on this.
    record_id: Mapped[str] = mapped_column(ForeignKey("agency_record.id"), unique=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("passport_holder.id"), index=True)
    # What the credential says, for lists and statistics without parsing the documents.
    achievement: Mapped[str] = mapped_column(String(300))
    course: Mapped[str] = mapped_column(String(200))
    level: Mapped[str | None] = mapped_column(String(20))
    awarding_body: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str] = mapped_column(String(200))
    establishment: Mapped[str | None] = mapped_column(String(200))
    started_on: Mapped[date | None]
    awarded_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]
    issuer: Mapped[str] = mapped_column(String(300))
    status_list: Mapped[int] = mapped_column(ForeignKey("passport_status_list.id"))
    status_index: Mapped[int]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    # The credential secured three ways: Data Integrity eddsa-rdfc-2022 (what Open Badges 3.0
    # wallets expect), Data Integrity eddsa-jcs-2022, and VC-JOSE (application/vc+jwt).
    rdfc: Mapped[dict[str, Any]]
    jcs: Mapped[dict[str, Any]]
    jwt: Mapped[str] = mapped_column(Text)


class PassportStatusList(Base):
    """A Bitstring Status List OneStory publishes (revocation), and its latest signed credential.

    ``credential`` is re-signed whenever a bit changes; ``version`` counts those changes so a
    verifier's cache can tell an old list from the current one.
    """

    __tablename__ = "passport_status_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), default="revocation")
    size: Mapped[int]
    version: Mapped[int] = mapped_column(default=0)
    credential: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassportShare(Base):
    """A presentation the holder made: the credentials they chose, behind an unguessable link.

    Only the SHA-256 of the link's token is kept. The holder can withdraw a share at any time;
    a printed card is a share too (its QR code is the link).
    """

    __tablename__ = "passport_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    holder_id: Mapped[str] = mapped_column(ForeignKey("passport_holder.id"), index=True)
    credential_ids: Mapped[list[str]] = mapped_column()
    purpose: Mapped[str] = mapped_column(String(20), default="share")  # "share" or "card"
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    views: Mapped[int] = mapped_column(default=0)
