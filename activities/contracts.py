"""Inputs and results of the activities, shared by the workflows that call them (by method
reference) and the activity implementations (with `PaymentRecord` and `RecordedOrder` from the
domain). No heavy imports: plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.changes import Hold
from domain.fulfilment import RecordedOrder
from domain.orders import (
    Address,
    LineRequest,
    OrderRequest,
    PaymentRecord,
    PlannedPart,
    PricedLine,
    Pricing,
)
from domain.policy import MIN_CREDIT_SCORE
from domain.pricing import order_lines
from domain.substitutions import Proposal


def order_workflow_id(order_id: str) -> str:
    """The id of an order's workflow in Temporal."""
    return f"order-{order_id}"


@dataclass
class StepCall:
    """One database step of a batch: an activity (by its name) and its input. `stop_on_result`:
    when the step returns anything but None, the steps after it are not run (their results are
    None)."""

    activity: str
    arg: Any
    stop_on_result: bool = False


@dataclass
class Steps:
    """Database steps that follow one another within one workflow task, run in order as one
    local activity: one marker in the history and one trip through the worker instead of one
    each. Every step is idempotent, so a retry runs the batch again from the start."""

    steps: list[StepCall]


@dataclass
class PrepareOrder:
    """An order to price, find the member of, plan and reserve, in one step."""

    request: OrderRequest
    at: datetime  # the workflow's clock: validity windows are judged at submission
    min_credit_score: int = MIN_CREDIT_SCORE


@dataclass
class PreparedOrder:
    """An order priced, its member (if one has that phone), its parts planned and their stock
    reserved; or, for an order already recorded, what was recorded."""

    pricing: Pricing
    member_id: str | None
    parts: list[PlannedPart]
    recorded: RecordedOrder | None = None


def plan_request(p: PrepareOrder, pricing: Pricing) -> PlanRequest:
    """The plan of a priced order: its lines with the gifts the price added (which may be
    dropped when out of stock)."""
    gift_skus = sorted({ln.sku for ln in pricing.lines if ln.gift})
    return PlanRequest(
        p.request,
        p.at.date().isoformat(),
        p.min_credit_score,
        lines=order_lines(pricing) if gift_skus else None,
        gift_skus=gift_skus,
    )


@dataclass
class PlanRequest:
    request: OrderRequest
    day: str  # ISO date of the workflow's clock: quotas are per day
    min_credit_score: int = MIN_CREDIT_SCORE
    excluded: list[str] = field(default_factory=list)
    lines: list[LineRequest] | None = None  # what to reserve (gifts included); default: request
    gift_skus: list[str] = field(default_factory=list)  # may be dropped when out of stock
    id_prefix: str | None = None  # of the parts' fulfilment ids; default "<order>-F"


@dataclass
class RecordOrder:
    request: OrderRequest
    pricing: Pricing
    parts: list[PlannedPart]
    status: str
    member_id: str | None
    payment: PaymentRecord


@dataclass
class GatewayPayment:
    order_id: str
    payment_id: str
    amount: int
    method: str


@dataclass
class CouponMove:
    order_id: str
    codes: list[str] = field(default_factory=list)


@dataclass
class PointsMove:
    order_id: str
    member_id: str
    points: int


@dataclass
class StoredValuePayment:
    order_id: str
    member_id: str
    amount: int
    payment_id: str = ""


@dataclass
class StockChange:
    order_id: str
    parts: list[PlannedPart]
    reason: str = ""
    handed: dict[str, int] | None = None  # units that left per SKU (a short pick); None: all


@dataclass
class Parcel:
    """A part on its way to a carrier: for its waybill, and for a warehouse's notice."""

    order_id: str
    part: PlannedPart
    address: Address | None
    carrier: str | None = None
    waybill: str | None = None


@dataclass
class TrackingNote:
    order_id: str
    fulfilment_id: str
    seq: int
    event: str
    detail: str


@dataclass
class PartsRecord:
    order_id: str
    parts: list[PlannedPart]
    why: str


@dataclass
class OrderProjection:
    order_id: str
    status: str
    event: str
    detail: str = ""


@dataclass
class FulfilmentProjection:
    fulfilment_id: str
    status: str
    event: str
    detail: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class PaymentProjection:
    order_id: str
    payment: PaymentRecord
    detail: str = ""


@dataclass
class Note:
    """A line on the order's timeline, once per key."""

    order_id: str
    key: str
    event: str
    detail: str


