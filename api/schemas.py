"""Request bodies of the public contract, validated strictly: unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain import barcodes

ClientId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$", max_length=64)]
Text = Annotated[str, Field(max_length=500)]
ShortText = Annotated[str, Field(max_length=200)]
Fen = Annotated[int, Field(ge=0, le=10**12)]
Qty = Annotated[int, Field(ge=1, le=100_000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    """Every error: `{"error": {"code", "message", "details"}}`."""

    error: ErrorDetail


class TokenIn(Strict):
    role: Literal["admin", "channel", "staff"]
    channel: ClientId | None = None
    location_id: ClientId | None = None
    label: ShortText = ""
    expires_at: datetime | None = Field(
        None, description="When the token stops working (ISO 8601 with a zone); none: never."
    )

    @model_validator(mode="after")
    def _scope(self) -> TokenIn:
        if self.role == "channel" and not self.channel:
            raise ValueError('a channel token needs a channel: add "channel"')
        if self.role == "staff" and not self.location_id:
            raise ValueError('a staff token needs a location_id: add "location_id"')
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise ValueError(
                "expires_at needs a time zone: add an offset, e.g. 2027-01-01T00:00:00+08:00"
            )
        return self


class LocationIn(Strict):
    kind: Literal["central_warehouse", "regional_warehouse", "front_warehouse", "store"]
    name: ShortText
    province: Annotated[str, Field(min_length=1, max_length=64)]
    city: Annotated[str, Field(min_length=1, max_length=64)]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    ships: bool = True
    pickup: bool = False
    execution: Literal["staff", "wms"] = Field(
        "staff",
        description="`wms`: its parts go to the warehouse's execution system, which picks and "
        "ships them and reports back; staff do not act on them",
    )
    franchise: bool = False
    daily_quota: Annotated[int, Field(ge=0, le=10**7)] | None = None
    credit_score: Annotated[int, Field(ge=0, le=100)] = 100
    priority: Annotated[int, Field(ge=0, le=10**6)] = 100
    shipping_cost_amount: Fen = 0


class SkuIn(Strict):
    name: ShortText
    category: Annotated[str, Field(min_length=1, max_length=64)]
    price_amount: Fen
    goods_class: Literal["A", "B"] = "B"
    sold_by: Literal["unit", "weight"] = Field(
        "unit", description="`weight`: price_amount is per kilogram, every qty is in grams"
    )
    weight_g: Annotated[int, Field(ge=0, le=10**7)] = Field(
        0, description="one unit's weight in grams, for the carrier rules (0: not known)"
    )
    barcode: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9]{8,14}$",
            description="the item's barcode (EAN-13, EAN-8, UPC): a scanner's Enter on it "
            "in the console's picking box adds one unit",
        ),
    ] = None

    plu: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9]{5}$",
            description="sold by weight: the item code its shelf scales print in their labels "
            "(EAN-13 `2K PPPPP VVVVV C`, see the fresh food guide)",
        ),
    ] = None

    @field_validator("barcode")
    @classmethod
    def _barcode(cls, code: str | None) -> str | None:
        if code is not None and not barcodes.is_valid(code):
            raise ValueError(f"{code} does not end in its check digit: copy it from the pack")
        return code

    @model_validator(mode="after")
    def _plu_for_weighed_goods(self) -> SkuIn:
        if self.plu is not None and self.sold_by != "weight":
            raise ValueError("plu is the scale code of goods sold by weight: set sold_by weight")
        return self


class StockIn(Strict):
    on_hand: Annotated[int, Field(ge=0, le=10**9)]
    safety_stock: Annotated[int, Field(ge=0, le=10**9)] = 0


class ChannelIn(Strict):
    location_kinds: list[
        Literal["central_warehouse", "regional_warehouse", "front_warehouse", "store"]
    ] = Field(default_factory=list)
    location_ids: list[ClientId] = Field(default_factory=list, max_length=1000)
    radius_km: Annotated[float, Field(gt=0, le=5000, allow_inf_nan=False)] | None = None
    logistics_carrier: ClientId | None = Field(
        None,
        description="the channel delivers with its own logistics (a marketplace's riders): "
        "every delivery part of its orders gets this carrier, whatever the carrier rules say",
    )


class CarrierIn(Strict):
    name: ShortText
    provinces: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100, description="where it delivers; empty: everywhere"
    )
    cost_amount: Fen = Field(description="fen per parcel")
    max_weight_g: Annotated[int, Field(ge=1, le=10**7)] | None = Field(
        None, description="the heaviest parcel it takes; none: no limit"
    )
    priority: Annotated[int, Field(ge=0, le=10**6)] = Field(100, description="lower first")


class ReceiptIn(Strict):
    qty: Annotated[int, Field(ge=1, le=10**9)]
    receipt_id: ClientId


class Scope(Strict):
    skus: list[ClientId] = Field(default_factory=list, max_length=1000)
    categories: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=200
    )
    channels: list[ClientId] = Field(default_factory=list, max_length=50)
    locations: list[ClientId] = Field(default_factory=list, max_length=1000)
    tiers: list[Literal["normal", "silver", "gold", "platinum"]] = Field(default_factory=list)


PromotionKind = Literal[
    "percent_off",
    "amount_off",
    "threshold_amount_off",
    "threshold_gift",
    "payment_method_discount",
    "tier_discount",
]
PaymentMethod = Literal["wechat", "alipay", "card", "stored_value", "cash"]


class PromotionIn(Strict):
    kind: PromotionKind
    scope: Scope = Field(default_factory=Scope)
    percent: Annotated[int, Field(ge=0, le=100)] = 0
    amount: Fen = 0
    threshold_amount: Fen = 0
    repeat: bool = False
    gift_sku: ClientId | None = None
    gift_qty: Annotated[int, Field(ge=0, le=1000)] = 0
    payment_methods: list[PaymentMethod] = Field(default_factory=list)
    coupon_required: bool = False
    stackable: bool = False
    priority: Annotated[int, Field(ge=0, le=10**6)] = 100
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    active: bool = True


class CouponIn(Strict):
    promotion_id: ClientId
    code: ClientId
    member_phone: Annotated[str, Field(max_length=32)] | None = None
    uses: Annotated[int, Field(ge=1, le=10**6)] = 1


class ConflictResolutionIn(Strict):
    keep: Literal["existing", "incoming"]


class MemberTierIn(Strict):
    tier: Literal["normal", "silver", "gold", "platinum"]


class PointsIn(Strict):
    delta: Annotated[int, Field(ge=-(10**9), le=10**9)]
    reason: ShortText = ""
    adjustment_id: ClientId | None = None  # repeats with the same id are applied once


Party = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


class SettlementRuleIn(Strict):
    """Terms for a channel's orders and/or a location's parts; both null is the default rule."""

    channel: ClientId | None = None
    location_id: ClientId | None = None
    model: Literal["buy_sell", "exclusive", "shared", "distribution"]
    commission_bp: Annotated[int, Field(ge=0, le=10_000)] = 0
    owner_ratio: Annotated[int, Field(ge=0, le=10**6)] = 0
    fulfiller_ratio: Annotated[int, Field(ge=0, le=10**6)] = 0
    operator_ratio: Annotated[int, Field(ge=0, le=10**6)] = 0
    owner: Party | None = None
    operator: Party = "operator"
    distributor: Party | None = None


class MemberIn(Strict):
    phone: Annotated[str, Field(min_length=5, max_length=32)]
    name: ShortText = ""
    external_id: ClientId | None = None


class TopUpIn(Strict):
    amount: Annotated[int, Field(ge=1, le=10**9)]
    topup_id: ClientId | None = None


class AddressIn(Strict):
    province: Annotated[str, Field(min_length=1, max_length=64)]
    city: Annotated[str, Field(min_length=1, max_length=64)]
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lng: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    line1: ShortText = ""
    recipient: ShortText = ""
    phone: Annotated[str, Field(max_length=32)] = ""


class FulfilmentIn(Strict):
    mode: Literal["delivery", "pickup"]
    address: AddressIn | None = None
    location_id: ClientId | None = None

    @model_validator(mode="after")
    def _needs(self) -> FulfilmentIn:
        if self.mode == "delivery" and self.address is None:
            raise ValueError('a delivery needs an address: add "address"')
        if self.mode == "pickup" and not self.location_id:
            raise ValueError(
                'a pickup needs a location_id: add "location_id" (GET /v1/locations?pickup=true)'
            )
        return self


class LineIn(Strict):
    sku: ClientId
    qty: Qty = Field(description="units; grams for an item sold by weight")


class SubstituteSku(Strict):
    sku: ClientId


class OrderLineIn(LineIn):
    substitution: Literal["none", "similar"] | SubstituteSku = Field(
        "none",
        description="if the store is short of it: `none` (refund the missing units), `similar` "
        '(a replacement staff choose is fine), or `{"sku": ...}` (that one is fine)',
    )


class OrderChangeIn(Strict):
    lines: list[OrderLineIn] | None = Field(
        None, min_length=1, max_length=200, description="every line as it now is (all of them)"
    )
    fulfilment: FulfilmentIn | None = Field(None, description="where and how, as it now is")

    @model_validator(mode="after")
    def _something(self) -> OrderChangeIn:
        if self.lines is None and self.fulfilment is None:
            raise ValueError('nothing to change: send "lines", "fulfilment" or both')
        return self


class SubstitutionIn(Strict):
    sku: ClientId = Field(description="the SKU the part is short of")
    with_sku: ClientId = Field(description="the replacement")
    qty: Qty = Field(description="the missing units (grams by weight), replaced one for one")


class DecisionIn(Strict):
    decision: Literal["approve", "decline"]


class QuoteIn(Strict):
    member_phone: Annotated[str, Field(min_length=5, max_length=32)] | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    fulfilment: FulfilmentIn
    coupon_codes: list[ClientId] = Field(default_factory=list, max_length=20)
    points_to_redeem: Annotated[int, Field(ge=0, le=10**9)] = 0
    payment_method: PaymentMethod
    channel: ClientId | None = Field(
        default=None, description="Only for admin tokens: the channel the order comes from."
    )


class OrderIn(QuoteIn):
    channel_order_id: ClientId


class ReturnIn(Strict):
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    reason: ShortText = ""


class ReasonIn(Strict):
    reason: ShortText = ""


class LinePickedIn(Strict):
    sku: ClientId | None = Field(None, description="the SKU (or give its scale label's barcode)")
    qty: Annotated[int, Field(ge=0, le=10**7)] | None = Field(
        None, description="units picked (grams by weight)"
    )
    barcode: Annotated[str, Field(pattern=r"^2[12][0-9]{11}$")] | None = Field(
        None,
        description="a shelf scale's label (EAN-13 prefix 2): names the SKU by its plu and "
        "carries the weight or the price; several labels of one SKU add up",
    )

    @model_validator(mode="after")
    def _sku_or_label(self) -> LinePickedIn:
        if self.barcode is None and (self.sku is None or self.qty is None):
            raise ValueError("give sku and qty, or a scale label's barcode")
        if self.barcode is not None and not barcodes.is_valid(self.barcode):
            raise ValueError(f"{self.barcode} does not end in its check digit: scan it again")
        return self


class PickedIn(Strict):
    lines: list[LinePickedIn] = Field(default_factory=list, max_length=200)


class ShipIn(Strict):
    carrier: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="default: the carrier the courier rules gave the part"
    )
    tracking_no: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="default: a waybill number the carrier issues now"
    )


class PickupIn(Strict):
    code: Annotated[str, Field(min_length=1, max_length=16)]


class PaymentSimIn(Strict):
    outcome: Literal["succeeded", "failed"]
    force: bool = Field(
        False,
        description="Succeed even a payment that was closed, as a real gateway's late notice "
        "would (to try what happens then).",
    )


class NewPaymentIn(Strict):
    payment_method: PaymentMethod


class RefundCloseIn(Strict):
    reason: Annotated[str, Field(min_length=1, max_length=200)]


OrderStatusFilter = Literal[
    "awaiting_payment", "paid", "fulfilling", "completed", "cancelled", "returned"
]
FulfilmentStatusFilter = Literal[
    "pending",
    "dispatched",
    "accepted",
    "picked",
    "ready_for_pickup",
    "shipped",
    "delivered",
    "picked_up",
    "rejected",
    "cancelled",
    "expired",
]


class WebhookIn(Strict):
    url: Annotated[str, Field(min_length=8, max_length=500)]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    events: list[Annotated[str, Field(max_length=40)]] = Field(
        default_factory=lambda: ["*"], min_length=1, max_length=50
    )


DeliveryStatusFilter = Literal["pending", "delivered", "failed", "skipped"]


class StaffAccountIn(Strict):
    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=200)]
    location_id: ClientId


class PaymentEventIn(Strict):
    """The gateway's event, as the body of its signed webhook (`X-Signature`: hex HMAC-SHA256 of
    the raw body with `OMS_PAYMENT_WEBHOOK_SECRET`)."""

    event_id: Annotated[str, Field(max_length=100)]
    payment_id: Annotated[str, Field(max_length=100)]
    status: Literal["succeeded", "failed", "pending"]
    amount: Fen
    timestamp: int = Field(description="unix seconds; events more than 300 s off are refused")


class PickedLineIn(Strict):
    sku: ClientId
    qty: Annotated[int, Field(ge=0, le=10**7)]


class WmsCallbackIn(BaseModel):
    """A warehouse execution system's report on a part (its signed callback's body)."""

    event_id: Annotated[str, Field(min_length=1, max_length=100)]
    fulfilment_id: Annotated[str, Field(min_length=1, max_length=80)]
    seq: Annotated[int, Field(ge=1, le=100)] = Field(description="1: picked, 2: shipped")
    type: Literal["picked", "shipped"]
    lines: list[PickedLineIn] = Field(default_factory=list, max_length=500)
    carrier: Annotated[str, Field(max_length=64)] | None = None
    waybill: Annotated[str, Field(max_length=64)] | None = None
    timestamp: int = Field(description="unix seconds; more than 300 s off is refused")


class CourierCallbackIn(BaseModel):
    """A courier's tracking event (its signed callback's body)."""

    event_id: Annotated[str, Field(min_length=1, max_length=100)]
    tracking_no: Annotated[str, Field(min_length=1, max_length=64)]
    seq: Annotated[int, Field(ge=1, le=10_000)] = Field(description="the parcel's events, in order")
    event: Literal["in_transit", "delivered", "failed"]
    detail: Annotated[str, Field(max_length=500)] = ""
    timestamp: int = Field(description="unix seconds; more than 300 s off is refused")


class CourierSimIn(Strict):
    event: Literal["in_transit", "delivered", "failed"]
