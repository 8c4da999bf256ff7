"""warehouses run by an execution system, carriers and tracking; goods sold by weight

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "carrier",
        sa.Column("carrier_id", S(length=64), nullable=False),
        sa.Column("name", S(length=200), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("cost_amount", sa.BigInteger(), nullable=False),
        sa.Column("max_weight_g", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("updated_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("carrier_id"),
    )
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("execution", S(length=8), nullable=False, server_default="staff")
        )
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sold_by", S(length=8), nullable=False, server_default="unit")
        )
        batch_op.add_column(sa.Column("weight_g", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("channelconfig", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logistics_carrier", S(length=64), nullable=True))
    with op.batch_alter_table("fulfilment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("execution", S(length=8), nullable=False, server_default="staff")
        )
        batch_op.add_column(
            sa.Column("carrier_reasons", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("tracking", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.create_index(
            batch_op.f("ix_fulfilment_tracking_no"), ["tracking_no"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("fulfilment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fulfilment_tracking_no"))
        batch_op.drop_column("tracking")
        batch_op.drop_column("carrier_reasons")
        batch_op.drop_column("execution")
    with op.batch_alter_table("channelconfig", schema=None) as batch_op:
        batch_op.drop_column("logistics_carrier")
    with op.batch_alter_table("sku", schema=None) as batch_op:
        batch_op.drop_column("weight_g")
        batch_op.drop_column("sold_by")
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_column("execution")
    op.drop_table("carrier")
