"""The payment gateway's signed webhook, and the simulated gateway's driver (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import LatePayment, PaymentRecord
from adapters.payment_gateway import PaymentClosed, verify_webhook
from adapters.tokens import Principal
from api import answers
from api.contract import REF_TEMPLATE
from api.deps import Services, caller, read, require_admin, services
from api.schemas import ClientId, PaymentEventIn, PaymentSimIn
from domain.errors import InvalidRequest, NotFound, Unauthorized
from domain.errors import PaymentClosed as ClosedAtGateway
from workflows.aftercare import LatePaymentWorkflow
from workflows.messages import PaymentResult, order_workflow_id
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["payments"])


@router.post(
    "/payments/webhook",
    response_model=answers.WebhookAck,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": PaymentEventIn.model_json_schema(ref_template=REF_TEMPLATE)
                }
            },
        }
    },
)
async def payment_webhook(
    request: Request,
    x_signature: str | None = Header(None),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Verified over the raw body (HMAC-SHA256, constant-time), within a 5-minute timestamp
    window; the same event twice is applied once. A correctly signed event about a known payment
    is answered 2xx whatever state its order is in: a success that the order cannot keep (it
    was cancelled, or its workflow has closed) is refunded in full."""
    body = await request.body()
    try:
        event = verify_webhook(svc.webhook_secret, body, x_signature)
    except ValueError as exc:
        raise Unauthorized(str(exc)) from None
    seen, found = await read(svc, svc.read_model.payment_event, event.event_id, event.payment_id)
    if seen:
        return {"status": "duplicate", "event_id": event.event_id}
    if found is None:
        raise NotFound(f"payment {event.payment_id} does not exist")
    payment, order_id, member_id = found
    if event.amount != payment.amount:
        raise InvalidRequest(
            f"amount {event.amount} is not the payment's {payment.amount}: send the amount "
            "the payment was created with",
            details={
                "payment_id": event.payment_id,
                "amount": event.amount,
                "expected": payment.amount,
                "field": "amount",
            },
        )
    status = "accepted"
    if event.status in ("succeeded", "failed"):
        client = await svc.temporal()
        try:
            await client.get_workflow_handle(order_workflow_id(order_id)).signal(
                OrderWorkflow.payment_result,
                PaymentResult(event.payment_id, event.status, event.event_id),
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            status = await after_the_order(svc, payment, event.status, order_id, member_id)
    await run_in_threadpool(svc.read_model.remember_webhook, event.event_id)
    return {"status": status, "event_id": event.event_id}


async def after_the_order(
    svc: Services, payment: PaymentRecord, outcome: str, order_id: str, member_id: str | None
) -> str:
    """The order's workflow has closed: a failure is recorded; a success it never counted is
    refunded in full by a `LatePaymentWorkflow`."""
    if outcome != "succeeded":
        failed = PaymentRecord(payment.payment_id, payment.method, payment.amount, "failed")
        await run_in_threadpool(svc.read_model.record_payment, order_id, failed)
        return "recorded"
    if payment.status == "succeeded":
        return "already_paid"  # the order counted it (a repeated notice)
    client = await svc.temporal()
    await client.start_workflow(
        LatePaymentWorkflow.run,
        LatePayment(
            order_id, payment, member_id, "the order had ended before the payment succeeded"
        ),
        id=f"late-payment-{payment.payment_id}",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=svc.settings.task_queue,
        static_summary=f"refund of late payment {payment.payment_id} ({order_id})",
    )
    return "refunding"


@router.post("/sim/payments/{payment_id}", response_model=answers.SimulatedPayment)
async def drive_simulated_payment(
    payment_id: ClientId,
    body: PaymentSimIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Tell the simulated gateway how a payment ends; it then sends the signed webhook. A payment
    closed at the gateway (its order was cancelled or timed out) is `409 payment_closed`,
    unless `force` says to succeed it anyway, as a real gateway's late notice would."""
    require_admin(p)
    if await read(svc, svc.read_model.payment_of, payment_id) is None:
        raise NotFound(f"payment {payment_id} does not exist")
    try:
        return await run_in_threadpool(
            lambda: svc.gateway.drive(payment_id, body.outcome, force=body.force)
        )
    except PaymentClosed as err:
        raise ClosedAtGateway(
            f"payment {payment_id} was closed at the gateway (its order is not going ahead) "
            "and cannot succeed",
            details={"payment_id": payment_id, "gateway": str(err)},
        ) from None
