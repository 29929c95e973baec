"""The consent table: a person's current yes or no, per organisation and purpose.

One row per (person, organisation kind, organisation, purpose) holds the current state; each
change rewrites the row and appends a ledger entry in the same transaction, so the ledger is
the history and this table is the fast answer to "may we, right now?".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onestory.store.base import Base, utcnow

# organisation_code for consent given to every organisation of a kind ("any victim support
# service"). An empty string rather than NULL, because NULLs never collide in a unique
# constraint on either database and two kind-wide rows could then coexist.
EVERY_ORGANISATION = ""


class Consent(Base):
    """Whether a person currently consents to an organisation using their data for a purpose."""

    __tablename__ = "consent"
    __table_args__ = (
        # Named by hand: the conventional name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            "subject_id",
            "organisation_kind",
            "organisation_code",
            "purpose",
            name="uq_consent_subject_organisation_purpose",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64))
    organisation_kind: Mapped[str] = mapped_column(String(32))
    organisation_code: Mapped[str] = mapped_column(String(32), default=EVERY_ORGANISATION)
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(64))
