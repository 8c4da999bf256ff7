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
