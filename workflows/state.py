"""An order workflow's state, in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.fulfilment import FulfilmentState, RecordedOrder
    from domain.orders import OrderRequest, PlannedPart, Pricing
    from domain.policy import Timeouts
    from domain.refunds import RefundLedger
    from workflows.messages import OrderAccepted


@dataclass
class OrderState:
    request: OrderRequest
    timeouts: Timeouts
    min_credit_score: int
    status: str = "submitting"
    accepted: OrderAccepted | None = None
    refusal: Exception | None = None  # why the submission was refused
    pricing: Pricing | None = None
    member_id: str | None = None
    member_tier: str = ""
    parts: list[PlannedPart] = field(default_factory=list)
    results: dict[str, FulfilmentState] = field(default_factory=dict)  # parts that ended
    handed_over: set[str] = field(default_factory=set)  # parts whose goods left the location
    cancel_reason: str | None = None
    ledger: RefundLedger = field(default_factory=RefundLedger)
    earned: int = 0  # points earned at completion
    earn_base: int = 0  # the paid amount they were earned on
    settled_party: str = ""
    recorded: RecordedOrder | None = None  # what the read model held when the workflow (re)started

    @property
    def order_id(self) -> str:
        return self.request.order_id

    def priced(self) -> Pricing:
        assert self.pricing is not None, "the order is not priced yet"
        return self.pricing

    def going_ahead(self) -> bool:
        """Whether the order can still be paid for and fulfilled."""
        return self.cancel_reason is None and self.status in (
            "awaiting_payment",
            "paid",
            "fulfilling",
            "submitting",
        )
