"""Repair activities: what an order whose workflow ended before the order did still owes, and
which orders are in that state (open in the read model, with no running workflow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from activities import contracts as c
from adapters.read_model import ReadModel
from domain.fulfilment import FulfilmentState
from domain.repair import decide_repair
from domain.settlement import business_day, handed_values

FINAL = ("completed", "cancelled", "returned")


class RepairActivities:
    def __init__(self, read_model: ReadModel, client: Client | None = None) -> None:
        self.read_model = read_model
        self.client = client

    def all(self) -> list[Callable[..., Any]]:
        return [self.assess_repair, self.orders_to_repair]

    @activity.defn
    def assess_repair(self, order_id: str) -> c.RepairPlan:
        """What the order still owes, from its records (nothing for an order that ended)."""
        found = self.read_model.repair_view(order_id)
        if found is None or found.status in FINAL:
            return c.RepairPlan(order_id, "")
        paid = next((p for p in found.payments if p.status == "succeeded"), None)
        mine = [
            r for r in found.refunds if paid is not None and r.payment_id in (None, paid.payment_id)
        ]
        refunded_units: dict[str, int] = {}
        for r in mine:
            for ln in r.lines:
                refunded_units[ln["sku"]] = refunded_units.get(ln["sku"], 0) + int(ln["qty"])
        decision = decide_repair(
            priced=found.pricing.lines,
            parts=found.parts,
            refunded_units=refunded_units,
            refunded_amount=sum(r.amount for r in mine),
            paid_amount=paid.amount if paid else 0,
        )
        plan = c.RepairPlan(order_id, decision.outcome, member_id=found.member_id)
        plan.stop, plan.delivered = decision.stop, decision.delivered
        released = [p for p in found.planned if p.fulfilment_id in decision.release]
        if released:
            plan.release = c.StockChange(order_id, released, "repaired")
        plan.close = [p for p in found.payments if p.status == "pending"]
        if paid is None:
            plan.coupons = "release" if found.coupon_codes else ""
            if found.pricing.points_redeemed and found.member_id:
                plan.restore_points = c.PointsMove(
                    order_id, found.member_id, found.pricing.points_redeemed
                )
        elif decision.outcome == "cancelled" and found.coupon_codes:
            plan.coupons = "give_back"
        if paid is not None and decision.refund:
            plan.refund = c.RefundOrder(
                order_id,
                f"R{order_id[1:]}-repair",
                paid.payment_id,
                paid.method,
                found.member_id,
                sum(r.amount for r in decision.refund),
                sum(r.points for r in decision.refund),
                "repaired: goods not handed over",
                [{"sku": r.sku, "qty": r.qty, "amount": r.amount} for r in decision.refund],
            )
        if decision.outcome == "completed":
            kept = [_done(p) for p in found.parts if p.fulfilment_id not in decision.release]
            first = kept[0]
            plan.settle = c.SettlementRecord(
                order_id,
                f"settle:{order_id}:completed",
                decision.net,
                f"location:{first.location_id}",
                business_day(datetime.now(UTC)),
                channel=found.channel,
                cause="completed",
                fulfillers=handed_values(found.pricing.lines, kept),
            )
            if found.member_id and decision.points:
                plan.earn = c.PointsMove(order_id, found.member_id, decision.points)
        plan.detail = (
            f"repaired after its workflow ended: {decision.outcome}"
            + (f", {plan.refund.amount} fen refunded" if plan.refund else "")
            + (f", {len(released)} part(s) released" if released else "")
        )
        return plan

    @activity.defn
    async def orders_to_repair(self, limit: int) -> list[str]:
        """Orders open in the read model whose workflow is not running (terminated, failed or
        timed out): each needs a repair."""
        assert self.client is not None, "the repair sweep needs a Temporal client"
        out = []
        for order_id in self.read_model.open_orders(limit=limit * 10):
            try:
                handle = self.client.get_workflow_handle(c.order_workflow_id(order_id))
                desc = await handle.describe()
                running = desc.status is not None and desc.status.name == "RUNNING"
            except RPCError:
                running = False
            if not running:
                out.append(order_id)
            if len(out) >= limit:
                break
        return out


def _done(p: FulfilmentState) -> FulfilmentState:
    """A handed-over part counted as done for the settlement's weights."""
    return replace(p, status="delivered" if p.status == "shipped" else p.status)
