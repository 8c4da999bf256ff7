"""Promotions and coupons: admin storage, and the active set as the pricing engine reads it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from adapters import fastsql
from adapters.db import read_scope, read_tx, session_scope
from adapters.tables import Coupon, CouponHold, Promotion, Sku, utcnow
from domain.errors import Conflict, InvalidCoupon, InvalidRequest, NotFound
from domain.members import normalise_phone
from domain.pricing import Rule, RuleBook, Scope


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
            f"a {kind} promotion needs {' and '.join(need)}: set them",
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


_PROMOTIONS = Promotion.__table__  # type: ignore[attr-defined]
PROMOTIONS_SIGNATURE = sa_select(
    func.count().label("n"), func.max(_PROMOTIONS.c.updated_at).label("latest")
).select_from(_PROMOTIONS)


class PromotionRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._book: RuleBook | None = None
        self._signature: tuple[object, ...] | None = None

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

    def rules(self) -> list[Rule]:
        """Every active promotion, as the pricing engine reads it."""
        with read_scope(self.engine) as s:
            return [rule_of(p) for p in s.exec(select(Promotion).where(Promotion.active))]

    def rule_book(self) -> RuleBook:
        """The active promotions, indexed; rebuilt only when a promotion has changed."""
        with read_tx(self.engine) as s:
            row = fastsql.first(s, PROMOTIONS_SIGNATURE, {})
        signature = (row.n, row.latest) if row is not None else None
        if self._book is None or signature is None or self._signature != signature:
            self._book, self._signature = RuleBook(self.rules()), signature
        return self._book

    def list_promotions(self, *, active: bool | None = None) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
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
                    f"promotion {promo.promotion_id} takes no coupons: set coupon_required to "
                    "true on it, or choose another promotion_id",
                    details={"promotion_id": promo.promotion_id, "field": "promotion_id"},
                )
            if s.get(Coupon, data["code"]) is not None:
                raise Conflict(
                    f"coupon code {data['code']} already exists: choose another code",
                    details={"code": data["code"], "field": "code"},
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
        with read_scope(self.engine) as s:
            return [coupon_view(c) for c in s.exec(select(Coupon).order_by(col(Coupon.code)))]


def rule_of(p: Promotion) -> Rule:
    scope = p.scope or {}
    return Rule(
        promotion_id=p.promotion_id,
        kind=p.kind,
        scope=Scope(
            skus=frozenset(scope.get("skus", [])),
            categories=frozenset(scope.get("categories", [])),
            channels=frozenset(scope.get("channels", [])),
            locations=frozenset(scope.get("locations", [])),
            tiers=frozenset(scope.get("tiers", [])),
        ),
        percent=p.percent,
        amount=p.amount,
        threshold_amount=p.threshold_amount,
        repeat=p.repeat,
        gift_sku=p.gift_sku,
        gift_qty=p.gift_qty,
        payment_methods=frozenset(p.payment_methods),
        coupon_required=p.coupon_required,
        stackable=p.stackable,
        priority=p.priority,
        starts_at=_aware(p.starts_at),
        ends_at=_aware(p.ends_at),
        active=p.active,
    )


class CouponBook:
    """Coupons: validated when an order is priced, held when it is placed, released if it is
    cancelled before payment, used up on payment. Every move is idempotent per order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def promotions_for(
        self, codes: list[str], *, member_phone: str | None, at: datetime
    ) -> set[str]:
        """The promotion ids of these coupon codes, or InvalidCoupon naming the bad ones."""
        if not codes:
            return set()
        with read_scope(self.engine) as s:  # only reads: holding a coupon is another step
            bad: list[str] = []
            ids: set[str] = set()
            for code in codes:
                c = s.get(Coupon, code)
                promo = s.get(Promotion, c.promotion_id) if c else None
                if (
                    c is None
                    or promo is None
                    or not rule_of(promo).valid_at(at)
                    or c.used + c.held >= c.uses
                    or (c.member_phone is not None and c.member_phone != member_phone)
                ):
                    bad.append(code)
                else:
                    ids.add(c.promotion_id)
            if bad:
                raise InvalidCoupon(
                    f"coupons {', '.join(bad)} cannot be used (unknown, used up, expired or "
                    "another member's): remove them from coupon_codes",
                    details={"codes": bad, "field": "coupon_codes"},
                )
            return ids

    def promotions_of(self, codes: list[str]) -> set[str]:
        """The promotion ids of coupons an order holds already (no checks: they are its own)."""
        if not codes:
            return set()
        with session_scope(self.engine) as s:
            return {c.promotion_id for code in codes if (c := s.get(Coupon, code)) is not None}

    def hold(self, order_id: str, codes: list[str]) -> None:
        with session_scope(self.engine) as s:
            for code in codes:
                if s.get(CouponHold, (code, order_id)) is not None:
                    continue
                res = s.execute(
                    text(
                        "UPDATE coupon SET held = held + 1 WHERE code = :c AND used + held < uses"
                    ),
                    {"c": code},
                )
                if res.rowcount != 1:  # type: ignore[attr-defined]
                    s.rollback()
                    raise InvalidCoupon(
                        f"coupon {code} is used up: remove it from coupon_codes",
                        details={"codes": [code], "field": "coupon_codes"},
                    )
                s.add(CouponHold(code=code, order_id=order_id, state="held"))

    def release(self, order_id: str) -> None:
        self._settle(order_id, to="released", sql="held = held - 1")

    def use(self, order_id: str) -> None:
        self._settle(order_id, to="used", sql="held = held - 1, used = used + 1")

    def give_back(self, order_id: str) -> None:
        """A used coupon comes back (the order was cancelled and refunded)."""
        with session_scope(self.engine) as s:
            holds = s.exec(
                select(CouponHold).where(
                    CouponHold.order_id == order_id, CouponHold.state == "used"
                )
            )
            for h in holds:
                s.execute(text("UPDATE coupon SET used = used - 1 WHERE code = :c"), {"c": h.code})
                h.state = "returned"
                s.add(h)

    def _settle(self, order_id: str, *, to: str, sql: str) -> None:
        with session_scope(self.engine) as s:
            holds = s.exec(
                select(CouponHold).where(
                    CouponHold.order_id == order_id, CouponHold.state == "held"
                )
            )
            for h in holds:
                s.execute(text(f"UPDATE coupon SET {sql} WHERE code = :c"), {"c": h.code})
                h.state = to
                s.add(h)
