"""The API's schemas as TypedDicts: what it answers (and what it is asked). Generated
from /openapi.json by `make client` (client/generate.py): do not edit by hand."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "AddressIn",
    "AdminRefund",
    "CallbackAck",
    "Carrier",
    "CarrierIn",
    "CatalogItem",
    "CatalogPage",
    "Change",
    "ChannelConfig",
    "ChannelIn",
    "ClosedRefund",
    "ConflictResolutionIn",
    "ConflictResolved",
    "Coupon",
    "CouponIn",
    "CourierSimIn",
    "DecisionIn",
    "Deliveries",
    "Delivery",
    "ErrorDetail",
    "ErrorOut",
    "Event",
    "EventFeed",
    "FulfilmentIn",
    "Health",
    "LineIn",
    "LinePickedIn",
    "Location",
    "LocationIn",
    "LocationParts",
    "LocationStock",
    "Member",
    "MemberBrief",
    "MemberConflict",
    "MemberConflictSeen",
    "MemberConflicts",
    "MemberIn",
    "MemberLink",
    "MemberTierIn",
    "NewPaymentIn",
    "NewToken",
    "OpenedPayment",
    "Order",
    "OrderChangeIn",
    "OrderChanged",
    "OrderIn",
    "OrderLineIn",
    "OrderPage",
    "OrderPaidAgain",
    "OrderSettlement",
    "Part",
    "PartLine",
    "PartyTotal",
    "Payloads",
    "Payment",
    "PaymentSimIn",
    "PickedIn",
    "PickedLineIn",
    "PickupIn",
    "PointsIn",
    "PricedLine",
    "Pricing",
    "Promotion",
    "PromotionAmount",
    "PromotionIn",
    "PromotionScope",
    "Quote",
    "QuoteIn",
    "QuotedPricing",
    "Ready",
    "ReadyChecks",
    "ReasonIn",
    "ReceiptIn",
    "Refund",
    "RefundCloseIn",
    "RefundLine",
    "Refunds",
    "Repair",
    "ReturnIn",
    "Scope",
    "SellingLocation",
    "SellingLocations",
    "SettlementDay",
    "SettlementEntry",
    "SettlementRule",
    "SettlementRuleIn",
    "SettlementRules",
    "SettlementTotal",
    "ShipIn",
    "SimulatedParcel",
    "SimulatedPayment",
    "Sku",
    "SkuIn",
    "StaffAccount",
    "StaffAccountIn",
    "StaffPart",
    "StockChange",
    "StockDrift",
    "StockDriftRow",
    "StockIn",
    "StockLevel",
    "StockView",
    "SubstituteSku",
    "Substitution",
    "SubstitutionIn",
    "TimelineEntry",
    "TokenIn",
    "TokenSeen",
    "Tokens",
    "TopUpIn",
    "TrackingStep",
    "Webhook",
    "WebhookAck",
    "WebhookIn",
    "WebhookRemoved",
]


class AddressIn(TypedDict):
    province: str
    city: str
    lat: float
    lng: float
    line1: NotRequired[str]
    recipient: NotRequired[str]
    phone: NotRequired[str]


class AdminRefund(TypedDict):
    refund_id: str
    amount: int
    reason: str
    status: str
    lines: list[RefundLine]
    detail: str
    order_id: str
    created_at: str


class CallbackAck(TypedDict):
    status: str
    event_id: str


class Carrier(TypedDict):
    """A courier the chain ships with, and the rules that give it parcels."""

    carrier_id: str
    name: str
    provinces: NotRequired[list[str]]
    cost_amount: NotRequired[int]
    max_weight_g: NotRequired[int | None]
    priority: NotRequired[int]
    updated_at: NotRequired[str]


class CarrierIn(TypedDict):
    name: str
    provinces: NotRequired[list[str]]
    cost_amount: int
    max_weight_g: NotRequired[int | None]
    priority: NotRequired[int]


class CatalogItem(TypedDict):
    sku: str
    name: str
    category: str
    price_amount: int
    goods_class: Literal["A", "B"]
    sold_by: Literal["unit", "weight"]
    barcode: str | None
    plu: str | None


class CatalogPage(TypedDict):
    items: list[CatalogItem]
    next_cursor: str | None


class Change(TypedDict):
    change_id: str
    status: Literal["applied", "awaiting_payment"]
    difference_amount: int
    payment_id: str | None


class ChannelConfig(TypedDict):
    """Which locations serve a channel (a logical view of the one stock pool)."""

    channel: str
    location_kinds: NotRequired[list[str]]
    location_ids: NotRequired[list[str]]
    radius_km: NotRequired[float | None]
    logistics_carrier: NotRequired[str | None]


class ChannelIn(TypedDict):
    location_kinds: NotRequired[
        list[Literal["central_warehouse", "regional_warehouse", "front_warehouse", "store"]]
    ]
    location_ids: NotRequired[list[str]]
    radius_km: NotRequired[float | None]
    logistics_carrier: NotRequired[str | None]


class ClosedRefund(TypedDict):
    refund_id: str
    order_id: str
    status: str
    amount: int
    detail: str


class ConflictResolutionIn(TypedDict):
    keep: Literal["existing", "incoming"]


class ConflictResolved(TypedDict):
    id: int
    resolved: bool
    keep: str


class Coupon(TypedDict):
    code: str
    promotion_id: str
    member_phone: str | None
    uses: int
    held: int
    used: int
    remaining: int


class CouponIn(TypedDict):
    promotion_id: str
    code: str
    member_phone: NotRequired[str | None]
    uses: NotRequired[int]


class CourierSimIn(TypedDict):
    event: Literal["in_transit", "delivered", "failed"]


class DecisionIn(TypedDict):
    decision: Literal["approve", "decline"]


class Deliveries(TypedDict):
    deliveries: list[Delivery]


class Delivery(TypedDict):
    delivery_id: str
    event_id: str
    channel: str
    type: str
    order_id: str | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    delivered_at: str | None
    created_at: str


class ErrorDetail(TypedDict):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(TypedDict):
    """Every error: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


