"""Admin: tokens and master data (locations, SKUs, stock, promotions, coupons, members)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlmodel import select
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from adapters.db import session_scope
from adapters.promotions import PromotionRepository
from adapters.tables import ChannelConfig, Location, Sku, Stock
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, read, require_admin, services
from api.schemas import (
    ChannelIn,
    ClientId,
    ConflictResolutionIn,
    CouponIn,
    LocationIn,
    MemberTierIn,
    PointsIn,
    PromotionIn,
    ReceiptIn,
    RefundCloseIn,
    SettlementRuleIn,
    SkuIn,
    StaffAccountIn,
    StockIn,
    TokenIn,
)
from domain.errors import InvalidTransition, NotFound
from domain.settlement import SettlementTerms
from workflows.aftercare import RepairWorkflow
from workflows.messages import order_workflow_id

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def created_or_replaced(model: Any) -> dict[int | str, dict[str, Any]]:
    """The answers of a PUT that creates or replaces: the same thing either way."""
    return {
        200: {"model": model, "description": "replaced"},
        201: {"model": model, "description": "created"},
    }


async def admin(p: Principal = Depends(caller)) -> Principal:
    require_admin(p)
    return p


@router.post("/tokens", status_code=201, response_model=answers.NewToken)
def create_token(
    body: TokenIn, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """A token for a channel (`channel`), a store's staff (`location_id`) or an admin, optionally
    expiring (`expires_at`). Its secret is in this answer only."""
    if body.role == "staff" and svc.catalog.get_location(body.location_id or "") is None:
        raise NotFound(f"location {body.location_id} does not exist")
    principal = Principal(role=body.role, channel=body.channel, location_id=body.location_id)
    token, token_id = svc.tokens.issue(principal, label=body.label, expires_at=body.expires_at)
    return {
        "token": token,
        "token_id": token_id,
        "role": body.role,
        "channel": body.channel,
        "location_id": body.location_id,
        "expires_at": body.expires_at.isoformat() if body.expires_at else None,
    }


@router.get("/tokens", response_model=answers.Tokens)
def list_tokens(_: Principal = Depends(admin), svc: Services = Depends(services)) -> dict[str, Any]:
    """Every token: its id, role, scope, label, when it was created, when it expires, when it
    was last used (to the minute) and whether it was revoked. Never a token's secret."""
    return {"tokens": svc.tokens.list()}


