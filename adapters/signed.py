"""Signed callbacks from outside systems (the payment gateway, the warehouse's execution system,
the courier): HMAC-SHA256 of the raw body with a shared secret, in `X-Signature` as hex; the
body carries a unix `timestamp`, and one more than `WINDOW_S` off is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

WINDOW_S = 300


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(
    secret: str, body: bytes, signature: str | None, *, now: float | None = None
) -> dict[str, Any]:
    """The callback's JSON once its signature and timestamp check out; ValueError (saying what
    is wrong and how to fix it) otherwise."""
    if not signature or not hmac.compare_digest(sign(secret, body), signature.strip().lower()):
        raise ValueError(
            "the callback's X-Signature does not match its body: sign the raw body with "
            "HMAC-SHA256 and the shared secret"
        )
    try:
        data = json.loads(body)
        stamp = int(data["timestamp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("the callback body is not JSON with a unix timestamp: send one") from exc
    if not isinstance(data, dict):
        raise ValueError("the callback body is not a JSON object: send one")
    if abs((now if now is not None else time.time()) - stamp) > WINDOW_S:
        raise ValueError(
            f"the callback's timestamp is more than {WINDOW_S} s off: send it with the current "
            "unix time"
        )
    return data


class CallbackSender:
    """The sending side (the simulated outside systems): each callback signed and POSTed, tried
    again with backoff until it gets a 2xx (about two minutes in all)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._client: Any = None

    async def send(self, url: str, event: dict[str, Any]) -> None:
        import asyncio

        import httpx

        body = json.dumps(event).encode()
        headers = {"content-type": "application/json", "X-Signature": sign(self.secret, body)}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10)
        for attempt in range(30):
            try:
                r = await self._client.post(url, content=body, headers=headers)
                if r.status_code < 300:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(min(5.0, 0.2 * 2**attempt))

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
