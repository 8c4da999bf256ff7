"""An order's payments: the first one opened at submission, the gateway's word on each, a new
try after a failure, and payments closed when the order is not going ahead. A success for an
order that is not going ahead (or a second success) is refunded in full at once."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities import contracts as c
    from activities.orders import OrderActivities
    from activities.payments import PaymentActivities
    from domain.orders import GATEWAY_METHODS
    from workflows.messages import PaymentOpened, PaymentResult
    from workflows.operations import yuan
    from workflows.refunds import Refunds
    from workflows.state import OrderState
    from workflows.steps import Step, run, run_all

# Opening a payment waits for the gateway while the channel waits for its answer: a few quick
# tries, then the request is refused (and, for a new order, everything it held is given back).
GATEWAY_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=300), maximum_attempts=4, backoff_coefficient=2.0
)
CLOSE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


class PaymentDesk:
    def __init__(self, state: OrderState, refunds: Refunds) -> None:
        self.o = state
        self.refunds = refunds

    # --- opening ---------------------------------------------------------------------------

    def first(self, method: str, amount: int) -> c.PaymentRecord:
        """The payment the order is submitted with (cash and stored value succeed at once)."""
        status = "pending" if method in GATEWAY_METHODS and amount else "succeeded"
        record = c.PaymentRecord(f"P{self.o.order_id[1:]}", method, amount, status)
        self.o.payments.append(record)
        if status == "succeeded":
            self.o.paid = record
        return record

    def open_step(self, record: c.PaymentRecord) -> Step[c.GatewayPayment, None]:
        pay = c.GatewayPayment(self.o.order_id, record.payment_id, record.amount, record.method)
        return Step(
            PaymentActivities.create_payment, pay, f"open a payment of {yuan(record.amount)}"
        )

    def stored_value_step(self, record: c.PaymentRecord) -> Step[c.StoredValuePayment, None]:
        if self.o.member_id is None:
            phone = self.o.request.member_phone
            raise ApplicationError(
                "no member has this phone: stored value is paid from a member's balance, "
                "so register the member and top up first, or choose another payment_method"
                if phone
                else "stored value is paid from a member's balance: give the member_phone",
                {"field": "member_phone"},
                type="invalid_request",
                non_retryable=True,
            )
        pay = c.StoredValuePayment(
            self.o.order_id, self.o.member_id, record.amount, record.payment_id
        )
        return Step(
            OrderActivities.pay_stored_value, pay, f"take {yuan(record.amount)} from stored value"
        )

    async def open_gateway(self, record: c.PaymentRecord) -> None:
        await run(self.open_step(record), retry_policy=GATEWAY_RETRY)

    def check_again(self, method: str) -> None:
        """Refuses a new payment that cannot be taken now (the `pay_again` validator)."""
        o = self.o
        if o.status != "awaiting_payment" or not o.going_ahead() or o.paid is not None:
            raise ApplicationError(
                f"an order that is {o.status} takes no new payment: pay again only while it "
                "is awaiting_payment after a failed payment",
                {"status": o.status},
                type="invalid_transition",
                non_retryable=True,
            )
        if method == "cash" and o.request.channel != "pos":
            raise ApplicationError(
                "cash is paid at the till: only the pos channel may use it; choose another "
                "payment_method",
                {"field": "payment_method"},
                type="invalid_request",
                non_retryable=True,
            )

    async def try_again(self, method: str) -> PaymentOpened:
        """A new payment after a failed one (the one still pending is closed first; if it turns
        out to have succeeded, that one pays the order)."""
        await self.close_pending("the member is paying again")
        if self.o.paid is not None:
            return PaymentOpened(self.o.paid.payment_id, self.o.paid.method, "succeeded")
        amount = self.o.priced().payable_amount
        n = len(self.o.payments) + 1
        record = c.PaymentRecord(f"P{self.o.order_id[1:]}-{n}", method, amount, "pending")
        self.o.payments.append(record)
        project = c.PaymentProjection(self.o.order_id, record, f"new payment by {method}")
        if method == "stored_value":
            record.status = "succeeded"
            await run_all([self.stored_value_step(record), self._project_step(project)])
            self.o.paid = record
        else:
            await run_all([self._project_step(project)])
            await self.open_gateway(record)
        return PaymentOpened(record.payment_id, method, record.status)

    def _project_step(self, p: c.PaymentProjection) -> Step[c.PaymentProjection, None]:
        return Step(PaymentActivities.project_payment, p, f"record payment {p.payment.status}")

    def projection(self, record: c.PaymentRecord, detail: str) -> Step[c.PaymentProjection, None]:
        return self._project_step(c.PaymentProjection(self.o.order_id, record, detail))

    # --- the gateway's word ----------------------------------------------------------------

    def heard(self, result: PaymentResult) -> bool:
        """The gateway says how a payment ended. Whether it is a success to refund at once."""
        record = next((p for p in self.o.payments if p.payment_id == result.payment_id), None)
        if record is None or record.status not in ("pending", "closed"):
            return False
        if result.outcome != "succeeded":
            record.status = "failed"
            self.o.failed_heard.append(record)
            return False
        record.status = "succeeded"
        if self.o.supplement is record:  # a change's difference: the change then stands
            return False
        if self.o.paid is None and self.o.status == "awaiting_payment" and self.o.going_ahead():
            self.o.paid = record
            return False
        self.o.late.append(record)
        return True

    async def wait(self) -> bool:
        """Until the order is paid (True), or cancelled or out of time (False). A failed payment
        is recorded, and the member may pay again until the time is up."""
        deadline = workflow.now() + timedelta(seconds=self.o.timeouts.payment_s)
        while True:
            left = (deadline - workflow.now()).total_seconds()
            try:
                await workflow.wait_condition(
                    lambda: (
                        self.o.paid is not None
                        or bool(self.o.failed_heard)
                        or not self.o.going_ahead()
                    ),
                    timeout=timedelta(seconds=max(left, 0.001)),
                    timeout_summary="payment timeout",
                )
            except TimeoutError:
                return self.o.paid is not None
            while self.o.failed_heard:
                record = self.o.failed_heard.pop(0)
                detail = f"payment {record.payment_id} failed; the member may pay again"
                await run_all([self.projection(record, detail)])
            if self.o.paid is not None:
                return True
            if not self.o.going_ahead():
                return False

    # --- payments that must not stand ------------------------------------------------------

    async def close_pending(self, reason: str) -> None:
        """Close every payment still pending at the gateway, so that none can succeed later.
        One that the gateway says has already succeeded is handled as heard."""
        for record in [p for p in self.o.payments if p.status == "pending"]:
            status = await workflow.execute_local_activity_method(
                PaymentActivities.close_payment,
                record,
                summary=f"close payment {record.payment_id} at the gateway",
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=CLOSE_RETRY,
            )
            if status == "succeeded":
                self.heard(PaymentResult(record.payment_id, "succeeded"))
            elif record.status == "pending":
                record.status = "closed"
                await run_all([self.projection(record, f"payment closed: {reason}")])

    async def refund_late(self) -> None:
        """Refund in full every success that the order cannot keep."""
        while self.o.late:
            record = self.o.late.pop(0)
            if self.o.paid is not None:
                why = f"the order was already paid by {self.o.paid.payment_id}"
            else:
                why = f"the order was cancelled ({self.o.cancel_reason or 'not paid in time'})"
            await run_all([self.projection(record, f"payment {record.payment_id} succeeded late")])
            await self.refunds.give_back_payment(record, f"payment succeeded after {why}")
