"""What the API answers: one model per answer, so that `/openapi.json` types every field a
client reads. (What it is asked is in `api.schemas`.) Answers keep to their models: a field not
written here is not sent."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["delivery", "pickup"]
Method = Literal["wechat", "alipay", "card", "stored_value", "cash"]
Tier = Literal["normal", "silver", "gold", "platinum"]

ORDER_STATUSES = "`awaiting_payment`, `paid`, `fulfilling`, `completed`, `cancelled`, `returned`"
PART_STATUSES = (
    "`pending` (not yet sent to its location), `dispatched`, `accepted`, `picked`, "
    "`ready_for_pickup`, `shipped`, `delivered`, `picked_up`, `rejected`, `cancelled`, `expired`"
)


class Answer(BaseModel):
    """An answer: its schema lists every field (no others are sent)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


# --- orders ----------------------------------------------------------------------------------


class PromotionAmount(Answer):
    promotion_id: str
    amount: int = Field(description="fen the promotion took off")


class PricedLine(Answer):
    sku: str
    qty: int
    unit_price_amount: int
    discount_amount: int = Field(description="every promotion's and discount's share, in fen")
    paid_amount: int = Field(description="what a refund of the whole line gives back, in fen")
    gift: bool
    points_amount: int = Field(description="the line's share of the points redeemed, in fen")
    promotions: list[PromotionAmount]
    sold_by: Literal["unit", "weight"] = Field(
        description="`weight`: qty in grams, unit_price_amount per kilogram"
    )
    substitutes: str | None = Field(
        description="a replacement: the SKU whose missing units it stands for"
    )


class Pricing(Answer):
    lines: list[PricedLine]
    subtotal_amount: int
    discount_amount: int
    points_redeemed: int
    points_amount: int
    payable_amount: int = Field(description="what the member pays: the lines' paid_amount added up")
    applied_promotions: list[PromotionAmount]


class QuotedPricing(Pricing):
    trace: list[str] = Field(description="each pricing step, in words")


class Payment(Answer):
    payment_id: str
    method: Method
    amount: int
    status: str = Field(description="`pending`, `succeeded`, `failed` or `closed`")


class PartLine(Answer):
    sku: str
    qty: int
    picked_qty: int | None = Field(description="what staff picked; null until the pick")


class TrackingStep(Answer):
    at: str
    event: str = Field(description="`in_transit`, `delivered` or `failed`")
    detail: str


class Part(Answer):
    """A fulfilment: the part of an order one location serves."""

    fulfilment_id: str
    location_id: str
    mode: Mode
    status: str = Field(description=PART_STATUSES)
    lines: list[PartLine]
    carrier: str | None
    tracking_no: str | None
    pickup_code: str | None = Field(
        description="the member's 6-digit code while the part is `ready_for_pickup` (shown to "
        "the order's channel, never to staff)"
    )
    reasons: list[str] = Field(description="why routing chose this location")
    execution: Literal["staff", "wms"] = Field(
        description="who runs the part: the location's staff, or its execution system"
    )
    carrier_reasons: list[str] = Field(
        description="why the courier rules gave a delivery part its carrier"
    )
    tracking: list[TrackingStep] = Field(description="the carrier's tracking events, in order")
    shipment_id: str | None = Field(
        description="parts of one member's orders to one address that leave together: one "
        "`ship` ships them all"
    )


class RefundLine(Answer):
    sku: str
    qty: int
    amount: int


class Refund(Answer):
    refund_id: str
    amount: int
    reason: str
    status: str = Field(description="`pending`, `succeeded`, `failed` or `closed`")
    lines: list[RefundLine]
    detail: str = Field(description="what the tender answered")


class TimelineEntry(Answer):
    at: str
    event: str
    detail: str


class Substitution(Answer):
    substitution_id: str
    fulfilment_id: str
    sku: str = Field(description="the SKU the part is short of")
    with_sku: str = Field(description="the replacement proposed")
    qty: int = Field(description="the missing units (grams by weight), replaced one for one")
    status: Literal["proposed", "approved", "declined", "withdrawn"]
    decided_by: str = Field(
        description="`channel` (the member answered), `preference` (the line's preference, "
        "when no answer came in time), `order` (the part ended first); empty while proposed"
    )
    price_amount: int = Field(description="what the replacement costs the member, in fen")
    refund_amount: int = Field(description="what went back to the member, in fen")


