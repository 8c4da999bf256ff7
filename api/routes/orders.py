"""Channels: submit, read and list orders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from adapters.tokens import Principal
from api.deps import Services, caller, order_scope, require_admin, require_role, services
from api.errors import refusal
from api.schemas import ClientId, OrderIn, ReasonIn, ReturnIn
from domain.errors import Forbidden, InvalidRequest, InvalidTransition, NotFound
from domain.members import normalise_phone
from domain.orders import (
    WORKFLOW_VERSION,
    Address,
    FulfilmentChoice,
    LineRequest,
    OrderInput,
    OrderRequest,
    ReturnRequest,
    Timeouts,
    fulfilment_workflow_id,
    order_id_for,
    order_workflow_id,
)
from workflows.fulfilment import FulfilmentWorkflow
from workflows.order import OrderWorkflow
from workflows.ui import CHANNEL, ORDER_STATUS

router = APIRouter(prefix="/v1", tags=["orders"])


def channel_of(p: Principal, requested: str | None) -> str:
    """The channel an order comes from: the token's own, or for admins the one named."""
    if p.role == "channel":
        if requested and requested != p.channel:
            raise Forbidden("a channel token submits for its own channel only")
        assert p.channel is not None
        return p.channel
    if not requested:
        raise InvalidRequest(
            "admin submissions must name the channel", details={"field": "channel"}
        )
    return requested


def order_request(body: OrderIn, *, channel: str, order_id: str) -> OrderRequest:
    if body.payment_method == "cash" and channel != "pos":
        raise InvalidRequest(
            "cash is paid at the till: only the pos channel may use it",
            details={"payment_method": "cash"},
        )
    f = body.fulfilment
    return OrderRequest(
        order_id=order_id,
        channel=channel,
        channel_order_id=body.channel_order_id,
        lines=[LineRequest(sku=ln.sku, qty=ln.qty) for ln in body.lines],
        fulfilment=FulfilmentChoice(
            mode=f.mode,
            location_id=f.location_id,
            address=Address(**f.address.model_dump()) if f.address else None,
        ),
        payment_method=body.payment_method,
        member_phone=normalise_phone(body.member_phone) if body.member_phone else None,
        coupon_codes=list(dict.fromkeys(body.coupon_codes)),
        points_to_redeem=body.points_to_redeem,
    )


def timeouts(svc: Services) -> Timeouts:
    s = svc.settings
    return Timeouts(
        payment_s=s.payment_timeout_s,
        accept_s=s.accept_timeout_s,
        pickup_expiry_s=s.pickup_expiry_s,
        delivery_confirm_s=s.delivery_confirm_s,
        return_window_s=s.return_window_s,
    )


async def with_pickup_codes(svc: Services, view: dict[str, Any]) -> dict[str, Any]:
    """The channel's view shows the pickup code of parts waiting for collection."""
    waiting = [f for f in view["fulfilments"] if f["status"] == "ready_for_pickup"]
    if waiting:
        client = await svc.temporal()
        order = client.get_workflow_handle(order_workflow_id(view["order_id"]))
        for f in waiting:
            fid = f["fulfilment_id"]
            try:
                code = await order.query(OrderWorkflow.part_pickup_code, fid)
                if code is None:  # an order started before versions: its part's workflow knows
                    part = client.get_workflow_handle(fulfilment_workflow_id(fid))
                    code = await part.query(FulfilmentWorkflow.pickup_code)
            except RPCError:
                code = None
            f["pickup_code"] = code or None
    return view


