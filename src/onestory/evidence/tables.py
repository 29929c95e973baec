"""The evidence vault's tables: items, their custody record, access grants, uploads, links.

An item's bytes live in the blob store under their SHA-256 (``evidence.blobs``); the table keeps
what the ACPO principles and ISO/IEC 27037 ask to be recorded about it, and its hash at
acquisition. Each custody action is a ledger entry (``evidence_custody.ledger_seq`` names it);
what the entry commits to is in the ledger's payload table, so the custody record can be shown,
bundled and checked against the log without keeping a second copy here.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.store.base import Base, utcnow


class ItemStatus(StrEnum):
    """Whether an item's content is still held."""

    HELD = "held"
    DISPOSED = "disposed"


class CustodyAction(StrEnum):
    """Everything that can happen to an item; each one is a ledger entry."""

    ACQUIRED = "acquired"  # seized or produced: who, when, where, from what, how, the hash
    UPLOADED = "uploaded"  # the bytes reached the vault: the hash computed on the way in
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    SHARED = "shared"  # a grant to a named user, until a date
    ACCESS_REVOKED = "access_revoked"
    ACCESS_REFUSED = "access_refused"  # a read without a live grant: refused, and recorded
    DERIVED = "derived"  # a copy made from this item (on the original: the copy's id)
    EXPORTED = "exported"  # put in a disclosure bundle
    RETENTION_CHANGED = "retention_changed"
    DISPOSED = "disposed"  # content deleted; hash, metadata and custody kept
    INTEGRITY_FAILED = "integrity_failed"  # the stored bytes no longer hash to the item's hash


class EvidenceItem(Base):
    """One exhibit: what it is, where it came from, its hash, and whether it is still held."""

    __tablename__ = "evidence_item"
    __table_args__ = (UniqueConstraint("case_urn", "exhibit_reference"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_urn: Mapped[str] = mapped_column(String(32), index=True)
    exhibit_reference: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    # The organisation that holds the exhibit (the force that seized it): its staff manage it.
    organisation: Mapped[str] = mapped_column(String(32), index=True)
    seized_by: Mapped[str] = mapped_column(String(200))
    seized_at: Mapped[datetime]
    seized_from: Mapped[str | None] = mapped_column(String(500))
    device: Mapped[str | None] = mapped_column(String(500))
    method: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    # A derived copy (a redacted version, a still from a video) points at its original.
    derived_from_id: Mapped[str | None] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    derivation: Mapped[str | None] = mapped_column(Text)
    retention_schedule: Mapped[str] = mapped_column(String(64))
    retain_until: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.HELD)
    disposed_at: Mapped[datetime | None]
    # Set when the stored bytes were found not to match ``sha256``; downloads are then refused.
    integrity_failed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    custody: Mapped[list[CustodyEntry]] = relationship(
        back_populates="item", order_by="CustodyEntry.ledger_seq"
    )


class CustodyEntry(Base):
    """One action on an item, and the ledger entry that records it."""

    __tablename__ = "evidence_custody"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    ledger_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    actor_org: Mapped[str | None] = mapped_column(String(32))

    item: Mapped[EvidenceItem] = relationship(back_populates="custody")


class EvidenceGrant(Base):
    """Access for one named user to one item, or to every item of a case, until a time."""

    __tablename__ = "evidence_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_urn: Mapped[str] = mapped_column(String(32), index=True)
    # The organisation that made the grant: it covers that organisation's items only, so a
    # whole-case grant never reaches evidence another force holds on the same case.
    organisation: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str | None] = mapped_column(ForeignKey("evidence_item.id"), index=True)
    grantee_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class EvidenceUpload(Base):
    """A resumable upload in progress: the bytes so far are in the staging file named by ``id``.

    The staging file, not this row, says how many bytes have arrived, so a crash between writing
    and committing cannot make the two disagree.
    """

    __tablename__ = "evidence_upload"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger)
    # The item's details, as given when the upload was created (tus Upload-Metadata).
    details: Mapped[dict[str, Any]]
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    item_id: Mapped[str | None] = mapped_column(ForeignKey("evidence_item.id"))
    failed_reason: Mapped[str | None] = mapped_column(Text)


class SubmissionLink(Base):
    """A single-use, expiring link a witness or member of the public uploads footage through."""

    __tablename__ = "evidence_submission_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_urn: Mapped[str] = mapped_column(String(32), index=True)
    organisation: Mapped[str] = mapped_column(String(32))
    # What the officer asked for, shown to the person who opens the link.
    request_text: Mapped[str] = mapped_column(Text)
    # Who sent the file, as they gave it: kept here, for the holding force alone, and never in
    # the item's record, its custody entries or a disclosure bundle.
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_contact: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    item_id: Mapped[str | None] = mapped_column(ForeignKey("evidence_item.id"))
