"""data objections (数据异议) with their history, and the data tracker's read record

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=256), nullable=False),
        sa.Column("key_item", sa.String(length=64), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("proposed_correction", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=160), nullable=False),
        sa.Column("raiser_department_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(length=128), nullable=True),
        sa.Column("audit_seq", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=24), nullable=True),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.String(length=160), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=160), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["departments.id"],
            name=op.f("fk_data_objections_provider_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["raiser_department_id"],
            ["departments.id"],
            name=op.f("fk_data_objections_raiser_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_data_objections_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_objections")),
    )
    with op.batch_alter_table("data_objections", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_objections_provider_id_status", ["provider_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_data_objections_raiser_department_id_status",
            ["raiser_department_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_data_objections_subject_key_resource_id",
            ["subject_key", "resource_id"],
            unique=False,
        )
    op.create_table(
        "objection_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objection_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objection_id"],
            ["data_objections.id"],
            name=op.f("fk_objection_events_objection_id_data_objections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_events")),
    )
    with op.batch_alter_table("objection_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_objection_events_objection_id"), ["objection_id"], unique=False
        )
    op.create_table(
        "tracker_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_hmac", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("token_id", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("view", sa.String(length=24), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=True),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracker_reads")),
    )
    with op.batch_alter_table("tracker_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracker_reads_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tracker_reads_subject_hmac"), ["subject_hmac"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tracker_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracker_reads_subject_hmac"))
        batch_op.drop_index(batch_op.f("ix_tracker_reads_at"))
    op.drop_table("tracker_reads")
    with op.batch_alter_table("objection_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objection_events_objection_id"))
    op.drop_table("objection_events")
    with op.batch_alter_table("data_objections", schema=None) as batch_op:
        batch_op.drop_index("ix_data_objections_subject_key_resource_id")
        batch_op.drop_index("ix_data_objections_raiser_department_id_status")
        batch_op.drop_index("ix_data_objections_provider_id_status")
    op.drop_table("data_objections")
