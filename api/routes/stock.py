"""The stock view: what each channel may sell, and what is sold out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlmodel import select

from adapters.catalog import site_of
from adapters.db import session_scope
from adapters.tables import Location, Sku, Stock
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, require_role, services
from api.schemas import ClientId
from domain.errors import Forbidden, NotFound

router = APIRouter(prefix="/v1/stock", tags=["stock"])


@router.get("/{sku}", response_model=answers.StockView)
def stock_of(
    sku: ClientId,
    channel: ClientId | None = None,
    location_id: ClientId | None = None,
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """Available units of a SKU at each location that serves the channel (a channel token sees
    its own channel; admins may name one). `sold_out` is true the moment nothing is left."""
    require_role(p, "channel")
    if p.role == "channel" and channel and channel != p.channel:
        raise Forbidden(
            f"a channel token reads its own channel's stock only: leave channel out or send "
            f"{p.channel}",
            details={"field": "channel"},
        )
    channel = p.channel if p.role == "channel" else channel
    rule = svc.catalog.channel_rule(channel) if channel else None
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
            for st, loc in s.exec(q.order_by(Stock.location_id))
            if rule is None or rule.refuses(site_of(loc), None) is None
        ]
    total = sum(int(x["available"]) for x in locations)  # type: ignore[call-overload]
    return {
        "sku": sku,
        "channel": channel,
        "available": total,
        "sold_out": total == 0,
        "locations": locations,
    }
