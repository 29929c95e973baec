"""Tell us once (victims' stories, duty clocks), the notify outbox, server-side sessions and
OpenID Connect identities; organisations get their police force area.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 15:44:33.494245
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import onestory.store.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column(
            "triggers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("occurred_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("case_urn", sa.String(length=16), nullable=True),
        sa.Column("story_reference", sa.String(length=16), nullable=True),
        sa.Column("headline", sa.String(length=300), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "facts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_event")),
        sa.UniqueConstraint("source_key", name=op.f("uq_case_event_source_key")),
    )
    op.create_index(
        "ix_case_event_case_urn_occurred_at",
        "case_event",
        ["case_urn", "occurred_at"],
        unique=False,
    )
    op.create_index(
        "ix_case_event_story_reference", "case_event", ["story_reference"], unique=False
    )
    op.create_table(
        "notify_message",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("recipient_subject_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column(
            "personalisation",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "next_attempt_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "contact_windows",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notify_message_idempotency_key")),
    )
    op.create_index(
        op.f("ix_notify_message_created_at"), "notify_message", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_notify_message_recipient_subject_id"),
        "notify_message",
        ["recipient_subject_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notify_message_reference"), "notify_message", ["reference"], unique=False
    )
    op.create_index(
        "ix_notify_message_status_next_attempt_at",
        "notify_message",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "external_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_account_id"],
            ["user_account.id"],
            name=op.f("fk_external_identity_user_account_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_external_identity_issuer_subject")),
    )
    op.create_index(
        op.f("ix_external_identity_user_account_id"),
        "external_identity",
        ["user_account_id"],
        unique=False,
    )
    op.create_table(
        "story_draft",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["user_account.id"], name=op.f("fk_story_draft_account_id_user_account")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_story_draft")),
        sa.UniqueConstraint("token", name=op.f("uq_story_draft_token")),
    )
    op.create_table(
        "victim",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["user_account.id"], name=op.f("fk_victim_account_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim")),
        sa.UniqueConstraint("account_id", name=op.f("uq_victim_account_id")),
    )
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_account_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=80), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_account_id"],
            ["user_account.id"],
            name=op.f("fk_web_session_user_account_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_session_token_hash")),
    )
    op.create_index(
        op.f("ix_web_session_user_account_id"), "web_session", ["user_account_id"], unique=False
    )
    op.create_table(
        "story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("victim_id", sa.String(length=36), nullable=False),
        sa.Column("police_area", sa.String(length=8), nullable=False),
        sa.Column("enhanced", sa.Boolean(), nullable=False),
        sa.Column("case_urn", sa.String(length=16), nullable=True),
        sa.Column("crime_reference", sa.String(length=40), nullable=True),
        sa.Column("submitted_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("submission_token", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_story_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story")),
        sa.UniqueConstraint("reference", name=op.f("uq_story_reference")),
        sa.UniqueConstraint("submission_token", name=op.f("uq_story_submission_token")),
    )
    op.create_index(op.f("ix_story_case_urn"), "story", ["case_urn"], unique=False)
    op.create_index(op.f("ix_story_victim_id"), "story", ["victim_id"], unique=False)
    op.create_table(
        "victim_contact",
        sa.Column("victim_id", sa.String(length=36), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("other_language", sa.String(length=100), nullable=True),
        sa.Column("interpreter", sa.Boolean(), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=True),
        sa.Column("disability", sa.Text(), nullable=True),
        sa.Column(
            "circumstances",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "safe_times",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("no_messages", sa.Boolean(), nullable=False),
        sa.Column("updated_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["victim_id"], ["victim.id"], name=op.f("fk_victim_contact_victim_id_victim")
        ),
        sa.PrimaryKeyConstraint("victim_id", name=op.f("pk_victim_contact")),
    )
    op.create_table(
        "duty_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=16), nullable=False),
        sa.Column("code_version", sa.String(length=16), nullable=False),
        sa.Column("owner_kind", sa.String(length=32), nullable=False),
        sa.Column("owner_code", sa.String(length=32), nullable=True),
        sa.Column("opened_by", sa.String(length=80), nullable=False),
        sa.Column("case_event_id", sa.Integer(), nullable=True),
        sa.Column("enhanced", sa.Boolean(), nullable=False),
        sa.Column("started_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "closed_by",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("met_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("met_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_event_id"],
            ["case_event.id"],
            name=op.f("fk_duty_clock_case_event_id_case_event"),
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["story.id"], name=op.f("fk_duty_clock_story_id_story")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_clock")),
        sa.UniqueConstraint(
            "story_id",
            "rule_id",
            "opened_by",
            name=op.f("uq_duty_clock_story_id_rule_id_opened_by"),
        ),
    )
    op.create_index(
        "ix_duty_clock_owner_due", "duty_clock", ["owner_code", "met_at", "due_at"], unique=False
    )
    op.create_index(op.f("ix_duty_clock_story_id"), "duty_clock", ["story_id"], unique=False)
    op.create_table(
        "personal_statement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["story.id"], name=op.f("fk_personal_statement_story_id_story")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_statement")),
        sa.UniqueConstraint(
            "story_id", "version", name=op.f("uq_personal_statement_story_id_version")
        ),
    )
    op.create_table(
        "story_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("organisation_kind", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("added_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["story.id"], name=op.f("fk_story_recipient_story_id_story")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_recipient")),
        sa.UniqueConstraint(
            "story_id",
            "organisation_code",
            "purpose",
            name=op.f("uq_story_recipient_story_id_organisation_code_purpose"),
        ),
    )
    op.create_index(
        op.f("ix_story_recipient_organisation_code"),
        "story_recipient",
        ["organisation_code"],
        unique=False,
    )
    op.create_table(
        "story_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=True),
        sa.Column("happened_where", sa.Text(), nullable=True),
        sa.Column("crime_reference", sa.String(length=40), nullable=True),
        sa.Column(
            "changed",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"], ["story.id"], name=op.f("fk_story_version_story_id_story")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_version")),
        sa.UniqueConstraint("story_id", "version", name=op.f("uq_story_version_story_id_version")),
    )
    op.create_table(
        "victim_complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("organisation_code", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["story_id"], ["story.id"], name=op.f("fk_victim_complaint_story_id_story")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_victim_complaint")),
        sa.UniqueConstraint("reference", name=op.f("uq_victim_complaint_reference")),
    )
    op.create_index(
        op.f("ix_victim_complaint_story_id"), "victim_complaint", ["story_id"], unique=False
    )
    op.add_column("organisation", sa.Column("police_area", sa.String(length=8), nullable=True))
    op.create_index(
        op.f("ix_organisation_police_area"), "organisation", ["police_area"], unique=False
    )

    op.create_table(
        "sign_in_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", onestory.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", onestory.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_account_id"],
            ["user_account.id"],
            name=op.f("fk_sign_in_link_user_account_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sign_in_link_token_hash")),
    )
    op.create_index(
        op.f("ix_sign_in_link_user_account_id"), "sign_in_link", ["user_account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_link_user_account_id"), table_name="sign_in_link")
    op.drop_table("sign_in_link")
    op.drop_index(op.f("ix_organisation_police_area"), table_name="organisation")
    op.drop_column("organisation", "police_area")
    op.drop_index(op.f("ix_victim_complaint_story_id"), table_name="victim_complaint")
    op.drop_table("victim_complaint")
    op.drop_table("story_version")
    op.drop_index(op.f("ix_story_recipient_organisation_code"), table_name="story_recipient")
    op.drop_table("story_recipient")
    op.drop_table("personal_statement")
    op.drop_index(op.f("ix_duty_clock_story_id"), table_name="duty_clock")
    op.drop_index("ix_duty_clock_owner_due", table_name="duty_clock")
    op.drop_table("duty_clock")
    op.drop_table("victim_contact")
    op.drop_index(op.f("ix_story_victim_id"), table_name="story")
    op.drop_index(op.f("ix_story_case_urn"), table_name="story")
    op.drop_table("story")
    op.drop_index(op.f("ix_web_session_user_account_id"), table_name="web_session")
    op.drop_table("web_session")
    op.drop_table("victim")
    op.drop_table("story_draft")
    op.drop_index(op.f("ix_external_identity_user_account_id"), table_name="external_identity")
    op.drop_table("external_identity")
    op.drop_index("ix_notify_message_status_next_attempt_at", table_name="notify_message")
    op.drop_index(op.f("ix_notify_message_reference"), table_name="notify_message")
    op.drop_index(op.f("ix_notify_message_recipient_subject_id"), table_name="notify_message")
    op.drop_index(op.f("ix_notify_message_created_at"), table_name="notify_message")
    op.drop_table("notify_message")
    op.drop_index("ix_case_event_story_reference", table_name="case_event")
    op.drop_index("ix_case_event_case_urn_occurred_at", table_name="case_event")
    op.drop_table("case_event")
