"""Payment activities: open a payment at the gateway (idempotent per payment id), close one
that is no longer wanted, and record a payment's progress in the read model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.payment_gateway import GatewayUnavailable, PaymentDeclined, PaymentGateway
from adapters.read_model import ReadModel


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway, read_model: ReadModel, *, notify_url: str) -> None:
        self.gateway = gateway
        self.read_model = read_model
        self.notify_url = notify_url

    def all(self) -> list[Callable[..., Any]]:
        return [self.create_payment, self.close_payment, self.project_payment]

    @activity.defn
    def create_payment(self, p: c.GatewayPayment) -> None:
        try:
            self.gateway.create_payment(
                payment_id=p.payment_id,
                amount=p.amount,
                method=p.method,
                notify_url=self.notify_url,
            )
        except PaymentDeclined as err:
            raise ApplicationError(
                f"the payment was declined ({err}): try another payment_method",
                {"payment_id": p.payment_id, "field": "payment_method"},
                type="payment_declined",
                non_retryable=True,
            ) from err
        except GatewayUnavailable as err:
            raise ApplicationError(
                "the payment gateway is unavailable: try again shortly",
                {"payment_id": p.payment_id, "gateway": str(err)},
                type="payment_unavailable",
            ) from err

    @activity.defn
    def close_payment(self, p: c.PaymentRecord) -> str:
        """Close a pending payment at the gateway so that it can no longer succeed: "closed",
        or what the gateway says it already was ("succeeded": the member was charged)."""
        try:
            return self.gateway.close(p.payment_id)
        except GatewayUnavailable as err:
            raise ApplicationError(
                "the payment gateway is unavailable: try again shortly",
                {"gateway": str(err)},
                type="payment_unavailable",
            ) from err

    @activity.defn
    def project_payment(self, p: c.PaymentProjection) -> None:
        self.read_model.record_payment(p.order_id, p.payment, detail=p.detail)
