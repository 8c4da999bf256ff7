"""SQLModel tables: master data, stock and its ledger, members, promotions, the order read model,
settlement and API tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_col() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def json_obj() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# --- master data -------------------------------------------------------------------------


class Location(SQLModel, table=True):
    location_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    province: str = Field(max_length=64)
    city: str = Field(max_length=64)
    lat: float
    lng: float
    ships: bool = True
    pickup: bool = False
    execution: str = Field(default="staff", max_length=8)  # staff | wms (an execution system)
    franchise: bool = False
    daily_quota: int | None = None
    credit_score: int = 100
    priority: int = 100
    shipping_cost_amount: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Sku(SQLModel, table=True):
    sku: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64, index=True)
    price_amount: int = Field(sa_type=BigInteger)
    goods_class: str = Field(default="B", max_length=1)
    barcode: str | None = Field(default=None, max_length=14, index=True)  # EAN-13, UPC, ...
    sold_by: str = Field(default="unit", max_length=8)  # unit | weight (qty in grams)
    weight_g: int = 0  # of one unit (0: not known)
    # the item code a shelf scale prints in its labels' barcodes (5 digits; sold by weight)
    plu: str | None = Field(default=None, max_length=5, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class ChannelConfig(SQLModel, table=True):
    """Which locations serve a channel (a logical view of the one stock pool)."""

    channel: str = Field(primary_key=True, max_length=64)
    location_kinds: list[str] = json_col()  # empty: all kinds
    location_ids: list[str] = json_col()  # empty: all locations of those kinds
    radius_km: float | None = None
    logistics_carrier: str | None = Field(default=None, max_length=64)  # its own riders


class Carrier(SQLModel, table=True):
    """A courier the chain ships with, and the rules that give it parcels."""

    carrier_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    provinces: list[str] = json_col()  # empty: every province
    cost_amount: int = Field(default=0, sa_type=BigInteger)
    max_weight_g: int | None = None
    priority: int = 100
    updated_at: datetime = Field(default_factory=utcnow)


# --- stock ---------------------------------------------------------------------------------


class Stock(SQLModel, table=True):
    location_id: str = Field(primary_key=True, foreign_key="location.location_id", max_length=64)
    sku: str = Field(primary_key=True, foreign_key="sku.sku", max_length=64)
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0


class StockMovement(SQLModel, table=True):
    """Every change of on_hand or reserved, with its cause; keyed for idempotency."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    location_id: str = Field(max_length=64, index=True)
    sku: str = Field(max_length=64)
    kind: str = Field(max_length=32)  # reserve, release, deduct, restock, receive, adjust
    on_hand_delta: int = 0
    reserved_delta: int = 0
    order_id: str | None = Field(default=None, max_length=64, index=True)
    fulfilment_id: str | None = Field(default=None, max_length=80)
    note: str = ""
    at: datetime = Field(default_factory=utcnow)


class CreditEvent(SQLModel, table=True):
    """A change of a location's credit score, with its cause; keyed for idempotency."""

    key: str = Field(primary_key=True, max_length=200)
    location_id: str = Field(max_length=64, index=True)
    delta: int
    why: str = ""
    at: datetime = Field(default_factory=utcnow)


class DailyDispatch(SQLModel, table=True):
    """Parts dispatched to a location per day, against its franchise quota."""

    location_id: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)
    parts: int = 0


# --- members -------------------------------------------------------------------------------


class Member(SQLModel, table=True):
    member_id: str = Field(primary_key=True, max_length=64)
    phone: str = Field(unique=True, max_length=32)
    name: str = Field(default="", max_length=200)
    tier: str = Field(default="normal", max_length=16)
    points: int = 0
    stored_value_amount: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class MemberLink(SQLModel, table=True):
    channel: str = Field(primary_key=True, max_length=64)
    external_id: str = Field(primary_key=True, max_length=64)
    member_id: str = Field(foreign_key="member.member_id", max_length=64, index=True)


class MemberConflict(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.member_id", max_length=64, index=True)
    channel: str = Field(max_length=64)
    field_name: str = Field(max_length=32)
    existing: str = ""
    incoming: str = ""
    resolved: bool = False
    at: datetime = Field(default_factory=utcnow)


class PointsEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    member_id: str = Field(foreign_key="member.member_id", max_length=64, index=True)
    kind: str = Field(max_length=16)  # earn, redeem, reversal, adjust
    delta: int
    reason: str = ""
    order_id: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow)


class StoredValueEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    member_id: str = Field(foreign_key="member.member_id", max_length=64, index=True)
    kind: str = Field(max_length=16)  # topup, pay, refund
    delta: int = Field(sa_type=BigInteger)
    order_id: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow)


