"""The payment gateway's signed webhook, and the simulated gateway's driver (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from adapters.payment_gateway import verify_webhook
from adapters.tokens import Principal
from api.deps import Services, caller, require_admin, services
from api.schemas import ClientId, PaymentSimIn
from domain.errors import InvalidRequest, NotFound, Unauthorized
from domain.orders import PaymentResult, order_workflow_id
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["payments"])


@router.post("/payments/webhook")
async def payment_webhook(
    request: Request,
    x_signature: str | None = Header(None),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Verified over the raw body (HMAC-SHA256, constant-time), within a 5-minute timestamp
    window; the same event twice is applied once."""
    body = await request.body()
    try:
        event = verify_webhook(svc.webhook_secret, body, x_signature)
    except ValueError as exc:
        raise Unauthorized(f"webhook refused: {exc}") from None
    if await run_in_threadpool(svc.read_model.webhook_seen, event.event_id):
        return {"status": "duplicate", "event_id": event.event_id}
    payment = await run_in_threadpool(svc.read_model.payment_of, event.payment_id)
    if payment is None:
        raise NotFound(f"payment {event.payment_id} does not exist")
    order_id, amount = payment
    if event.amount != amount:
        raise InvalidRequest(
            "the event's amount is not the payment's",
            details={"payment_id": event.payment_id, "amount": event.amount, "expected": amount},
        )
    if event.status in ("succeeded", "failed"):
        handle = (await svc.temporal()).get_workflow_handle(order_workflow_id(order_id))
        await handle.signal(
            OrderWorkflow.payment_result,
            PaymentResult(event.payment_id, event.status, event.event_id),
        )
    await run_in_threadpool(svc.read_model.remember_webhook, event.event_id)
    return {"status": "accepted", "event_id": event.event_id}


@router.post("/sim/payments/{payment_id}")
async def drive_simulated_payment(
    payment_id: ClientId,
    body: PaymentSimIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Tell the simulated gateway how a payment ends; it then sends the signed webhook."""
    require_admin(p)
    if await run_in_threadpool(svc.read_model.payment_of, payment_id) is None:
        raise NotFound(f"payment {payment_id} does not exist")
    return await run_in_threadpool(svc.gateway.drive, payment_id, body.outcome)
