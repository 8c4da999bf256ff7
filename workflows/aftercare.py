"""Work on an order after its own workflow has closed: a payment that succeeded too late is
refunded in full (`LatePaymentWorkflow`); an order whose workflow was terminated is repaired
(`RepairWorkflow`), and a scheduled sweep finds such orders (`RepairSweepWorkflow`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from activities.payments import PaymentActivities
    from activities.refunds import RefundActivities
    from activities.repair import RepairActivities
    from workflows.operations import yuan
    from workflows.refunds import REFUND_RETRY
    from workflows.steps import Step, run, run_all

ACTIVITY = timedelta(seconds=30)


async def _refund(order: c.RefundOrder) -> c.RefundOutcome:
    await run(Step(RefundActivities.record_refund, order, f"record refund of {yuan(order.amount)}"))
    outcome: c.RefundOutcome = await workflow.execute_activity_method(
        RefundActivities.execute_refund,
        order,
        start_to_close_timeout=ACTIVITY,
        retry_policy=REFUND_RETRY,
        summary=f"refund {yuan(order.amount)} to {order.method}",
    )
    return outcome


def late_refund(
    order_id: str, payment: c.PaymentRecord, member_id: str | None, reason: str
) -> c.RefundOrder:
    return c.RefundOrder(
        order_id,
        f"R{order_id[1:]}-late-{payment.payment_id}",
        payment.payment_id,
        payment.method,
        member_id,
        payment.amount,
        0,
        reason,
    )


@workflow.defn
class LatePaymentWorkflow:
    """A payment whose success reached us after its order's workflow had closed (a real
    gateway's late notice): the charge is recorded and refunded in full."""

    @workflow.run
    async def run(self, late: c.LatePayment) -> str:
        workflow.set_current_details(
            f"**refunding {yuan(late.payment.amount)}** of payment {late.payment.payment_id}: "
            f"{late.reason}"
        )
        succeeded = c.PaymentRecord(
            late.payment.payment_id, late.payment.method, late.payment.amount, "succeeded"
        )
        projection = c.PaymentProjection(
            late.order_id, succeeded, f"payment succeeded late: {late.reason}"
        )
        await run(Step(PaymentActivities.project_payment, projection, "record the late payment"))
        outcome = await _refund(late_refund(late.order_id, succeeded, late.member_id, late.reason))
        return outcome.status


@workflow.defn
class RepairWorkflow:
    """An order whose workflow was terminated: what it still held is released, what was paid for
    goods not handed over is refunded, and it ends cancelled or completed, saying so."""

    @workflow.run
    async def run(self, order_id: str) -> str:
        plan: c.RepairPlan = await workflow.execute_activity_method(
            RepairActivities.assess_repair,
            order_id,
            start_to_close_timeout=ACTIVITY,
            summary="what the order still owes",
        )
        if not plan.outcome:
            return "nothing to repair"
        workflow.set_current_details(f"**repairing** {order_id}: {plan.detail}")
        await self._close_payments(plan)
        steps: list[Step[Any, Any]] = []
        if plan.release is not None:
            steps.append(
                Step(OrderActivities.release_stock, plan.release, "release the stock it held")
            )
        if plan.coupons:
            move = c.CouponMove(order_id)
            coupons = (
                OrderActivities.release_coupons
                if plan.coupons == "release"
                else OrderActivities.give_back_coupons
            )
            steps.append(Step(coupons, move, "give the coupons back"))
        if plan.restore_points is not None:
            steps.append(
                Step(OrderActivities.restore_points, plan.restore_points, "give the points back")
            )
        if steps:
            await run_all(steps)
        if plan.refund is not None:
            await _refund(plan.refund)
        await run_all(self._ending(plan))
        return plan.outcome

    async def _close_payments(self, plan: c.RepairPlan) -> None:
        for payment in plan.close:
            status = await workflow.execute_activity_method(
                PaymentActivities.close_payment,
                payment,
                start_to_close_timeout=ACTIVITY,
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
                summary=f"close payment {payment.payment_id}",
            )
            if status == "succeeded":  # charged after all: the order is not going ahead
                why = "the order's workflow had ended before the payment succeeded"
                await _refund(late_refund(plan.order_id, payment, plan.member_id, why))

    def _ending(self, plan: c.RepairPlan) -> list[Step[Any, Any]]:
        steps: list[Step[Any, Any]] = []
        if plan.settle is not None:
            steps.append(
                Step(OrderActivities.record_settlement, plan.settle, "settle what was kept")
            )
        if plan.earn is not None:
            steps.append(
                Step(OrderActivities.earn_points, plan.earn, f"earn {plan.earn.points} points")
            )
        for fid, status in [
            *((f, "cancelled") for f in plan.stop),
            *((f, "delivered") for f in plan.delivered),
        ]:
            projection = c.FulfilmentProjection(
                fid, status, f"repaired:{status}", f"{fid} {status} by the repair"
            )
            steps.append(
                Step(OrderActivities.project_fulfilment, projection, f"record {fid} {status}")
            )
        ending = c.OrderProjection(
            plan.order_id, plan.outcome, f"repaired:{plan.outcome}", plan.detail
        )
        steps.append(Step(OrderActivities.project_order, ending, f"record status {plan.outcome}"))
        return steps


@workflow.defn
class RepairSweepWorkflow:
    """Run by a Temporal Schedule: every order open in the read model with no running workflow
    is repaired, each by its own `RepairWorkflow` (id `repair-<order_id>`)."""

    @workflow.run
    async def run(self, limit: int = 200) -> list[str]:
        ids: list[str] = await workflow.execute_activity_method(
            RepairActivities.orders_to_repair,
            limit,
            start_to_close_timeout=timedelta(minutes=5),
            summary="find orders whose workflow has ended",
        )
        workflow.set_current_details(f"**{len(ids)} order(s) to repair**")
        repaired = []
        for order_id in ids:
            try:
                outcome = await workflow.execute_child_workflow(
                    RepairWorkflow.run,
                    order_id,
                    id=f"repair-{order_id}",
                    static_summary=f"repair of {order_id}",
                )
            except WorkflowAlreadyStartedError:
                continue
            repaired.append(f"{order_id}: {outcome}")
        return repaired
