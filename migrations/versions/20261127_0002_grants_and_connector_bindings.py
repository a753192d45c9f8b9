"""grants and connector bindings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    policy_state = op.create_table(
        "policy_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_state")),
    )
    # The single row every process polls for the grant policy's version.
    op.bulk_insert(
        policy_state, [{"id": 1, "version": 0, "updated_at": datetime(2026, 11, 27, tzinfo=UTC)}]
    )
    # The casbin policy derived from the approved grants (sqlalchemy-adapter's layout) and
    # the log of which grants each policy version changed (for incremental reloads).
    op.create_table(
        "casbin_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ptype", sa.String(length=255), nullable=False),
        sa.Column("v0", sa.String(length=255), nullable=True),
        sa.Column("v1", sa.String(length=255), nullable=True),
        sa.Column("v2", sa.String(length=255), nullable=True),
        sa.Column("v3", sa.String(length=255), nullable=True),
        sa.Column("v4", sa.String(length=255), nullable=True),
        sa.Column("v5", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_casbin_rule")),
    )
    with op.batch_alter_table("casbin_rule", schema=None) as batch_op:
        batch_op.create_index("ix_casbin_rule_ptype_v5", ["ptype", "v5"], unique=False)
    op.create_table(
        "policy_changes",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("grant_ids", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_changes")),
    )
    op.create_table(
        "connector_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("adapter", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secrets_encrypted", sa.Text(), nullable=True),
        sa.Column("key_item", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("resilience", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
            name=op.f("fk_connector_bindings_resource_id_resources"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_bindings")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_connector_bindings_resource_id")),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("consumer_department_id", sa.Integer(), nullable=False),
        sa.Column("consumer_system_id", sa.Integer(), nullable=True),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("need", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=160), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=160), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("certified_on", sa.Date(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer_department_id"],
            ["departments.id"],
            name=op.f("fk_grants_consumer_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["consumer_system_id"],
            ["systems.id"],
            name=op.f("fk_grants_consumer_system_id_systems"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"], ["resources.id"], name=op.f("fk_grants_resource_id_resources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index(
            "ix_grants_consumer_department_id_status",
            ["consumer_department_id", "status"],
            unique=False,
        )
        batch_op.create_index(
            "ix_grants_status_resource_id", ["status", "resource_id"], unique=False
        )

    op.create_table(
        "connector_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["connector_bindings.id"],
            name=op.f("fk_connector_checks_binding_id_connector_bindings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_checks")),
    )
    with op.batch_alter_table("connector_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_checks_binding_id"), ["binding_id"], unique=False
        )

    op.create_table(
        "grant_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
            name=op.f("fk_grant_events_grant_id_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_events")),
    )
    with op.batch_alter_table("grant_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_events_grant_id"), ["grant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grant_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_events_grant_id"))

    op.drop_table("grant_events")
    with op.batch_alter_table("connector_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_checks_binding_id"))

    op.drop_table("connector_checks")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_status_resource_id")
        batch_op.drop_index("ix_grants_consumer_department_id_status")

    op.drop_table("grants")
    op.drop_table("connector_bindings")
    op.drop_table("policy_state")
    op.drop_table("policy_changes")
    with op.batch_alter_table("casbin_rule", schema=None) as batch_op:
        batch_op.drop_index("ix_casbin_rule_ptype_v5")

    op.drop_table("casbin_rule")