class Event(TypedDict):
    event_id: str
    type: str
    created_at: str
    channel: str
    order_id: str | None
    data: Order | StockChange


class EventFeed(TypedDict):
    events: list[Event]
    next_after: str | None


class FulfilmentIn(TypedDict):
    mode: Literal["delivery", "pickup"]
    address: NotRequired[AddressIn | None]
    location_id: NotRequired[str | None]


class Health(TypedDict):
    status: str


class LineIn(TypedDict):
    sku: str
    qty: int


class LinePickedIn(TypedDict):
    sku: NotRequired[str | None]
    qty: NotRequired[int | None]
    barcode: NotRequired[str | None]


class Location(TypedDict):
    location_id: str
    kind: str
    name: str
    province: str
    city: str
    lat: float
    lng: float
    ships: NotRequired[bool]
    pickup: NotRequired[bool]
    execution: NotRequired[str]
    franchise: NotRequired[bool]
    daily_quota: NotRequired[int | None]
    credit_score: NotRequired[int]
    priority: NotRequired[int]
    shipping_cost_amount: NotRequired[int]
    updated_at: NotRequired[str]


class LocationIn(TypedDict):
    kind: Literal["central_warehouse", "regional_warehouse", "front_warehouse", "store"]
    name: str
    province: str
    city: str
    lat: float
    lng: float
    ships: NotRequired[bool]
    pickup: NotRequired[bool]
    execution: NotRequired[Literal["staff", "wms"]]
    franchise: NotRequired[bool]
    daily_quota: NotRequired[int | None]
    credit_score: NotRequired[int]
    priority: NotRequired[int]
    shipping_cost_amount: NotRequired[int]


class LocationParts(TypedDict):
    fulfilments: list[StaffPart]


class LocationStock(TypedDict):
    location_id: str
    available: int


class Member(TypedDict):
    """The whole member: for the chain's own channels and admins."""

    member_id: str
    phone: str
    name: str
    tier: Literal["normal", "silver", "gold", "platinum"]
    points: int
    stored_value_amount: int
    channels: list[MemberLink]
    conflicts: list[MemberConflictSeen]


class MemberBrief(TypedDict):
    """A member as a marketplace sees it."""

    member_id: str
    tier: Literal["normal", "silver", "gold", "platinum"]


class MemberConflict(TypedDict):
    id: int
    channel: str
    field: str
    existing: str
    incoming: str
    resolved: bool
    member_id: str
    at: str


class MemberConflictSeen(TypedDict):
    id: int
    channel: str
    field: str
    existing: str
    incoming: str
    resolved: bool


