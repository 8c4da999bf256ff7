"""API tokens: random secrets handed out once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from adapters.db import read_scope, session_scope
from adapters.tables import ApiToken


@dataclass(frozen=True)
class Principal:
    role: str  # admin, channel, staff
    channel: str | None = None
    location_id: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CACHE_SECONDS = 30.0
CACHE_SIZE = 10_000


class TokenRepository:
    """Tokens are looked up by hash; a known token's rights are kept in memory for
    `CACHE_SECONDS` (tokens are never changed once issued), unknown ones are always looked up."""

    def __init__(self, engine: Engine, *, admin_token: str) -> None:
        self.engine = engine
        self._admin_hash = hash_token(admin_token)
        self._cache: dict[str, tuple[float, Principal]] = {}

    def issue(self, principal: Principal, *, label: str = "") -> str:
        token = f"oms_{principal.role}_{secrets.token_urlsafe(24)}"
        with session_scope(self.engine) as s:
            s.add(
                ApiToken(
                    token_hash=hash_token(token),
                    role=principal.role,
                    channel=principal.channel,
                    location_id=principal.location_id,
                    label=label,
                )
            )
        return token

    def known(self, token: str) -> Principal | None:
        """The token's rights if they are in memory (the admin token, or a token looked up in
        the last `CACHE_SECONDS`), without touching the database; None otherwise."""
        return self._remembered(hash_token(token))

    def resolve(self, token: str) -> Principal | None:
        digest = hash_token(token)
        found = self._remembered(digest)
        if found is not None:
            return found
        now = time.monotonic()
        with read_scope(self.engine) as s:
            row = s.get(ApiToken, digest)
            if row is None:
                return None
            found = Principal(role=row.role, channel=row.channel, location_id=row.location_id)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, found)
        return found

    def _remembered(self, digest: str) -> Principal | None:
        if hmac.compare_digest(digest, self._admin_hash):
            return Principal(role="admin")
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None
