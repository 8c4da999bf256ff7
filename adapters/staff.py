"""Store staff's console accounts (name and password, hashed with Argon2id) and their signed-in
sessions (a random id in an HttpOnly cookie, kept here as a hash, with the session's token for
its forms)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.engine import Engine

from adapters.db import read_scope, session_scope
from adapters.tables import ConsoleSession, StaffAccount, utcnow
from domain.errors import Conflict

SESSION_HOURS = 12
_hasher = PasswordHasher()


@dataclass(frozen=True)
class ConsoleUser:
    """Who is signed in: a location's staff, or an admin."""

    role: str  # staff | admin
    name: str
    location_id: str | None
    csrf: str  # the session's token, which every form it posts must carry


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class StaffAccounts:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, username: str, password: str, *, location_id: str) -> dict[str, str]:
        with session_scope(self.engine) as s:
            if s.get(StaffAccount, username) is not None:
                raise Conflict(
                    f"there is already an account {username}: choose another username",
                    details={"field": "username"},
                )
            s.add(
                StaffAccount(
                    username=username,
                    password_hash=_hasher.hash(password),
                    location_id=location_id,
                )
            )
        return {"username": username, "location_id": location_id}

    def put(self, username: str, password: str, *, location_id: str) -> None:
        """The account with this password, made or replaced (the demo stores' accounts)."""
        with session_scope(self.engine) as s:
            row = s.get(StaffAccount, username) or StaffAccount(
                username=username, password_hash="", location_id=location_id
            )
            row.password_hash = _hasher.hash(password)
            row.location_id = location_id
            s.add(row)

    def check(self, username: str, password: str) -> str | None:
        """The account's location when the password is right; None otherwise. (A wrong name
        costs as much as a wrong password: nothing tells them apart.)"""
        with read_scope(self.engine) as s:
            row = s.get(StaffAccount, username)
        stored = row.password_hash if row else _DUMMY
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        return row.location_id if row else None

    # --- sessions ------------------------------------------------------------------------------

    def open_session(self, *, role: str, name: str, location_id: str | None) -> str:
        """A new session: the secret for the cookie."""
        secret = secrets.token_urlsafe(32)
        with session_scope(self.engine) as s:
            s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < utcnow()))  # type: ignore[arg-type]
            s.add(
                ConsoleSession(
                    session_hash=_digest(secret),
                    role=role,
                    name=name,
                    location_id=location_id,
                    csrf=secrets.token_urlsafe(24),
                    expires_at=utcnow() + timedelta(hours=SESSION_HOURS),
                )
            )
        return secret

    def session(self, secret: str | None) -> ConsoleUser | None:
        if not secret:
            return None
        with read_scope(self.engine) as s:
            row = s.get(ConsoleSession, _digest(secret))
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if expires <= datetime.now(UTC):
            return None
        return ConsoleUser(row.role, row.name, row.location_id, row.csrf)

    def close_session(self, secret: str | None) -> None:
        if secret:
            with session_scope(self.engine) as s:
                row = s.get(ConsoleSession, _digest(secret))
                if row is not None:
                    s.delete(row)


_DUMMY = _hasher.hash(secrets.token_urlsafe(16))
