"""token ids, expiry and revocation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(
            sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    # tokens issued before ids get one from their hash (never the secret itself)
    op.execute(
        "UPDATE apitoken SET token_id = 'tok_' || substr(token_hash, 1, 16) WHERE token_id IS NULL"
    )
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.alter_column("token_id", nullable=False)
        batch_op.create_unique_constraint("uq_apitoken_token_id", ["token_id"])
        batch_op.create_index("ix_apitoken_revoked_at", ["revoked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("apitoken", schema=None) as batch_op:
        batch_op.drop_index("ix_apitoken_revoked_at")
        batch_op.drop_constraint("uq_apitoken_token_id", type_="unique")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("token_id")
