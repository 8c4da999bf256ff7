"""the store console: staff accounts and sessions, and SKU barcodes for its scan box

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(sa.Column("barcode", S(length=14), nullable=True))
        batch_op.create_index(batch_op.f("ix_sku_barcode"), ["barcode"], unique=False)
    op.create_table(
        "staffaccount",
        sa.Column("username", S(length=64), nullable=False),
        sa.Column("password_hash", S(length=200), nullable=False),
        sa.Column("location_id", S(length=64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    with op.batch_alter_table("staffaccount", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staffaccount_location_id"), ["location_id"], unique=False
        )
    op.create_table(
        "consolesession",
        sa.Column("session_hash", S(length=128), nullable=False),
        sa.Column("role", S(length=16), nullable=False),
        sa.Column("name", S(length=64), nullable=False),
        sa.Column("location_id", S(length=64), nullable=True),
        sa.Column("csrf", S(length=64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("expires_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    with op.batch_alter_table("consolesession", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consolesession_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("consolesession")
    op.drop_table("staffaccount")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_barcode"))
        batch_op.drop_column("barcode")
