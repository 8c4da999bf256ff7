"""Cancelling an order: by its member (the API), by operations (Temporal UI's cancellation
request), or because it was not paid in time. Before anything has shipped or been picked up,
open parts stop, stock is released, and what was paid goes back; after that it is refused (a
request from Temporal UI is written in the timeline instead)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.fulfilment import TERMINAL_STATES
    from workflows import records
    from workflows.dispatch import Dispatch
    from workflows.operations import ORDER_STATUS, OperatorView
    from workflows.parts import PartRun
    from workflows.payments import PaymentDesk
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run_all
    from workflows.submission import Submission

OPERATOR_CANCEL = "cancelled by operations (a cancellation request in Temporal)"


class Cancellation:
    def __init__(
        self,
        state: OrderState,
        view: OperatorView,
        *,
        payments: PaymentDesk,
        dispatch: Dispatch,
        refunds: Refunds,
        submission: Submission,
    ) -> None:
        self.o = state
        self.view = view
        self.payments = payments
        self.dispatch = dispatch
        self.refunds = refunds
        self.submission = submission
        self.requests = 0

    def refusal(self) -> ApplicationError | None:
        """Why the order cannot be cancelled now, or None."""
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
                f"an order that is {o.status} cannot be cancelled: for goods already "
                "received, request a return",
                {"status": o.status},
                type="invalid_transition",
                non_retryable=True,
            )
        if o.cancel_reason:
            return ApplicationError(
                "the order is already being cancelled: wait for it to become cancelled",
                {"status": o.status, "reason": o.cancel_reason},
                type="invalid_transition",
                non_retryable=True,
            )
        return None

    async def cancel(self, reason: str) -> None:
        """Stop the order: an unpaid one is cancelled by its flow at once; a paid one's open
        parts stop (their stores are told), and what they held is refunded."""
        o = self.o
        o.cancel_reason = reason
        await workflow.wait_condition(lambda: o.status != "submitting")
        if o.status in ("awaiting_payment", "refused"):
            await workflow.wait_condition(lambda: o.status in ("cancelled", "refused"))
            return
        await workflow.wait_condition(self.dispatch.started)
        stopped_there, too_late = await self.dispatch.stop_at_warehouses()
        if too_late:
            await self._too_late(reason, stopped_there, too_late)
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
        if not o.handed_over and self.dispatch.all_ended():
            await workflow.wait_condition(lambda: o.status == "cancelled")  # the answer

    async def _too_late(self, reason: str, stopped: list[PartRun], late: list[PartRun]) -> None:
        """A warehouse had shipped a part already: the order goes on, and the cancellation is
        refused. A part another warehouse did stop will not leave: it alone is cancelled and
        refunded."""
        o = self.o
        for run in stopped:
            run.cancel(reason)
        await workflow.wait_condition(
            lambda: all(r.state.status in TERMINAL_STATES for r in stopped)
        )
        cancelled = [r for r in stopped if r.state.status == "cancelled"]
        lines = [ln for r in cancelled for ln in r.part.lines]
        if lines:
            await self.refunds.give_back(lines, f"stopped at the warehouse: {reason}", key="stop")
        o.cancel_reason = ""
        raise ApplicationError(
            f"{', '.join(r.fid for r in late)} had already left the warehouse: the order cannot "
            "be cancelled; return the goods once they arrive",
            {"handed_over": [r.fid for r in late], "stopped": [r.fid for r in cancelled]},
            type="already_shipped",
            non_retryable=True,
        )

    async def unpaid(self) -> None:
        """Not paid in time (or cancelled before payment): payments closed at the gateway,
        stock and rights given back, the order cancelled."""
        o = self.o
        failed = any(p.status == "failed" for p in o.payments)
        o.cancel_reason = o.cancel_reason or ("payment failed" if failed else "payment timed out")
        await self.payments.close_pending(o.cancel_reason)
        await self.submission.release(o.parts, "unpaid")
        await self.submission.give_back_rights("unpaid")
        o.status = "cancelled"
        self.view.stage(ORDER_STATUS, "cancelled")
        self.view.show()
        await run_all(
            [
                *records.parts_cancelled(o.parts, o.cancel_reason),
                records.order_status(o.order_id, "cancelled", "cancelled", o.cancel_reason),
            ]
        )

    async def requested_in_temporal(self) -> None:
        """Temporal UI's "Request Cancellation": an operator's cancel, or a note on the
        timeline when the order can no longer be cancelled."""
        refusal = self.refusal()
        if refusal is None:
            try:
                await self.cancel(OPERATOR_CANCEL)
                return
            except ApplicationError as too_late:  # a warehouse had shipped a part
                refusal = too_late
        self.requests += 1
        note = c.Note(
            self.o.order_id,
            f"{self.o.order_id}:cancel-request:{self.requests}",
            "cancel_request_declined",
            f"a cancellation request from Temporal was not carried out: {refusal.message}",
        )
        steps: list[Step[Any, Any]] = [
            Step(OrderActivities.record_note, note, "record the request")
        ]
        await run_all(steps)
