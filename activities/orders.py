"""Order activities: pricing, member lookup, planning with reservation, payment by stored value,
stock moves, and projections into the read model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settlement import SettlementLedger
from domain.errors import DomainError, InsufficientStock
from domain.orders import LineRequest, PlannedPart, Pricing
from domain.pricing import CatalogItem
from domain.routing import RoutingInput, plan_fulfilments

RESERVE_ATTEMPTS = 5


def business_error(err: DomainError) -> ApplicationError:
    """A domain error as a non-retryable activity failure that keeps its code and details."""
    return ApplicationError(err.message, err.details, type=err.code, non_retryable=True)


class OrderActivities:
    def __init__(
        self,
        *,
        catalog: CatalogRepository,
        inventory: InventoryRepository,
        members: MemberRepository,
        read_model: ReadModel,
        pricing: PricingService,
        settlement: SettlementLedger | None = None,
    ) -> None:
        self.pricing = pricing
        self.settlement = settlement or SettlementLedger(read_model.engine)
        self.catalog = catalog
        self.inventory = inventory
        self.members = members
        self.read_model = read_model

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.price_order,
            self.prepare_order,
            self.hold_coupons,
            self.release_coupons,
            self.use_coupons,
            self.redeem_points,
            self.restore_points,
            self.earn_points,
            self.record_parts,
            self.lower_credit,
            self.receive_return,
            self.record_settlement,
            self.evaluate_tier,
            self.ensure_member,
            self.plan_and_reserve,
            self.record_order,
            self.pay_stored_value,
            self.release_stock,
            self.deduct_stock,
            self.project_order,
            self.project_fulfilment,
            self.project_payment,
        ]

    @activity.defn(name=c.PRICE_ORDER)
    def price_order(self, req: c.PriceRequest) -> Pricing:
        try:
            return self.pricing.quote(req.request, at=req.at)
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn(name=c.PREPARE_ORDER)
    def prepare_order(self, p: c.PrepareOrder) -> c.PreparedOrder:
        """The order priced, its member found or created, its split planned and its stock
        reserved (gifts with it, as far as there is stock for them), in one step."""
        phone = p.request.member_phone
        try:
            member = self.members.by_phone(phone) if phone else None  # read once, for both uses
            items = self.catalog.catalog_items(sorted({ln.sku for ln in p.request.lines}))
            pricing = self.pricing.quote_for(p.request, member, at=p.at, items=items)
        except DomainError as err:
            raise business_error(err) from err
        member_id = member.member_id if member else (self.ensure_member(phone) if phone else None)
        parts = self._reserve_plan(c.plan_request(p, pricing), items)  # the items read once too
        return c.PreparedOrder(pricing, member_id, parts)

    @activity.defn(name=c.HOLD_COUPONS)
    def hold_coupons(self, move: c.CouponMove) -> None:
        try:
            self.pricing.coupons.hold(move.order_id, move.codes)
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn(name=c.RELEASE_COUPONS)
    def release_coupons(self, move: c.CouponMove) -> None:
        self.pricing.coupons.release(move.order_id)

    @activity.defn(name=c.USE_COUPONS)
    def use_coupons(self, move: c.CouponMove) -> None:
        self.pricing.coupons.use(move.order_id)

    @activity.defn(name=c.REDEEM_POINTS)
    def redeem_points(self, move: c.PointsMove) -> None:
        try:
            self.members.adjust_points(
                move.member_id,
                -move.points,
                reason=f"redeemed on order {move.order_id}",
                key=f"redeem:{move.order_id}",
                kind="redeem",
                order_id=move.order_id,
            )
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn(name=c.EARN_POINTS)
    def earn_points(self, move: c.PointsMove) -> None:
        self.members.adjust_points(
            move.member_id,
            move.points,
            reason=f"earned on order {move.order_id}",
            key=f"earn:{move.order_id}",
            kind="earn",
            order_id=move.order_id,
        )

    @activity.defn(name=c.RESTORE_POINTS)
    def restore_points(self, move: c.PointsMove) -> None:
        self.members.adjust_points(
            move.member_id,
            move.points,
            reason=f"order {move.order_id} not paid",
            key=f"unredeem:{move.order_id}",
            kind="reversal",
            order_id=move.order_id,
        )

    @activity.defn(name=c.ENSURE_MEMBER)
    def ensure_member(self, phone: str) -> str:
        try:
            member, _ = self.members.ensure(phone)
            return member.member_id
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn(name=c.PLAN_AND_RESERVE)
    def plan_and_reserve(self, plan: c.PlanRequest) -> list[PlannedPart]:
        """Plan on a snapshot, reserve atomically; on a conflict plan again, a bounded number of
        times. Either every part is reserved, or nothing is."""
        return self._reserve_plan(plan, {})

    def _reserve_plan(
        self, plan: c.PlanRequest, known: dict[str, CatalogItem]
    ) -> list[PlannedPart]:
        """`plan_and_reserve`, given the catalogue items the caller has read already."""
        req = plan.request
        lines = plan.lines or req.lines
        try:
            return self._plan_and_reserve(plan, lines, known)
        except InsufficientStock as err:
            short = set(err.details.get("skus", []))
            gifts_only = short and short <= set(plan.gift_skus) - {ln.sku for ln in req.lines}
            if not gifts_only:
                raise business_error(err) from err
            # A gift that is out of stock is dropped; the order goes on without it.
            kept = [ln for ln in lines if ln.sku not in short]
            try:
                return self._plan_and_reserve(plan, kept, known)
            except DomainError as again:
                raise business_error(again) from again
        except DomainError as err:
            raise business_error(err) from err

    def _plan_and_reserve(
        self, plan: c.PlanRequest, lines: list[LineRequest], known: dict[str, CatalogItem]
    ) -> list[PlannedPart]:
        req = plan.request
        day = date.fromisoformat(plan.day)
        skus = sorted({ln.sku for ln in lines})
        missing = [sku for sku in skus if sku not in known]  # gifts the price added, say
        items = (known | self.catalog.catalog_items(missing)) if missing else known
        if req.fulfilment.mode == "pickup" and req.fulfilment.location_id:
            self.inventory.require_location(req.fulfilment.location_id)
        channel_rule = self.catalog.channel_rule(req.channel)
        for _ in range(RESERVE_ATTEMPTS):
            snap = self.inventory.snapshot(skus, day=day)
            parts = plan_fulfilments(
                RoutingInput(
                    lines=lines,
                    mode=req.fulfilment.mode,
                    address=req.fulfilment.address,
                    pickup_location_id=req.fulfilment.location_id,
                    sites=snap.sites,
                    available=snap.available,
                    goods_class={s: i.goods_class for s, i in items.items()},
                    min_credit_score=plan.min_credit_score,
                    excluded=frozenset(plan.excluded),
                    channel_rule=channel_rule,
                ),
                id_prefix=plan.id_prefix or f"{req.order_id}-F",
            )
            if self.inventory.reserve(req.order_id, parts, day=day):
                return parts
        raise InsufficientStock(
            "stock kept changing while reserving; try again", details={"skus": skus}
        )

    @activity.defn(name=c.RECORD_ORDER)
    def record_order(self, rec: c.RecordOrder) -> None:
        self.read_model.record_order(
            rec.request,
            rec.pricing,
            rec.parts,
            status=rec.status,
            member_id=rec.member_id,
            payment_id=rec.payment_id,
            payment_status=rec.payment_status,
        )

    @activity.defn(name=c.RECEIVE_RETURN)
    def receive_return(self, r: c.ReturnReceipt) -> None:
        for location_id, sku, qty in r.receiving:
            self.inventory.restock(
                r.order_id, location_id, sku, qty, key=f"restock:{r.refund_id}:{location_id}:{sku}"
            )
        taken = 0
        if r.member_id and r.points_back:
            taken = self.members.take_back_points(
                r.member_id,
                r.points_back,
                key=f"return-points:{r.refund_id}",
                order_id=r.order_id,
            )
        goods = ", ".join(f"{sku} x{qty} to {loc}" for loc, sku, qty in r.receiving)
        self.read_model.add_timeline(
            r.order_id,
            key=f"{r.refund_id}:returned",
            event="returned",
            detail=f"{r.refund_id}: {goods}; {taken} earned points taken back",
        )

    @activity.defn(name=c.RECORD_SETTLEMENT)
    def record_settlement(self, r: c.SettlementRecord) -> None:
        self.settlement.settle(
            r.order_id,
            key=r.key,
            delta=r.amount,
            channel=r.channel,
            location_id=r.party.removeprefix("location:"),
            day=r.day,
            cause=r.cause or r.key.rsplit(":", 1)[-1],
            fulfillers=[(f"location:{loc}", w) for loc, w in r.fulfillers],
        )

    @activity.defn(name=c.EVALUATE_TIER)
    def evaluate_tier(self, t: c.TierCheck) -> str:
        """The member's tier after this order: upgraded when the rolling 12-month spend reached
        a higher threshold."""
        before, after, spend = self.members.evaluate_tier(t.member_id)
        if after != before:
            self.read_model.add_timeline(
                t.order_id,
                key=f"{t.order_id}:tier",
                event="tier_upgraded",
                detail=f"member {t.member_id} {before} -> {after} (12-month spend {spend} fen)",
            )
        return after

    @activity.defn(name=c.LOWER_CREDIT)
    def lower_credit(self, p: c.CreditPenalty) -> None:
        self.catalog.lower_credit(p.location_id, p.points, key=p.key, why=p.why)

    @activity.defn(name=c.RECORD_PARTS)
    def record_parts(self, rec: c.PartsRecord) -> None:
        for part in rec.parts:
            self.read_model.add_fulfilment(rec.order_id, part)
            self.read_model.add_timeline(
                rec.order_id,
                key=f"{part.fulfilment_id}:routed",
                event="rerouted",
                detail=f"{rec.why}: {part.fulfilment_id} to {part.location_id}: "
                + "; ".join(part.reasons[:3]),
            )

    @activity.defn(name=c.PAY_STORED_VALUE)
    def pay_stored_value(self, pay: c.StoredValuePayment) -> None:
        try:
            self.members.pay_stored_value(
                pay.member_id, pay.amount, key=f"pay:{pay.order_id}", order_id=pay.order_id
            )
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn(name=c.RELEASE_STOCK)
    def release_stock(self, change: c.StockChange) -> None:
        for part in change.parts:
            self.inventory.release(change.order_id, part, reason=change.reason or "release")

    @activity.defn(name=c.DEDUCT_STOCK)
    def deduct_stock(self, change: c.StockChange) -> None:
        for part in change.parts:
            self.inventory.deduct(change.order_id, part, handed=change.handed)

    @activity.defn(name=c.PROJECT_ORDER)
    def project_order(self, p: c.OrderProjection) -> None:
        self.read_model.set_order_status(p.order_id, p.status, event=p.event, detail=p.detail)

    @activity.defn(name=c.PROJECT_FULFILMENT)
    def project_fulfilment(self, p: c.FulfilmentProjection) -> None:
        self.read_model.set_fulfilment(
            p.fulfilment_id, status=p.status, event=p.event, detail=p.detail, **p.fields
        )

    @activity.defn(name=c.PROJECT_PAYMENT)
    def project_payment(self, p: c.PaymentProjection) -> None:
        self.read_model.set_payment(p.payment_id, p.status)


__all__ = ["OrderActivities"]
