"""Order data: what a channel submits, how it is priced and split, and the order's statuses."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

ORDER_STATUSES = ("awaiting_payment", "paid", "fulfilling", "completed", "cancelled", "returned")
GATEWAY_METHODS = ("wechat", "alipay", "card")
PAYMENT_METHODS = (*GATEWAY_METHODS, "stored_value", "cash")


@dataclass
class Address:
    province: str
    city: str
    lat: float
    lng: float
    line1: str = ""
    recipient: str = ""
    phone: str = ""


@dataclass
class FulfilmentChoice:
    """How the member wants the goods: delivered to an address, or picked up at a location."""

    mode: str  # "delivery" | "pickup"
    address: Address | None = None
    location_id: str | None = None


@dataclass
class LineRequest:
    sku: str
    qty: int


@dataclass
class OrderRequest:
    """A channel's order, as accepted by the API (already shape-validated)."""

    order_id: str
    channel: str
    channel_order_id: str
    lines: list[LineRequest]
    fulfilment: FulfilmentChoice
    payment_method: str
    member_phone: str | None = None
    coupon_codes: list[str] = field(default_factory=list)
    points_to_redeem: int = 0


@dataclass
class AppliedPromotion:
    promotion_id: str
    amount: int


@dataclass
class PricedLine:
    """unit_price_amount x qty = discount_amount + points_amount + paid_amount."""

    sku: str
    qty: int
    unit_price_amount: int
    discount_amount: int
    paid_amount: int
    gift: bool = False
    category: str = ""
    points_amount: int = 0
    promotions: dict[str, int] = field(default_factory=dict)  # promotion id -> fen off


@dataclass
class Pricing:
    lines: list[PricedLine]
    subtotal_amount: int
    discount_amount: int
    payable_amount: int
    points_redeemed: int = 0
    points_amount: int = 0
    applied_promotions: list[AppliedPromotion] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)


@dataclass
class PlannedPart:
    """One part of a split order: the lines one location fulfils, and why it was chosen."""

    fulfilment_id: str
    location_id: str
    mode: str
    lines: list[LineRequest]
    reasons: list[str] = field(default_factory=list)


def order_id_for(channel: str, channel_order_id: str) -> str:
    """A stable order id from the channel's own id: the same submission maps to the same order."""
    digest = hashlib.sha256(f"{channel}\x00{channel_order_id}".encode()).hexdigest()[:16]
    return f"O{digest.upper()}"


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def fulfilment_workflow_id(fulfilment_id: str) -> str:
    return f"fulfilment-{fulfilment_id}"


def merge_lines(lines: list[LineRequest]) -> list[LineRequest]:
    """One line per SKU, quantities added, in first-seen order."""
    qty: dict[str, int] = {}
    for line in lines:
        qty[line.sku] = qty.get(line.sku, 0) + line.qty
    return [LineRequest(sku=s, qty=q) for s, q in qty.items()]


@dataclass
class Timeouts:
    payment_s: int = 900
    accept_s: int = 600
    pickup_expiry_s: int = 3 * 24 * 3600
    delivery_confirm_s: int = 7 * 24 * 3600
    return_window_s: int = 7 * 24 * 3600


@dataclass
class ReturnRequest:
    lines: list[LineRequest]
    reason: str = ""


# The version of the order workflows' command sequence an order is started with. It travels in
# the workflow's input, so a change gated on it writes nothing to the history; orders started
# before versions (0) go by the patch markers in their histories (`workflows/common.py`).
#   1: every change made with patch markers before (payments through the gateway, points,
#      refunds, short picks, credit, re-routing, returns, settlement, tiers); parts run in the
#      order's own workflow (no child workflow per part: staff act through the order's `act`
#      update, PartStatuses shows each part's status); database steps that follow one another
#      in a workflow task run as one local activity (priced, the member found, planned and
#      reserved; a stored-value payment with the order recorded and dispatched; paid and
#      dispatched; completed with points, settlement and tier; a part's stock move with its
#      status); search attributes upserted only when what they show changes
#   2: the last part's final status (delivered or picked up, nothing short) is shown in
#      Temporal with the order's completion, which follows in the same workflow task: one
#      search-attribute upsert, a visibility write on the server, fewer per order
WORKFLOW_VERSION = 2


@dataclass
class OrderInput:
    """What an OrderWorkflow starts with."""

    request: OrderRequest
    timeouts: Timeouts = field(default_factory=Timeouts)
    min_credit_score: int = 60
    version: int = 0  # WORKFLOW_VERSION when started; 0 in orders started before versions


@dataclass
class OrderAccepted:
    """The answer to a submission: the order exists, priced, with its stock reserved."""

    order_id: str
    status: str
    payable_amount: int
    payment_id: str


@dataclass
class PaymentResult:
    payment_id: str
    outcome: str  # succeeded | failed
    event_id: str = ""


@dataclass
class FulfilmentInput:
    order_id: str
    part: PlannedPart
    timeouts: Timeouts = field(default_factory=Timeouts)
    version: int = 0  # the order's


@dataclass
class PartAction:
    """A store action on one part of an order, sent to the order's workflow."""

    fulfilment_id: str
    action: StaffAction


@dataclass
class StaffAction:
    """A store action on a fulfilment, as the API passes it to the workflow."""

    action: str  # accept, reject, picked, ship, deliver, pickup
    location_id: str | None = None  # the acting staff's location; None for admin
    reason: str = ""
    lines: list[LineRequest] = field(default_factory=list)
    carrier: str = ""
    tracking_no: str = ""
    code: str = ""


@dataclass
class FulfilmentState:
    fulfilment_id: str
    location_id: str
    mode: str
    status: str
    lines: list[LineRequest]
    picked: list[LineRequest] = field(default_factory=list)
    carrier: str = ""
    tracking_no: str = ""
    ended_by: str = ""  # the action that ended the part: reject, lapse, cancel, expire, ...
