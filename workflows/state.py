"""An order workflow's state, in one dataclass: everything the order knows, for every
collaborator to read and change. (Running parts and background tasks are not state: they are
rebuilt from it when a workflow replays.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.fulfilment import FulfilmentState, RecordedOrder
    from domain.orders import OrderRequest, PaymentRecord, PlannedPart, Pricing
    from domain.policy import Timeouts
    from domain.refunds import RefundLedger
    from domain.substitutions import Proposal
    from workflows.messages import OrderAccepted


@dataclass
class OrderState:
    request: OrderRequest
    timeouts: Timeouts
    min_credit_score: int
    status: str = "submitting"
    accepted: OrderAccepted | None = None
    refusal: Exception | None = None  # why the submission was refused
    recorded: RecordedOrder | None = None  # what the read model held when the workflow started
    pricing: Pricing | None = None
    member_id: str | None = None
    member_tier: str = ""
    # payments: every one tried, the one that paid, and what the gateway said meanwhile
    payments: list[PaymentRecord] = field(default_factory=list)
    paid: PaymentRecord | None = None
    failed_heard: list[PaymentRecord] = field(default_factory=list)  # failures to record
    late: list[PaymentRecord] = field(default_factory=list)  # successes to refund in full
    # the parts: as planned (rerouted ones added), those that ended, those whose goods left
    parts: list[PlannedPart] = field(default_factory=list)
    results: dict[str, FulfilmentState] = field(default_factory=dict)
    handed_over: set[str] = field(default_factory=set)
    reroutes: int = 0
    cancel_reason: str | None = None
    # money back, and after-sales
    ledger: RefundLedger = field(default_factory=RefundLedger)
    refunded_from: dict[str, int] = field(default_factory=dict)  # fen back, per payment
    failed_refunds: list[str] = field(default_factory=list)  # "<refund id>: <why>"
    returns: int = 0
    earned: int = 0  # points earned at completion
    earn_base: int = 0  # the paid amount they were earned on
    settled_party: str = ""
    # changes after placing: how many, and the payment of one that waits for its difference
    changes: int = 0
    supplement: PaymentRecord | None = None
    # replacements proposed for units the parts are short of, by id
    substitutions: dict[str, Proposal] = field(default_factory=dict)

    @property
    def order_id(self) -> str:
        return self.request.order_id

    def awaiting_answer(self, fid: str) -> str | None:
        """The substitution of part `fid` that waits for the member's answer, if any."""
        return next(
            (
                p.substitution_id
                for p in self.substitutions.values()
                if p.fulfilment_id == fid and p.status == "proposed"
            ),
            None,
        )

    def priced(self) -> Pricing:
        assert self.pricing is not None, "the order is not priced yet"
        return self.pricing

    def going_ahead(self) -> bool:
        """Whether the order can still be paid for and fulfilled."""
        return self.cancel_reason is None and self.status in (
            "submitting",
            "awaiting_payment",
            "paid",
            "fulfilling",
        )