@router.post(
    "/orders",
    status_code=201,
    responses={200: {"description": "the same channel_order_id again: the order placed first"}},
)
async def submit_order(
    body: OrderIn,
    response: Response,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    require_role(p, "channel")
    channel = channel_of(p, body.channel)
    order_id = order_id_for(channel, body.channel_order_id)
    if await run_in_threadpool(svc.read_model.order_status, order_id) is None:
        req = order_request(body, channel=channel, order_id=order_id)
        await start_order(svc, req)
    else:
        response.status_code = 200
    view = await run_in_threadpool(svc.read_model.order_view, order_id)
    assert view is not None
    return await with_pickup_codes(svc, view)


async def start_order(svc: Services, req: OrderRequest) -> None:
    """Start the order workflow and wait until it is priced, reserved and recorded."""
    client = await svc.temporal()
    lines = ", ".join(f"{ln.sku} x{ln.qty}" for ln in req.lines[:5])
    op = WithStartWorkflowOperation(
        OrderWorkflow.run,
        OrderInput(req, timeouts(svc), svc.settings.min_credit_score, WORKFLOW_VERSION),
        id=order_workflow_id(req.order_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=svc.settings.task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CHANNEL, req.channel),
                SearchAttributePair(ORDER_STATUS, "submitting"),
            ]
        ),
        static_summary=f"{req.channel} order {req.channel_order_id}: {req.fulfilment.mode}, "
        f"{len(req.lines)} line(s), {req.payment_method}"[:200],
        static_details=f"**Order** {req.order_id} from **{req.channel}** "
        f"({req.channel_order_id})\n\n- lines: {lines}\n- mode: {req.fulfilment.mode}"
        + (f" at {req.fulfilment.location_id}" if req.fulfilment.location_id else "")
        + f"\n- payment: {req.payment_method}",
    )
    try:
        await client.execute_update_with_start_workflow(
            OrderWorkflow.submit, start_workflow_operation=op
        )
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None


@router.get("/orders/{order_id}")
async def get_order(
    order_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    await run_in_threadpool(order_scope, p, svc, order_id)
    view = await run_in_threadpool(svc.read_model.order_view, order_id)
    if view is None:
        raise NotFound(f"order {order_id} does not exist")
    return await with_pickup_codes(svc, view)


@router.get("/orders")
def list_orders(
    status: str | None = Query(None, max_length=32),
    member_phone: str | None = Query(None, max_length=32),
    location_id: ClientId | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=500),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    require_role(p, "channel")
    phone = normalise_phone(member_phone) if member_phone else None
    orders, nxt = svc.read_model.list_orders(
        channel=p.channel if p.role == "channel" else None,
        status=status,
        member_phone=phone,
        location_id=location_id,
        limit=limit,
        cursor=cursor,
    )
    return {"orders": orders, "next_cursor": nxt}


@router.post("/orders/{order_id}/cancel")
async def cancel_order(
    order_id: ClientId,
    body: ReasonIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Before anything has shipped or been picked up: open parts are cancelled (their stores
    are told at once), stock is released, and what was paid is refunded to its tender."""
    require_role(p, "channel")
    await run_in_threadpool(order_scope, p, svc, order_id)
    handle = (await svc.temporal()).get_workflow_handle(order_workflow_id(order_id))
    try:
        await handle.execute_update(OrderWorkflow.cancel, body.reason)
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise InvalidTransition("the order is finished and cannot be cancelled") from None
    view = await run_in_threadpool(svc.read_model.order_view, order_id)
    assert view is not None
    return await with_pickup_codes(svc, view)


@router.post("/orders/{order_id}/returns")
async def return_goods(
    order_id: ClientId,
    body: ReturnIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """After delivery or pickup: those units' paid share is refunded (with their share of every
    discount), the points earned on them are taken back, and the goods go back into the stock of
    the location that handed them over. Returns are taken for `OMS_RETURN_WINDOW_S`."""
    require_role(p, "channel")
    await run_in_threadpool(order_scope, p, svc, order_id)
    handle = (await svc.temporal()).get_workflow_handle(order_workflow_id(order_id))
    req = ReturnRequest([LineRequest(sku=ln.sku, qty=ln.qty) for ln in body.lines], body.reason)
    try:
        await handle.execute_update(OrderWorkflow.request_return, req)
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise InvalidTransition("the return window of this order has closed") from None
    view = await run_in_threadpool(svc.read_model.order_view, order_id)
    assert view is not None
    return await with_pickup_codes(svc, view)


@router.get("/orders/{order_id}/settlement")
def order_settlement(
    order_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """Settlement entries of an order (admin): they add up to what the member paid less refunds
    once the order is completed."""
    require_admin(p)
    return svc.settlement.order_settlement(order_id)