class MemberConflicts(TypedDict):
    conflicts: list[MemberConflict]


class MemberIn(TypedDict):
    phone: str
    name: NotRequired[str]
    external_id: NotRequired[str | None]


class MemberLink(TypedDict):
    channel: str
    external_id: str | None


class MemberTierIn(TypedDict):
    tier: Literal["normal", "silver", "gold", "platinum"]


class NewPaymentIn(TypedDict):
    payment_method: Literal["wechat", "alipay", "card", "stored_value", "cash"]


class NewToken(TypedDict):
    token: str
    token_id: str
    role: str
    channel: str | None
    location_id: str | None
    expires_at: str | None


class OpenedPayment(TypedDict):
    payment_id: str
    method: Literal["wechat", "alipay", "card", "stored_value", "cash"]
    status: str


class Order(TypedDict):
    order_id: str
    channel: str
    channel_order_id: str
    member_id: str | None
    status: str
    created_at: str
    pricing: Pricing
    payment: Payment | None
    payments: list[Payment]
    fulfilments: list[Part]
    substitutions: list[Substitution]
    refunds: list[Refund]
    timeline: list[TimelineEntry]


class OrderChangeIn(TypedDict):
    lines: NotRequired[list[OrderLineIn] | None]
    fulfilment: NotRequired[FulfilmentIn | None]


class OrderChanged(TypedDict):
    order_id: str
    channel: str
    channel_order_id: str
    member_id: str | None
    status: str
    created_at: str
    pricing: Pricing
    payment: Payment | None
    payments: list[Payment]
    fulfilments: list[Part]
    substitutions: list[Substitution]
    refunds: list[Refund]
    timeline: list[TimelineEntry]
    change: Change


class OrderIn(TypedDict):
    member_phone: NotRequired[str | None]
    lines: list[OrderLineIn]
    fulfilment: FulfilmentIn
    coupon_codes: NotRequired[list[str]]
    points_to_redeem: NotRequired[int]
    payment_method: Literal["wechat", "alipay", "card", "stored_value", "cash"]
    channel: NotRequired[str | None]
    channel_order_id: str


class OrderLineIn(TypedDict):
    sku: str
    qty: int
    substitution: NotRequired[Literal["none", "similar"] | SubstituteSku]


class OrderPage(TypedDict):
    orders: list[Order]
    next_cursor: str | None


class OrderPaidAgain(TypedDict):
    order_id: str
    channel: str
    channel_order_id: str
    member_id: str | None
    status: str
    created_at: str
    pricing: Pricing
    payment: Payment | None
    payments: list[Payment]
    fulfilments: list[Part]
    substitutions: list[Substitution]
    refunds: list[Refund]
    timeline: list[TimelineEntry]
    opened: OpenedPayment


class OrderSettlement(TypedDict):
    model: str
    rule_id: str | None
    settled: bool
    net_amount: int
    entries: list[SettlementEntry]
    totals: list[SettlementTotal]


class Part(TypedDict):
    """A fulfilment: the part of an order one location serves."""

    fulfilment_id: str
    location_id: str
    mode: Literal["delivery", "pickup"]
    status: str
    lines: list[PartLine]
    carrier: str | None
    tracking_no: str | None
    pickup_code: str | None
    reasons: list[str]
    execution: Literal["staff", "wms"]
    carrier_reasons: list[str]
    tracking: list[TrackingStep]
    shipment_id: str | None


class PartLine(TypedDict):
    sku: str
    qty: int
    picked_qty: int | None


class PartyTotal(TypedDict):
    party: str
    role: str
    amount: int
    orders: int


class Payloads(TypedDict):
    """Temporal's remote codec protocol."""

    payloads: list[dict[str, Any]]


class Payment(TypedDict):
    payment_id: str
    method: Literal["wechat", "alipay", "card", "stored_value", "cash"]
    amount: int
    status: str


class PaymentSimIn(TypedDict):
    outcome: Literal["succeeded", "failed"]
    force: NotRequired[bool]


class PickedIn(TypedDict):
    lines: NotRequired[list[LinePickedIn]]


class PickedLineIn(TypedDict):
    sku: str
    qty: int


class PickupIn(TypedDict):
    code: str


class PointsIn(TypedDict):
    delta: int
    reason: NotRequired[str]
    adjustment_id: NotRequired[str | None]