# --- promotions ----------------------------------------------------------------------------


class Promotion(SQLModel, table=True):
    promotion_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)
    scope: dict[str, Any] = json_obj()
    percent: int = 0
    amount: int = Field(default=0, sa_type=BigInteger)
    threshold_amount: int = Field(default=0, sa_type=BigInteger)
    repeat: bool = False
    gift_sku: str | None = Field(default=None, max_length=64)
    gift_qty: int = 0
    payment_methods: list[str] = json_col()
    coupon_required: bool = False
    stackable: bool = False
    priority: int = 100
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class Coupon(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)
    promotion_id: str = Field(foreign_key="promotion.promotion_id", max_length=64)
    member_phone: str | None = Field(default=None, max_length=32)
    uses: int = 1
    held: int = 0
    used: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class CouponHold(SQLModel, table=True):
    code: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(primary_key=True, max_length=64)
    state: str = Field(default="held", max_length=16)  # held, used, released


# --- the order read model ------------------------------------------------------------------


class Order(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("channel", "channel_order_id"),)

    order_id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=64, index=True)
    channel_order_id: str = Field(max_length=64)
    member_id: str | None = Field(default=None, max_length=64, index=True)
    member_phone: str | None = Field(default=None, max_length=32)
    status: str = Field(max_length=32, index=True)
    mode: str = Field(max_length=16)
    payment_method: str = Field(max_length=16)
    subtotal_amount: int = Field(default=0, sa_type=BigInteger)
    discount_amount: int = Field(default=0, sa_type=BigInteger)
    payable_amount: int = Field(default=0, sa_type=BigInteger)
    points_redeemed: int = 0
    points_amount: int = 0
    applied_promotions: list[dict[str, Any]] = json_col()
    request: dict[str, Any] = json_obj()
    plan: dict[str, Any] = json_obj()  # the pricing and parts the workflow works from
    cancel_reason: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class OrderLine(SQLModel, table=True):
    order_id: str = Field(primary_key=True, foreign_key="order.order_id", max_length=64)
    line_no: int = Field(primary_key=True)
    sku: str = Field(max_length=64)
    qty: int
    unit_price_amount: int = Field(sa_type=BigInteger)
    discount_amount: int = Field(sa_type=BigInteger)
    paid_amount: int = Field(sa_type=BigInteger)
    points_amount: int = Field(default=0, sa_type=BigInteger)
    gift: bool = False
    detail: list[dict[str, Any]] = json_col()  # promotions: [{"promotion_id", "amount"}]
    sold_by: str = Field(default="unit", max_length=8)  # weight: qty in grams, price per kg
    substitutes: str = Field(default="", max_length=64)  # the SKU it replaces (a substitution)


class Substitution(SQLModel, table=True):
    """A replacement staff proposed for units a part is short of, and the member's answer."""

    substitution_id: str = Field(primary_key=True, max_length=100)
    order_id: str = Field(foreign_key="order.order_id", max_length=64, index=True)
    fulfilment_id: str = Field(max_length=80)
    sku: str = Field(max_length=64)
    with_sku: str = Field(max_length=64)
    qty: int
    status: str = Field(max_length=16)  # proposed, approved, declined, withdrawn
    decided_by: str = Field(default="", max_length=16)  # channel, preference, order
    price_amount: int = Field(default=0, sa_type=BigInteger)  # what the replacement costs
    refund_amount: int = Field(default=0, sa_type=BigInteger)  # what goes back (cheaper)
    proposed_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Fulfilment(SQLModel, table=True):
    fulfilment_id: str = Field(primary_key=True, max_length=80)
    order_id: str = Field(foreign_key="order.order_id", max_length=64, index=True)
    location_id: str = Field(max_length=64, index=True)
    mode: str = Field(max_length=16)
    status: str = Field(max_length=32, index=True)
    lines: list[dict[str, Any]] = json_col()  # [{"sku", "qty", "picked_qty"}]
    reasons: list[str] = json_col()
    carrier: str | None = Field(default=None, max_length=64)
    tracking_no: str | None = Field(default=None, max_length=64, index=True)
    pickup_code_hash: str | None = Field(default=None, max_length=128)
    execution: str = Field(default="staff", max_length=8)
    carrier_reasons: list[str] = json_col()
    tracking: list[dict[str, Any]] = json_col()  # [{"seq", "at", "event", "detail"}]
    # parts of one member's orders to one address that leave the location as one parcel
    shipment_id: str | None = Field(default=None, max_length=90, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Payment(SQLModel, table=True):
    payment_id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(foreign_key="order.order_id", max_length=64, index=True)
    method: str = Field(max_length=16)
    amount: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=16)  # pending, succeeded, failed, closed
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Refund(SQLModel, table=True):
    refund_id: str = Field(primary_key=True, max_length=80)
    order_id: str = Field(foreign_key="order.order_id", max_length=64, index=True)
    amount: int = Field(sa_type=BigInteger)
    reason: str = ""
    status: str = Field(max_length=16)  # pending, succeeded, failed, closed
    lines: list[dict[str, Any]] = json_col()
    payment_id: str | None = Field(default=None, max_length=64)
    detail: str = ""  # the tender's answer, or how operations closed it
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class TimelineEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    order_id: str = Field(foreign_key="order.order_id", max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow)
    event: str = Field(max_length=64)
    detail: str = ""


