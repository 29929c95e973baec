"""Consent: a person's current yes or no per organisation and purpose (history in the ledger).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 20:50:09.043093
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import onestory.store.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_kind", sa.String(length=32), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent")),
        sa.UniqueConstraint(
            "subject_id",
            "organisation_kind",
            "organisation_code",
            "purpose",
            name="uq_consent_subject_organisation_purpose",
        ),
    )


def downgrade() -> None:
    op.drop_table("consent")
