"""fresh food: scale item codes, weighed lines, substitutions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plu", S(length=5), nullable=True))
        batch_op.create_index(batch_op.f("ix_sku_plu"), ["plu"], unique=False)
    with op.batch_alter_table("orderline", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sold_by", S(length=8), nullable=False, server_default="unit")
        )
        batch_op.add_column(
            sa.Column("substitutes", S(length=64), nullable=False, server_default="")
        )
    op.create_table(
        "substitution",
        sa.Column("substitution_id", S(length=100), nullable=False),
        sa.Column("order_id", S(length=64), nullable=False),
        sa.Column("fulfilment_id", S(length=80), nullable=False),
        sa.Column("sku", S(length=64), nullable=False),
        sa.Column("with_sku", S(length=64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("status", S(length=16), nullable=False),
        sa.Column("decided_by", S(length=16), nullable=False),
        sa.Column("price_amount", sa.BigInteger(), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("proposed_at", T(), nullable=False),
        sa.Column("decided_at", T(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["order.order_id"]),
        sa.PrimaryKeyConstraint("substitution_id"),
    )
    with op.batch_alter_table("substitution", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_substitution_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("substitution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_substitution_order_id"))
    op.drop_table("substitution")
    with op.batch_alter_table("orderline", schema=None) as batch_op:
        batch_op.drop_column("substitutes")
        batch_op.drop_column("sold_by")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_plu"))
        batch_op.drop_column("plu")