@dataclass
class RefundOrder:
    """Give back `amount` fen to the tender of `payment_id` and `points` to the member; keyed
    by `refund_id`, so repeating it changes nothing."""

    order_id: str
    refund_id: str
    payment_id: str
    method: str
    member_id: str | None
    amount: int
    points: int
    reason: str
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RefundOutcome:
    refund_id: str
    status: str  # succeeded | failed (the tender refused it for good)
    detail: str = ""


@dataclass
class SettlementRecord:
    """What the chain keeps of an order (signed: a return settles a negative amount)."""

    order_id: str
    key: str
    amount: int
    party: str  # the fulfilling location, "location:<id>"
    day: str  # the chain's business day (China time)
    channel: str = ""
    cause: str = ""
    # every location that handed goods over, with the paid value it handed over (several when
    # the order was split); empty: `party` alone
    fulfillers: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class TierCheck:
    """After an order completes: upgrade the member if the rolling spend reached a new tier."""

    order_id: str
    member_id: str


@dataclass
class ReturnReceipt:
    order_id: str
    refund_id: str
    receiving: list[tuple[str, str, int]]  # (location, sku, qty) going back into stock
    member_id: str | None
    points_back: int  # earned points to take back


@dataclass
class CreditPenalty:
    location_id: str
    points: int
    key: str
    why: str


@dataclass
class RepairPlan:
    """What an order whose workflow ended early still owes: stock to release, payments to close
    at the gateway, member rights to give back, a refund, settlement, and how it ends."""

    order_id: str
    outcome: str  # "" (nothing to repair), cancelled or completed
    release: StockChange | None = None
    close: list[PaymentRecord] = field(default_factory=list)
    coupons: str = ""  # "release" (never paid), "give_back" (paid, cancelled) or ""
    restore_points: PointsMove | None = None  # points redeemed on an order never paid
    refund: RefundOrder | None = None
    settle: SettlementRecord | None = None
    earn: PointsMove | None = None
    stop: list[str] = field(default_factory=list)  # parts that end cancelled
    delivered: list[str] = field(default_factory=list)  # shipped parts counted as delivered
    member_id: str | None = None
    detail: str = ""


@dataclass
class LatePayment:
    """A payment that succeeded after its order's workflow had closed: refunded in full."""

    order_id: str
    payment: PaymentRecord
    member_id: str | None
    reason: str


__all__ = ["PaymentRecord", "RecordedOrder"]


@dataclass
class SubstituteQuery:
    """A replacement staff propose: is it sold, and at the part's location to be had?"""

    location_id: str
    with_sku: str
    qty: int


@dataclass
class StockSwap:
    """A part's reservation after a substitution's answer: `qty` of `sku` released, and
    `with_qty` of `with_sku` reserved in its place (none: a decline only releases)."""

    order_id: str
    fulfilment_id: str
    location_id: str
    substitution_id: str
    sku: str
    qty: int
    with_sku: str | None = None
    with_qty: int = 0


@dataclass
class SubstitutionRecord:
    """A substitution into the read model (its row, the timeline, the channel's event); an
    answered one with the part's lines and the order's plan as they now are."""

    order_id: str
    proposal: Proposal
    event: str  # substitution.proposed, .approved, .declined, .withdrawn
    detail: str
    part_lines: list[LineRequest] | None = None
    new_line: PricedLine | None = None
    pricing: Pricing | None = None
    parts: list[PlannedPart] | None = None


@dataclass
class ChangeRequest:
    """An order as the member now wants it, against the parts it has open."""

    request: OrderRequest  # the new lines and fulfilment, the rest as placed
    change_id: str  # E1, E2, ...: the change's number on the order
    at: datetime
    open_parts: list[PlannedPart]
    member_id: str | None
    min_credit_score: int = MIN_CREDIT_SCORE


@dataclass
class PreparedChange:
    """The change priced and planned, and its increases held (nothing else moved yet)."""

    pricing: Pricing
    parts: list[PlannedPart]
    kept: list[str]
    dropped: list[str]
    added: list[str]
    increases: list[Hold]
    decreases: list[Hold]
    coupon_promotions: list[str] = field(default_factory=list)  # what the order's coupons give


@dataclass
class HoldsMove:
    order_id: str
    change_id: str
    holds: list[Hold]
    kind: str  # change: a standing change's decreases; undo: an undone change's increases


@dataclass
class ChangeRecord:
    """A change into the read model: the order as it now is, and what the timeline says."""

    request: OrderRequest
    change_id: str
    pricing: Pricing
    parts: list[PlannedPart]
    added: list[PlannedPart]
    detail: str
    moved: bool = False  # the fulfilment changed: the kept parts leave their shipments
