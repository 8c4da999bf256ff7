"""The stock view: what each channel may sell, and what is sold out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlmodel import select

from adapters.db import session_scope
from adapters.tables import Location, Sku, Stock
from adapters.tokens import Principal
from api.deps import Services, caller, require_role, services
from api.schemas import ClientId
from domain.errors import NotFound

router = APIRouter(prefix="/v1/stock", tags=["stock"])


@router.get("/{sku}")
def stock_of(
    sku: ClientId,
    channel: ClientId | None = None,
    location_id: ClientId | None = None,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    require_role(p, "channel")
    with session_scope(svc.engine) as s:
        if s.get(Sku, sku) is None:
            raise NotFound(f"SKU {sku} does not exist")
        q = select(Stock, Location).where(
            Stock.sku == sku, Stock.location_id == Location.location_id
        )
        if location_id:
            q = q.where(Stock.location_id == location_id)
        locations = [
            {
                "location_id": st.location_id,
                "available": max(0, st.on_hand - st.reserved - st.safety_stock),
            }
            for st, _loc in s.exec(q.order_by(Stock.location_id))
        ]
    total = sum(int(x["available"]) for x in locations)  # type: ignore[call-overload]
    return {
        "sku": sku,
        "channel": channel or p.channel,
        "available": total,
        "sold_out": total == 0,
        "locations": locations,
    }