class PricedLine(TypedDict):
    sku: str
    qty: int
    unit_price_amount: int
    discount_amount: int
    paid_amount: int
    gift: bool
    points_amount: int
    promotions: list[PromotionAmount]
    sold_by: Literal["unit", "weight"]
    substitutes: str | None


class Pricing(TypedDict):
    lines: list[PricedLine]
    subtotal_amount: int
    discount_amount: int
    points_redeemed: int
    points_amount: int
    payable_amount: int
    applied_promotions: list[PromotionAmount]


class Promotion(TypedDict):
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


class PromotionAmount(TypedDict):
    promotion_id: str
    amount: int


class PromotionIn(TypedDict):
    kind: Literal[
        "percent_off",
        "amount_off",
        "threshold_amount_off",
        "threshold_gift",
        "payment_method_discount",
        "tier_discount",
    ]
    scope: NotRequired[Scope]
    percent: NotRequired[int]
    amount: NotRequired[int]
    threshold_amount: NotRequired[int]
    repeat: NotRequired[bool]
    gift_sku: NotRequired[str | None]
    gift_qty: NotRequired[int]
    payment_methods: NotRequired[list[Literal["wechat", "alipay", "card", "stored_value", "cash"]]]
    coupon_required: NotRequired[bool]
    stackable: NotRequired[bool]
    priority: NotRequired[int]
    starts_at: NotRequired[str | None]
    ends_at: NotRequired[str | None]
    active: NotRequired[bool]


class PromotionScope(TypedDict):
    skus: list[str]
    categories: list[str]
    channels: list[str]
    locations: list[str]
    tiers: list[str]


class Quote(TypedDict):
    channel: str
    pricing: QuotedPricing


class QuoteIn(TypedDict):
    member_phone: NotRequired[str | None]
    lines: list[OrderLineIn]
    fulfilment: FulfilmentIn
    coupon_codes: NotRequired[list[str]]
    points_to_redeem: NotRequired[int]
    payment_method: Literal["wechat", "alipay", "card", "stored_value", "cash"]
    channel: NotRequired[str | None]


class QuotedPricing(TypedDict):
    lines: list[PricedLine]
    subtotal_amount: int
    discount_amount: int
    points_redeemed: int
    points_amount: int
    payable_amount: int
    applied_promotions: list[PromotionAmount]
    trace: list[str]


class Ready(TypedDict):
    status: str
    checks: ReadyChecks


class ReadyChecks(TypedDict):
    database: bool
    temporal: bool


class ReasonIn(TypedDict):
    reason: NotRequired[str]


class ReceiptIn(TypedDict):
    qty: int
    receipt_id: str


class Refund(TypedDict):
    refund_id: str
    amount: int
    reason: str
    status: str
    lines: list[RefundLine]
    detail: str


class RefundCloseIn(TypedDict):
    reason: str


class RefundLine(TypedDict):
    sku: str
    qty: int
    amount: int


class Refunds(TypedDict):
    refunds: list[AdminRefund]


class Repair(TypedDict):
    repair: str
    order: Order


class ReturnIn(TypedDict):
    lines: list[LineIn]
    reason: NotRequired[str]


class Scope(TypedDict):
    skus: NotRequired[list[str]]
    categories: NotRequired[list[str]]
    channels: NotRequired[list[str]]
    locations: NotRequired[list[str]]
    tiers: NotRequired[list[Literal["normal", "silver", "gold", "platinum"]]]


class SellingLocation(TypedDict):
    location_id: str
    name: str
    kind: str
    province: str
    city: str
    lat: float
    lng: float
    ships: bool
    pickup: bool


class SellingLocations(TypedDict):
    items: list[SellingLocation]


class SettlementDay(TypedDict):
    day: str
    parties: list[PartyTotal]


class SettlementEntry(TypedDict):
    party: str
    role: str
    amount: int
    day: str
    cause: str


class SettlementRule(TypedDict):
    rule_id: str
    channel: str | None
    location_id: str | None
    model: str
    commission_bp: NotRequired[int]
    owner_ratio: NotRequired[int]
    fulfiller_ratio: NotRequired[int]
    operator_ratio: NotRequired[int]
    owner: NotRequired[str | None]
    operator: NotRequired[str | None]
    distributor: NotRequired[str | None]
    updated_at: str


