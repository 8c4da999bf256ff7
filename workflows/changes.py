"""An order changed after it was placed (the `change` update): refused synchronously when it is
too late (a part is picked, a replacement was proposed, money has gone back) or cannot be
served; otherwise priced as a new order, planned again, its extra stock held, and the difference
refunded at once or collected (stored value at once, a gateway method through a new payment:
the change stands once it is paid, and is undone if it is not paid in time). A change that
stands moves every part to the new plan under the parts' locks, so no pick can slip between."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.errors import TooLateToChange
    from domain.orders import GATEWAY_METHODS, OrderRequest
    from workflows.dispatch import Dispatch
    from workflows.messages import ChangeOutcome, OrderChange, StaffAction
    from workflows.operations import LOCATION_IDS, ORDER_TOTAL, OperatorView, yuan
    from workflows.parts import PartRun, rejection
    from workflows.payments import PaymentDesk
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all

OPEN = ("dispatched", "accepted")  # a part is open to change until it is picked


class Changes:
    def __init__(
        self,
        state: OrderState,
        view: OperatorView,
        dispatch: Dispatch,
        payments: PaymentDesk,
        refunds: Refunds,
        details: Callable[[str], None],
        background: list[asyncio.Future[None]],
    ) -> None:
        self.o = state
        self.view = view
        self.dispatch = dispatch
        self.payments = payments
        self.refunds = refunds
        self.details = details
        self.background = background

    def check(self) -> None:
        """Refuses a change that comes too late (the update's validator calls this too)."""
        o = self.o
        why = None
        if o.status != "fulfilling" or not o.going_ahead():
            why = f"the order is {o.status}: only an order being fulfilled can change"
        elif o.supplement is not None:
            why = (
                f"a change waits for its payment {o.supplement.payment_id}: pay it, or wait "
                "until it is undone"
            )
        elif o.handed_over or any(r.state.status not in OPEN for r in self._open_or_picked()):
            why = "a part has been picked: the order can no longer change"
        elif o.substitutions:
            why = "a replacement was proposed while picking: the order can no longer change"
        elif any(r.shipping.by_warehouse for r in self._open_or_picked()):
            why = "a warehouse's execution system is working on the order: it can no longer change"
        elif o.ledger.refunded_units or o.ledger.refunded_amount:
            why = "money has gone back to the member already: the order can no longer change"
        if why is not None:
            raise rejection(TooLateToChange(why, details={"status": o.status}))

    def _open_or_picked(self) -> list[PartRun]:
        """The parts still going: every one not ended without the goods."""
        ended = ("rejected", "cancelled", "expired")
        return [r for r in self.dispatch.runs.values() if r.state.status not in ended]

    async def change(self, ch: OrderChange) -> ChangeOutcome:
        runs = sorted(self._open_or_picked(), key=lambda r: r.fid)
        async with contextlib.AsyncExitStack() as locks:
            for r in runs:  # every part held still: no pick slips between
                await locks.enter_async_context(r.lock)
            self.check()
            if sorted(r.fid for r in self._open_or_picked()) != [r.fid for r in runs]:
                raise rejection(  # a part was routed again meanwhile: the change is asked again
                    TooLateToChange(
                        "the order's parts moved while it was changing: send the change again",
                        details={"status": self.o.status},
                    )
                )
            o = self.o
            new = replace(
                o.request,
                lines=ch.lines if ch.lines is not None else o.request.lines,
                fulfilment=ch.fulfilment if ch.fulfilment is not None else o.request.fulfilment,
                substitutions=(
                    ch.substitutions if ch.substitutions is not None else o.request.substitutions
                ),
            )
            cid = f"E{o.changes + 1}"
            ask = c.ChangeRequest(
                new,
                cid,
                workflow.now(),
                [r.part for r in runs],
                o.member_id,
                o.min_credit_score,
            )
            prepared = await run(
                Step(OrderActivities.prepare_change, ask, f"price and plan change {cid}")
            )
            o.changes += 1
            diff = prepared.pricing.payable_amount - o.priced().payable_amount
            method = o.request.payment_method
            if diff > 0 and method in GATEWAY_METHODS:
                record = c.PaymentRecord(f"P{o.order_id[1:]}-{cid}", method, diff, "pending")
                o.payments.append(record)
                o.supplement = record
                await run_all([self.payments.projection(record, f"change {cid}: {yuan(diff)}")])
                try:
                    await self.payments.open_gateway(record)
                except Exception:
                    o.supplement = None
                    await self._undo(cid, prepared, "the payment could not be opened")
                    raise
                self.background.append(asyncio.ensure_future(self._await(cid, prepared, new)))
                self.details(f"change {cid} waits for {yuan(diff)}")
                return ChangeOutcome(cid, "awaiting_payment", diff, record.payment_id)
            if diff > 0:  # stored value pays at once; cash is taken at the till
                record = c.PaymentRecord(f"P{o.order_id[1:]}-{cid}", method, diff, "succeeded")
                steps: list[Step[Any, Any]] = []
                if method == "stored_value":
                    try:
                        steps.append(self.payments.stored_value_step(record))
                    except ApplicationError:
                        await self._undo(cid, prepared, "no member to pay from")
                        raise
                steps.append(self.payments.projection(record, f"change {cid}: {yuan(diff)}"))
                try:
                    await run_all(steps)
                except Exception:
                    await self._undo(cid, prepared, "the difference could not be paid")
                    raise
                o.payments.append(record)
            await self._stand(cid, prepared, new, diff)
            return ChangeOutcome(cid, "applied", diff)

    async def _await(self, cid: str, prepared: c.PreparedChange, new: OrderRequest) -> None:
        """A change whose difference is paid at the gateway: it stands once paid, and is undone
        when the payment fails for good, times out or the order stops."""
        o = self.o
        record = o.supplement
        assert record is not None
        try:
            await workflow.wait_condition(
                lambda: record.status != "pending" or not o.going_ahead(),
                timeout=timedelta(seconds=o.timeouts.payment_s),
                timeout_summary=f"payment of change {cid}",
            )
        except TimeoutError:
            pass
        if record.status == "pending":
            await self.payments.close_pending(f"change {cid} was not paid in time")
        runs = sorted(self._open_or_picked(), key=lambda r: r.fid)
        async with contextlib.AsyncExitStack() as locks:
            for r in runs:
                await locks.enter_async_context(r.lock)
            o.supplement = None
            planned = sorted([*prepared.kept, *prepared.dropped])
            open_now = sorted(r.fid for r in runs if r.state.status in OPEN)
            late = open_now != planned or len(open_now) != len(runs) or not o.going_ahead()
            if record.status == "succeeded":
                await run_all([self.payments.projection(record, f"change {cid} paid")])
            if record.status == "succeeded" and not late:
                await self._stand(cid, prepared, new, record.amount)
                return
            why = "it was not paid in time" if record.status != "succeeded" else "too late"
            await self._undo(cid, prepared, why)
            if record.status == "succeeded":  # paid, but the order moved on: all of it back
                await self.refunds.give_back_payment(record, f"change {cid} could not stand")

    async def _stand(
        self, cid: str, prepared: c.PreparedChange, new: OrderRequest, diff: int
    ) -> None:
        """Every part to the new plan: kept parts get their new lines, dropped ones are
        cancelled, new ones start; the stock no longer owed is let go; the difference
        refunded; the coupons the new price does not use go back. (Under the parts' locks.)"""
        o = self.o
        let_go = c.HoldsMove(o.order_id, cid, prepared.decreases, "change")
        moved = new.fulfilment != o.request.fulfilment
        o.request, o.pricing = new, prepared.pricing
        applied = {p.promotion_id for p in prepared.pricing.applied_promotions}
        coupons_lost = bool(new.coupon_codes) and not applied & set(prepared.coupon_promotions)
        if coupons_lost:
            o.request = replace(o.request, coupon_codes=[])
        plan = {p.fulfilment_id: p for p in prepared.parts}
        for fid in prepared.kept:
            part = self.dispatch.runs[fid].part
            part.lines[:] = plan[fid].lines
            part.carrier, part.carrier_reasons = plan[fid].carrier, plan[fid].carrier_reasons
            self.dispatch.runs[fid].shipping.address = new.fulfilment.address
        added = [plan[fid] for fid in prepared.added]
        o.parts += added
        detail = _told(cid, diff, prepared)
        record = c.ChangeRecord(o.request, cid, o.priced(), prepared.parts, added, detail, moved)
        steps: list[Step[Any, Any]] = [
            Step(OrderActivities.let_go, let_go, f"let go of what change {cid} no longer needs"),
            Step(OrderActivities.record_change, record, f"record change {cid}"),
        ]
        if coupons_lost:
            move = c.CouponMove(o.order_id)
            steps.append(Step(OrderActivities.give_back_coupons, move, "give the coupons back"))
        await run_all(steps)
        for fid in prepared.dropped:  # under its lock already: cancelled now, nothing between
            await self.dispatch.runs[fid].apply(
                StaffAction(action="cancel", reason=f"the order changed ({cid}): not needed here")
            )
        for part in added:
            self.dispatch.start(part)
        if diff < 0:
            await self.refunds.give_back_amount(-diff, f"change {cid}", key=f"change-{cid}")
        self.view.stage(ORDER_TOTAL, o.priced().payable_amount)
        self.view.stage(LOCATION_IDS, sorted({p.location_id for p in o.parts}))
        self.view.show()
        self.details(f"changed ({cid})")

    async def _undo(self, cid: str, prepared: c.PreparedChange, why: str) -> None:
        """What the change held is let go; the order stays as it was."""
        move = c.HoldsMove(self.o.order_id, cid, prepared.increases, "undo")
        note = c.Note(self.o.order_id, f"{self.o.order_id}:undone:{cid}", "change_undone", why)
        await run_all(
            [
                Step(OrderActivities.let_go, move, f"let go of what change {cid} held"),
                Step(OrderActivities.record_note, note, f"change {cid} undone"),
            ]
        )
        self.details(f"change {cid} undone: {why}")


def _told(cid: str, diff: int, prepared: c.PreparedChange) -> str:
    words = [f"change {cid}"]
    if diff > 0:
        words.append(f"{yuan(diff)} more collected")
    elif diff < 0:
        words.append(f"{yuan(-diff)} refunded")
    if prepared.dropped:
        words.append(f"{', '.join(prepared.dropped)} no longer needed")
    if prepared.added:
        words.append(f"{', '.join(prepared.added)} added")
    return "; ".join(words)
