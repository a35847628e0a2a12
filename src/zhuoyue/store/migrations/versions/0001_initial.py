"""Initial schema: organizations, master data, measurements, yields and costs, assessments,
accounts, audit log.

Timestamps are ``timestamptz`` on PostgreSQL and integer microseconds since the Unix epoch
(UTC) on SQLite, as :class:`zhuoyue.store.models.UTCDateTime` reads and writes them.

Revision ID: 0001
Revises:
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
#: quality cost categories at this revision (zhuoyue.stats.yields.CATEGORIES)
COST_CATEGORIES = (
    "prevention",
    "appraisal",
    "internal.scrap",
    "internal.rework",
    "internal.downgrade",
    "internal.downtime",
    "internal.incident",
    "external.claim",
    "external.return",
    "external.discount",
    "external.warranty",
)
#: id of a big table (models.BigId): INTEGER on SQLite, the rowid alias
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("industry_code", sa.String(length=5), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "length(credit_code) = 18", name=op.f("ck_organization_credit_code_length")
        ),
        sa.CheckConstraint(
            "length(region_code) = 6", name=op.f("ck_organization_region_code_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("code", name=op.f("uq_organization_code")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organization_credit_code")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("locale", sa.String(length=10), server_default="zh", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_api_token_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_api_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_org_id"), "api_token", ["org_id"], unique=False)
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"], unique=False)

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="draft", nullable=False),
        sa.Column("answers", JSON_DOC, nullable=False),
        sa.Column("result", JSON_DOC, nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("declared_at", TIMESTAMP, nullable=True),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("verified_at", TIMESTAMP, nullable=True),
        sa.Column("verified_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'self_declared', 'verified')",
            name=op.f("ck_assessment_status_known"),
        ),
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_assessment_level_range")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["user_account.id"],
            name=op.f("fk_assessment_created_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["declared_by"],
            ["user_account.id"],
            name=op.f("fk_assessment_declared_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_assessment_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verified_by"],
            ["user_account.id"],
            name=op.f("fk_assessment_verified_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    op.create_index("ix_assessment_org_id_year", "assessment", ["org_id", "year"], unique=False)

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'quality_manager', 'quality_engineer', 'viewer', 'supplier', 'assessor')",
            name=op.f("ck_membership_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_membership_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_membership_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint("user_id", "org_id", name=op.f("uq_membership_user_id_org_id")),
    )
    op.create_index(op.f("ix_membership_org_id"), "membership", ["org_id"], unique=False)

    op.create_table(
        "output_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("total_output_value", sa.Double(), nullable=False),
        sa.CheckConstraint(
            "total_output_value > 0", name=op.f("ck_output_value_total_output_value_positive")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_output_value_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_output_value")),
        sa.UniqueConstraint("org_id", "year", name=op.f("uq_output_value_org_id_year")),
    )
    op.create_table(
        "process_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_process_step_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_process_step")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_process_step_org_id_code")),
    )
    op.create_index(op.f("ix_process_step_org_id"), "process_step", ["org_id"], unique=False)

    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_product_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_product_org_id_code")),
    )
    op.create_index(op.f("ix_product_org_id"), "product", ["org_id"], unique=False)

    op.create_table(
        "quality_cost",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("amount", sa.Double(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("row_key", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "category IN (" + ", ".join(repr(c) for c in COST_CATEGORIES) + ")",
            name=op.f("ck_quality_cost_category_known"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_quality_cost_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_quality_cost_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_cost")),
        sa.UniqueConstraint("org_id", "row_key", name=op.f("uq_quality_cost_org_id_row_key")),
    )
    op.create_index("ix_quality_cost_org_id_date", "quality_cost", ["org_id", "date"], unique=False)

    op.create_table(
        "site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_site_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_site_org_id_code")),
    )
    op.create_index(op.f("ix_site_org_id"), "site", ["org_id"], unique=False)

    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_user_session_org_id_organization"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_session_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"], unique=False)

    op.create_table(
        "assessment_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=80), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_evidence_assessment_id_assessment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["user_account.id"],
            name=op.f("fk_assessment_evidence_uploaded_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_evidence")),
    )
    op.create_index(
        op.f("ix_assessment_evidence_assessment_id"),
        "assessment_evidence",
        ["assessment_id"],
        unique=False,
    )

    op.create_table(
        "assessment_share",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_assessment_share_assessment_id_assessment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_share_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", "user_id", name=op.f("pk_assessment_share")),
    )
    op.create_index(
        op.f("ix_assessment_share_user_id"), "assessment_share", ["user_id"], unique=False
    )

    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=True),
        sa.Column("before", JSON_DOC, nullable=True),
        sa.Column("after", JSON_DOC, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_audit_log_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_token.id"],
            name=op.f("fk_audit_log_token_id_api_token"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_audit_log_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_entity_entity_id", "audit_log", ["entity", "entity_id"], unique=False
    )
    op.create_index("ix_audit_log_org_id_at", "audit_log", ["org_id", "at"], unique=False)

    op.create_table(
        "characteristic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Integer(), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("lsl", sa.Double(), nullable=True),
        sa.Column("usl", sa.Double(), nullable=True),
        sa.Column("target", sa.Double(), nullable=True),
        sa.Column("subgroup_size", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("key", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("chart", sa.String(length=20), nullable=True),
        sa.Column("rules", sa.String(length=40), server_default="gb4091", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "lsl IS NULL OR usl IS NULL OR lsl < usl", name=op.f("ck_characteristic_lsl_below_usl")
        ),
        sa.CheckConstraint(
            "subgroup_size >= 1", name=op.f("ck_characteristic_subgroup_size_positive")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_characteristic_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_characteristic_product_id_product"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["process_step.id"],
            name=op.f("fk_characteristic_step_id_process_step"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_characteristic")),
        sa.UniqueConstraint("org_id", "code", name=op.f("uq_characteristic_org_id_code")),
    )
    op.create_index(op.f("ix_characteristic_org_id"), "characteristic", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_characteristic_product_id"), "characteristic", ["product_id"], unique=False
    )
    op.create_index(op.f("ix_characteristic_step_id"), "characteristic", ["step_id"], unique=False)

    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("step_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("lot", sa.String(length=100), nullable=True),
        sa.Column("submitted", sa.Integer(), nullable=False),
        sa.Column("passed_first", sa.Integer(), nullable=False),
        sa.Column("defects", sa.Integer(), nullable=True),
        sa.Column("defect_code", sa.String(length=40), nullable=True),
        sa.Column("row_key", sa.String(length=40), nullable=False),
        sa.CheckConstraint("defects >= 0", name=op.f("ck_inspection_defects_not_negative")),
        sa.CheckConstraint(
            "passed_first <= submitted", name=op.f("ck_inspection_passed_first_le_submitted")
        ),
        sa.CheckConstraint(
            "passed_first >= 0", name=op.f("ck_inspection_passed_first_not_negative")
        ),
        sa.CheckConstraint("submitted >= 0", name=op.f("ck_inspection_submitted_not_negative")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_inspection_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_inspection_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["process_step.id"], name=op.f("fk_inspection_step_id_process_step")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
        sa.UniqueConstraint("org_id", "row_key", name=op.f("uq_inspection_org_id_row_key")),
    )
    op.create_index("ix_inspection_org_id_date", "inspection", ["org_id", "date"], unique=False)
    op.create_index(op.f("ix_inspection_product_id"), "inspection", ["product_id"], unique=False)
    op.create_index(op.f("ix_inspection_step_id"), "inspection", ["step_id"], unique=False)

    op.create_table(
        "product_quality",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("defective", sa.BigInteger(), nullable=True),
        sa.Column("defects", sa.BigInteger(), nullable=True),
        sa.Column("opportunities", sa.Integer(), nullable=True),
        sa.Column("row_key", sa.String(length=40), nullable=False),
        sa.CheckConstraint(
            "defective >= 0 AND defective <= units",
            name=op.f("ck_product_quality_defective_in_units"),
        ),
        sa.CheckConstraint("defects >= 0", name=op.f("ck_product_quality_defects_not_negative")),
        sa.CheckConstraint(
            "opportunities >= 1", name=op.f("ck_product_quality_opportunities_positive")
        ),
        sa.CheckConstraint("units >= 0", name=op.f("ck_product_quality_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_product_quality_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_product_quality_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_quality")),
        sa.UniqueConstraint("org_id", "row_key", name=op.f("uq_product_quality_org_id_row_key")),
    )
    op.create_index(op.f("ix_product_quality_org_id"), "product_quality", ["org_id"], unique=False)
    op.create_index(
        op.f("ix_product_quality_product_id"), "product_quality", ["product_id"], unique=False
    )

    op.create_table(
        "characteristic_share",
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristic.id"],
            name=op.f("fk_characteristic_share_characteristic_id_characteristic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_characteristic_share_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "characteristic_id", "user_id", name=op.f("pk_characteristic_share")
        ),
    )
    op.create_index(
        op.f("ix_characteristic_share_user_id"), "characteristic_share", ["user_id"], unique=False
    )

    op.create_table(
        "control_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("chart", sa.String(length=20), nullable=False),
        sa.Column("limits", JSON_DOC, nullable=False),
        sa.Column("sigma", sa.Double(), nullable=True),
        sa.Column("n_subgroups", sa.Integer(), nullable=True),
        sa.Column("frozen_at", TIMESTAMP, nullable=False),
        sa.Column("frozen_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("superseded_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristic.id"],
            name=op.f("fk_control_limits_characteristic_id_characteristic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["frozen_by"],
            ["user_account.id"],
            name=op.f("fk_control_limits_frozen_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_limits")),
    )
    op.create_index(
        op.f("ix_control_limits_characteristic_id"),
        "control_limits",
        ["characteristic_id"],
        unique=False,
    )
    op.create_index(
        "uq_control_limits_active",
        "control_limits",
        ["characteristic_id"],
        unique=True,
        sqlite_where=sa.text("active"),
        postgresql_where=sa.text("active"),
    )

    op.create_table(
        "measurement",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("characteristic_id", sa.Integer(), nullable=False),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("subgroup", sa.Integer(), nullable=True),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("lot", sa.String(length=100), nullable=True),
        sa.Column("serial", sa.String(length=100), nullable=True),
        sa.Column("machine", sa.String(length=100), nullable=True),
        sa.Column("operator", sa.String(length=100), nullable=True),
        sa.Column("msg_id", sa.String(length=100), nullable=True),
        sa.CheckConstraint("seq >= 0", name=op.f("ck_measurement_seq_not_negative")),
        sa.CheckConstraint("subgroup >= 0", name=op.f("ck_measurement_subgroup_not_negative")),
        sa.ForeignKeyConstraint(
            ["characteristic_id"],
            ["characteristic.id"],
            name=op.f("fk_measurement_characteristic_id_characteristic"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement")),
    )
    op.create_index(
        "uq_measurement_key", "measurement", ["characteristic_id", "ts", "seq"], unique=True
    )
    op.create_index(
        "uq_measurement_msg_id",
        "measurement",
        ["characteristic_id", "msg_id"],
        unique=True,
        sqlite_where=sa.text("msg_id IS NOT NULL"),
        postgresql_where=sa.text("msg_id IS NOT NULL"),
    )


def downgrade() -> None:
    # children first
    op.drop_table("measurement")
    op.drop_table("control_limits")
    op.drop_table("characteristic_share")
    op.drop_table("product_quality")
    op.drop_table("inspection")
    op.drop_table("characteristic")
    op.drop_table("audit_log")
    op.drop_table("assessment_share")
    op.drop_table("assessment_evidence")
    op.drop_table("user_session")
    op.drop_table("site")
    op.drop_table("quality_cost")
    op.drop_table("product")
    op.drop_table("process_step")
    op.drop_table("output_value")
    op.drop_table("membership")
    op.drop_table("assessment")
    op.drop_table("api_token")
    op.drop_table("user_account")
    op.drop_table("organization")
