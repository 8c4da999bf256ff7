"""Promotions and coupons: admin storage, and the active set as the pricing engine reads it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from adapters.db import session_scope
from adapters.tables import Coupon, Promotion, Sku, utcnow
from domain.errors import Conflict, InvalidRequest, NotFound
from domain.members import normalise_phone


def _check(promotion_id: str, data: dict[str, Any]) -> None:
    kind = data["kind"]
    need: list[str] = []
    if kind in ("percent_off", "tier_discount") and not data["percent"]:
        need.append("percent")
    if kind == "amount_off" and not data["amount"]:
        need.append("amount")
    if kind == "threshold_amount_off" and not (data["threshold_amount"] and data["amount"]):
        need.append("threshold_amount and amount")
    if kind == "threshold_gift" and not (
        data["threshold_amount"] and data["gift_sku"] and data["gift_qty"]
    ):
        need.append("threshold_amount, gift_sku and gift_qty")
    if kind == "payment_method_discount" and not (
        data["payment_methods"] and (data["percent"] or data["amount"])
    ):
        need.append("payment_methods and percent or amount")
    if kind == "tier_discount" and not data["scope"]["tiers"]:
        need.append("scope.tiers")
    if need:
        raise InvalidRequest(
            f"a {kind} promotion needs {'; '.join(need)}",
            details={"promotion_id": promotion_id, "missing": need},
        )
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if starts and ends and _aware(starts) >= _aware(ends):
        raise InvalidRequest(
            "starts_at must come before ends_at", details={"promotion_id": promotion_id}
        )


def _aware(at: Any) -> Any:
    """Timestamps without an offset are taken as UTC."""
    if at is not None and at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at


def promotion_view(p: Promotion) -> dict[str, Any]:
    data = p.model_dump()
    for k in ("starts_at", "ends_at", "updated_at"):
        data[k] = data[k].isoformat() if data[k] else None
    return data


def coupon_view(c: Coupon) -> dict[str, Any]:
    return {
        "code": c.code,
        "promotion_id": c.promotion_id,
        "member_phone": c.member_phone,
        "uses": c.uses,
        "held": c.held,
        "used": c.used,
        "remaining": c.uses - c.held - c.used,
    }


class PromotionRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, promotion_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        _check(promotion_id, data)
        data = dict(
            data, starts_at=_aware(data.get("starts_at")), ends_at=_aware(data.get("ends_at"))
        )
        with session_scope(self.engine) as s:
            if data.get("gift_sku") and s.get(Sku, data["gift_sku"]) is None:
                raise NotFound(f"gift SKU {data['gift_sku']} does not exist")
            row = s.get(Promotion, promotion_id)
            created = row is None
            row = row or Promotion(promotion_id=promotion_id, kind=data["kind"])
            for k, v in data.items():
                setattr(row, k, v)
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            return promotion_view(row), created

    def list_promotions(self, *, active: bool | None = None) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            q = select(Promotion).order_by(col(Promotion.priority), col(Promotion.promotion_id))
            if active is not None:
                q = q.where(Promotion.active == active)
            return [promotion_view(p) for p in s.exec(q)]

    def deactivate(self, promotion_id: str) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            row = s.get(Promotion, promotion_id)
            if row is None:
                raise NotFound(f"promotion {promotion_id} does not exist")
            row.active = False
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            return promotion_view(row)

    def create_coupon(self, data: dict[str, Any]) -> dict[str, Any]:
        phone = normalise_phone(data["member_phone"]) if data.get("member_phone") else None
        with session_scope(self.engine) as s:
            promo = s.get(Promotion, data["promotion_id"])
            if promo is None:
                raise NotFound(f"promotion {data['promotion_id']} does not exist")
            if not promo.coupon_required:
                raise InvalidRequest(
                    "coupons need a promotion with coupon_required: true",
                    details={"promotion_id": promo.promotion_id},
                )
            if s.get(Coupon, data["code"]) is not None:
                raise Conflict(
                    f"coupon code {data['code']} exists already", details={"code": data["code"]}
                )
            row = Coupon(
                code=data["code"],
                promotion_id=promo.promotion_id,
                member_phone=phone,
                uses=data["uses"],
            )
            s.add(row)
            s.flush()
            return coupon_view(row)

    def list_coupons(self) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            return [coupon_view(c) for c in s.exec(select(Coupon).order_by(col(Coupon.code)))]