class Order(Answer):
    order_id: str
    channel: str
    channel_order_id: str
    member_id: str | None
    status: str = Field(description=ORDER_STATUSES)
    created_at: str
    pricing: Pricing
    payment: Payment | None = Field(description="the payment that paid it, or the latest tried")
    payments: list[Payment] = Field(description="every payment tried, oldest first")
    fulfilments: list[Part]
    substitutions: list[Substitution] = Field(description="replacements proposed, and answers")
    refunds: list[Refund]
    timeline: list[TimelineEntry]


class Change(Answer):
    change_id: str = Field(description="E1, E2, ...: the change's number on the order")
    status: Literal["applied", "awaiting_payment"] = Field(
        description="`awaiting_payment`: pay `payment_id` at the gateway; the change stands once "
        "it is paid, and is undone if it is not paid within OMS_PAYMENT_TIMEOUT_S"
    )
    difference_amount: int = Field(
        description="the new payable amount less the old, in fen: more than 0 collected, less "
        "than 0 refunded at once"
    )
    payment_id: str | None = Field(description="the payment of the difference, when collected")


class OrderChanged(Order):
    change: Change


class OpenedPayment(Answer):
    payment_id: str
    method: Method
    status: str


class OrderPaidAgain(Order):
    opened: OpenedPayment = Field(description="the payment just opened (pay it at the gateway)")


class OrderPage(Answer):
    orders: list[Order]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: done")


class Quote(Answer):
    channel: str
    pricing: QuotedPricing


class SettlementEntry(Answer):
    party: str
    role: str
    amount: int
    day: str
    cause: str


class SettlementTotal(Answer):
    party: str
    role: str
    amount: int


class OrderSettlement(Answer):
    model: str = Field(description="`buy_sell`, `exclusive`, `shared` or `distribution`")
    rule_id: str | None
    settled: bool
    net_amount: int
    entries: list[SettlementEntry]
    totals: list[SettlementTotal]


# --- store staff -----------------------------------------------------------------------------


class StaffPart(Part):
    order_id: str


class LocationParts(Answer):
    fulfilments: list[StaffPart]


# --- members ---------------------------------------------------------------------------------


class MemberLink(Answer):
    channel: str
    external_id: str | None


class MemberConflictSeen(Answer):
    id: int
    channel: str
    field: str
    existing: str
    incoming: str
    resolved: bool


class Member(Answer):
    """The whole member: for the chain's own channels and admins."""

    member_id: str
    phone: str
    name: str
    tier: Tier
    points: int
    stored_value_amount: int
    channels: list[MemberLink]
    conflicts: list[MemberConflictSeen]


class MemberBrief(Answer):
    """A member as a marketplace sees it."""

    member_id: str
    tier: Tier


# --- catalogue, locations and stock ----------------------------------------------------------


class CatalogItem(Answer):
    sku: str
    name: str
    category: str
    price_amount: int = Field(description="fen per unit (per kilogram when sold by weight)")
    goods_class: Literal["A", "B"]
    sold_by: Literal["unit", "weight"] = Field(description="`weight`: every qty of it is in grams")
    barcode: str | None
    plu: str | None = Field(description="sold by weight: its shelf scales' item code")


class CatalogPage(Answer):
    items: list[CatalogItem]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: done")


class SellingLocation(Answer):
    location_id: str
    name: str
    kind: str
    province: str
    city: str
    lat: float
    lng: float
    ships: bool = Field(description="serves delivery orders")
    pickup: bool = Field(description="members may collect here")


class SellingLocations(Answer):
    items: list[SellingLocation]


class LocationStock(Answer):
    location_id: str
    available: int


class StockView(Answer):
    sku: str
    channel: str | None
    available: int
    sold_out: bool
    locations: list[LocationStock]


class StockLevel(Answer):
    location_id: str
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


class StockDriftRow(Answer):
    location_id: str
    sku: str
    on_hand: int | None
    ledger_on_hand: int
    reserved: int | None
    ledger_reserved: int


class StockDrift(Answer):
    ok: bool
    drift: list[StockDriftRow]