@router.delete("/tokens/{token_id}", response_model=answers.TokenSeen)
def revoke_token(
    token_id: Annotated[str, Path(max_length=40, pattern=r"^tok_[A-Za-z0-9]+$")],
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Revoke a token: every API process refuses it within a second. Revoking twice is the
    same as once."""
    return svc.tokens.revoke(token_id)


@router.put("/locations/{location_id}", responses=created_or_replaced(Location))
def put_location(
    location_id: ClientId,
    body: LocationIn,
    response: Response,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> Location:
    """Create (`201`) or replace (`200`) a location: a warehouse or a store, where it is, whether
    it ships and offers pickup, its quota, credit score, priority and shipping cost."""
    row, created = svc.catalog.put_location(location_id, body.model_dump())
    response.status_code = 201 if created else 200
    return row


@router.get("/locations")
def list_locations(
    _: Principal = Depends(admin), svc: Services = Depends(services)
) -> list[Location]:
    """Every location's master data."""
    return svc.catalog.list_locations()


@router.get("/locations/{location_id}")
def get_location(
    location_id: ClientId, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> Location:
    """One location's master data."""
    row = svc.catalog.get_location(location_id)
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return row


@router.put("/skus/{sku}", responses=created_or_replaced(Sku))
def put_sku(
    sku: ClientId,
    body: SkuIn,
    response: Response,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> Sku:
    """Create (`201`) or replace (`200`) a SKU: its name, category, price (fen), goods class and
    barcode."""
    row, created = svc.catalog.put_sku(sku, body.model_dump())
    response.status_code = 201 if created else 200
    return row


@router.get("/skus")
def list_skus(_: Principal = Depends(admin), svc: Services = Depends(services)) -> list[Sku]:
    """Every SKU's master data."""
    return svc.catalog.list_skus()


@router.get("/skus/{sku}")
def get_sku(sku: ClientId, _: Principal = Depends(admin), svc: Services = Depends(services)) -> Sku:
    """One SKU's master data."""
    row = svc.catalog.get_sku(sku)
    if row is None:
        raise NotFound(f"SKU {sku} does not exist")
    return row


def stock_view(row: Stock | None, location_id: str, sku: str) -> dict[str, Any]:
    if row is None:
        return {
            "location_id": location_id,
            "sku": sku,
            "on_hand": 0,
            "reserved": 0,
            "safety_stock": 0,
            "available": 0,
        }
    return {
        "location_id": location_id,
        "sku": sku,
        "on_hand": row.on_hand,
        "reserved": row.reserved,
        "safety_stock": row.safety_stock,
        "available": max(0, row.on_hand - row.reserved - row.safety_stock),
    }


def _require_stock_keys(svc: Services, location_id: str, sku: str) -> None:
    with session_scope(svc.engine) as s:
        if s.get(Location, location_id) is None:
            raise NotFound(f"location {location_id} does not exist")
        if s.get(Sku, sku) is None:
            raise NotFound(f"SKU {sku} does not exist")


@router.put("/stock/{location_id}/{sku}", response_model=answers.StockLevel)
def put_stock(
    location_id: ClientId,
    sku: ClientId,
    body: StockIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The counted stock of a SKU at a location (a stocktake): `on_hand` and the `safety_stock`
    kept back from online sale. Reservations are kept."""
    _require_stock_keys(svc, location_id, sku)
    row = svc.inventory.set_counted(
        location_id, sku, on_hand=body.on_hand, safety_stock=body.safety_stock
    )
    return stock_view(row, location_id, sku)


@router.get("/stock/{location_id}/{sku}", response_model=answers.StockLevel)
def get_stock(
    location_id: ClientId,
    sku: ClientId,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """A SKU's stock at a location: on hand, reserved, kept back and available."""
    _require_stock_keys(svc, location_id, sku)
    return stock_view(svc.inventory.get(location_id, sku), location_id, sku)


@router.post("/stock/{location_id}/{sku}/receipts", response_model=answers.StockLevel)
def receive_stock(
    location_id: ClientId,
    sku: ClientId,
    body: ReceiptIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Goods received at a location: adds to on_hand through the ledger (idempotent per id)."""
    _require_stock_keys(svc, location_id, sku)
    row = svc.inventory.receive(location_id, sku, qty=body.qty, key=f"receive:{body.receipt_id}")
    return stock_view(row, location_id, sku)


@router.get("/stock/{location_id}", response_model=list[answers.StockLevel])
def list_location_stock(
    location_id: ClientId, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> list[dict[str, Any]]:
    """Every SKU's stock at a location."""
    with session_scope(svc.engine) as s:
        if s.get(Location, location_id) is None:
            raise NotFound(f"location {location_id} does not exist")
        rows = s.exec(select(Stock).where(Stock.location_id == location_id).order_by(Stock.sku))
        return [stock_view(r, location_id, r.sku) for r in rows]


@router.put("/channels/{channel}")
def put_channel(
    channel: ClientId,
    body: ChannelIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> ChannelConfig:
    """Which locations serve a channel: by kind, by id, within a radius of the address."""
    return svc.catalog.put_channel(channel, body.model_dump())


@router.get("/channels")
def list_channels(
    _: Principal = Depends(admin), svc: Services = Depends(services)
) -> list[ChannelConfig]:
    """Which locations serve each channel."""
    return svc.catalog.list_channels()


@router.get("/stock-drift", response_model=answers.StockDrift)
def stock_drift(_: Principal = Depends(admin), svc: Services = Depends(services)) -> dict[str, Any]:
    """Stock counters that disagree with the movement ledger (none, when all is well)."""
    drift = svc.inventory.drift()
    return {"ok": not drift, "drift": drift}


@router.get("/refunds", response_model=answers.Refunds)
def list_refunds(
    status: Literal["pending", "succeeded", "failed", "closed"] | None = Query(None),
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Refunds, e.g. `?status=pending` (still being retried against their tender) or
    `?status=failed` (refused for good: settle by hand, then close them)."""
    return {"refunds": svc.read_model.refunds(status)}


@router.put(
    "/promotions/{promotion_id}",
    responses=created_or_replaced(answers.Promotion),
    response_model=answers.Promotion,
)
def put_promotion(
    promotion_id: ClientId,
    body: PromotionIn,
    response: Response,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Create (`201`) or replace (`200`) a promotion: its kind, scope (SKUs, categories,
    channels, locations, tiers; empty means all), amounts, coupon requirement, stacking
    and validity."""
    repo = PromotionRepository(svc.engine)
    view, created = repo.put(promotion_id, body.model_dump())
    response.status_code = 201 if created else 200
    return view


@router.get("/promotions", response_model=list[answers.Promotion])
def list_promotions(
    active: bool | None = None, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> list[dict[str, Any]]:
    """Every promotion (`?active=true`: those in force)."""
    return PromotionRepository(svc.engine).list_promotions(active=active)


@router.post("/promotions/{promotion_id}/deactivate", response_model=answers.Promotion)
def deactivate_promotion(
    promotion_id: ClientId, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The promotion stops applying to new orders and quotes."""
    return PromotionRepository(svc.engine).deactivate(promotion_id)


@router.post("/coupons", status_code=201, response_model=answers.Coupon)
def create_coupon(
    body: CouponIn, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """A coupon code for a promotion that requires one, for one member (`member_phone`) or
    anyone, usable `uses` times."""
    return PromotionRepository(svc.engine).create_coupon(body.model_dump())


@router.get("/coupons", response_model=list[answers.Coupon])
def list_coupons(
    _: Principal = Depends(admin), svc: Services = Depends(services)
) -> list[dict[str, Any]]:
    """Every coupon with its uses, held and used counts."""
    return PromotionRepository(svc.engine).list_coupons()


@router.get("/member-conflicts", response_model=answers.MemberConflicts)
def list_member_conflicts(
    resolved: bool | None = None, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The same phone with different data from different channels, kept for review."""
    return {"conflicts": svc.members.conflicts(resolved=resolved)}


@router.post("/member-conflicts/{conflict_id}/resolve", response_model=answers.ConflictResolved)
def resolve_member_conflict(
    body: ConflictResolutionIn,
    conflict_id: int = Path(ge=1, le=2**31 - 1),
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Settle a member conflict: keep the existing value, or take the incoming name."""
    svc.members.resolve_conflict(conflict_id, keep=body.keep)
    return {"id": conflict_id, "resolved": True, "keep": body.keep}


@router.patch("/members/{member_id}", response_model=answers.Member)
def set_member_tier(
    member_id: ClientId,
    body: MemberTierIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Set a member's tier by hand."""
    svc.members.set_tier(member_id, body.tier)
    return svc.members.view(member_id)


@router.post("/members/{member_id}/points", response_model=answers.Member)
def adjust_points(
    member_id: ClientId,
    body: PointsIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Add or take points (a ledger entry with its reason); the balance never goes below zero."""
    key = f"adjust:{member_id}:{body.adjustment_id}" if body.adjustment_id else None
    svc.members.adjust_points(member_id, body.delta, reason=body.reason, key=key)
    return svc.members.view(member_id)


# --- settlement ----------------------------------------------------------------------------


@router.put("/settlement-rules", response_model=answers.SettlementRule)
def put_settlement_rule(
    body: SettlementRuleIn, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """Create or replace the terms for this channel and/or location. Orders completed from now on
    are settled under the most specific rule; orders already settled keep their terms."""
    fields = body.model_dump(exclude={"channel", "location_id"})
    return svc.settlement.put_rule(
        SettlementTerms(**fields), channel=body.channel, location_id=body.location_id
    )


@router.get("/settlement-rules", response_model=answers.SettlementRules)
def list_settlement_rules(
    _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The settlement rules, most specific first."""
    return {"rules": svc.settlement.rules()}


@router.delete("/settlement-rules/{rule_id}", status_code=204)
def delete_settlement_rule(
    rule_id: Annotated[str, Path(max_length=140, pattern=r"^[A-Za-z0-9_.:*@\-]+$")],
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> Response:
    """Remove a settlement rule; orders already settled keep the rule they were settled with."""
    svc.settlement.delete_rule(rule_id)
    return Response(status_code=204)


@router.get("/settlement/{day}", response_model=answers.SettlementDay)
def settlement_day(
    day: date,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Each party's net for a business day (China time), per role."""
    return {"day": day.isoformat(), "parties": svc.settlement.parties(day.isoformat())}


@router.get(
    "/settlement/{day}/statement.csv",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "the statement",
        }
    },
)
def settlement_statement(
    day: date,
    party: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    ] = None,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> Response:
    """The day's statement for finance, one party (`?party=`) or all: one row per settlement
    entry, then a TOTAL row per party and role; amounts in fen."""
    body = svc.settlement.statement_csv(day.isoformat(), party)
    name = f"settlement-{day}{'-' + party.replace(':', '_') if party else ''}.csv"  # ASCII only
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- operations: repairs and loose ends ------------------------------------------------------


@router.post("/orders/{order_id}/repair", response_model=answers.Repair)
async def repair_order(
    order_id: ClientId, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """Repair an order whose workflow was terminated (Temporal UI's "Terminate"): what it still
    held is released, what was paid for goods not handed over is refunded, and it ends
    `cancelled` (or `completed`, if goods were handed over), saying so in its timeline. An order
    whose workflow is running is `409 invalid_transition`: cancel it instead."""
    status = await read(svc, svc.read_model.order_status, order_id)
    if status is None:
        raise NotFound(f"order {order_id} does not exist")
    client = await svc.temporal()
    try:
        desc = await client.get_workflow_handle(order_workflow_id(order_id)).describe()
        running = desc.status is not None and desc.status.name == "RUNNING"
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        running = False
    if running:
        raise InvalidTransition(
            f"order {order_id} has a running workflow, which keeps it consistent: cancel the "
            f"order instead (POST /v1/orders/{order_id}/cancel)",
            details={"order_id": order_id, "status": status},
        )
    outcome = await client.execute_workflow(
        RepairWorkflow.run,
        order_id,
        id=f"repair-{order_id}",
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        task_queue=svc.settings.task_queue,
        static_summary=f"repair of {order_id} (from the API)",
    )
    view = await read(svc, svc.read_model.order_view, order_id)
    assert view is not None
    return {"repair": outcome, "order": view}


@router.post("/refunds/{refund_id}/close", response_model=answers.ClosedRefund)
def close_refund(
    refund_id: Annotated[str, Path(max_length=120, pattern=r"^[A-Za-z0-9._:-]+$")],
    body: RefundCloseIn,
    _: Principal = Depends(admin),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Close a refund that the tender refused for good (`failed`), once it has been settled
    another way (by hand at the till, by bank transfer): it ends `closed` with the reason, and
    reconciliation stops reporting it."""
    row = svc.read_model.close_refund(refund_id, reason=body.reason)
    return {
        "refund_id": row.refund_id,
        "order_id": row.order_id,
        "status": row.status,
        "amount": row.amount,
        "detail": row.detail,
    }


@router.post("/staff-accounts", status_code=201, response_model=answers.StaffAccount)
def create_staff_account(
    body: StaffAccountIn, _: Principal = Depends(admin), svc: Services = Depends(services)
) -> dict[str, Any]:
    """A person of a location who signs in to the store console (`/console/login`) with this
    name and password; the password is kept only as an Argon2id hash."""
    if svc.catalog.get_location(body.location_id) is None:
        raise NotFound(f"location {body.location_id} does not exist")
    return svc.staff_accounts.create(body.username, body.password, location_id=body.location_id)
