"""OrderWorkflow: one order from submission through payment and dispatch to completion.

The flow reads top to bottom in `_life`: submit (price, reserve, take the member's rights,
record), wait for payment, dispatch the parts and run them to their ends, then complete and keep
the return window open. Collaborators do the work, over one `OrderState`:

- `Submission` (workflows/submission.py): the order priced, reserved, paid or opened, recorded;
- `PaymentDesk` (payments.py): the gateway's word, paying again, payments that must not stand;
- `Dispatch` and `PartRun` (dispatch.py, parts.py): each part at its location, rerouting;
- `Refunds` (refunds.py), `Completion` (completion.py): money back, points, settlement, returns;
- `Cancellation` (cancellation.py): by the member, by operations, or for want of payment;
- `OperatorView` (operations.py): what operations see in Temporal UI.

A cancellation request from Temporal UI is an operator's cancel; a reset goes on from what the
read model recorded (see docs/operations.md).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import DomainError
    from domain.fulfilment import VERBS, FulfilmentState
    from domain.orders import require_distinct_skus
    from domain.substitutions import Proposal
    from workflows import records
    from workflows.cancellation import Cancellation
    from workflows.changes import Changes
    from workflows.completion import Closing, Completion
    from workflows.dispatch import Dispatch
    from workflows.messages import (
        ChangeOutcome,
        NewPayment,
        OrderAccepted,
        OrderChange,
        OrderInput,
        PartAction,
        PaymentOpened,
        PaymentResult,
        ReturnRequest,
        SubstitutionAnswer,
        SubstitutionRequest,
        TrackingReport,
        WarehouseReport,
    )
    from workflows.operations import ORDER_STATUS, OperatorView, order_details
    from workflows.parts import PartRun, rejection
    from workflows.payments import PaymentDesk
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Results, run, run_all
    from workflows.submission import Submission
    from workflows.substitutions import Substitutions


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        self.o = o = OrderState(inp.request, inp.timeouts, inp.min_credit_score)
        self.view = OperatorView()
        self.view.shown(ORDER_STATUS, "submitting")
        self.refunds = Refunds(o)
        self.payments = PaymentDesk(o, self.refunds)
        self.dispatch = Dispatch(o, self.view, self.refunds, self._details)
        self.submission = Submission(o, self.view, self.payments, self.dispatch)
        self.completion = Completion(o, self.refunds)
        self.dispatch.closing = self._completing
        self._completed = False
        self._background: list[asyncio.Future[None]] = []
        self.substitutions = Substitutions(
            o, self.dispatch, self.refunds, self._details, self._background
        )
        self.changes = Changes(
            o,
            self.view,
            self.dispatch,
            self.payments,
            self.refunds,
            self._details,
            self._background,
        )
        self.cancellation = Cancellation(
            o,
            self.view,
            payments=self.payments,
            dispatch=self.dispatch,
            refunds=self.refunds,
            submission=self.submission,
        )

    @workflow.run
    async def run(self, inp: OrderInput) -> str:
        life = asyncio.ensure_future(self._life())
        while not life.done():
            try:
                await asyncio.shield(life)
            except asyncio.CancelledError:  # "Request Cancellation" in Temporal UI
                self._background.append(
                    asyncio.ensure_future(self.cancellation.requested_in_temporal())
                )
        await self._close()
        return self.o.status

    async def _life(self) -> None:
        if not await self.submission.submit():
            return
        self._details(self.o.status.replace("_", " "))
        if self.o.status == "awaiting_payment":
            if not await self.payments.wait():
                await self.cancellation.unpaid()
                return
            await self._paid()
        done = await self.dispatch.run(announced=True)
        if not done:
            failed = any(s.status == "delivery_failed" for s in self.o.results.values())
            why = (
                "the delivery failed: the goods went back"
                if failed
                else "no part could be fulfilled"
            )
            await self._set_status("cancelled", self.o.cancel_reason or why)
            return
        if not self._completed:  # (else the last part's own step completed it)
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
            if not await self.refunds.paid_back() and not self.o.late:
                return

    # --- submission and payment ------------------------------------------------------------

    @workflow.update
    async def submit(self) -> OrderAccepted:
        """Returns once the order is priced, reserved and recorded, or fails with the reason."""
        o = self.o
        await workflow.wait_condition(lambda: o.accepted is not None or o.refusal is not None)
        if o.accepted is None:
            assert o.refusal is not None
            raise o.refusal
        return o.accepted

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
        self.payments.check_again(req.payment_method)

    async def _paid(self) -> None:
        """Paid: the payment, the coupons used and the dispatch recorded as one step."""
        o = self.o
        assert o.paid is not None
        detail = f"paid by {o.paid.method}"
        steps = [
            self.payments.projection(o.paid, detail),
            *records.coupons_used(o),
            records.order_status(o.order_id, "paid", "paid", detail),
            *records.parts_dispatched(o.order_id, o.parts),
        ]
        o.status = "fulfilling"
        self.view.stage(ORDER_STATUS, "fulfilling")
        self.dispatch.stage_dispatched()
        self.view.show()
        self._details(detail)
        await run_all(steps)

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
        paid = o.paid is not None and o.going_ahead()
        return o.status in ("submitting", "paid", "fulfilling") or (
            o.status == "awaiting_payment" and paid
        )

    def _not_dispatched(self, req: PartAction) -> ApplicationError:
        ended = self.o.status in ("cancelled", "refused")
        return ApplicationError(
            "the part is cancelled: it takes no more actions"
            if ended
            else f"the part is pending: wait until the order is paid before you "
            f"{VERBS.get(req.action.action, req.action.action)} it",
            {"action": req.action.action, "status": "cancelled" if ended else "pending"},
            type="invalid_transition",
            non_retryable=True,
        )

    @workflow.update
    async def change(self, ch: OrderChange) -> ChangeOutcome:
        """The member changes the order before any part is picked: priced again, planned
        again, the difference refunded or collected."""
        return await self.changes.change(ch)

    @change.validator
    def validate_change(self, ch: OrderChange) -> None:
        self.changes.check()

    @workflow.update
    async def propose_substitution(self, req: SubstitutionRequest) -> Proposal:
        """Staff short of a line propose a replacement; the member's channel is told."""
        return await self.substitutions.propose(req)

    @propose_substitution.validator
    def validate_propose_substitution(self, req: SubstitutionRequest) -> None:
        self.substitutions.check(req)

    @workflow.update
    async def answer_substitution(self, answer: SubstitutionAnswer) -> Proposal:
        """The member approves or declines a replacement; it is carried out before this ends."""
        return await self.substitutions.answer(answer)

    @answer_substitution.validator
    def validate_answer_substitution(self, answer: SubstitutionAnswer) -> None:
        self.substitutions.check_answer(answer)

    @workflow.signal
    async def warehouse_report(self, report: WarehouseReport) -> None:
        """A warehouse's execution system reports on a part it runs (picked, shipped)."""
        run_ = await self._run_of(report.fulfilment_id)
        if run_ is not None:
            await run_.shipping.report(report)

    @workflow.signal
    async def tracking(self, report: TrackingReport) -> None:
        """A carrier's tracking event for a part's parcel."""
        run_ = await self._run_of(report.fulfilment_id)
        if run_ is not None:
            await run_.shipping.track(report)

    async def _run_of(self, fid: str) -> PartRun | None:
        await workflow.wait_condition(lambda: fid in self.dispatch.runs or not self._dispatching())
        return self.dispatch.runs.get(fid)

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
        await self.cancellation.cancel(reason or "cancelled by the member")
        return self.o.status

    @cancel.validator
    def validate_cancel(self, reason: str) -> None:
        refusal = self.cancellation.refusal()
        if refusal is not None:
            raise refusal

    # --- completion and returns ------------------------------------------------------------

    async def _complete(self, done: list[FulfilmentState]) -> None:
        """Goods handed over: points earned, the order settled, the member's tier re-evaluated
        and the order completed, as one batch of steps."""
        closing = self._completing(done)
        closing.complete()
        closing.closed(await run_all(closing.steps))

    def _completing(
        self, done: list[FulfilmentState], parts: list[FulfilmentState] | None = None
    ) -> Closing:
        """The completion, to run on its own or with the step of the last part that hands its
        goods over (`Dispatch.completing_with`; `parts`: every part's end, that one's too)."""
        steps, tier = self.completion.steps(done, parts)
        detail = f"{len(done)} of {len(self.o.parts)} part(s) handed over"
        steps.append(records.order_status(self.o.order_id, "completed", "completed", detail))

        def complete() -> None:
            self._completed = True
            self.o.status = "completed"
            self.view.stage(ORDER_STATUS, "completed")
            self.view.show()

        def closed(results: Results) -> None:
            if tier is not None:
                self.o.member_tier = results.of(tier)
            self._details(detail)

        return Closing(steps, complete, closed)

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
                f"an order that is {o.status} takes no returns: return goods once they are "
                "delivered or picked up",
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
        await run(records.order_status(self.o.order_id, status, status, detail))

    def _details(self, headline: str) -> None:
        runs = {fid: r.state for fid, r in self.dispatch.runs.items()}
        self.view.details(
            f"{self.o.status.replace('_', ' ')}: {headline}", order_details(self.o, runs)
        )
