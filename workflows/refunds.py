"""Money going back to the member: refunds of units (their paid share, to the fen), of a whole
payment that should not have been taken, and returns after completion. Each refund is keyed
by its cause, recorded at once and paid back in the background, retried until its tender takes
it (or refuses it for good, which leaves it `failed` for operations)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from activities.refunds import RefundActivities
    from domain.orders import LineRequest
    from domain.refunds import RefundLine
    from workflows.operations import yuan
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all

# A refund is never given up while its tender is down: retried with backoff.
REFUND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


class Refunds:
    def __init__(self, state: OrderState) -> None:
        self.o = state
        self._tasks: list[asyncio.Task[c.RefundOutcome]] = []

    def refund_id(self, key: str) -> str:
        return f"R{self.o.order_id[1:]}-{key}"

    async def give_back(self, lines: list[LineRequest], reason: str, *, key: str) -> str:
        """Give back the paid share of these units (gifts give nothing, units already refunded
        are skipped): the refund's id, or "" when nothing was left to give back."""
        back = self.o.ledger.take(self.o.priced().lines, lines)
        if not back or self.o.paid is None:  # (refunds go back to the payment that paid)
            return ""
        return await self._spread(back, reason, key=key)

    async def give_back_lines(self, back: list[RefundLine], reason: str, *, key: str) -> str:
        """Give back what these lines say (worked out already, and on the ledger): its id, or
        "" when it is nothing."""
        back = [r for r in back if r.amount or r.points]
        if not back or self.o.paid is None:
            return ""
        return await self._spread(back, reason, key=key)

    async def give_back_amount(self, amount: int, reason: str, *, key: str) -> str:
        """Money back that no unit stands for (a change that made the order cheaper)."""
        if amount <= 0 or self.o.paid is None:
            return ""
        return await self._spread([RefundLine("", 0, amount)], reason, key=key)

    async def give_back_payment(self, payment: c.PaymentRecord, reason: str) -> str:
        """All of a payment that should not have been taken (a success after the order was
        cancelled, or a second one). Its id, `R<order>-late-<payment>`, is how the read model
        tells such a payment from the one the order counts."""
        self.o.refunded_from[payment.payment_id] = payment.amount
        return await self._refund(payment, [], reason, key=f"late-{payment.payment_id}")

    async def _spread(self, back: list[RefundLine], reason: str, *, key: str) -> str:
        """Back to the payments that paid the order: the first one, then the payments of its
        changes, each up to what it has left (a gateway refunds no more than it took). The
        first refund's id."""
        assert self.o.paid is not None
        sources = [self.o.paid] + [
            p
            for p in self.o.payments
            if p.status == "succeeded"
            and p.payment_id != self.o.paid.payment_id
            and p.payment_id not in {x.payment_id for x in self.o.late}
        ]
        amount = sum(r.amount for r in back)
        if len(sources) == 1:  # the usual order: one payment
            self.o.refunded_from[self.o.paid.payment_id] = (
                self.o.refunded_from.get(self.o.paid.payment_id, 0) + amount
            )
            return await self._refund(self.o.paid, back, reason, key=key)
        first = ""
        for i, payment in enumerate(sources):
            left = payment.amount - self.o.refunded_from.get(payment.payment_id, 0)
            take = amount if i == len(sources) - 1 else min(max(left, 0), amount)
            if take <= 0 and i > 0:
                continue
            part = back if i == 0 else []
            lines = [RefundLine(r.sku, r.qty, r.amount, r.points) for r in part]
            if i > 0 or take != sum(r.amount for r in part):
                points = sum(r.points for r in part)
                lines = [RefundLine("", 0, take, points)]
            self.o.refunded_from[payment.payment_id] = (
                self.o.refunded_from.get(payment.payment_id, 0) + take
            )
            got = await self._refund(payment, lines, reason, key=key if i == 0 else f"{key}-{i}")
            first = first or got
            amount -= take
            if amount <= 0:
                break
        return first

    async def _refund(
        self, payment: c.PaymentRecord, back: list[RefundLine], reason: str, *, key: str
    ) -> str:
        amount = sum(r.amount for r in back) if back else payment.amount
        order = c.RefundOrder(
            self.o.order_id,
            self.refund_id(key),
            payment.payment_id,
            payment.method,
            self.o.member_id,
            amount,
            sum(r.points for r in back),
            reason,
            [{"sku": r.sku, "qty": r.qty, "amount": r.amount} for r in back if r.sku],
        )
        await run(Step(RefundActivities.record_refund, order, f"record refund of {yuan(amount)}"))
        # Paid back in the background: a tender that is down must not hold up the order.
        self._tasks.append(asyncio.ensure_future(self._pay_back(order)))
        return order.refund_id

    async def _pay_back(self, order: c.RefundOrder) -> c.RefundOutcome:
        outcome: c.RefundOutcome = await workflow.execute_activity_method(
            RefundActivities.execute_refund,
            order,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=REFUND_RETRY,
            summary=f"refund {yuan(order.amount)} to {order.method}",
        )
        if outcome.status == "failed":
            self.o.failed_refunds.append(f"{outcome.refund_id}: {outcome.detail}")
        return outcome

    async def paid_back(self) -> bool:
        """Wait until every refund started is paid back (or refused for good); whether there
        was any to wait for."""
        waiting = [t for t in self._tasks if not t.done()]
        if waiting:
            await asyncio.gather(*waiting)
        return bool(waiting)

    async def give_back_coupons(self) -> None:
        if self.o.request.coupon_codes:
            move = c.CouponMove(self.o.order_id)
            await run_all([Step(OrderActivities.give_back_coupons, move, "give the coupons back")])
