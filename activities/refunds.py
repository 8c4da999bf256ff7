"""Refund activities: record a refund, then give the money back to its tender and the points to
the member. Each is keyed by the refund id, so a retry never pays twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.members import MemberRepository
from adapters.payment_gateway import GatewayUnavailable, PaymentGateway
from adapters.promotions import CouponBook
from adapters.read_model import ReadModel
from domain.orders import GATEWAY_METHODS


class RefundActivities:
    def __init__(
        self,
        *,
        members: MemberRepository,
        read_model: ReadModel,
        gateway: PaymentGateway,
        coupons: CouponBook,
    ) -> None:
        self.members = members
        self.read_model = read_model
        self.gateway = gateway
        self.coupons = coupons

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_refund, self.execute_refund, self.give_back_coupons]

    @activity.defn(name=c.RECORD_REFUND)
    def record_refund(self, r: c.RefundOrder) -> None:
        self._project(
            r, "pending", "refund_requested", f"{r.amount} fen and {r.points} points ({r.reason})"
        )

    @activity.defn(name=c.EXECUTE_REFUND)
    def execute_refund(self, r: c.RefundOrder) -> None:
        """Money back to its tender, points back to the member; retried until it succeeds."""
        if r.amount and r.method in GATEWAY_METHODS:
            try:
                self.gateway.refund(refund_id=r.refund_id, payment_id=r.payment_id, amount=r.amount)
            except GatewayUnavailable as err:
                raise ApplicationError(
                    f"gateway unavailable: {err}", type="payment_unavailable"
                ) from err
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

    def _project(self, r: c.RefundOrder, status: str, event: str, detail: str) -> None:
        self.read_model.record_refund(
            r.order_id, r.refund_id, amount=r.amount, reason=r.reason, status=status, lines=r.lines
        )
        self.read_model.add_timeline(
            r.order_id, key=f"{r.refund_id}:{event}", event=event, detail=f"{r.refund_id}: {detail}"
        )

    @activity.defn(name=c.GIVE_BACK_COUPONS)
    def give_back_coupons(self, move: c.CouponMove) -> None:
        self.coupons.give_back(move.order_id)
