"""Quotes: price an order without creating it, with the trace of every promotion."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends

from adapters.read_model import line_view
from adapters.tokens import Principal
from api import answers
from api.deps import Services, caller, require_role, services
from api.routes.orders import channel_of, order_request
from api.schemas import OrderIn, QuoteIn
from domain.orders import Pricing
from domain.pricing import order_lines, without_gifts

router = APIRouter(prefix="/v1", tags=["orders"])


def pricing_view(p: Pricing) -> dict[str, Any]:
    return {
        "lines": [line_view(ln) for ln in p.lines],
        "subtotal_amount": p.subtotal_amount,
        "discount_amount": p.discount_amount,
        "points_redeemed": p.points_redeemed,
        "points_amount": p.points_amount,
        "payable_amount": p.payable_amount,
        "applied_promotions": [asdict(x) for x in p.applied_promotions],
        "trace": p.trace,
    }


@router.post("/quotes", response_model=answers.Quote)
def quote(
    body: QuoteIn, p: Principal = Depends(caller), svc: Services = Depends(services)
) -> dict[str, Any]:
    """The price of an order without placing it: the same body as `POST /v1/orders` without
    `channel_order_id`, answered with every pricing step in `pricing.trace`."""
    require_role(p, "channel")
    channel = channel_of(p, body.channel)
    order = OrderIn(**body.model_dump(), channel_order_id="quote")
    req = order_request(svc, order, channel=channel, order_id="quote")
    if req.fulfilment.mode == "pickup" and req.fulfilment.location_id:
        svc.catalog.require_pickup(req.fulfilment.location_id, channel=channel)
    pricing = svc.pricing.quote(req, at=datetime.now(UTC))
    gifts = {ln.sku for ln in pricing.lines if ln.gift}
    if gifts:
        pricing = without_gifts(
            pricing,
            gifts
            - svc.inventory.sellable(
                sorted(gifts),
                location_id=req.fulfilment.location_id,
                mode=req.fulfilment.mode,
                wanted={ln.sku: ln.qty for ln in order_lines(pricing)},
            ),
        )
    return {"channel": channel, "pricing": pricing_view(pricing)}
