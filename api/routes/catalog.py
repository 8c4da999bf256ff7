"""What channels sell and where: the catalogue and the locations a channel may sell from."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Query

from adapters.tables import Sku
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, require_role, services
from domain.errors import InvalidRequest

router = APIRouter(prefix="/v1", tags=["catalogue"])


def item_view(row: Sku) -> dict[str, Any]:
    return {
        "sku": row.sku,
        "name": row.name,
        "category": row.category,
        "price_amount": row.price_amount,
        "goods_class": row.goods_class,
        "sold_by": row.sold_by,
        "barcode": row.barcode,
        "plu": row.plu,
    }


def _cursor(sku: str) -> str:
    return base64.urlsafe_b64encode(sku.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise InvalidRequest(
            "cursor is not valid: pass next_cursor from the previous page unchanged, or leave "
            "cursor out",
            details={"field": "cursor"},
        ) from None


@router.get("/catalog/skus", response_model=answers.CatalogPage)
def catalogue(
    category: str | None = Query(None, max_length=64, description="only this category"),
    q: str | None = Query(None, max_length=64, description="in the name or the SKU code"),
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=200, description="next_cursor of the last page"),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The SKUs on sale, in code order, a page at a time: their codes (what order lines name),
    names, categories and prices (fen; per kilogram for goods sold by weight)."""
    require_role(p, "channel")
    rows, last = svc.catalog.browse_skus(
        category=category, q=q, limit=limit, after=_after(cursor) if cursor else None
    )
    return {"items": [item_view(r) for r in rows], "next_cursor": _cursor(last) if last else None}


@router.get("/locations", response_model=answers.SellingLocations)
def selling_locations(
    pickup: bool | None = Query(None, description="true: only where members may collect"),
    city: str | None = Query(None, max_length=64),
    p: Principal = Depends(caller),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    """The locations the calling channel may sell from (an admin sees them all): where a pickup
    order may be collected (`pickup: true`), and which serve deliveries (`ships: true`)."""
    require_role(p, "channel")
    rows = svc.catalog.locations_for(
        p.channel if p.role == "channel" else None, pickup=pickup, city=city
    )
    return {
        "items": [
            {
                "location_id": r.location_id,
                "name": r.name,
                "kind": r.kind,
                "province": r.province,
                "city": r.city,
                "lat": r.lat,
                "lng": r.lng,
                "ships": r.ships,
                "pickup": r.pickup,
            }
            for r in rows
        ]
    }
