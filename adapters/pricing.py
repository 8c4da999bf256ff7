"""Pricing an order against today's catalogue, promotions, coupons and the member's rights."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from adapters.catalog import CatalogRepository
from adapters.members import MemberRepository
from adapters.promotions import CouponBook, PromotionRepository
from adapters.tables import Member
from domain.orders import OrderRequest, Pricing
from domain.pricing import CatalogItem, PricingContext, price


class PricingService:
    def __init__(self, engine: Engine) -> None:
        self.catalog = CatalogRepository(engine)
        self.promotions = PromotionRepository(engine)
        self.coupons = CouponBook(engine)
        self.members = MemberRepository(engine)

    def quote(self, req: OrderRequest, *, at: datetime) -> Pricing:
        member = self.members.by_phone(req.member_phone) if req.member_phone else None
        return self.quote_for(req, member, at=at)

    def quote_for(
        self,
        req: OrderRequest,
        member: Member | None,
        *,
        at: datetime,
        items: dict[str, CatalogItem] | None = None,
        coupons: set[str] | None = None,
    ) -> Pricing:
        """The price for `member`, already looked up by the order's phone (None: no member);
        `items`: the catalogue items of the order's SKUs, when the caller has read them;
        `coupons`: the promotions of coupons the order holds already (a change)."""
        coupon_promotions = (
            coupons
            if coupons is not None
            else self.coupons.promotions_for(
                req.coupon_codes, member_phone=member.phone if member else req.member_phone, at=at
            )
        )
        rules = self.promotions.rule_book()
        ctx = PricingContext(
            channel=req.channel,
            now=at,
            tier=member.tier if member else "normal",
            location_id=req.fulfilment.location_id if req.fulfilment.mode == "pickup" else None,
            payment_method=req.payment_method,
            coupon_promotions=frozenset(coupon_promotions),
            points_to_redeem=req.points_to_redeem,
            points_balance=member.points if member else 0,
        )
        if items is None:
            items = self.catalog.catalog_items(sorted({ln.sku for ln in req.lines}))
        return price(req.lines, items, rules, ctx)
