"""Channels: submit, read, list, pay again, cancel and return orders."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, order_scope, read, require_admin, require_role, services
from api.errors import refusal
from api.schemas import (
    ClientId,
    NewPaymentIn,
    OrderChangeIn,
    OrderIn,
    OrderLineIn,
    OrderStatusFilter,
    ReasonIn,
    ReturnIn,
)
from domain.errors import (
    Forbidden,
    IdempotencyConflict,
    InvalidRequest,
    InvalidTransition,
    NotAllowedForChannel,
    NotFound,
)
from domain.members import normalise_phone
from domain.orders import (
    Address,
    FulfilmentChoice,
    LineRequest,
    OrderRequest,
    order_id_for,
    request_differences,
    require_distinct_skus,
)
from workflows.messages import (
    NewPayment,
    OrderChange,
    OrderInput,
    ReturnRequest,
    order_workflow_id,
)
from workflows.operations import CHANNEL, CHANNEL_ORDER_ID, ORDER_STATUS
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["orders"])


def channel_of(p: Principal, requested: str | None) -> str:
    """The channel an order comes from: the token's own, or for admins the one named."""
    if p.role == "channel":
        if requested and requested != p.channel:
            raise Forbidden(
                f"a channel token submits for its own channel only: leave channel out or send "
                f"{p.channel}",
                details={"field": "channel"},
            )
        assert p.channel is not None
        return p.channel
    if not requested:
        raise InvalidRequest(
            'an admin token must name the channel the order comes from: add "channel"',
            details={"field": "channel"},
        )
    return requested


def require_own_money(svc: Services, channel: str, *, method: str, points: int) -> None:
    """Stored value and points are spent only through the chain's own channels."""
    if channel in svc.settings.first_party_channels:
        return
    if method == "stored_value":
        raise NotAllowedForChannel(
            f"channel {channel} may not pay from a member's stored value: choose wechat, "
            "alipay or card",
            details={"field": "payment_method", "channel": channel},
        )
    if points:
        raise NotAllowedForChannel(
            f"channel {channel} may not redeem a member's points: send points_to_redeem 0",
            details={"field": "points_to_redeem", "channel": channel},
        )


def order_request(svc: Services, body: OrderIn, *, channel: str, order_id: str) -> OrderRequest:
    """The order as the workflow takes it, after the rules no schema can say."""
    require_distinct_skus(ln.sku for ln in body.lines)
    if body.payment_method == "cash" and channel != "pos":
        raise InvalidRequest(
            "cash is paid at the till: only the pos channel may use it; choose another "
            "payment_method",
            details={"field": "payment_method"},
        )
    require_own_money(svc, channel, method=body.payment_method, points=body.points_to_redeem)
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
        substitutions=preferences(body.lines),
    )


def preferences(lines: list[OrderLineIn]) -> dict[str, str]:
    """What each line accepts instead when the store is short of it ("none" left out)."""
    return {
        ln.sku: ln.substitution
        if isinstance(ln.substitution, str)
        else f"sku:{ln.substitution.sku}"
        for ln in lines
        if ln.substitution != "none"
    }


def with_pickup_codes(svc: Services, view: dict[str, Any]) -> dict[str, Any]:
    """The channel's view shows the pickup code of parts waiting for collection."""
    for f in view["fulfilments"]:
        if f["status"] == "ready_for_pickup":
            f["pickup_code"] = svc.pickup_codes.code(f["fulfilment_id"])
    return view


async def order_view(svc: Services, order_id: str) -> dict[str, Any]:
    return shown(svc, order_id, await read(svc, svc.read_model.order_view, order_id))


def shown(svc: Services, order_id: str, view: dict[str, Any] | None) -> dict[str, Any]:
    if view is None:
        raise NotFound(f"order {order_id} does not exist")
    return with_pickup_codes(svc, view)


