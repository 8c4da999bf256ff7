"""Payment activities: open a payment at the gateway (idempotent per payment id)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.payment_gateway import GatewayUnavailable, PaymentDeclined, PaymentGateway


class PaymentActivities:
    def __init__(self, gateway: PaymentGateway, *, notify_url: str) -> None:
        self.gateway = gateway
        self.notify_url = notify_url

    @activity.defn(name=c.CREATE_PAYMENT)
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
                f"the payment was declined: {err}",
                {"payment_id": p.payment_id},
                type="payment_declined",
                non_retryable=True,
            ) from err
        except GatewayUnavailable as err:
            raise ApplicationError(
                f"the payment gateway is unavailable: {err}",
                {"payment_id": p.payment_id},
                type="payment_unavailable",
            ) from err
