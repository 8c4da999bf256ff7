"""OrderWorkflow: one order from submission through payment and dispatch to completion.

The flow reads top to bottom in `_life`: submit (price, reserve, take the member's rights,
record), wait for payment, dispatch the parts and run them to their ends, then complete and
keep the return window open. Collaborators do the work: `PaymentDesk` (payments),
`Dispatch` and `PartRun` (the parts), `Refunds`, `Completion`, and `OperatorView` (what
operations see in Temporal UI). The state lives in one `OrderState`.

A cancellation request from Temporal UI is an operator's cancel; a reset starts again from
what the read model recorded (see `docs/operations.md`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.errors import DomainError
    from domain.fulfilment import TERMINAL_STATES, FulfilmentState
    from domain.orders import PlannedPart, require_distinct_skus
    from domain.pricing import dropped_gifts, without_gifts
    from workflows.completion import Completion
    from workflows.dispatch import Dispatch
    from workflows.messages import (
        NewPayment,
        OrderAccepted,
        OrderInput,
        PartAction,
        PaymentOpened,
        PaymentResult,
        ReturnRequest,
    )
    from workflows.operations import (
        LOCATION_IDS,
        MEMBER_ID,
        ORDER_STATUS,
        ORDER_TOTAL,
        REFUSAL,
        OperatorView,
        yuan,
    )
    from workflows.parts import rejection
    from workflows.payments import PaymentDesk
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all

OPERATOR_CANCEL = "cancelled by operations (a cancellation request in Temporal)"


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self.o = OrderState(inp.request, inp.timeouts, inp.min_credit_score)
        self.view = OperatorView()
        self.view.shown(ORDER_STATUS, "submitting")
        self.refunds = Refunds(self.o)
        self.payments = PaymentDesk(self.o, self.refunds)
        self.dispatch = Dispatch(self.o, self.view, self.refunds, self._details)
        self.completion = Completion(self.o, self.refunds)
        self._background: list[asyncio.Task[None]] = []

    @workflow.run
    async def run(self, inp: OrderInput) -> str:
        life = asyncio.ensure_future(self._life())
        while not life.done():
            try:
                await asyncio.shield(life)
            except asyncio.CancelledError:  # "Request Cancellation" in Temporal UI
                self._cancel_requested()
        await self._close()
        return self.o.status

    async def _life(self) -> None:
        if not await self._submit():
            return
        if self.o.status == "awaiting_payment":
            if not await self.payments.wait():
                await self._cancel_unpaid()
                return
            await self._paid()
        done = await self.dispatch.run(announced=True)
        if not done:
            await self._set_status(
                "cancelled", self.o.cancel_reason or "no part could be fulfilled"
            )
            return
        await self._complete(done)
        try:  # returns come in as updates while the window is open
            await workflow.wait_condition(
                lambda: self.o.status == "returned",
                timeout=timedelta(seconds=self.o.timeouts.return_window_s),
                timeout_summary="return window",
            )
        except TimeoutError:
            pass

    async def _close(self) -> None:
        """Before the workflow closes: every handler finished, every payment that cannot stand
        refunded, every refund paid back."""
        while True:
            await workflow.wait_condition(workflow.all_handlers_finished)
            await asyncio.gather(*self._background)
            await self.payments.refund_late()
            if not await self.refunds.paid_back() and not self.payments.has_late():
                return

    # --- submission ------------------------------------------------------------------------

    @workflow.update
    async def submit(self) -> OrderAccepted:
        """Returns once the order is priced, reserved and recorded, or fails with the reason."""
        o = self.o
        await workflow.wait_condition(lambda: o.accepted is not None or o.refusal is not None)
        if o.accepted is None:
            assert o.refusal is not None
            raise o.refusal
        return o.accepted

    async def _submit(self) -> bool:
        """Price, plan and reserve; take the member's rights; take or open the payment; record
        the order (a paid one dispatched in the same step). False when refused, with everything
        given back."""
        o = self.o
        prepare = c.PrepareOrder(o.request, workflow.now(), o.min_credit_score)
        try:
            prepared = await run(
                Step(OrderActivities.prepare_order, prepare, "price, plan the split, reserve stock")
            )
        except (ActivityError, ApplicationError) as err:
            self._refuse(err)
            return False
        pricing, parts = prepared.pricing, prepared.parts
        pricing = without_gifts(
            pricing, dropped_gifts(pricing, [ln for p in parts for ln in p.lines])
        )
        o.pricing, o.parts, o.member_id = pricing, parts, prepared.member_id
        if prepared.recorded is not None:
            self._resume(prepared.recorded)
            return True
        payment = self.payments.first(o.request.payment_method, pricing.payable_amount)
        try:
            await self._take_rights()
            steps: list[Step[Any, Any]] = []
            if payment.method == "stored_value" and payment.amount:
                steps.append(self.payments.stored_value_step(payment))
            elif payment.status == "pending":
                await self.payments.open_gateway(payment)
            paid = self.payments.paid is not None
            status = "paid" if paid else "awaiting_payment"
            record = Step(
                OrderActivities.record_order,
                c.RecordOrder(o.request, pricing, parts, status, o.member_id, payment),
                "record the order",
            )
            steps.append(record)
            if paid:
                steps += [*self._coupons_used(), *self._dispatch_steps()]
            results = await run_all(steps)
        except (ActivityError, ApplicationError) as err:
            await self._give_back_rights("refused")
            await self._release(parts, "refused")
            self._refuse(err)
            return False
        o.member_id = results.of(record)
        o.status = "fulfilling" if paid else status
        self._accepted(status, payment.payment_id)
        return True

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
        self._details(status.replace("_", " "))
        o.accepted = OrderAccepted(o.order_id, status, o.priced().payable_amount, payment_id)

    def _refuse(self, err: ActivityError | ApplicationError) -> None:
        cause = err.cause if isinstance(err, ActivityError) else err
        refusal = (
            cause
            if isinstance(cause, ApplicationError)
            else ApplicationError(str(err), type="invalid_request", non_retryable=True)
        )
        self.o.refusal, self.o.status = refusal, "refused"
        self.view.stage(ORDER_STATUS, "refused")
        self.view.stage(REFUSAL, refusal.type or "invalid_request")
        self.view.show()
        workflow.set_current_details(f"**refused**: {refusal.type}: {refusal.message}")

    def _resume(self, rec: c.RecordedOrder) -> None:
        """The workflow was reset to before its order was recorded: go on from the record."""
        o = self.o
        self.payments.payments = rec.payments
        if rec.paid is not None:
            self.payments.paid = self.refunds.paid_with = rec.paid
        if rec.status == "cancelled":
            o.cancel_reason = rec.cancel_reason or "cancelled"
        o.recorded = rec
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

    async def _give_back_rights(self, reason: str) -> None:
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

    async def _release(self, parts: list[PlannedPart], reason: str) -> None:
        change = c.StockChange(self.o.order_id, parts, reason)
        await run(Step(OrderActivities.release_stock, change, "release reserved stock"))

    def _coupons_used(self) -> list[Step[Any, Any]]:
        if not self.o.request.coupon_codes:
            return []
        return [Step(OrderActivities.use_coupons, c.CouponMove(self.o.order_id), "use the coupons")]

    def _dispatch_steps(self) -> list[Step[Any, Any]]:
        detail = f"{len(self.o.parts)} part(s) dispatched"
        return [self._status_step("fulfilling", "dispatched", detail), *self.dispatch.steps()]

    # --- payment ---------------------------------------------------------------------------

    @workflow.signal
    async def payment_result(self, result: PaymentResult) -> None:
        """The gateway's word on a payment (from its signed webhook). A success that the order
        cannot keep is refunded in full at once."""
        if self.payments.heard(result):
            await self.payments.refund_late()

    @workflow.update
    async def pay_again(self, req: NewPayment) -> PaymentOpened:
        """After a failed payment, the member pays again (perhaps by another method)."""
        return await self.payments.try_again(req.payment_method)

    @pay_again.validator
    def validate_pay_again(self, req: NewPayment) -> None:
        o = self.o
        if o.status != "awaiting_payment" or not o.going_ahead() or self.payments.paid:
            raise ApplicationError(
                f"an order that is {o.status} takes no new payment",
                {"status": o.status},
                type="invalid_transition",
                non_retryable=True,
            )
        if req.payment_method == "cash" and o.request.channel != "pos":
            raise ApplicationError(
                "cash is paid at the till: only the pos channel may use it",
                {"field": "payment_method"},
                type="invalid_request",
                non_retryable=True,
            )

    async def _paid(self) -> None:
        """Paid: the payment, the coupons used and the dispatch recorded as one step."""
        paid = self.payments.paid
        assert paid is not None
        detail = f"paid by {paid.method}"
        steps = [
            self.payments.projection(paid, detail),
            *self._coupons_used(),
            self._status_step("paid", "paid", detail),
            *self._dispatch_steps(),
        ]
        self.o.status = "fulfilling"
        self.view.stage(ORDER_STATUS, "fulfilling")
        self.dispatch.stage_dispatched()
        self.view.show()
        self._details(detail)
        await run_all(steps)

    async def _cancel_unpaid(self) -> None:
        o = self.o
        failed = any(p.status == "failed" for p in self.payments.payments)
        o.cancel_reason = o.cancel_reason or ("payment failed" if failed else "payment timed out")
        await self.payments.close_pending(o.cancel_reason)
        await self._release(o.parts, "unpaid")
        await self._give_back_rights("unpaid")
        steps: list[Step[Any, Any]] = []
        for part in o.parts:
            projection = c.FulfilmentProjection(
                part.fulfilment_id, "cancelled", "cancelled", o.cancel_reason
            )
            steps.append(
                Step(OrderActivities.project_fulfilment, projection, f"cancel {part.fulfilment_id}")
            )
        o.status = "cancelled"
        self.view.stage(ORDER_STATUS, "cancelled")
        self.view.show()
        self._details(o.cancel_reason)
        await run_all([*steps, self._status_step("cancelled", "cancelled", o.cancel_reason)])

    # --- the parts ---------------------------------------------------------------------------

    @workflow.update
    async def act(self, req: PartAction) -> FulfilmentState:
        """A store's action on one of this order's parts."""
        fid = req.fulfilment_id
        await workflow.wait_condition(  # a paid order dispatches its parts in this same task
            lambda: fid in self.dispatch.runs or not self._dispatching()
        )
        run_ = self.dispatch.runs.get(fid)
        if run_ is None:
            raise self._not_dispatched(req)
        return await run_.act(req.action)

    @act.validator
    def validate_act(self, req: PartAction) -> None:
        run_ = self.dispatch.runs.get(req.fulfilment_id)
        if run_ is not None:
            run_.check(req.action)
            return
        known = {p.fulfilment_id for p in self.o.parts}
        if self.o.status != "submitting" and req.fulfilment_id not in known:
            raise ApplicationError(
                f"fulfilment {req.fulfilment_id} is not part of this order",
                type="not_found",
                non_retryable=True,
            )
        if not self._dispatching():
            raise self._not_dispatched(req)

    def _dispatching(self) -> bool:
        """Whether the order's parts are dispatched, or will be: it is paid, or the gateway's
        success has just come in, or (after a reset) it is being rebuilt from its record."""
        o = self.o
        paid = self.payments.paid is not None and o.going_ahead()
        return o.status in ("submitting", "paid", "fulfilling") or (
            o.status == "awaiting_payment" and paid
        )

    def _not_dispatched(self, req: PartAction) -> ApplicationError:
        state = "cancelled" if self.o.status in ("cancelled", "refused") else "pending"
        return ApplicationError(
            f"the part is {state}: there is nothing to {req.action.action} yet"
            if state == "pending"
            else f"the part is {state}: it takes no more actions",
            {"action": req.action.action, "status": state},
            type="invalid_transition",
            non_retryable=True,
        )

    @workflow.query
    def part(self, fulfilment_id: str) -> FulfilmentState | None:
        run_ = self.dispatch.runs.get(fulfilment_id)
        return run_.state if run_ else self.o.results.get(fulfilment_id)

    @workflow.query
    def current_status(self) -> str:
        return self.o.status

    # --- cancellation ----------------------------------------------------------------------

    @workflow.update
    async def cancel(self, reason: str) -> str:
        """Cancel before anything has shipped or been picked up: open parts stop (their stores
        are told at once), stock is released, and what was paid goes back to its tender."""
        await self._cancel(reason or "cancelled by the member")
        return self.o.status

    @cancel.validator
    def validate_cancel(self, reason: str) -> None:
        refusal = self._cancel_refusal()
        if refusal is not None:
            raise refusal

    def _cancel_refusal(self) -> ApplicationError | None:
        o = self.o
        if o.handed_over:
            return ApplicationError(
                "part of the order has already shipped or been picked up: it cannot be "
                "cancelled; return the goods instead",
                {"handed_over": sorted(o.handed_over)},
                type="already_shipped",
                non_retryable=True,
            )
        if o.status not in ("submitting", "awaiting_payment", "paid", "fulfilling"):
            return ApplicationError(
                f"an order that is {o.status} cannot be cancelled",
                {"status": o.status},
                type="invalid_transition",
                non_retryable=True,
            )
        if o.cancel_reason:
            return ApplicationError(
                "the order is already being cancelled",
                {"status": o.status, "reason": o.cancel_reason},
                type="invalid_transition",
                non_retryable=True,
            )
        return None

    async def _cancel(self, reason: str) -> None:
        o = self.o
        o.cancel_reason = reason
        await workflow.wait_condition(lambda: o.status != "submitting")
        if o.status in ("awaiting_payment", "refused"):
            await workflow.wait_condition(lambda: o.status in ("cancelled", "refused"))
            return
        await workflow.wait_condition(self.dispatch.started)
        runs = self.dispatch.cancel_open(reason)
        await workflow.wait_condition(
            lambda: all(r.state.status in TERMINAL_STATES or r.fid in o.handed_over for r in runs)
        )
        stopped = [r for r in runs if r.state.status == "cancelled"]
        lines = [ln for r in stopped for ln in r.part.lines]
        if lines:
            await self.refunds.give_back(lines, f"cancelled: {reason}", key="cancel")
        if stopped and not o.handed_over:
            await self.refunds.give_back_coupons()
        if not o.handed_over and all(
            r.state.status in TERMINAL_STATES for r in self.dispatch.runs.values()
        ):  # nothing left to run: the answer is the order cancelled
            await workflow.wait_condition(lambda: o.status == "cancelled")

    def _cancel_requested(self) -> None:
        """Temporal UI's "Request Cancellation": an operator's cancel, or a note on the
        timeline when the order can no longer be cancelled."""
        refusal = self._cancel_refusal()
        if refusal is None:
            self._spawn(self._cancel(OPERATOR_CANCEL))
            return
        n = len(self._background) + 1
        note = c.Note(
            self.o.order_id,
            f"{self.o.order_id}:cancel-request:{n}",
            "cancel_request_declined",
            f"a cancellation request from Temporal was not carried out: {refusal.message}",
        )
        self._spawn(run_all([Step(OrderActivities.record_note, note, "record the request")]))

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        async def done() -> None:
            await work

        self._background.append(asyncio.ensure_future(done()))

    # --- completion and returns ------------------------------------------------------------

    async def _complete(self, done: list[FulfilmentState]) -> None:
        """Goods handed over: points earned, the order settled, the member's tier re-evaluated
        and the order completed, as one batch of steps."""
        steps, tier = self.completion.steps(done)
        detail = f"{len(done)} of {len(self.o.parts)} part(s) handed over"
        steps.append(self._status_step("completed", "completed", detail))
        self.o.status = "completed"
        self.view.stage(ORDER_STATUS, "completed")
        self.view.show()
        results = await run_all(steps)
        if tier is not None:
            self.o.member_tier = results.of(tier)
        self._details(detail)

    @workflow.update
    async def request_return(self, req: ReturnRequest) -> str:
        """Goods handed over come back: their paid share is refunded, the points earned on them
        are taken back, and they go back into the stock of the location that handed them over."""
        if await self.completion.take_return(req):
            await self._set_status("returned", "everything has been refunded")
        return self.o.status

    @request_return.validator
    def validate_return(self, req: ReturnRequest) -> None:
        o = self.o
        if o.status not in ("completed", "fulfilling") or o.pricing is None:
            raise ApplicationError(
                f"an order that is {o.status} takes no returns",
                {"status": o.status},
                type="invalid_transition",
                non_retryable=True,
            )
        try:
            require_distinct_skus(ln.sku for ln in req.lines)
            o.ledger.check_return(self.completion.handed(), req.lines)
        except DomainError as err:
            raise rejection(err) from None

    # --- what the read model and operations see ----------------------------------------------

    async def _set_status(self, status: str, detail: str) -> None:
        self.o.status = status
        self.view.stage(ORDER_STATUS, status)
        self.view.show()
        self._details(detail)
        await run(self._status_step(status, status, detail))

    def _status_step(self, status: str, event: str, detail: str) -> Step[Any, Any]:
        projection = c.OrderProjection(self.o.order_id, status, event, detail)
        return Step(OrderActivities.project_order, projection, f"record status {status}")

    def _details(self, headline: str) -> None:
        o = self.o
        lines = []
        if o.pricing:
            lines.append(f"payable {yuan(o.pricing.payable_amount)} by {o.request.payment_method}")
            lines += o.pricing.trace
        if o.member_tier:
            lines.append(f"member {o.member_id} is {o.member_tier}")
        for p in o.parts:
            run_ = self.dispatch.runs.get(p.fulfilment_id)
            state = run_.state if run_ else o.results.get(p.fulfilment_id)
            lines.append(
                f"{p.fulfilment_id} at {p.location_id}"
                + (f": {state.status}" if state else "")
                + f" — {'; '.join(p.reasons[:2])}"
            )
        for refund in self.refunds.failed:
            lines.append(f"refund {refund.refund_id} FAILED: {refund.detail}")
        self.view.details(f"{o.status.replace('_', ' ')}: {headline}", lines)