@router.post(
    "/orders",
    status_code=201,
    response_model=answers.Order,
    responses={
        200: {
            "model": answers.Order,
            "description": "the same channel_order_id again: the order placed first",
        }
    },
)
async def submit_order(
    body: OrderIn,
    response: Response,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Place an order: priced with the member's rights and the promotions in force, stock
    reserved, paid or waiting for payment, split and sent to its locations. Idempotent by
    `channel_order_id`: the same body again answers `200` with the order placed first; a
    different body under the same number is `409 idempotency_conflict`. Insufficient stock
    is `409 insufficient_stock` with the SKUs, and nothing is held."""
    require_role(p, "channel")
    channel = channel_of(p, body.channel)
    order_id = order_id_for(channel, body.channel_order_id)
    req = order_request(svc, body, channel=channel, order_id=order_id)
    first = await read(svc, svc.read_model.order_request, order_id)
    if first is None:
        await start_order(svc, req)
    else:
        differ = request_differences(first, asdict(req))
        if differ:
            raise IdempotencyConflict(
                f"channel order {body.channel_order_id} was placed before with other "
                f"{', '.join(differ)}: use a new channel_order_id for a new order",
                details={"channel_order_id": body.channel_order_id, "fields": differ},
            )
        response.status_code = 200
    return await order_view(svc, order_id)


async def start_order(svc: Services, req: OrderRequest) -> None:
    """Start the order workflow and wait until it is priced, reserved and recorded."""
    client = await svc.temporal()
    lines = ", ".join(f"{ln.sku} x{ln.qty}" for ln in req.lines[:5])
    op = WithStartWorkflowOperation(
        OrderWorkflow.run,
        OrderInput(req, svc.settings.timeouts(), svc.settings.min_credit_score),
        id=order_workflow_id(req.order_id),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=svc.settings.task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(CHANNEL, req.channel),
                SearchAttributePair(CHANNEL_ORDER_ID, req.channel_order_id),
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


@router.get("/orders/{order_id}", response_model=answers.Order)
async def get_order(
    order_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The order: its pricing, payments, parts (with the pickup code while one waits for
    collection), refunds and timeline. A channel opens the orders it placed; the chain's own
    channels also open any member's order they can list (`GET /v1/members/{id}/orders`)."""

    def scoped_view() -> dict[str, Any] | None:  # one read: the check and the view agree
        order_scope(p, svc, order_id, reading=True)
        return svc.read_model.order_view(order_id)

    return shown(svc, order_id, await read(svc, scoped_view))


@router.patch("/orders/{order_id}", response_model=answers.OrderChanged)
async def change_order(
    order_id: ClientId,
    body: OrderChangeIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Change the lines (all of them, as they now are) or the fulfilment (another address,
    delivery or pickup), until the first part is picked. The order is priced again as a new one
    would be (promotions, thresholds, gifts; its coupons as held, its points kept), its stock
    re-reserved without ever holding less than it owes, its parts planned again where they must
    change (their stores see only their current work), and the difference refunded at once, or
    collected: stored value at once, a gateway method through a new payment (`change.payment_id`;
    the change stands once it is paid, and is undone if it is not paid in time). Too late: `409
    too_late_to_change`; what cannot be served is refused and the order stays as it was. A
    coupon whose threshold the change loses goes back to the member."""
    require_role(p, "channel")
    await read(svc, order_scope, p, svc, order_id)
    if body.lines is not None:
        require_distinct_skus(ln.sku for ln in body.lines)
    f = body.fulfilment
    change = OrderChange(
        lines=[LineRequest(ln.sku, ln.qty) for ln in body.lines] if body.lines else None,
        fulfilment=FulfilmentChoice(
            mode=f.mode,
            location_id=f.location_id,
            address=Address(**f.address.model_dump()) if f.address else None,
        )
        if f
        else None,
        substitutions=preferences(body.lines) if body.lines else None,
    )
    outcome = await update_order(
        svc,
        order_id,
        OrderWorkflow.change,
        change,
        closed="the order is finished: it can no longer change",
    )
    return await order_view(svc, order_id) | {"change": asdict(outcome)}


@router.get("/orders", response_model=answers.OrderPage)
def list_orders(
    status: OrderStatusFilter | None = Query(None),
    member_phone: str | None = Query(None, max_length=32),
    location_id: ClientId | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=500),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The channel's orders, newest first, a page at a time (`next_cursor`), by status, member
    phone or location."""
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
    return {"orders": [with_pickup_codes(svc, o) for o in orders], "next_cursor": nxt}


async def update_order(svc: Services, order_id: str, update: Any, arg: Any, *, closed: str) -> Any:
    """Send an update to the order's workflow; `closed`: what a finished workflow means."""
    handle = (await svc.temporal()).get_workflow_handle(order_workflow_id(order_id))
    try:
        return await handle.execute_update(update, arg)
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        raise InvalidTransition(closed, details={"order_id": order_id}) from None


@router.post("/orders/{order_id}/payments", status_code=201, response_model=answers.OrderPaidAgain)
async def pay_again(
    order_id: ClientId,
    body: NewPaymentIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """After a failed payment, while the order is still `awaiting_payment`: a new payment
    (`stored_value` pays at once; a gateway method returns the new `payment_id` to pay)."""
    require_role(p, "channel")
    await read(svc, order_scope, p, svc, order_id)
    channel = await read(svc, svc.read_model.order_channel, order_id)
    assert channel is not None
    require_own_money(svc, channel, method=body.payment_method, points=0)
    opened = await update_order(
        svc,
        order_id,
        OrderWorkflow.pay_again,
        NewPayment(body.payment_method),
        closed="the order is finished and takes no payment",
    )
    view = await order_view(svc, order_id)
    return view | {"opened": asdict(opened)}


@router.post("/orders/{order_id}/cancel", response_model=answers.Order)
async def cancel_order(
    order_id: ClientId,
    body: ReasonIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Before anything has shipped or been picked up: open parts are cancelled (their stores
    are told at once), stock is released, and what was paid is refunded to its tender."""
    require_role(p, "channel")
    await read(svc, order_scope, p, svc, order_id)
    await update_order(
        svc,
        order_id,
        OrderWorkflow.cancel,
        body.reason,
        closed="the order is finished and cannot be cancelled",
    )
    return await order_view(svc, order_id)


@router.post("/orders/{order_id}/returns", response_model=answers.Order)
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
    require_distinct_skus(ln.sku for ln in body.lines)
    await read(svc, order_scope, p, svc, order_id)
    req = ReturnRequest([LineRequest(sku=ln.sku, qty=ln.qty) for ln in body.lines], body.reason)
    await update_order(
        svc,
        order_id,
        OrderWorkflow.request_return,
        req,
        closed="the return window of this order has closed",
    )
    return await order_view(svc, order_id)


@router.get("/orders/{order_id}/settlement", response_model=answers.OrderSettlement)
def order_settlement(
    order_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """Settlement entries of an order (admin): they add up to what the member paid less refunds
    once the order is completed."""
    require_admin(p)
    return svc.settlement.order_settlement(order_id)
