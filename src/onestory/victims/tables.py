"""Tell us once: a victim, their story (every version kept), who it goes to, what happens next.

The victim's words are split by what they are for, because agencies need different parts:
``Victim`` is who they are (record kind ``victim``), ``StoryVersion`` is what happened
(``victim_story``), and ``ContactPreferences`` is their needs and how and when it is safe to
contact them (``victim_contact``). A Witness Care Unit, for example, may read the last two but
not the account of the crime.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onestory.store.base import Base, utcnow


class Victim(Base):
    """A person who told OneStory their story; ``id`` is their subject id everywhere."""

    __tablename__ = "victim"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[ContactPreferences | None] = relationship(back_populates="victim")
    stories: Mapped[list[Story]] = relationship(back_populates="victim")


class ContactPreferences(Base):
    """The victim's needs and safe-contact instructions: shown first to every agency."""

    __tablename__ = "victim_contact"

    victim_id: Mapped[str] = mapped_column(ForeignKey("victim.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), default="en")  # en, cy, or other
    other_language: Mapped[str | None] = mapped_column(String(100))
    interpreter: Mapped[bool] = mapped_column(default=False)
    accessibility: Mapped[str | None] = mapped_column(Text)
    disability: Mapped[str | None] = mapped_column(Text)
    circumstances: Mapped[list[str]] = mapped_column(default=list)
    channels: Mapped[list[str]] = mapped_column(default=list)
    safe_times: Mapped[list[str]] = mapped_column(default=list)
    no_messages: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    victim: Mapped[Victim] = relationship(back_populates="contact")


class Story(Base):
    """One story, told once; its text lives in versions, its sharing in recipients."""

    __tablename__ = "story"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    victim_id: Mapped[str] = mapped_column(ForeignKey("victim.id"), index=True)
    police_area: Mapped[str] = mapped_column(String(8))
    enhanced: Mapped[bool] = mapped_column(default=False)
    case_urn: Mapped[str | None] = mapped_column(String(16), index=True)
    crime_reference: Mapped[str | None] = mapped_column(String(40))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    current_version: Mapped[int] = mapped_column(default=1)
    # The draft it was submitted from: a second press of "Submit" finds this story.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)

    victim: Mapped[Victim] = relationship(back_populates="stories")
    versions: Mapped[list[StoryVersion]] = relationship(
        back_populates="story", order_by="StoryVersion.version"
    )
    recipients: Mapped[list[StoryRecipient]] = relationship(back_populates="story")


class StoryVersion(Base):
    """What happened, in the victim's words, as they told it on one day."""

    __tablename__ = "story_version"
    __table_args__ = (UniqueConstraint("story_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id"))
    version: Mapped[int]
    what_happened: Mapped[str] = mapped_column(Text)
    happened_on: Mapped[date | None]
    happened_where: Mapped[str | None] = mapped_column(Text)
    crime_reference: Mapped[str | None] = mapped_column(String(40))
    changed: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    story: Mapped[Story] = relationship(back_populates="versions")


class StoryRecipient(Base):
    """An organisation a story goes to, for one purpose, under one agreement.

    ``seen_version`` is the version the organisation last opened, so its worklist can say
    "updated" and show only what changed.
    """

    __tablename__ = "story_recipient"
    __table_args__ = (UniqueConstraint("story_id", "organisation_code", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id"))
    organisation_code: Mapped[str] = mapped_column(String(32), index=True)
    organisation_kind: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(32))
    agreement_id: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_version: Mapped[int] = mapped_column(default=0)

    story: Mapped[Story] = relationship(back_populates="recipients")


class StoryDraft(Base):
    """Answers given so far, kept in the database so that nothing is lost when a session
    expires mid-journey; one draft per account."""

    __tablename__ = "story_draft"

    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    answers: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PersonalStatement(Base):
    """A Victim Personal Statement (Right 7): every version kept; withdrawn is a state."""

    __tablename__ = "personal_statement"
    __table_args__ = (UniqueConstraint("story_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id"))
    version: Mapped[int]
    text: Mapped[str | None] = mapped_column(Text)
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseEvent(Base):
    """Something that happened in the case, for the victim's timeline.

    Found by the case's keys rather than tied to one story, so that an event that arrives before
    the police link a story to its case still shows once they do.
    """

    __tablename__ = "case_event"
    __table_args__ = (
        Index("ix_case_event_case_urn_occurred_at", "case_urn", "occurred_at"),
        Index("ix_case_event_story_reference", "story_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(80), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    # The Victims' Code triggers this event is (see victims.duties.TRIGGERS); may be empty.
    triggers: Mapped[list[str]] = mapped_column(default=list)
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation_code: Mapped[str] = mapped_column(String(32))
    case_urn: Mapped[str | None] = mapped_column(String(16))
    story_reference: Mapped[str | None] = mapped_column(String(16))
    headline: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]]
    facts: Mapped[dict[str, Any]]


class DutyClock(Base):
    """A Victims' Code duty owed on one story, opened by an event, closed by the act itself."""

    __tablename__ = "duty_clock"
    __table_args__ = (
        UniqueConstraint("story_id", "rule_id", "opened_by"),
        Index("ix_duty_clock_owner_due", "owner_code", "met_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(16))
    code_version: Mapped[str] = mapped_column(String(16))
    owner_kind: Mapped[str] = mapped_column(String(32))
    owner_code: Mapped[str | None] = mapped_column(String(32))
    opened_by: Mapped[str] = mapped_column(String(80))  # "case-event:12" or "story:3"
    case_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"))
    enhanced: Mapped[bool]
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    closed_by: Mapped[list[str]] = mapped_column()
    met_at: Mapped[datetime | None]
    met_by: Mapped[str | None] = mapped_column(String(80))


class Complaint(Base):
    """A complaint that a right was not met (Right 12); it opens duty R12.1."""

    __tablename__ = "victim_complaint"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("story.id"), index=True)
    organisation_code: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)
