"""Refund activities: record a refund, then give the money back to its tender and the points to
the member. Each is keyed by the refund id, so a retry never pays twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.members import MemberRepository
from adapters.payment_gateway import GatewayUnavailable, PaymentGateway, RefundRefused
from adapters.read_model import ReadModel
from domain.orders import GATEWAY_METHODS


class RefundActivities:
    def __init__(
        self, *, members: MemberRepository, read_model: ReadModel, gateway: PaymentGateway
    ) -> None:
        self.members = members
        self.read_model = read_model
        self.gateway = gateway

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_refund, self.execute_refund]

    @activity.defn
    def record_refund(self, r: c.RefundOrder) -> None:
        self._project(
            r, "pending", "refund_requested", f"{r.amount} fen and {r.points} points ({r.reason})"
        )

    @activity.defn
    def execute_refund(self, r: c.RefundOrder) -> c.RefundOutcome:
        """Money back to its tender, points back to the member. A tender that is down is retried
        (this activity fails and Temporal tries again); a gateway that refuses the refund for
        good leaves it `failed`, for operations to settle by hand."""
        if r.amount and r.method in GATEWAY_METHODS:
            try:
                self.gateway.refund(refund_id=r.refund_id, payment_id=r.payment_id, amount=r.amount)
            except GatewayUnavailable as err:
                raise ApplicationError(
                    "the payment gateway is unavailable: try again shortly",
                    {"gateway": str(err)},
                    type="payment_unavailable",
                ) from err
            except RefundRefused as err:
                detail = f"the gateway refused the refund: {err}"
                self._project(r, "failed", "refund_failed", detail)
                return c.RefundOutcome(r.refund_id, "failed", detail)
        elif r.amount and r.method == "stored_value" and r.member_id:
            self.members.refund_stored_value(
                r.member_id, r.amount, key=f"refund:{r.refund_id}", order_id=r.order_id
            )
        if r.points and r.member_id:
            self.members.adjust_points(
                r.member_id,
                r.points,
                reason=f"refund {r.refund_id}",
                key=f"refund-points:{r.refund_id}",
                kind="reversal",
                order_id=r.order_id,
            )
        tender = "at the till" if r.method == "cash" else f"to {r.method}"
        self._project(r, "succeeded", "refunded", f"{r.amount} fen {tender}, {r.points} points")
        return c.RefundOutcome(r.refund_id, "succeeded")

    def _project(self, r: c.RefundOrder, status: str, event: str, detail: str) -> None:
        self.read_model.record_refund(
            r.order_id,
            r.refund_id,
            amount=r.amount,
            reason=r.reason,
            status=status,
            lines=r.lines,
            payment_id=r.payment_id,
            detail=detail,
        )
        self.read_model.add_timeline(
            r.order_id, key=f"{r.refund_id}:{event}", event=event, detail=f"{r.refund_id}: {detail}"
        )
