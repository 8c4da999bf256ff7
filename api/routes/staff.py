"""Store staff: the location's work list and the actions on a fulfilment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.read_model import fulfilment_view
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, location_scope, read, services, staff_part
from api.errors import refusal
from api.routes.fresh import picked_lines
from api.schemas import ClientId, FulfilmentStatusFilter, PickedIn, PickupIn, ReasonIn, ShipIn
from domain.errors import InvalidTransition, NotFound
from domain.fulfilment import VERBS, FulfilmentState, already_applied
from workflows.messages import PartAction, StaffAction, order_workflow_id
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["store staff"])


@router.get("/locations/{location_id}/fulfilments", response_model=answers.LocationParts)
def work_list(
    location_id: ClientId,
    status: FulfilmentStatusFilter | None = Query(None),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The location's parts (a staff token of that location, or an admin), by status: what the
    store has to accept, pick, hand over or ship."""
    location_scope(p, location_id)
    if svc.catalog.get_location(location_id) is None:
        raise NotFound(f"location {location_id} does not exist")
    return {"fulfilments": svc.read_model.location_fulfilments(location_id, status)}


async def act(
    svc: Services, p: Principal, fulfilment_id: str, action: StaffAction, *, row: Any = None
) -> dict:
    """The action, in the order's workflow. `row`: the part's row, when the caller has just read
    it (through `staff_part`)."""
    if row is None:
        row = await read(svc, staff_part, svc, p, fulfilment_id)
    if p.role == "staff":
        action.location_id = p.location_id
    client = await svc.temporal()
    order = client.get_workflow_handle(order_workflow_id(row.order_id))
    try:
        # The part runs in its order's workflow; its answer is the part as just projected.
        state = await order.execute_update(OrderWorkflow.act, PartAction(fulfilment_id, action))
        return part_view(row, state)
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    # The order's workflow has finished (its return window is over, or it was ended from
    # Temporal): the same action again is a no-op, anything else is out of order.
    fresh = await read(svc, svc.read_model.fulfilment, fulfilment_id)
    assert fresh is not None
    refuse_unless_applied(fresh, action)
    return fulfilment_view(fresh) | {"order_id": fresh.order_id}


def part_view(row: Any, state: FulfilmentState) -> dict[str, Any]:
    """The fulfilment as the read model shows it after the action: the row read before it,
    with what the action changed (status, picked quantities, carrier and tracking number)."""
    picked = {ln.sku: ln.qty for ln in state.picked}
    lines = (
        [{"sku": ln.sku, "qty": ln.qty, "picked_qty": picked.get(ln.sku)} for ln in state.lines]
        if state.picked
        else row.lines
    )
    return fulfilment_view(row) | {
        "status": state.status,
        "lines": lines,
        "carrier": state.carrier or row.carrier,
        "tracking_no": state.tracking_no or row.tracking_no,
        "order_id": row.order_id,
    }


def refuse_unless_applied(row: Any, action: StaffAction) -> None:
    if not already_applied(action.action, mode=row.mode, state=row.status):
        raise InvalidTransition(
            f"cannot {VERBS.get(action.action, action.action)} a part that is {row.status}: "
            "its order has closed, so the part takes no more actions",
            details={"action": action.action, "status": row.status},
        )


@router.post("/fulfilments/{fulfilment_id}/accept", response_model=answers.StaffPart)
async def accept(
    fulfilment_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The store takes the part. (Not accepted within `OMS_ACCEPT_TIMEOUT_S`, it moves to the
    next best location.) The same action twice is applied once."""
    return await act(svc, p, fulfilment_id, StaffAction(action="accept"))


@router.post("/fulfilments/{fulfilment_id}/reject", response_model=answers.StaffPart)
async def reject(
    fulfilment_id: ClientId,
    body: ReasonIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The store cannot serve the part (with a reason): it is routed to the next best location,
    and the order carries on."""
    return await act(svc, p, fulfilment_id, StaffAction(action="reject", reason=body.reason))


@router.post("/fulfilments/{fulfilment_id}/picked", response_model=answers.StaffPart)
async def picked(
    fulfilment_id: ClientId,
    body: PickedIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """What was picked. Fewer units than ordered is a shortage: the missing units are refunded at
    once. A pickup part becomes `ready_for_pickup` (the member's code is made), a delivery
    part `picked`. Goods sold by weight are picked in grams (up to 10 % over the ordered
    weight, at no charge), counted or read from shelf scales' labels (`barcode`)."""
    if any(ln.barcode for ln in body.lines):  # a scale label is read in the catalogue
        lines = await run_in_threadpool(picked_lines, svc, body.lines)
    else:
        lines = picked_lines(svc, body.lines)
    return await act(svc, p, fulfilment_id, StaffAction(action="picked", lines=lines))


@router.post("/fulfilments/{fulfilment_id}/ship", response_model=answers.StaffPart)
async def ship(
    fulfilment_id: ClientId,
    body: ShipIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """A picked delivery part leaves with a carrier and tracking number. A part that travels
    with others (`shipment_id`) ships them all, under one carrier and tracking number (one
    waybill); they must all be picked."""
    return await ship_part(svc, p, fulfilment_id, body.carrier or "", body.tracking_no or "")


async def ship_part(
    svc: Services, p: Principal, fulfilment_id: str, carrier: str, tracking_no: str
) -> dict[str, Any]:
    """Ship a part, and the parts that travel with it under the same waybill."""
    row = await read(svc, staff_part, svc, p, fulfilment_id)
    together = []
    if row.shipment_id and row.status == "picked":
        parts = await read(svc, svc.read_model.shipment, row.shipment_id)
        others = [x for x in parts if x.fulfilment_id != fulfilment_id]
        waiting = [x.fulfilment_id for x in others if x.status in ("dispatched", "accepted")]
        if waiting:
            raise InvalidTransition(
                f"{fulfilment_id} travels with {', '.join(waiting)} (shipment "
                f"{row.shipment_id}), not picked yet: pick them, then ship them together",
                details={"shipment_id": row.shipment_id, "not_picked": waiting},
            )
        together = [x.fulfilment_id for x in others if x.status == "picked"]
    action = StaffAction(action="ship", carrier=carrier, tracking_no=tracking_no)
    first = await act(svc, p, fulfilment_id, action, row=row)
    for fid in together:
        same = StaffAction(
            action="ship", carrier=first["carrier"], tracking_no=first["tracking_no"]
        )
        await act(svc, p, fid, same)
    return first


@router.post("/fulfilments/{fulfilment_id}/deliver", response_model=answers.StaffPart)
async def deliver(
    fulfilment_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The carrier's confirmation that a shipped part arrived."""
    return await act(svc, p, fulfilment_id, StaffAction(action="deliver"))


@router.post("/fulfilments/{fulfilment_id}/pickup", response_model=answers.StaffPart)
async def pickup(
    fulfilment_id: ClientId,
    body: PickupIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The member collects a part with their code. A wrong code is `409 wrong_pickup_code`; after
    5 wrong codes every code is refused for 15 minutes (`429 too_many_attempts`)."""
    return await act(svc, p, fulfilment_id, StaffAction(action="pickup", code=body.code))
