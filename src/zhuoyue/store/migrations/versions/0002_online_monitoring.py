"""Online monitoring: the monitor's saved state per characteristic, alarms, rejected machine
messages (dead letters) and notification channels.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

#: timezone-aware timestamp (models.UTCDateTime): integer microseconds since the epoch on SQLite
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
#: JSON document (models.JsonDoc)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
#: id of a big table (models.BigId): INTEGER on SQLite, the rowid alias
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OPEN = sa.text("status = 'open'")

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, source: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=op.f(f"fk_{source}_{column}_{table}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "dead_letter",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("topic", sa.String(length=400), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("copies", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("last_received_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "source IN ('mqtt', 'opcua', 'http')", name=op.f("ck_dead_letter_source_known")
        ),
        _fk("org_id", "organization", "dead_letter", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letter")),
    )
    op.create_index("ix_dead_letter_org_id_received_at", "dead_letter", ["org_id", "received_at"])
    op.create_index("uq_dead_letter_digest", "dead_letter", ["digest"], unique=True)

    op.create_table(
        "notification_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("min_severity", sa.String(length=20), server_default="warning", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('webhook', 'email')", name=op.f("ck_notification_channel_kind_known")
        ),
        sa.CheckConstraint(
            "min_severity IN ('warning', 'critical')",
            name=op.f("ck_notification_channel_min_severity_known"),
        ),
        _fk("created_by", "user_account", "notification_channel", "SET NULL"),
        _fk("org_id", "organization", "notification_channel", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint(
            "org_id", "kind", "target", name=op.f("uq_notification_channel_org_id_kind_target")
        ),
    )
    op.create_index(op.f("ix_notification_channel_org_id"), "notification_channel", ["org_id"])

    op.create_table(
        "alarm",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("panel", sa.String(length=20), nullable=True),
        sa.Column("test", sa.Integer(), nullable=True),
        sa.Column("dedup_key", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.Column("detail", JSON_DOC, nullable=False),
        sa.Column("signals", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("last_signal_at", TIMESTAMP, nullable=False),
        sa.Column("first_point_ts", TIMESTAMP, nullable=True),
        sa.Column("last_point_ts", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("assignable_cause", sa.Text(), nullable=True),
        sa.Column("corrective_action", sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('rule', 'spec')", name=op.f("ck_alarm_kind_known")),
        sa.CheckConstraint(
            "severity IN ('warning', 'critical')", name=op.f("ck_alarm_severity_known")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged')", name=op.f("ck_alarm_status_known")
        ),
        sa.CheckConstraint("signals >= 1", name=op.f("ck_alarm_signals_positive")),
        _fk("acknowledged_by", "user_account", "alarm", "SET NULL"),
        _fk("characteristic_id", "characteristic", "alarm", "CASCADE"),
        _fk("org_id", "organization", "alarm", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm")),
    )
    op.create_index(op.f("ix_alarm_characteristic_id"), "alarm", ["characteristic_id"])
    op.create_index("ix_alarm_org_id_status_opened_at", "alarm", ["org_id", "status", "opened_at"])
    op.create_index(
        "uq_alarm_open",
        "alarm",
        ["characteristic_id", "dedup_key"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )

    op.create_table(
        "monitor_state",
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("limits_id", sa.Integer(), nullable=True),
        sa.Column("state", JSON_DOC, nullable=False),
        sa.Column("n_values", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_measurement_id", sa.BigInteger(), nullable=True),
        sa.Column("last_ts", TIMESTAMP, nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _fk("characteristic_id", "characteristic", "monitor_state", "CASCADE"),
        _fk("limits_id", "control_limits", "monitor_state", "SET NULL"),
        sa.PrimaryKeyConstraint("characteristic_id", name=op.f("pk_monitor_state")),
    )


def downgrade() -> None:
    op.drop_table("monitor_state")
    op.drop_table("alarm")
    op.drop_table("notification_channel")
    op.drop_table("dead_letter")
