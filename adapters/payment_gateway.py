"""The payment gateway behind a small port: create payments and refunds over HTTP (with
idempotency keys), and verify the gateway's signed webhooks (HMAC-SHA256 over the raw body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from adapters.http import BlockingClient, Reply, TransportError

WEBHOOK_WINDOW_S = 300


class PaymentDeclined(Exception):
    """The gateway refused the payment for good (a business outcome, not a fault)."""


class GatewayUnavailable(Exception):
    """The gateway failed or timed out; the call may be retried with the same key."""


class RefundRefused(Exception):
    """The gateway refused a refund for good (the payment is not refundable, say)."""


class PaymentClosed(Exception):
    """The payment was closed at the gateway: it can no longer succeed."""


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    payment_id: str
    status: str  # succeeded | failed | refunded
    amount: int
    timestamp: int


class PaymentGateway(Protocol):
    def create_payment(
        self, *, payment_id: str, amount: int, method: str, notify_url: str
    ) -> dict[str, Any]: ...

    def refund(self, *, refund_id: str, payment_id: str, amount: int) -> dict[str, Any]: ...

    def close(self, payment_id: str) -> str: ...

    def payments(self) -> list[dict[str, Any]]: ...

    def drive(self, payment_id: str, outcome: str, *, force: bool = False) -> dict[str, Any]: ...


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(
    secret: str, body: bytes, signature: str | None, *, now: float | None = None
) -> WebhookEvent:
    """The event in a webhook body whose signature and timestamp check out; ValueError else."""
    expected = sign(secret, body)
    if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
        raise ValueError(
            "the webhook's X-Signature does not match its body: sign the raw body with "
            "HMAC-SHA256 and the shared secret"
        )
    try:
        data = json.loads(body)
        event = WebhookEvent(
            str(data["event_id"]),
            str(data["payment_id"]),
            str(data["status"]),
            int(data["amount"]),
            int(data["timestamp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            "the webhook body is not a valid event: send JSON with event_id, payment_id, "
            "status, amount and timestamp"
        ) from exc
    if abs((now if now is not None else time.time()) - event.timestamp) > WEBHOOK_WINDOW_S:
        raise ValueError(
            f"the webhook's timestamp is more than {WEBHOOK_WINDOW_S} s off: send the event "
            "with the current unix time"
        )
    return event


class HttpPaymentGateway:
    """Talks to the gateway's HTTP API; every write carries an Idempotency-Key."""

    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.client = BlockingClient(base_url, timeout=timeout_s)

    def _post(self, path: str, body: dict[str, Any], *, key: str) -> dict[str, Any]:
        try:
            r = self.client.post(path, json=body, headers={"Idempotency-Key": key})
        except TransportError as exc:
            raise GatewayUnavailable(f"{path}: {exc}") from exc
        if r.status_code == 402:
            raise PaymentDeclined(r.json().get("reason", "declined"))
        if r.status_code >= 500 or r.status_code == 429:
            raise GatewayUnavailable(f"{path}: HTTP {r.status_code}")
        if r.status_code >= 400:
            raise _Refused(r)
        return r.json()  # type: ignore[no-any-return]

    def create_payment(
        self, *, payment_id: str, amount: int, method: str, notify_url: str
    ) -> dict[str, Any]:
        return self._post(
            "/payments",
            {
                "payment_id": payment_id,
                "amount": amount,
                "method": method,
                "notify_url": notify_url,
            },
            key=f"pay:{payment_id}",
        )

    def refund(self, *, refund_id: str, payment_id: str, amount: int) -> dict[str, Any]:
        try:
            return self._post(
                "/refunds",
                {"refund_id": refund_id, "payment_id": payment_id, "amount": amount},
                key=f"refund:{refund_id}",
            )
        except _Refused as exc:
            raise RefundRefused(_reason(exc.reply)) from exc

    def close(self, payment_id: str) -> str:
        """Close a payment so that it can no longer succeed: "closed", or the status it already
        had ("succeeded": too late, the member was charged; "failed")."""
        try:
            return str(
                self._post(f"/payments/{payment_id}/close", {}, key=f"close:{payment_id}")["status"]
            )
        except _Refused as exc:
            if exc.reply.status_code == 404:
                return "closed"  # never reached the gateway: nothing can succeed
            if exc.reply.status_code == 409:
                return str(exc.reply.json().get("status", "succeeded"))
            raise

    def payments(self) -> list[dict[str, Any]]:
        """Every payment the gateway knows, with its status and what was refunded of it (the
        gateway's bill, for reconciliation)."""
        try:
            r = self.client.get("/payments")
        except TransportError as exc:
            raise GatewayUnavailable(f"/payments: {exc}") from exc
        r.raise_for_status()
        return list(r.json()["payments"])

    def drive(self, payment_id: str, outcome: str, *, force: bool = False) -> dict[str, Any]:
        """Tell the simulated gateway how a payment ends (`force`: even a closed one, as a real
        gateway's late notice would)."""
        try:
            return self._post(
                f"/payments/{payment_id}/complete",
                {"outcome": outcome, "force": force},
                key=f"drive:{payment_id}:{outcome}",
            )
        except _Refused as exc:
            if exc.reply.status_code == 409:
                raise PaymentClosed(_reason(exc.reply)) from exc
            raise


class _Refused(Exception):
    """The gateway answered 4xx (other than 402 and 429)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(f"HTTP {reply.status_code}: {reply.text[:300]}")
        self.reply = reply


def _reason(r: Reply) -> str:
    try:
        return str(r.json().get("error", r.text))
    except ValueError:
        return r.text[:200]
