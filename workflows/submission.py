"""An order's submission: priced, planned and reserved; the member's rights taken; the payment
taken (cash, stored value) or opened at the gateway; the order recorded (a paid one dispatched
in the same step). A refusal gives everything back. A workflow that was reset goes on from
what the read model recorded instead."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.orders import PlannedPart
    from domain.pricing import dropped_gifts, without_gifts
    from workflows import records
    from workflows.dispatch import Dispatch
    from workflows.messages import OrderAccepted
    from workflows.operations import (
        LOCATION_IDS,
        MEMBER_ID,
        ORDER_STATUS,
        ORDER_TOTAL,
        REFUSAL,
        OperatorView,
    )
    from workflows.payments import PaymentDesk
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all


class Submission:
    def __init__(
        self, state: OrderState, view: OperatorView, payments: PaymentDesk, dispatch: Dispatch
    ) -> None:
        self.o = state
        self.view = view
        self.payments = payments
        self.dispatch = dispatch

    async def submit(self) -> bool:
        """Whether the order was accepted (False: refused, with everything given back)."""
        o = self.o
        prepare = c.PrepareOrder(o.request, workflow.now(), o.min_credit_score)
        try:
            prepared = await run(
                Step(OrderActivities.prepare_order, prepare, "price, plan the split, reserve stock")
            )
        except (ActivityError, ApplicationError) as err:
            self.refuse(err)
            return False
        pricing, parts = prepared.pricing, prepared.parts
        planned = [ln for p in parts for ln in p.lines]
        o.pricing = without_gifts(pricing, dropped_gifts(pricing, planned))
        o.parts, o.member_id = parts, prepared.member_id
        if prepared.recorded is not None:
            self._resume(prepared.recorded)
            return True
        try:
            status, payment_id = await self._take_and_record()
        except (ActivityError, ApplicationError) as err:
            await self.give_back_rights("refused")
            await self.release(parts, "refused")
            self.refuse(err)
            return False
        self._accepted(status, payment_id)
        return True

    async def _take_and_record(self) -> tuple[str, str]:
        """The rights taken, the payment taken or opened, the order recorded."""
        o = self.o
        payment = self.payments.first(o.request.payment_method, o.priced().payable_amount)
        await self._take_rights()
        steps: list[Step[Any, Any]] = []
        if payment.method == "stored_value" and payment.amount:
            steps.append(self.payments.stored_value_step(payment))
        elif payment.status == "pending":
            await self.payments.open_gateway(payment)
        status = "paid" if o.paid is not None else "awaiting_payment"
        recording = c.RecordOrder(o.request, o.priced(), o.parts, status, o.member_id, payment)
        record = Step(OrderActivities.record_order, recording, "record the order")
        steps.append(record)
        if status == "paid":
            steps += [*records.coupons_used(o), *records.parts_dispatched(o.order_id, o.parts)]
        results = await run_all(steps)
        o.member_id = results.of(record)
        o.status = "fulfilling" if status == "paid" else status
        return status, payment.payment_id

    def _accepted(self, status: str, payment_id: str) -> None:
        o = self.o
        self.view.stage(ORDER_STATUS, o.status)
        self.view.stage(ORDER_TOTAL, o.priced().payable_amount)
        self.view.stage(LOCATION_IDS, sorted({p.location_id for p in o.parts}))
        if o.member_id:
            self.view.stage(MEMBER_ID, o.member_id)
        if o.status == "fulfilling":
            self.dispatch.stage_dispatched()
        self.view.show()
        o.accepted = OrderAccepted(o.order_id, status, o.priced().payable_amount, payment_id)

    def refuse(self, err: ActivityError | ApplicationError) -> None:
        cause = err.cause if isinstance(err, ActivityError) else err
        refusal = (
            cause
            if isinstance(cause, ApplicationError)
            else ApplicationError(
                "the order could not be prepared: try again with the same channel_order_id",
                {"cause": str(err)},
                type="unavailable",
                non_retryable=True,
            )
        )
        self.o.refusal, self.o.status = refusal, "refused"
        self.view.stage(ORDER_STATUS, "refused")
        self.view.stage(REFUSAL, refusal.type or "invalid_request")
        self.view.show()
        workflow.set_current_details(f"**refused**: {refusal.type}: {refusal.message}")

    def _resume(self, rec: c.RecordedOrder) -> None:
        """The workflow was reset to before its order was recorded: go on from the record."""
        o = self.o
        o.recorded, o.payments, o.paid = rec, rec.payments, rec.paid
        if rec.status == "cancelled":
            o.cancel_reason = rec.cancel_reason or "cancelled"
        o.status = "fulfilling" if rec.paid is not None else "awaiting_payment"
        first = rec.payments[0].payment_id if rec.payments else f"P{o.order_id[1:]}"
        self._accepted("paid" if rec.paid else "awaiting_payment", first)

    async def _take_rights(self) -> None:
        """Hold the coupons and redeem the points the price was computed with."""
        o, pricing = self.o, self.o.priced()
        if o.request.coupon_codes:
            move = c.CouponMove(o.order_id, o.request.coupon_codes)
            await run(Step(OrderActivities.hold_coupons, move, "hold the coupons"))
        if pricing.points_redeemed and o.member_id:
            points = c.PointsMove(o.order_id, o.member_id, pricing.points_redeemed)
            await run(Step(OrderActivities.redeem_points, points, f"redeem {points.points} points"))

    async def give_back_rights(self, reason: str) -> None:
        """An order that is not paid gives its coupons and points back."""
        o, pricing = self.o, self.o.pricing
        steps: list[Step[Any, Any]] = []
        if o.request.coupon_codes:
            move = c.CouponMove(o.order_id)
            steps.append(Step(OrderActivities.release_coupons, move, "release the coupons"))
        if pricing and pricing.points_redeemed and o.member_id:
            points = c.PointsMove(o.order_id, o.member_id, pricing.points_redeemed)
            summary = f"give back {points.points} points ({reason})"
            steps.append(Step(OrderActivities.restore_points, points, summary))
        if steps:
            await run_all(steps)

    async def release(self, parts: list[PlannedPart], reason: str) -> None:
        change = c.StockChange(self.o.order_id, parts, reason)
        await run(Step(OrderActivities.release_stock, change, "release reserved stock"))
