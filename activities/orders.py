"""Order activities: preparing an order (price, member, plan and reserve), recording it, stock
moves, member rights, settlement, and the projections into the read model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.catalog import CatalogRepository
from adapters.db import reads_together
from adapters.inventory import InventoryRepository
from adapters.members import MemberRepository
from adapters.pickup_codes import PickupCodes
from adapters.pricing import PricingService
from adapters.read_model import ReadModel
from adapters.settlement import SettlementLedger
from domain.changes import replan
from domain.errors import DomainError, InsufficientStock
from domain.fulfilment import FulfilmentState
from domain.orders import LineRequest, PlannedPart
from domain.pricing import CatalogItem, order_lines, without_gifts
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
        codes: PickupCodes,
        settlement: SettlementLedger | None = None,
    ) -> None:
        self.codes = codes
        self.pricing = pricing
        self.settlement = settlement or SettlementLedger(read_model.engine)
        self.catalog = catalog
        self.inventory = inventory
        self.members = members
        self.read_model = read_model

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.prepare_order,
            self.prepare_change,
            self.let_go,
            self.record_change,
            self.reserve_again,
            self.record_order,
            self.record_parts,
            self.hold_coupons,
            self.release_coupons,
            self.use_coupons,
            self.give_back_coupons,
            self.redeem_points,
            self.restore_points,
            self.earn_points,
            self.pay_stored_value,
            self.release_stock,
            self.deduct_stock,
            self.restock_part,
            self.lower_credit,
            self.receive_return,
            self.record_settlement,
            self.evaluate_tier,
            self.project_order,
            self.project_fulfilment,
            self.issue_pickup_code,
            self.record_note,
        ]

    # --- preparing and recording an order -------------------------------------------------

    @activity.defn
    def prepare_order(self, p: c.PrepareOrder) -> c.PreparedOrder:
        """The order priced for its member (if one has the phone), its split planned and its
        stock reserved (gifts with it, as far as there is stock for them), in one step. An order
        already recorded (its workflow was reset) gets back what was recorded instead."""
        req = p.request
        with reads_together(self.read_model.engine):  # pricing's reads: one transaction
            recalled = self.read_model.recall(req.order_id)
            if recalled is not None:
                pricing, parts, member_id, recorded = recalled
                return c.PreparedOrder(pricing, member_id, parts, recorded)
            try:
                if req.fulfilment.mode == "pickup" and req.fulfilment.location_id:
                    self.catalog.require_pickup(req.fulfilment.location_id, channel=req.channel)
                member = self.members.rights(req.member_phone) if req.member_phone else None
                items = self.catalog.catalog_items(sorted({ln.sku for ln in req.lines}))
                pricing = self.pricing.quote_for(req, member, at=p.at, items=items)
            except DomainError as err:
                raise business_error(err) from err
        parts = self._reserve_plan(c.plan_request(p, pricing), items)  # the items read once
        return c.PreparedOrder(pricing, member.member_id if member else None, parts)

    @activity.defn
    def reserve_again(self, plan: c.PlanRequest) -> list[PlannedPart]:
        """A refused part's lines planned and reserved elsewhere (never at an excluded
        location); the parts recorded under this id prefix if it was done before."""
        prefix = plan.id_prefix or f"{plan.request.order_id}-F"
        recorded = self.read_model.recorded_parts(plan.request.order_id, prefix=prefix)
        if recorded:
            return recorded
        return self._reserve_plan(plan, {})

    def _reserve_plan(
        self, plan: c.PlanRequest, known: dict[str, CatalogItem]
    ) -> list[PlannedPart]:
        """Plan on a snapshot, reserve atomically; on a conflict plan again, a bounded number of
        times. Either every part is reserved, or nothing is. Out-of-stock gifts are dropped."""
        req = plan.request
        lines = plan.lines or req.lines
        try:
            return self._plan_and_reserve(plan, lines, known)
        except InsufficientStock as err:
            short = set(err.details.get("skus", []))
            gifts_only = short and short <= set(plan.gift_skus) - {ln.sku for ln in req.lines}
            if not gifts_only:
                raise business_error(err) from err
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
        day = date.fromisoformat(plan.day)
        for _ in range(RESERVE_ATTEMPTS):
            parts = self._plan(plan, lines, known)
            if self.inventory.reserve(plan.request.order_id, parts, day=day):
                return parts
        raise InsufficientStock(
            "stock kept changing while reserving: submit the order again",
            details={"skus": sorted({ln.sku for ln in lines})},
        )

    def _plan(
        self,
        plan: c.PlanRequest,
        lines: list[LineRequest],
        known: dict[str, CatalogItem],
        held: dict[tuple[str, str], int] | None = None,
    ) -> list[PlannedPart]:
        """The split on a fresh snapshot of the stock (with what `held` counts as available
        again: an order's own reservations when it changes), each part with its logistics."""
        with reads_together(self.read_model.engine):  # the plan's reads: one transaction
            return self._plan_on_snapshot(plan, lines, known, held)

    def _plan_on_snapshot(
        self,
        plan: c.PlanRequest,
        lines: list[LineRequest],
        known: dict[str, CatalogItem],
        held: dict[tuple[str, str], int] | None,
    ) -> list[PlannedPart]:
        req = plan.request
        skus = sorted({ln.sku for ln in lines})
        missing = [sku for sku in skus if sku not in known]  # gifts the price added, say
        items = (known | self.catalog.catalog_items(missing)) if missing else known
        snap = self.inventory.snapshot(skus, day=date.fromisoformat(plan.day))
        available = snap.available
        if held:
            available = dict(available)
            for key, qty in held.items():
                if key[1] in skus:
                    available[key] = available.get(key, 0) + qty
        parts = plan_fulfilments(
            RoutingInput(
                lines=lines,
                mode=req.fulfilment.mode,
                address=req.fulfilment.address,
                pickup_location_id=req.fulfilment.location_id,
                sites=snap.sites,
                available=available,
                goods_class={s: i.goods_class for s, i in items.items()},
                min_credit_score=plan.min_credit_score,
                excluded=frozenset(plan.excluded),
                channel_rule=self.catalog.channel_rule(req.channel),
            ),
            id_prefix=plan.id_prefix or f"{req.order_id}-F",
        )
        return self.catalog.assign_logistics(
            parts, channel=req.channel, address=req.fulfilment.address, items=items
        )

    @activity.defn
    def prepare_change(self, ch: c.ChangeRequest) -> c.PreparedChange:
        """An order change priced as a new order would be (its coupons as held, its points
        kept), planned afresh on the stock its own open parts hold counted as available, set
        against those parts, and its increases held; InsufficientStock (nothing held) when it
        cannot be served."""
        req = ch.request
        try:
            if req.fulfilment.mode == "pickup" and req.fulfilment.location_id:
                self.catalog.require_pickup(req.fulfilment.location_id, channel=req.channel)
            member = self.members.get(ch.member_id) if ch.member_id else None
            items = self.catalog.catalog_items(sorted({ln.sku for ln in req.lines}))
            coupons = self.pricing.coupons.promotions_of(req.coupon_codes)
            pricing = self.pricing.quote_for(req, member, at=ch.at, items=items, coupons=coupons)
        except DomainError as err:
            raise business_error(err) from err
        plan = c.PlanRequest(
            req,
            ch.at.date().isoformat(),
            ch.min_credit_score,
            lines=order_lines(pricing),
            id_prefix=f"{req.order_id}-{ch.change_id}",
        )
        held: dict[tuple[str, str], int] = {}
        for part in ch.open_parts:
            for ln in part.lines:
                key = (part.location_id, ln.sku)
                held[key] = held.get(key, 0) + ln.qty
        lines = plan.lines or req.lines
        gifts = {ln.sku for ln in pricing.lines if ln.gift} - {ln.sku for ln in req.lines}
        for _ in range(RESERVE_ATTEMPTS):
            try:
                parts = self._plan(plan, lines, items, held)
            except InsufficientStock as err:
                short = set(err.details.get("skus", []))
                if not short or not short <= gifts:
                    raise business_error(err) from err
                # gifts out of stock: the change goes on without them, as an order would
                lines = [ln for ln in lines if ln.sku not in short]
                pricing, gifts = without_gifts(pricing, short), gifts - short
                continue
            except DomainError as err:
                raise business_error(err) from err
            moves = replan(ch.open_parts, parts)
            if self.inventory.hold(req.order_id, ch.change_id, moves.increases):
                return c.PreparedChange(
                    pricing,
                    moves.parts,
                    moves.kept,
                    moves.dropped,
                    moves.added,
                    moves.increases,
                    moves.decreases,
                    sorted(coupons),
                )
        raise business_error(
            InsufficientStock(
                "stock kept changing while reserving: send the change again",
                details={"skus": sorted({ln.sku for ln in lines})},
            )
        )

    @activity.defn
    def let_go(self, move: c.HoldsMove) -> None:
        self.inventory.let_go(move.order_id, move.change_id, move.holds, kind=move.kind)

    @activity.defn
    def record_change(self, rec: c.ChangeRecord) -> None:
        self.read_model.record_change(
            rec.request, rec.pricing, rec.parts, rec.added, rec.detail, moved=rec.moved
        )

    @activity.defn
    def record_order(self, rec: c.RecordOrder) -> str | None:
        """The order into the read model, its member created now if new (a refused order
        creates none): the member's id."""
        member_id = rec.member_id
        if member_id is None and rec.request.member_phone:
            try:
                member_id = self.members.ensure(rec.request.member_phone)[0].member_id
            except DomainError as err:
                raise business_error(err) from err
        self.read_model.record_order(
            rec.request,
            rec.pricing,
            rec.parts,
            status=rec.status,
            member_id=member_id,
            payment=rec.payment,
        )
        return member_id

    @activity.defn
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

    # --- coupons and points ----------------------------------------------------------------

    @activity.defn
    def hold_coupons(self, move: c.CouponMove) -> None:
        try:
            self.pricing.coupons.hold(move.order_id, move.codes)
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn
    def release_coupons(self, move: c.CouponMove) -> None:
        self.pricing.coupons.release(move.order_id)

    @activity.defn
    def use_coupons(self, move: c.CouponMove) -> None:
        self.pricing.coupons.use(move.order_id)

    @activity.defn
    def give_back_coupons(self, move: c.CouponMove) -> None:
        self.pricing.coupons.give_back(move.order_id)

    @activity.defn
    def redeem_points(self, move: c.PointsMove) -> None:
        try:
            self._points(move, -move.points, "redeem", f"redeemed on order {move.order_id}")
        except DomainError as err:
            raise business_error(err) from err

    @activity.defn
    def restore_points(self, move: c.PointsMove) -> None:
        self._points(move, move.points, "reversal", f"order {move.order_id} not paid", "unredeem")

    @activity.defn
    def earn_points(self, move: c.PointsMove) -> None:
        self._points(move, move.points, "earn", f"earned on order {move.order_id}")

    def _points(
        self, move: c.PointsMove, delta: int, kind: str, reason: str, key: str | None = None
    ) -> None:
        self.members.adjust_points(
            move.member_id,
            delta,
            reason=reason,
            key=f"{key or kind}:{move.order_id}",
            kind=kind,
            order_id=move.order_id,
        )

    @activity.defn
    def pay_stored_value(self, pay: c.StoredValuePayment) -> None:
        first = pay.payment_id in ("", f"P{pay.order_id[1:]}")  # the order's own payment
        key = f"pay:{pay.order_id}" if first else f"pay:{pay.payment_id}"
        try:
            self.members.pay_stored_value(pay.member_id, pay.amount, key=key, order_id=pay.order_id)
        except DomainError as err:
            raise business_error(err) from err

    # --- stock -------------------------------------------------------------------------------

    @activity.defn
    def release_stock(self, change: c.StockChange) -> None:
        for part in change.parts:
            self.inventory.release(change.order_id, part, reason=change.reason or "release")

    @activity.defn
    def deduct_stock(self, change: c.StockChange) -> None:
        for part in change.parts:
            self.inventory.deduct(change.order_id, part, handed=change.handed)

    @activity.defn
    def restock_part(self, change: c.StockChange) -> None:
        """A parcel that could not be delivered is back: its goods on the location's shelves."""
        for part in change.parts:
            for ln in part.lines:
                qty = change.handed.get(ln.sku, ln.qty) if change.handed else ln.qty
                if qty:
                    key = f"restock:{change.order_id}:{part.fulfilment_id}:{ln.sku}"
                    self.inventory.restock(change.order_id, part.location_id, ln.sku, qty, key=key)

    @activity.defn
    def receive_return(self, r: c.ReturnReceipt) -> None:
        for location_id, sku, qty in r.receiving:
            self.inventory.restock(
                r.order_id, location_id, sku, qty, key=f"restock:{r.refund_id}:{location_id}:{sku}"
            )
        taken = 0
        if r.member_id and r.points_back:
            taken = self.members.take_back_points(
                r.member_id, r.points_back, key=f"return-points:{r.refund_id}", order_id=r.order_id
            )
        goods = ", ".join(f"{sku} x{qty} to {loc}" for loc, sku, qty in r.receiving)
        self.read_model.add_timeline(
            r.order_id,
            key=f"{r.refund_id}:returned",
            event="returned",
            detail=f"{r.refund_id}: {goods}; {taken} earned points taken back",
        )

    # --- stores, settlement, tiers ---------------------------------------------------------

    @activity.defn
    def lower_credit(self, p: c.CreditPenalty) -> None:
        self.catalog.lower_credit(p.location_id, p.points, key=p.key, why=p.why)

    @activity.defn
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

    @activity.defn
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

    # --- projections -----------------------------------------------------------------------

    @activity.defn
    def project_order(self, p: c.OrderProjection) -> None:
        self.read_model.set_order_status(p.order_id, p.status, event=p.event, detail=p.detail)

    @activity.defn
    def project_fulfilment(self, p: c.FulfilmentProjection) -> FulfilmentState | None:
        """The part's new status into the read model; the recorded part instead when the record
        is further along (after a reset), so that the workflow catches up with it."""
        return self.read_model.set_fulfilment(
            p.fulfilment_id, status=p.status, event=p.event, detail=p.detail, **p.fields
        )

    @activity.defn
    def issue_pickup_code(self, fulfilment_id: str) -> str:
        """The part's pickup code, kept in the read model as its hash: the hash."""
        digest = self.codes.hash(fulfilment_id)
        self.read_model.set_code_hash(fulfilment_id, digest)
        return digest

    @activity.defn
    def record_note(self, n: c.Note) -> None:
        self.read_model.add_timeline(n.order_id, key=n.key, event=n.event, detail=n.detail)


__all__ = ["OrderActivities"]
