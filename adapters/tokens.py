"""API tokens: random secrets handed out once, stored only as SHA-256 hashes, each with a public
id; a token may expire, and may be revoked, which every API process honours within a second."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import col
from sqlmodel import select as orm_select

from adapters.db import read_scope, session_scope
from adapters.tables import ApiToken, utcnow
from domain.errors import NotFound

TOKENS = ApiToken.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Principal:
    role: str  # admin, channel, staff
    channel: str | None = None
    location_id: str | None = None
    token_id: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CACHE_SECONDS = 30.0  # a resolved token is trusted this long (revocations cut it short)
CACHE_SIZE = 10_000
REVOCATION_POLL_S = 0.5  # how often each process looks for revocations
LAST_USED_EVERY = timedelta(minutes=1)  # `last_used_at` is kept to the minute


@dataclass
class _Known:
    until: float  # monotonic
    principal: Principal
    expires_at: datetime | None


class TokenRepository:
    """Tokens are looked up by hash; a known token's rights are kept in memory for
    `CACHE_SECONDS`, and dropped as soon as this process sees the token revoked (it looks every
    `REVOCATION_POLL_S`) or the token expires. Unknown tokens are always looked up."""

    def __init__(self, engine: Engine, *, admin_token: str) -> None:
        self.engine = engine
        self._admin_hash = hash_token(admin_token)
        self._cache: dict[str, _Known] = {}
        self._revoked_since = utcnow()
        self._polled = 0.0

    def issue(
        self, principal: Principal, *, label: str = "", expires_at: datetime | None = None
    ) -> tuple[str, str]:
        """A new token: (the secret, shown once; its public id)."""
        token = f"oms_{principal.role}_{secrets.token_urlsafe(24)}"
        token_id = f"tok_{secrets.token_hex(8)}"
        with session_scope(self.engine) as s:
            s.add(
                ApiToken(
                    token_hash=hash_token(token),
                    token_id=token_id,
                    role=principal.role,
                    channel=principal.channel,
                    location_id=principal.location_id,
                    label=label,
                    expires_at=expires_at,
                )
            )
        return token, token_id

    def known(self, token: str) -> Principal | None:
        """The token's rights if they are in memory (the admin token, or a token looked up in
        the last `CACHE_SECONDS`, neither revoked nor expired), without touching the database;
        None otherwise."""
        return self._remembered(hash_token(token))

    def resolve(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found = self._remembered(digest)
        if found is not None:
            return found
        now = utcnow()
        with read_scope(self.engine) as s:
            row = s.get(ApiToken, digest)
            if row is None or row.revoked_at is not None:
                return None
            if row.expires_at is not None and _aware(row.expires_at) <= now:
                return None
            found = Principal(
                role=row.role,
                channel=row.channel,
                location_id=row.location_id,
                token_id=row.token_id,
            )
            stale = row.last_used_at is None or _aware(row.last_used_at) < now - LAST_USED_EVERY
            expires = _aware(row.expires_at) if row.expires_at else None
        if stale:
            with session_scope(self.engine) as s:
                s.execute(
                    update(TOKENS).where(TOKENS.c.token_hash == digest).values(last_used_at=now)
                )
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[digest] = _Known(time.monotonic() + CACHE_SECONDS, found, expires)
        return found

    def _remembered(self, digest: str) -> Principal | None:
        if hmac.compare_digest(digest, self._admin_hash):
            return Principal(role="admin")
        hit = self._cache.get(digest)
        if hit is None or hit.until <= time.monotonic():
            return None
        if hit.expires_at is not None and hit.expires_at <= utcnow():
            self._cache.pop(digest, None)
            return None
        return hit.principal

    # --- revocation ------------------------------------------------------------------------

    def poll_due(self) -> bool:
        return time.monotonic() - self._polled >= REVOCATION_POLL_S

    def forget_revoked(self) -> int:
        """Drop from memory every token revoked since the last look (any process may have
        revoked it): how many were dropped."""
        self._polled = time.monotonic()
        since = self._revoked_since
        with read_scope(self.engine) as s:
            rows = s.execute(
                select(TOKENS.c.token_hash, TOKENS.c.revoked_at).where(TOKENS.c.revoked_at >= since)
            ).all()
        dropped = 0
        for digest, at in rows:
            dropped += self._cache.pop(digest, None) is not None
            self._revoked_since = max(self._revoked_since, _aware(at) - timedelta(seconds=2))
        return dropped

    def revoke(self, token_id: str) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            row = s.exec(orm_select(ApiToken).where(ApiToken.token_id == token_id)).first()
            if row is None:
                raise NotFound(f"token {token_id} does not exist")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                s.add(row)
            self._cache.pop(row.token_hash, None)
            return token_view(row)

    def list(self) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            rows = s.exec(orm_select(ApiToken).order_by(col(ApiToken.created_at)))
            return [token_view(r) for r in rows]


def token_view(row: ApiToken) -> dict[str, Any]:
    """A token as operators see it: never its secret."""

    def iso(at: datetime | None) -> str | None:
        return _aware(at).isoformat() if at else None

    return {
        "token_id": row.token_id,
        "role": row.role,
        "channel": row.channel,
        "location_id": row.location_id,
        "label": row.label,
        "created_at": iso(row.created_at),
        "expires_at": iso(row.expires_at),
        "last_used_at": iso(row.last_used_at),
        "revoked_at": iso(row.revoked_at),
    }


def _aware(at: datetime) -> datetime:
    """Datetimes read back from SQLite come without a zone; they are UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