# --- payments --------------------------------------------------------------------------------


class WebhookAck(Answer):
    status: str = Field(
        description="`accepted`, `duplicate` (seen before), `recorded`, `already_paid` or "
        "`refunding` (a success that came after the order ended)"
    )
    event_id: str


class SimulatedPayment(Answer):
    payment_id: str
    amount: int
    method: str
    notify_url: str
    status: str


class CallbackAck(Answer):
    status: str = Field(
        description="`accepted`, `duplicate` (seen before) or `ignored` (the order is over)"
    )
    event_id: str


class SimulatedParcel(Answer):
    tracking_no: str
    status: str
    carrier: str


# --- channel events --------------------------------------------------------------------------


class Webhook(Answer):
    channel: str
    url: str
    events: list[str]
    secret_set: bool
    created_at: str


class WebhookRemoved(Answer):
    channel: str
    webhook: None


class Delivery(Answer):
    delivery_id: str
    event_id: str
    channel: str
    type: str
    order_id: str | None
    status: str = Field(description="`pending`, `delivered`, `failed` or `skipped`")
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    created_at: str


class Deliveries(Answer):
    deliveries: list[Delivery]


class StockChange(Answer):
    location_id: str
    sku: str
    available: int
    sold_out: bool


class Event(Answer):
    event_id: str
    type: str
    created_at: str
    channel: str
    order_id: str | None
    data: Order | StockChange = Field(
        description="the order as the channel sees it after the change; for stock events the "
        "stock at one location"
    )


class EventFeed(Answer):
    events: list[Event]
    next_after: str | None = Field(description="pass as `after` to read on")


# --- administration --------------------------------------------------------------------------


class TokenSeen(Answer):
    token_id: str
    role: str
    channel: str | None
    location_id: str | None
    label: str
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class Tokens(Answer):
    tokens: list[TokenSeen]


class NewToken(Answer):
    token: str = Field(description="the secret: shown this once")
    token_id: str
    role: str
    channel: str | None
    location_id: str | None
    expires_at: str | None


class AdminRefund(Refund):
    order_id: str
    created_at: str


class Refunds(Answer):
    refunds: list[AdminRefund]


class ClosedRefund(Answer):
    refund_id: str
    order_id: str
    status: str
    amount: int
    detail: str


class Repair(Answer):
    repair: str = Field(description="`cancelled`, `completed` or `nothing to repair`")
    order: Order


class PromotionScope(Answer):
    skus: list[str]
    categories: list[str]
    channels: list[str]
    locations: list[str]
    tiers: list[str]


class Promotion(Answer):
    promotion_id: str
    kind: str
    scope: PromotionScope
    percent: int
    amount: int
    threshold_amount: int
    repeat: bool
    gift_sku: str | None
    gift_qty: int
    payment_methods: list[str]
    coupon_required: bool
    stackable: bool
    priority: int
    starts_at: str | None
    ends_at: str | None
    active: bool
    updated_at: str | None


class Coupon(Answer):
    code: str
    promotion_id: str
    member_phone: str | None
    uses: int
    held: int
    used: int
    remaining: int


class MemberConflict(MemberConflictSeen):
    member_id: str
    at: str


class MemberConflicts(Answer):
    conflicts: list[MemberConflict]


class ConflictResolved(Answer):
    id: int
    resolved: bool
    keep: str


class SettlementRule(Answer):
    rule_id: str
    channel: str | None
    location_id: str | None
    model: str
    commission_bp: int = 0
    owner_ratio: int = 0
    fulfiller_ratio: int = 0
    operator_ratio: int = 0
    owner: str | None = None
    operator: str | None = None
    distributor: str | None = None
    updated_at: str


class SettlementRules(Answer):
    rules: list[SettlementRule]


class PartyTotal(Answer):
    party: str
    role: str
    amount: int
    orders: int


class SettlementDay(Answer):
    day: str
    parties: list[PartyTotal]


class StaffAccount(Answer):
    username: str
    location_id: str


class Payloads(Answer):
    """Temporal's remote codec protocol."""

    payloads: list[dict[str, Any]]


class Health(Answer):
    status: str


class ReadyChecks(Answer):
    database: bool
    temporal: bool


class Ready(Answer):
    status: str
    checks: ReadyChecks