class SettlementRuleIn(TypedDict):
    """Terms for a channel's orders and/or a location's parts; both null is the default rule."""

    channel: NotRequired[str | None]
    location_id: NotRequired[str | None]
    model: Literal["buy_sell", "exclusive", "shared", "distribution"]
    commission_bp: NotRequired[int]
    owner_ratio: NotRequired[int]
    fulfiller_ratio: NotRequired[int]
    operator_ratio: NotRequired[int]
    owner: NotRequired[str | None]
    operator: NotRequired[str]
    distributor: NotRequired[str | None]


class SettlementRules(TypedDict):
    rules: list[SettlementRule]


class SettlementTotal(TypedDict):
    party: str
    role: str
    amount: int


class ShipIn(TypedDict):
    carrier: NotRequired[str | None]
    tracking_no: NotRequired[str | None]


class SimulatedParcel(TypedDict):
    tracking_no: str
    status: str
    carrier: str


class SimulatedPayment(TypedDict):
    payment_id: str
    amount: int
    method: str
    notify_url: str
    status: str


class Sku(TypedDict):
    sku: str
    name: str
    category: str
    price_amount: int
    goods_class: NotRequired[str]
    barcode: NotRequired[str | None]
    sold_by: NotRequired[str]
    weight_g: NotRequired[int]
    plu: NotRequired[str | None]
    updated_at: NotRequired[str]


class SkuIn(TypedDict):
    name: str
    category: str
    price_amount: int
    goods_class: NotRequired[Literal["A", "B"]]
    sold_by: NotRequired[Literal["unit", "weight"]]
    weight_g: NotRequired[int]
    barcode: NotRequired[str | None]
    plu: NotRequired[str | None]


class StaffAccount(TypedDict):
    username: str
    location_id: str


class StaffAccountIn(TypedDict):
    username: str
    password: str
    location_id: str


class StaffPart(TypedDict):
    fulfilment_id: str
    location_id: str
    mode: Literal["delivery", "pickup"]
    status: str
    lines: list[PartLine]
    carrier: str | None
    tracking_no: str | None
    pickup_code: str | None
    reasons: list[str]
    execution: Literal["staff", "wms"]
    carrier_reasons: list[str]
    tracking: list[TrackingStep]
    shipment_id: str | None
    order_id: str


class StockChange(TypedDict):
    location_id: str
    sku: str
    available: int
    sold_out: bool


class StockDrift(TypedDict):
    ok: bool
    drift: list[StockDriftRow]


class StockDriftRow(TypedDict):
    location_id: str
    sku: str
    on_hand: int | None
    ledger_on_hand: int
    reserved: int | None
    ledger_reserved: int


class StockIn(TypedDict):
    on_hand: int
    safety_stock: NotRequired[int]


class StockLevel(TypedDict):
    location_id: str
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int


class StockView(TypedDict):
    sku: str
    channel: str | None
    available: int
    sold_out: bool
    locations: list[LocationStock]


class SubstituteSku(TypedDict):
    sku: str


class Substitution(TypedDict):
    substitution_id: str
    fulfilment_id: str
    sku: str
    with_sku: str
    qty: int
    status: Literal["proposed", "approved", "declined", "withdrawn"]
    decided_by: str
    price_amount: int
    refund_amount: int


class SubstitutionIn(TypedDict):
    sku: str
    with_sku: str
    qty: int


class TimelineEntry(TypedDict):
    at: str
    event: str
    detail: str


class TokenIn(TypedDict):
    role: Literal["admin", "channel", "staff"]
    channel: NotRequired[str | None]
    location_id: NotRequired[str | None]
    label: NotRequired[str]
    expires_at: NotRequired[str | None]


class TokenSeen(TypedDict):
    token_id: str
    role: str
    channel: str | None
    location_id: str | None
    label: str
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class Tokens(TypedDict):
    tokens: list[TokenSeen]


class TopUpIn(TypedDict):
    amount: int
    topup_id: NotRequired[str | None]


class TrackingStep(TypedDict):
    at: str
    event: str
    detail: str


class Webhook(TypedDict):
    channel: str
    url: str
    events: list[str]
    secret_set: bool
    created_at: str


class WebhookAck(TypedDict):
    status: str
    event_id: str


class WebhookIn(TypedDict):
    url: str
    secret: str
    events: NotRequired[list[str]]


class WebhookRemoved(TypedDict):
    channel: str
    webhook: None
