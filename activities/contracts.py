"""Activity names and inputs, shared by workflows (which call activities by name) and the
activity implementations. No heavy imports: workflow modules load this in the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.orders import LineRequest, OrderRequest, PlannedPart, Pricing
from domain.pricing import order_lines

PRICE_ORDER = "price_order"
ENSURE_MEMBER = "ensure_member"
PLAN_AND_RESERVE = "plan_and_reserve"
RECORD_ORDER = "record_order"
PAY_STORED_VALUE = "pay_stored_value"
RELEASE_STOCK = "release_stock"
DEDUCT_STOCK = "deduct_stock"
PROJECT_ORDER = "project_order"
PROJECT_FULFILMENT = "project_fulfilment"
PROJECT_PAYMENT = "project_payment"
HOLD_COUPONS = "hold_coupons"
RELEASE_COUPONS = "release_coupons"
USE_COUPONS = "use_coupons"
REDEEM_POINTS = "redeem_points"
CREATE_PAYMENT = "create_payment"
EARN_POINTS = "earn_points"
RECORD_PARTS = "record_parts"
RECORD_REFUND = "record_refund"
EXECUTE_REFUND = "execute_refund"
GIVE_BACK_COUPONS = "give_back_coupons"
LOWER_CREDIT = "lower_credit"
RECEIVE_RETURN = "receive_return"
RECORD_SETTLEMENT = "record_settlement"
EVALUATE_TIER = "evaluate_tier"
RUN_STEPS = "run_steps"
PREPARE_ORDER = "prepare_order"


@dataclass
class Step:
    """One database step (a named activity and its input) of a batch run as one local
    activity."""

    activity: str
    arg: Any


@dataclass
class Steps:
    """Database steps that follow one another within one workflow task, run in order as one
    local activity: one marker in the history and one trip through the worker instead of one
    each. Every step is idempotent, so a retry runs the batch again from the start."""

    steps: list[Step]


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


RESTORE_POINTS = "restore_points"


@dataclass
class PriceRequest:
    request: OrderRequest
    at: datetime  # the workflow's clock: validity windows are judged at submission


@dataclass
class PrepareOrder:
    """An order to price, find the member of, plan and reserve, in one step."""

    request: OrderRequest
    at: datetime  # the workflow's clock: validity windows are judged at submission
    min_credit_score: int = 60


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
class PreparedOrder:
    """An order priced, its member (found or created by phone), its parts planned and their
    stock reserved."""

    pricing: Pricing
    member_id: str | None
    parts: list[PlannedPart]


@dataclass
class GatewayPayment:
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
class PlanRequest:
    request: OrderRequest
    day: str  # ISO date of the workflow's clock: quotas are per day
    min_credit_score: int = 60
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
    payment_id: str
    payment_status: str


@dataclass
class RefundOrder:
    """Give back `amount` fen to the order's tender and `points` to the member; keyed by
    `refund_id`, so repeating it changes nothing."""

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
class PartsRecord:
    order_id: str
    parts: list[PlannedPart]
    why: str


@dataclass
class StoredValuePayment:
    order_id: str
    member_id: str
    amount: int


@dataclass
class StockChange:
    order_id: str
    parts: list[PlannedPart]
    reason: str = ""
    handed: dict[str, int] | None = None  # units that left per SKU (a short pick); None: all


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
    payment_id: str
    status: str