# --- settlement ----------------------------------------------------------------------------


class SettlementRule(SQLModel, table=True):
    """Terms for orders of a channel and/or fulfilled by a location; the most specific wins."""

    rule_id: str = Field(primary_key=True, max_length=64)  # "<channel or *>@<location or *>"
    channel: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    model: str = Field(max_length=16)  # buy_sell, exclusive, shared, distribution
    params: dict[str, Any] = json_obj()
    updated_at: datetime = Field(default_factory=utcnow)


class OrderSettlement(SQLModel, table=True):
    """The terms an order is settled under, fixed when it completes (later returns use them)."""

    order_id: str = Field(primary_key=True, max_length=64)
    rule_id: str | None = Field(default=None, max_length=64)
    model: str = Field(max_length=16)
    params: dict[str, Any] = json_obj()
    fulfiller: str = Field(max_length=80)
    net_amount: int = Field(default=0, sa_type=BigInteger)


class SettlementEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    order_id: str = Field(max_length=64, index=True)
    model: str = Field(max_length=16)
    party: str = Field(max_length=64, index=True)
    role: str = Field(max_length=32)
    amount: int = Field(sa_type=BigInteger)
    day: str = Field(max_length=10, index=True)
    cause: str = Field(default="", max_length=80)  # "completed" or the refund id of a return
    at: datetime = Field(default_factory=utcnow)


# --- access --------------------------------------------------------------------------------


class ApiToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True, max_length=128)
    token_id: str = Field(unique=True, max_length=40)  # public: lists and revocation name it
    role: str = Field(max_length=16)
    channel: str | None = Field(default=None, max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = Field(default=None, index=True)
    last_used_at: datetime | None = None


class WebhookEvent(SQLModel, table=True):
    event_id: str = Field(primary_key=True, max_length=128)
    received_at: datetime = Field(default_factory=utcnow)


# --- channel events ----------------------------------------------------------------------


class ChannelWebhook(SQLModel, table=True):
    """Where a channel's events are POSTed, the secret they are signed with, which events."""

    channel: str = Field(primary_key=True, max_length=64)
    url: str = Field(max_length=500)
    secret: str = Field(max_length=200)
    events: list[str] = json_col()  # ["*"]: every event
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ChannelEvent(SQLModel, table=True):
    """An event for one channel (the outbox, written with the change it reports), and its
    delivery to the channel's webhook."""

    seq: int | None = Field(default=None, primary_key=True)  # the order events happened in
    event_id: str = Field(unique=True, max_length=40)
    channel: str = Field(max_length=64, index=True)
    type: str = Field(max_length=40)
    order_id: str | None = Field(default=None, max_length=64, index=True)
    stream: str = Field(max_length=200)  # the order, or "stock:<location>:<sku>": in order
    data: str = ""  # the event's data as JSON text: encoded once, sent as it is
    created_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    first_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str = ""


class StockTouch(SQLModel, table=True):
    """A (location, SKU) whose stock changed since the sold-out watcher last looked."""

    location_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    touched_at: datetime = Field(default_factory=utcnow)


class StockState(SQLModel, table=True):
    """A (location, SKU)'s availability as channels were last told it."""

    location_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    sold_out: bool = False
    available: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


# --- the store console -------------------------------------------------------------------


class StaffAccount(SQLModel, table=True):
    """A person of a store who signs in to the console."""

    username: str = Field(primary_key=True, max_length=64)
    password_hash: str = Field(max_length=200)
    location_id: str = Field(max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ConsoleSession(SQLModel, table=True):
    """A signed-in console session (the cookie holds a secret, this its hash)."""

    session_hash: str = Field(primary_key=True, max_length=128)
    role: str = Field(max_length=16)  # staff | admin
    name: str = Field(max_length=64)
    location_id: str | None = Field(default=None, max_length=64)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(default_factory=utcnow, index=True)
