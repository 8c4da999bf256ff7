"""The read-model steps of an order that several collaborators take: its status recorded (with
the timeline's event), and its parts dispatched."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from domain.orders import PlannedPart
    from workflows.steps import Step


def order_status(order_id: str, status: str, event: str, detail: str) -> Step[Any, Any]:
    projection = c.OrderProjection(order_id, status, event, detail)
    return Step(OrderActivities.project_order, projection, f"record status {status}")


def parts_dispatched(order_id: str, parts: list[PlannedPart]) -> list[Step[Any, Any]]:
    """The order fulfilling, and each part dispatched to its location."""
    steps = [order_status(order_id, "fulfilling", "dispatched", f"{len(parts)} part(s) dispatched")]
    for part in parts:
        fid = part.fulfilment_id
        projection = c.FulfilmentProjection(
            fid, "dispatched", "dispatched", f"dispatched to {part.location_id}"
        )
        steps.append(Step(OrderActivities.project_fulfilment, projection, f"dispatch {fid}"))
    return steps


def parts_cancelled(parts: list[PlannedPart], reason: str) -> list[Step[Any, Any]]:
    out: list[Step[Any, Any]] = []
    for part in parts:
        fid = part.fulfilment_id
        projection = c.FulfilmentProjection(fid, "cancelled", "cancelled", reason)
        out.append(Step(OrderActivities.project_fulfilment, projection, f"cancel {fid}"))
    return out


def coupons_used(o: Any) -> list[Step[Any, Any]]:
    if not o.request.coupon_codes:
        return []
    return [Step(OrderActivities.use_coupons, c.CouponMove(o.order_id), "use the coupons")]
