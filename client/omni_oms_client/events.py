"""Checking a channel event the platform POSTed to your webhook: its signature, its age, and
then its content."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import cast

from omni_oms_client import types as t


class InvalidEvent(Exception):
    """Not an event from the platform (wrong signature, too old, not JSON): answer it 401 and
    do nothing with it."""


def verify_event(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = 300,
    now: float | None = None,
) -> t.Event:
    """The event in a webhook request, once its signature and timestamp check out.

    The platform signs `X-OMS-Timestamp + "." + raw body` with HMAC-SHA256 and the webhook's
    secret, and sends `X-OMS-Signature: v1=<hex>`. Pass the raw body exactly as received (before
    any JSON parsing), and the request's headers (any capitalisation). Events are delivered at
    least once: keep the `event_id`s you have handled and skip repeats."""
    lower = {k.lower(): v for k, v in headers.items()}
    stamp, signed = lower.get("x-oms-timestamp", ""), lower.get("x-oms-signature", "")
    if not stamp.isdigit() or not signed.startswith("v1="):
        raise InvalidEvent("X-OMS-Timestamp or X-OMS-Signature is missing")
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        raise InvalidEvent(f"the event is more than {tolerance_s} s old (or from the future)")
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signed.removeprefix("v1=")):
        raise InvalidEvent("the signature does not match: is this the webhook's secret?")
    try:
        return cast(t.Event, json.loads(body))
    except ValueError:
        raise InvalidEvent("the body is not JSON") from None
