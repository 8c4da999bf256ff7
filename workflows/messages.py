"""What the order workflow is started with, and the messages it takes and answers: its input,
updates, signals and query results. Plain dataclasses, shared with the API."""

from __future__ import annotations

from dataclasses import dataclass, field

from activities.contracts import order_workflow_id
from domain.orders import FulfilmentChoice, LineRequest, OrderRequest
from domain.policy import MIN_CREDIT_SCORE, Timeouts

__all__ = ["order_workflow_id"]


@dataclass
class OrderInput:
    """What an OrderWorkflow starts with."""

    request: OrderRequest
    timeouts: Timeouts = field(default_factory=Timeouts)
    min_credit_score: int = MIN_CREDIT_SCORE


@dataclass
class OrderAccepted:
    """The answer to a submission: the order exists, priced, with its stock reserved."""

    order_id: str
    status: str
    payable_amount: int
    payment_id: str


@dataclass
class PaymentResult:
    """The gateway's word on a payment (from its signed webhook)."""

    payment_id: str
    outcome: str  # succeeded | failed
    event_id: str = ""


@dataclass
class NewPayment:
    """The member tries again after a failed payment, perhaps with another method."""

    payment_method: str


@dataclass
class PaymentOpened:
    payment_id: str
    method: str
    status: str  # pending (at the gateway) | succeeded (stored value)


@dataclass
class StaffAction:
    """A store action on a part, as the API passes it to the workflow."""

    action: str  # accept, reject, picked, ship, deliver, pickup
    location_id: str | None = None  # the acting staff's location; None for admin
    reason: str = ""
    lines: list[LineRequest] = field(default_factory=list)
    carrier: str = ""
    tracking_no: str = ""
    code: str = ""


@dataclass
class PartAction:
    """A store action on one part of an order, sent to the order's workflow."""

    fulfilment_id: str
    action: StaffAction


@dataclass
class OrderChange:
    """The member's order as they now want it (the API's PATCH body): lines and fulfilment,
    each left as placed when not given."""

    lines: list[LineRequest] | None = None
    fulfilment: FulfilmentChoice | None = None
    substitutions: dict[str, str] | None = None  # the lines' preferences, with new lines


@dataclass
class ChangeOutcome:
    """What a change did: `applied`, or `awaiting_payment` (the difference is to be paid at the
    gateway: `payment_id`, for `amount` fen; the change stands once it is paid)."""

    change_id: str
    status: str
    difference_amount: int  # the new payable amount less the old: >0 collected, <0 refunded
    payment_id: str | None = None


@dataclass
class SubstitutionRequest:
    """Staff propose a replacement for units a part is short of (the API's body, with the
    acting staff's location)."""

    fulfilment_id: str
    sku: str
    with_sku: str
    qty: int
    location_id: str | None = None


@dataclass
class SubstitutionAnswer:
    """The member's answer, through their channel."""

    substitution_id: str
    decision: str  # approve | decline


@dataclass
class ReturnRequest:
    lines: list[LineRequest]
    reason: str = ""


@dataclass
class WarehouseReport:
    """What a warehouse's execution system reported about a part (from its signed callback),
    numbered: `seq` 1 is the pick, 2 the shipment."""

    fulfilment_id: str
    seq: int
    kind: str  # picked | shipped
    lines: list[LineRequest] = field(default_factory=list)
    carrier: str = ""
    waybill: str = ""


@dataclass
class TrackingReport:
    """A carrier's tracking event for a part's parcel (from its signed callback), numbered."""

    fulfilment_id: str
    seq: int
    event: str  # in_transit | delivered | failed
    detail: str = ""
