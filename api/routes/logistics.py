"""Goods on the move: the carriers and their rules (admin), the callbacks of a warehouse's
execution system and of the courier (signed), the simulated courier's driver (admin), and a
part's shipping label."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from adapters import labels, signed
from adapters.logistics import SystemUnavailable
from adapters.tables import Carrier
from adapters.tokens import Principal
from api import answers
from api.contract import REF_TEMPLATE
from api.deps import Services, Unavailable, caller, read, require_admin, services, staff_part
from api.routes.admin import created_or_replaced
from api.schemas import CarrierIn, ClientId, CourierCallbackIn, CourierSimIn, WmsCallbackIn
from domain.errors import InvalidRequest, InvalidTransition, NotFound, Unauthorized
from domain.orders import LineRequest
from workflows.messages import TrackingReport, WarehouseReport, order_workflow_id
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/v1", tags=["logistics"])


def _body(model: Any) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema(ref_template=REF_TEMPLATE)}
            },
        }
    }


# --- carriers ----------------------------------------------------------------------------------


@router.put(
    "/admin/carriers/{carrier_id}",
    response_model=Carrier,
    responses=created_or_replaced(Carrier),
)
def put_carrier(
    carrier_id: ClientId,
    body: CarrierIn,
    response: Response,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> Carrier:
    """Create (`201`) or replace (`200`) a carrier and its rule: the provinces it covers (none:
    all), its cost per parcel, its weight limit and its priority. Each delivery part is given
    the qualifying carrier with the lowest priority, then cost (its reasons in
    `carrier_reasons`); a channel with its own logistics (`logistics_carrier`) gets those."""
    require_admin(p)
    row, created = svc.catalog.put_carrier(carrier_id, body.model_dump())
    response.status_code = 201 if created else 200
    return row


@router.get("/admin/carriers", response_model=list[Carrier])
def list_carriers(p: Principal = Depends(caller), svc: Services = Depends(services)) -> Any:
    """Every carrier and its rule."""
    require_admin(p)
    return svc.catalog.list_carriers()


# --- callbacks ---------------------------------------------------------------------------------


async def _verified(svc: Services, who: str, request: Request, signature: str | None) -> dict:
    body = await request.body()
    try:
        return signed.verify(svc.callback_secrets[who], body, signature)
    except ValueError as exc:
        raise Unauthorized(str(exc)) from None


async def _signal(svc: Services, order_id: str, signal: Any, arg: Any) -> str:
    """The report to the order's workflow: "accepted", or "ignored" once the order is over."""
    client = await svc.temporal()
    try:
        await client.get_workflow_handle(order_workflow_id(order_id)).signal(signal, arg)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return "ignored"
    return "accepted"


