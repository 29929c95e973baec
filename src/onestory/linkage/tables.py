"""The person index: who each agency record really is, and how that came to be decided.

A ``Person`` id is public and stable: staff quote it, other agencies store it, so a later run
must never hand the same people a new one. When runs change their minds the change is kept
(``PersonChange``): two persons found to be one are *merged* (the older id survives, the other
points at it), one person found to be two is *split* (the larger part keeps the id). People
overrule the model (``LinkOverride``), and pairs the model is unsure of wait for them in the
review queue (``ReviewItem``).
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, JSONDocument, utcnow

ACTIVE = "active"
MERGED = "merged"
PERSON_STATUSES = (ACTIVE, MERGED)

# How a record came to belong to its person.
BY_MODEL = "model"  # a full run's clustering
BY_MATCH = "match"  # incremental matching against the index
BY_OVERRIDE = "override"  # a person's "always" decision
BY_NEW = "new"  # nothing matched: the record is a new person
MEMBER_HOWS = (BY_MODEL, BY_MATCH, BY_OVERRIDE, BY_NEW)

ALWAYS = "always"
NEVER = "never"
OVERRIDE_RULES = (ALWAYS, NEVER)

OPEN = "open"
ACCEPTED = "accepted"
REJECTED = "rejected"
REVIEW_STATUSES = (OPEN, ACCEPTED, REJECTED)

CHANGE_MERGED = "merged"
CHANGE_SPLIT = "split"
CHANGE_KINDS = (CHANGE_MERGED, CHANGE_SPLIT)

FULL = "full"
INCREMENTAL = "incremental"
RUN_KINDS = (FULL, INCREMENTAL)

PERSON_ID_PREFIX = "P-"


def new_person_id() -> str:
    """``P-`` and 12 base32 letters (60 random bits): easy to read aloud, hard to guess."""
    return PERSON_ID_PREFIX + b32encode(secrets.token_bytes(10)).decode("ascii")[:12]


def pair_key(record_a: str, record_b: str) -> tuple[str, str]:
    """A pair in one spelling (smaller id first), so (a, b) and (b, a) are the same row."""
    return (record_a, record_b) if record_a <= record_b else (record_b, record_a)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Person(Base):
    """One real person, as the index knows them."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint(_in("status", PERSON_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default=ACTIVE)
    # For a merged person: the person they turned out to be (who may later be merged in turn).
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"))


class PersonMember(Base):
    """Which person an agency record is about (every linked record has exactly one row)."""

    __tablename__ = "person_member"
    __table_args__ = (CheckConstraint(_in("how", MEMBER_HOWS), name="how"),)

    record_id: Mapped[str] = mapped_column(
        ForeignKey("agency_record.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    how: Mapped[str] = mapped_column(String(8))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"))


class LinkOverride(Base):
    """A person's decision about two records: always the same person, or never.

    One row per pair (``record_a`` < ``record_b``); deciding again replaces the decision, and
    every decision is in the ledger.
    """

    __tablename__ = "link_override"
    __table_args__ = (
        UniqueConstraint("record_a", "record_b"),
        CheckConstraint("record_a < record_b", name="ordered"),
        CheckConstraint(_in("rule", OVERRIDE_RULES), name="rule"),
        Index("ix_link_override_record_b", "record_b"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[str] = mapped_column(ForeignKey("agency_record.id", ondelete="CASCADE"))
    record_b: Mapped[str] = mapped_column(ForeignKey("agency_record.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(8))
    decided_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewItem(Base):
    """A pair the model is unsure of, waiting for a person to decide (queued once per pair)."""

    __tablename__ = "link_review_item"
    __table_args__ = (
        UniqueConstraint("record_a", "record_b"),
        CheckConstraint("record_a < record_b", name="ordered"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status"),
        Index("ix_link_review_item_status_weight", "status", "match_weight"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_a: Mapped[str] = mapped_column(ForeignKey("agency_record.id", ondelete="CASCADE"))
    record_b: Mapped[str] = mapped_column(ForeignKey("agency_record.id", ondelete="CASCADE"))
    match_weight: Mapped[float] = mapped_column(Float)
    match_probability: Mapped[float] = mapped_column(Float)
    # model.Explanation as JSON: the total and one row per comparison (level, weight, values).
    explanation: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(8), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)


class PersonChange(Base):
    """A merge (several ids became one) or a split (one id became several), as a run found it."""

    __tablename__ = "person_change"
    __table_args__ = (CheckConstraint(_in("kind", CHANGE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    from_ids: Mapped[list[str]] = mapped_column(JSONDocument)
    to_ids: Mapped[list[str]] = mapped_column(JSONDocument)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("linkage_run.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))


class LinkageModel(Base):
    """A trained Splink model (its settings JSON with the m and u of every level), versioned."""

    __tablename__ = "linkage_model"

    version: Mapped[int] = mapped_column(primary_key=True)
    settings: Mapped[dict[str, Any]]
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    rows: Mapped[int]
    trained_by: Mapped[str] = mapped_column(String(80))


class LinkageRun(Base):
    """One run of the linkage (full or incremental): when, with which model, what it changed."""

    __tablename__ = "linkage_run"
    __table_args__ = (CheckConstraint(_in("kind", RUN_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    model_version: Mapped[int | None] = mapped_column(ForeignKey("linkage_model.version"))
    # records, pairs, persons_created, merged, split, attached, review_added, seconds...
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