@router.post(
    "/callbacks/wms",
    response_model=answers.CallbackAck,
    openapi_extra=_body(WmsCallbackIn),
)
async def wms_callback(
    request: Request,
    x_signature: str | None = Header(None, description="hex HMAC-SHA256 of the raw body"),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """A warehouse's execution system reports on a part it runs: `picked` (seq 1, the
    quantities picked: fewer is a shortage, refunded at once), then `shipped` (seq 2, the
    carrier and waybill). Signed with `OMS_WMS_CALLBACK_SECRET`; the same event twice is
    applied once, and a report that comes before the one it follows waits for it."""
    data = await _verified(svc, "wms", request, x_signature)
    try:
        event = WmsCallbackIn.model_validate(data)
    except ValueError:
        raise InvalidRequest(
            "the callback is not a report: send event_id, fulfilment_id, seq, type and timestamp",
            details={"field": "body"},
        ) from None
    key = f"wms:{event.event_id}"
    if await read(svc, svc.read_model.webhook_seen, key):
        return {"status": "duplicate", "event_id": event.event_id}
    row = await read(svc, svc.read_model.fulfilment, event.fulfilment_id)
    if row is None:
        raise NotFound(f"fulfilment {event.fulfilment_id} does not exist: check fulfilment_id")
    report = WarehouseReport(
        event.fulfilment_id,
        event.seq,
        event.type,
        [LineRequest(ln.sku, ln.qty) for ln in event.lines],
        event.carrier or "",
        event.waybill or "",
    )
    status = await _signal(svc, row.order_id, OrderWorkflow.warehouse_report, report)
    await run_in_threadpool(svc.read_model.remember_webhook, key)
    return {"status": status, "event_id": event.event_id}


@router.post(
    "/callbacks/courier",
    response_model=answers.CallbackAck,
    openapi_extra=_body(CourierCallbackIn),
)
async def courier_callback(
    request: Request,
    x_signature: str | None = Header(None, description="hex HMAC-SHA256 of the raw body"),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The courier's tracking event for a waybill: `in_transit`, `delivered` (completes the
    part) or `failed` (the goods go back to the location and the member is refunded). Signed
    with `OMS_COURIER_CALLBACK_SECRET`; each event applied once, in `seq` order."""
    data = await _verified(svc, "courier", request, x_signature)
    try:
        event = CourierCallbackIn.model_validate(data)
    except ValueError:
        raise InvalidRequest(
            "the callback is not a tracking event: send event_id, tracking_no, seq, event and "
            "timestamp",
            details={"field": "body"},
        ) from None
    key = f"courier:{event.event_id}"
    if await read(svc, svc.read_model.webhook_seen, key):
        return {"status": "duplicate", "event_id": event.event_id}
    found = await read(svc, svc.read_model.parts_by_tracking, event.tracking_no)
    if not found:
        raise NotFound(f"no part has waybill {event.tracking_no}: check tracking_no")
    status = "ignored"
    for fid, order_id in found:  # a shipment's parts travel under one waybill
        report = TrackingReport(fid, event.seq, event.event, event.detail)
        if await _signal(svc, order_id, OrderWorkflow.tracking, report) == "accepted":
            status = "accepted"
    await run_in_threadpool(svc.read_model.remember_webhook, key)
    return {"status": status, "event_id": event.event_id}


@router.post("/sim/couriers/{tracking_no}", response_model=answers.SimulatedParcel)
async def drive_simulated_courier(
    tracking_no: ClientId,
    body: CourierSimIn,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Tell the simulated courier what happens to a parcel: it then sends the signed tracking
    callback. The parcel must have been collected (its part shipped)."""
    require_admin(p)
    if not await read(svc, svc.read_model.parts_by_tracking, tracking_no):
        raise NotFound(f"no part has waybill {tracking_no}: check tracking_no")
    assert svc.courier is not None
    courier = svc.courier
    try:
        w = await run_in_threadpool(lambda: courier.drive(tracking_no, body.event))
    except SystemUnavailable:
        raise Unavailable("the simulated courier is not reachable: try again shortly") from None
    except ValueError:
        raise InvalidTransition(
            f"waybill {tracking_no} has not been collected: ship its part first",
            details={"tracking_no": tracking_no},
        ) from None
    return {"tracking_no": tracking_no, "status": w["status"], "carrier": w["carrier"]}


# --- the shipping label --------------------------------------------------------------------------


@router.get(
    "/fulfilments/{fulfilment_id}/label",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the label, 100 x 150 mm",
        }
    },
)
def label(
    fulfilment_id: ClientId, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> Response:
    """A delivery part's shipping label as PDF: its waybill number as a barcode, both
    addresses and its lines (staff of its location, or an admin). A part gets its waybill when
    it ships, or when it is sent to a warehouse's execution system."""
    row = staff_part(svc, p, fulfilment_id)
    if row.mode != "delivery" or not row.tracking_no:
        raise InvalidTransition(
            f"{fulfilment_id} has no waybill yet: it gets one when it ships (or is sent to its "
            "warehouse's execution system)",
            details={"fulfilment_id": fulfilment_id, "status": row.status},
        )
    data = svc.read_model.label_data(fulfilment_id)
    pdf = labels.render(data)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="label-{fulfilment_id}.pdf"'},
    )
