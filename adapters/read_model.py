"""The order read model: every state change of an order workflow is projected here, so the API
lists and filters orders without asking Temporal."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import BindParameter, Table, bindparam, literal_column, update
from sqlalchemy import func as sa_func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters import fastsql
from adapters.db import Tx, insert_ignoring_duplicates, read_scope, read_tx, session_scope, write_tx
from adapters.events import ORDER_EVENTS, PART_EVENTS, emit_each, outbox_on
from adapters.labels import Label
from adapters.tables import (
    Fulfilment,
    Order,
    OrderLine,
    Payment,
    Refund,
    Substitution,
    TimelineEvent,
    WebhookEvent,
    utcnow,
)
from domain.errors import InvalidRequest, InvalidTransition, NotFound
from domain.fulfilment import (
    FulfilmentState,
    RecordedOrder,
    is_behind,
    statuses_not_ahead_of,
)
from domain.orders import (
    LineRequest,
    OrderRequest,
    PaymentRecord,
    PlannedPart,
    PricedLine,
    Pricing,
    statuses_before,
)
from domain.policy import MERGE_WINDOW_S

# the tables behind the models, for plain (Core) statements on hot paths
ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
FULFILMENTS: Table = Fulfilment.__table__  # type: ignore[attr-defined]
TIMELINE: Table = TimelineEvent.__table__  # type: ignore[attr-defined]
PAYMENTS: Table = Payment.__table__  # type: ignore[attr-defined]
REFUNDS: Table = Refund.__table__  # type: ignore[attr-defined]
LINES: Table = OrderLine.__table__  # type: ignore[attr-defined]
LINE_COLUMNS = [
    LINES.c[n]
    for n in (
        "sku",
        "qty",
        "unit_price_amount",
        "discount_amount",
        "paid_amount",
        "gift",
        "points_amount",
        "detail",
        "sold_by",
        "substitutes",
    )
]
SUBSTITUTIONS: Table = Substitution.__table__  # type: ignore[attr-defined]
SUBSTITUTION_COLUMNS = [
    SUBSTITUTIONS.c[n]
    for n in (
        "substitution_id",
        "fulfilment_id",
        "sku",
        "with_sku",
        "qty",
        "status",
        "decided_by",
        "price_amount",
        "refund_amount",
    )
]
PART_COLUMNS = [
    FULFILMENTS.c[n]
    for n in (
        "fulfilment_id",
        "location_id",
        "mode",
        "status",
        "lines",
        "carrier",
        "tracking_no",
        "reasons",
        "execution",
        "carrier_reasons",
        "tracking",
        "shipment_id",
    )
]
PAYMENT_COLUMNS = [PAYMENTS.c[n] for n in ("payment_id", "order_id", "method", "amount", "status")]
REFUND_COLUMNS = [
    REFUNDS.c[n] for n in ("refund_id", "amount", "reason", "status", "lines", "detail")
]
_ORDER: BindParameter[str] = bindparam("oid")
# An order's view, in statements built once (no statement built, coerced or keyed per call).
# with whether the order has refunds and substitutions: most have neither, and their two
# statements are then not run
VIEW_ORDER = sa_select(
    ORDERS,
    sa_select(sa_func.count())
    .where(REFUNDS.c.order_id == ORDERS.c.order_id)
    .scalar_subquery()
    .label("refund_rows"),
    sa_select(sa_func.count())
    .where(SUBSTITUTIONS.c.order_id == ORDERS.c.order_id)
    .scalar_subquery()
    .label("substitution_rows"),
).where(ORDERS.c.order_id == _ORDER)
ORDER_EXISTS = sa_select(ORDERS.c.order_id).where(ORDERS.c.order_id == _ORDER)
ORDER_REQUEST = sa_select(ORDERS.c.request).where(ORDERS.c.order_id == _ORDER)
ORDER_OWNER = sa_select(ORDERS.c.channel, ORDERS.c.member_id).where(ORDERS.c.order_id == _ORDER)
ORDER_STATUS = sa_select(ORDERS.c.status).where(ORDERS.c.order_id == _ORDER)
PAYMENT_STATUS = sa_select(PAYMENTS.c.status).where(PAYMENTS.c.payment_id == bindparam("pid"))
SET_PAYMENT_STATUS = (
    update(PAYMENTS)
    .where(PAYMENTS.c.payment_id == bindparam("pid"))
    .values(status=bindparam("status"), updated_at=bindparam("at"))
)
PAYMENT_ORDER = sa_select(PAYMENTS.c.order_id, PAYMENTS.c.amount).where(
    PAYMENTS.c.payment_id == bindparam("pid")
)
PART_ROW = sa_select(FULFILMENTS).where(FULFILMENTS.c.fulfilment_id == bindparam("fid"))
_F = FULFILMENTS
SHIPMENT_SELF = (
    sa_select(_F.c.mode, _F.c.execution, ORDERS.c.member_id, ORDERS.c.request)
    .join(ORDERS, ORDERS.c.order_id == _F.c.order_id)
    .where(_F.c.fulfilment_id == bindparam("fid"))
)
SHIPMENT_OTHERS = (
    sa_select(_F.c.fulfilment_id, _F.c.shipment_id, ORDERS.c.request)
    .join(ORDERS, ORDERS.c.order_id == _F.c.order_id)
    .where(
        _F.c.location_id == bindparam("loc"),
        _F.c.status == literal_column("'dispatched'"),
        _F.c.mode == literal_column("'delivery'"),
        _F.c.execution == literal_column("'staff'"),
        _F.c.order_id != bindparam("oid"),
        _F.c.updated_at >= bindparam("since"),
        ORDERS.c.member_id == bindparam("member"),
    )
    .order_by(_F.c.updated_at, _F.c.fulfilment_id)
)
SHIPMENT_OF = sa_select(_F.c.shipment_id).where(_F.c.fulfilment_id == bindparam("fid"))
SHIPMENT_PARTS = sa_select(_F.c.fulfilment_id).where(_F.c.shipment_id == bindparam("shipment"))
SET_SHIPMENT = (
    update(_F)
    .where(_F.c.fulfilment_id == bindparam("fid"))
    .values(shipment_id=bindparam("shipment"))
)
SHIPMENT_ROWS = (
    sa_select(_F).where(_F.c.shipment_id == bindparam("shipment")).order_by(_F.c.fulfilment_id)
)
PARTS_BY_TRACKING = (
    sa_select(_F.c.fulfilment_id, _F.c.order_id)
    .where(_F.c.tracking_no == bindparam("tracking"))
    .order_by(_F.c.fulfilment_id)
)
SET_CODE_HASH = (
    update(FULFILMENTS)
    .where(FULFILMENTS.c.fulfilment_id == bindparam("fid"))
    .values(pickup_code_hash=bindparam("hash"))
)
WEBHOOK_EVENTS: Table = WebhookEvent.__table__  # type: ignore[attr-defined]
WEBHOOK_SEEN = sa_select(WEBHOOK_EVENTS.c.event_id).where(
    WEBHOOK_EVENTS.c.event_id == bindparam("eid")
)
PAYMENT_AND_MEMBER = (
    sa_select(*PAYMENT_COLUMNS, ORDERS.c.member_id)
    .select_from(PAYMENTS.outerjoin(ORDERS, ORDERS.c.order_id == PAYMENTS.c.order_id))
    .where(PAYMENTS.c.payment_id == bindparam("pid"))
)
VIEW_LINES = sa_select(*LINE_COLUMNS).where(LINES.c.order_id == _ORDER).order_by(LINES.c.line_no)
VIEW_PARTS = (
    sa_select(*PART_COLUMNS)
    .where(FULFILMENTS.c.order_id == _ORDER)
    .order_by(FULFILMENTS.c.fulfilment_id)
)
VIEW_PAYMENTS = (
    sa_select(*PAYMENT_COLUMNS)
    .where(PAYMENTS.c.order_id == _ORDER)
    .order_by(PAYMENTS.c.created_at, PAYMENTS.c.payment_id)
)
VIEW_SUBSTITUTIONS = (
    sa_select(*SUBSTITUTION_COLUMNS)
    .where(SUBSTITUTIONS.c.order_id == _ORDER)
    .order_by(SUBSTITUTIONS.c.proposed_at, SUBSTITUTIONS.c.substitution_id)
)
VIEW_REFUNDS = (
    sa_select(*REFUND_COLUMNS).where(REFUNDS.c.order_id == _ORDER).order_by(REFUNDS.c.created_at)
)
VIEW_TIMELINE = (
    sa_select(TIMELINE.c.at, TIMELINE.c.event, TIMELINE.c.detail)
    .where(TIMELINE.c.order_id == _ORDER)
    .order_by(TIMELINE.c.at, TIMELINE.c.id)
)
_PRICING = TypeAdapter(Pricing)
_PARTS = TypeAdapter(list[PlannedPart])


@dataclass
class RefundRecord:
    refund_id: str
    amount: int
    status: str
    payment_id: str | None
    lines: list[dict[str, Any]]


@dataclass
class RepairView:
    """What the read model holds of an order, for its repair."""

    status: str
    channel: str
    member_id: str | None
    coupon_codes: list[str]
    pricing: Pricing
    planned: list[PlannedPart]  # every part, rerouted ones included
    parts: list[FulfilmentState]
    payments: list[PaymentRecord]
    refunds: list[RefundRecord]


class ReadModel:
    def __init__(self, engine: Engine, *, merge_window_s: int = MERGE_WINDOW_S) -> None:
        self.engine = engine
        self.merge_window_s = merge_window_s  # parts dispatched this close travel together

    # --- projections (called from activities; each is idempotent) ------------------------

    def record_order(
        self,
        req: OrderRequest,
        pricing: Pricing,
        parts: list[PlannedPart],
        *,
        status: str,
        member_id: str | None,
        payment: PaymentRecord,
    ) -> None:
        with write_tx(self.engine) as s:
            if fastsql.first(s, ORDER_EXISTS, {"oid": req.order_id}) is not None:
                return
            # plain inserts, each table's rows in one statement: no ORM objects on this path
            fastsql.insert(
                s,
                Order,
                [
                    {
                        "order_id": req.order_id,
                        "channel": req.channel,
                        "channel_order_id": req.channel_order_id,
                        "member_id": member_id,
                        "member_phone": req.member_phone,
                        "status": status,
                        "mode": req.fulfilment.mode,
                        "payment_method": req.payment_method,
                        **_priced_order(req, pricing, parts),
                    }
                ],
            )
            fastsql.insert(
                s,
                OrderLine,
                [
                    {
                        "order_id": req.order_id,
                        "line_no": i + 1,
                        "sku": line.sku,
                        "qty": line.qty,
                        "unit_price_amount": line.unit_price_amount,
                        "discount_amount": line.discount_amount,
                        "paid_amount": line.paid_amount,
                        "points_amount": line.points_amount,
                        "gift": line.gift,
                        "detail": promotion_list(line.promotions),
                        "sold_by": line.sold_by,
                    }
                    for i, line in enumerate(pricing.lines)
                ],
            )
            fastsql.insert(s, Fulfilment, [_fulfilment_values(req.order_id, p) for p in parts])
            fastsql.insert(
                s,
                Payment,
                [
                    {
                        "payment_id": payment.payment_id,
                        "order_id": req.order_id,
                        "method": payment.method,
                        "amount": payment.amount,
                        "status": payment.status,
                    }
                ],
            )
            submitted = f"{len(pricing.lines)} lines, payable {pricing.payable_amount} fen"
            _timelines(
                s,
                req.order_id,
                [
                    (f"{req.order_id}:submitted", "submitted", submitted),
                    *((f"{req.order_id}:priced:{note}", "priced", note) for note in pricing.trace),
                    *(
                        (
                            f"{part.fulfilment_id}:routed",
                            "routed",
                            f"{part.fulfilment_id} to {part.location_id}: "
                            + "; ".join(part.reasons),
                        )
                        for part in parts
                    ),
                ],
            )
            paid = ("order.paid",) if status == "paid" else ()
            _tell_channel(s, req.order_id, "order.created", *paid)

    def set_order_status(self, order_id: str, status: str, *, event: str, detail: str = "") -> None:
        """The order's new status, and the event on its timeline; a record that is further
        along (after a workflow reset) is left as it is."""
        values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
        if status == "cancelled":
            values["cancel_reason"] = detail[:200]
        with write_tx(self.engine) as s:
            moved = _moving(ORDERS, "order_id", statuses_before(status), tuple(values))
            if not fastsql.execute(s, moved, {"key": order_id, **_set(values)}):
                return
            new = _timeline(s, order_id, f"{order_id}:{event}", event, detail)
            if new and status in ORDER_EVENTS:
                _tell_channel(s, order_id, ORDER_EVENTS[status])

    def record_payment(self, order_id: str, p: PaymentRecord, *, detail: str = "") -> None:
        """A payment of the order, new or with a new status (a succeeded payment stays so), and
        the event on the order's timeline."""
        with write_tx(self.engine) as s:
            row = fastsql.first(s, PAYMENT_STATUS, {"pid": p.payment_id})
            if row is None:
                new = {"payment_id": p.payment_id, "order_id": order_id, "method": p.method}
                fastsql.insert(s, Payment, [new | {"amount": p.amount, "status": p.status}])
            elif row.status != "succeeded":
                values = {"pid": p.payment_id, "status": p.status, "at": utcnow()}
                fastsql.execute(s, SET_PAYMENT_STATUS, values)
            key = f"{p.payment_id}:{p.status}"
            _timeline(s, order_id, key, f"payment_{p.status}", detail or key)

    def set_fulfilment(
        self, fulfilment_id: str, *, status: str, event: str, detail: str = "", **fields: Any
    ) -> FulfilmentState | None:
        """The part's new status (and fields), and the event on the order's timeline. A record
        further along (after a workflow reset) is left as it is, and returned."""
        with write_tx(self.engine) as s:
            t = FULFILMENTS  # plain table statements: no ORM work on this hot path
            values = {"status": status, "updated_at": utcnow(), **fields}
            moved = _moving(
                t,
                "fulfilment_id",
                ["pending", *statuses_not_ahead_of(status)],
                tuple(values),
                returning=("order_id", "location_id"),
            )
            changed = fastsql.first(s, moved, {"key": fulfilment_id, **_set(values)})
            if changed is None:
                row = fastsql.first(s, PART_ROW, {"fid": fulfilment_id})
                if row is not None and is_behind(status, row.status):
                    return _part_state(row)
                return None
            order_id, location_id = changed
            new = _timeline(
                s,
                order_id,
                f"{fulfilment_id}:{event}",
                event,
                detail or f"{fulfilment_id} at {location_id}: {status}",
            )
            if new and status == "dispatched" and self.merge_window_s > 0:
                _join_shipment(s, fulfilment_id, order_id, location_id, self.merge_window_s)
            elif new and status in ("rejected", "cancelled", "expired"):
                _leave_shipment(s, fulfilment_id)
            if new:
                # a pickup part is ready once picked: the channel hears of the pick (and what is
                # short) as a delivery's channel does, then that it is ready
                picked = ("fulfilment.picked",) if event == "picked" and status != "picked" else ()
                told = (PART_EVENTS[status],) if status in PART_EVENTS else ()
                _tell_channel(s, order_id, *picked, *told)
            return None

    def set_waybill(self, fulfilment_id: str, *, carrier: str, tracking_no: str) -> None:
        """The part's waybill, issued before it ships (its label prints from it)."""
        with session_scope(self.engine) as s:
            s.execute(
                update(FULFILMENTS)
                .where(FULFILMENTS.c.fulfilment_id == fulfilment_id)
                .values(carrier=carrier, tracking_no=tracking_no, updated_at=utcnow())
            )

    def add_tracking(
        self, order_id: str, fulfilment_id: str, *, seq: int, event: str, detail: str
    ) -> None:
        """A carrier's tracking event on the part (once per `seq`, kept in `seq` order), on
        the order's timeline, and for the channel: `fulfilment.in_transit` (delivered and failed
        come as the part's status)."""
        with session_scope(self.engine) as s:
            row = s.execute(
                sa_select(FULFILMENTS.c.tracking)
                .where(FULFILMENTS.c.fulfilment_id == fulfilment_id)
                .with_for_update()
            ).first()
            if row is None or any(t["seq"] == seq for t in row.tracking):
                return
            step = {"seq": seq, "at": utcnow().isoformat(), "event": event, "detail": detail}
            steps = sorted([*row.tracking, step], key=lambda t: t["seq"])
            s.execute(
                update(FULFILMENTS)
                .where(FULFILMENTS.c.fulfilment_id == fulfilment_id)
                .values(tracking=steps)
            )
            new = _timeline(
                s, order_id, f"{fulfilment_id}:track:{seq}", f"tracking_{event}", detail
            )
            if new and event == "in_transit":
                _tell_channel(s, order_id, "fulfilment.in_transit")

    def label_data(self, fulfilment_id: str) -> Label:
        """What a part's shipping label shows."""
        from adapters.tables import Location, Sku

        with read_scope(self.engine) as s:
            f = s.get(Fulfilment, fulfilment_id)
            if f is None:
                raise NotFound(f"fulfilment {fulfilment_id} does not exist")
            order = s.get(Order, f.order_id)
            location = s.get(Location, f.location_id)
            skus = {ln["sku"] for ln in f.lines}
            items = {r.sku: r for r in s.exec(select(Sku).where(col(Sku.sku).in_(skus)))}
        address = ((order.request if order else {}).get("fulfilment") or {}).get("address") or {}
        lines = []
        weight = 0
        for ln in f.lines:
            qty = ln["picked_qty"] if ln.get("picked_qty") is not None else ln["qty"]
            item = items.get(ln["sku"])
            lines.append((ln["sku"], item.name if item else ln["sku"], qty))
            if item is not None:
                weight += qty if item.sold_by == "weight" else qty * item.weight_g
        sender = (
            {"name": location.name, "province": location.province, "city": location.city}
            if location
            else {"name": f.location_id}
        )
        return Label(
            carrier=f.carrier or "",
            waybill=f.tracking_no or "",
            order_id=f.order_id,
            fulfilment_id=f.fulfilment_id,
            sender=sender,
            recipient=address,
            lines=lines,
            weight_g=weight,
        )

    def parts_by_tracking(self, tracking_no: str) -> list[tuple[str, str]]:
        """(fulfilment_id, order_id) of each part with this waybill (the parts of a shipment
        share one)."""
        with read_tx(self.engine) as s:
            rows = fastsql.rows(s, PARTS_BY_TRACKING, {"tracking": tracking_no})
            return [(r.fulfilment_id, r.order_id) for r in rows]

    def shipment(self, shipment_id: str) -> list[Any]:
        """The parts that travel together (rows of the fulfilment table)."""
        with read_tx(self.engine) as s:
            return fastsql.rows(s, SHIPMENT_ROWS, {"shipment": shipment_id})

    def set_code_hash(self, fulfilment_id: str, code_hash: str) -> None:
        with write_tx(self.engine) as s:
            fastsql.execute(s, SET_CODE_HASH, {"fid": fulfilment_id, "hash": code_hash})

    def recall(
        self, order_id: str
    ) -> tuple[Pricing, list[PlannedPart], str | None, RecordedOrder] | None:
        """An order already recorded: its pricing, its first plan, its member and what became
        of it (payments, parts). None for an order not recorded yet."""
        with read_tx(self.engine) as s:
            if fastsql.first(s, ORDER_EXISTS, {"oid": order_id}) is None:
                return None  # the usual case: a new order (one plain read)
        with read_scope(self.engine) as s:
            order = s.get(Order, order_id)
            if order is None or not order.plan:
                return None
            payments = [
                PaymentRecord(p.payment_id, p.method, p.amount, p.status)
                for p in s.exec(
                    select(Payment)
                    .where(Payment.order_id == order_id)
                    .order_by(col(Payment.created_at), col(Payment.payment_id))
                )
            ]
            rows = s.execute(sa_select(FULFILMENTS).where(FULFILMENTS.c.order_id == order_id))
            recorded = RecordedOrder(
                status=order.status,
                cancel_reason=order.cancel_reason,
                paid=next((p for p in payments if p.status == "succeeded"), None),
                payments=payments,
                parts=[_part_state(f) for f in rows],
            )
            pricing = _PRICING.validate_python(order.plan["pricing"])
            planned = _PARTS.validate_python(order.plan["parts"])
            return pricing, planned, order.member_id, recorded

    def repair_view(self, order_id: str) -> RepairView | None:
        found = self.recall(order_id)
        if found is None:
            return None
        pricing, _, member_id, recorded = found
        with read_scope(self.engine) as s:
            order = s.get(Order, order_id)
            assert order is not None
            refunds = [
                RefundRecord(r.refund_id, r.amount, r.status, r.payment_id, list(r.lines))
                for r in s.exec(select(Refund).where(Refund.order_id == order_id))
            ]
            rows = s.execute(sa_select(FULFILMENTS).where(FULFILMENTS.c.order_id == order_id))
            planned = [_planned(r) for r in rows]
            return RepairView(
                status=order.status,
                channel=order.channel,
                member_id=member_id,
                coupon_codes=list(order.request.get("coupon_codes", [])),
                pricing=pricing,
                planned=planned,
                parts=recorded.parts,
                payments=recorded.payments,
                refunds=refunds,
            )

    def open_orders(self, *, limit: int) -> list[str]:
        """Orders not yet completed, cancelled or returned, oldest first."""
        with read_scope(self.engine) as s:
            rows = s.execute(
                sa_select(ORDERS.c.order_id)
                .where(ORDERS.c.status.not_in(("completed", "cancelled", "returned")))
                .order_by(ORDERS.c.created_at)
                .limit(limit)
            )
            return [r[0] for r in rows]

    def recorded_parts(self, order_id: str, *, prefix: str) -> list[PlannedPart]:
        """The order's parts whose ids start with `prefix` (a rerouting done before)."""
        with read_scope(self.engine) as s:
            rows = s.execute(
                sa_select(FULFILMENTS)
                .where(FULFILMENTS.c.order_id == order_id)
                .where(FULFILMENTS.c.fulfilment_id.like(f"{prefix}-%"))
                .order_by(FULFILMENTS.c.fulfilment_id)
            )
            return [_planned(r) for r in rows]

    def record_change(
        self,
        req: OrderRequest,
        pricing: Pricing,
        parts: list[PlannedPart],
        added: list[PlannedPart],
        detail: str,
        *,
        moved: bool = False,
    ) -> None:
        """A change that stands, in one transaction: the order's request, amounts, lines and
        plan; its kept parts' lines (and carriers); its new parts; the timeline; the channel's
        `order.changed`."""
        oid = req.order_id
        with session_scope(self.engine) as s:
            s.execute(
                update(ORDERS)
                .where(ORDERS.c.order_id == oid)
                .values(
                    mode=req.fulfilment.mode,
                    **_priced_order(req, pricing, parts),
                    updated_at=utcnow(),
                )
            )
            s.execute(LINES.delete().where(LINES.c.order_id == oid))
            s.execute(
                LINES.insert(),
                [
                    {
                        "order_id": oid,
                        "line_no": i + 1,
                        "sku": ln.sku,
                        "qty": ln.qty,
                        "unit_price_amount": ln.unit_price_amount,
                        "discount_amount": ln.discount_amount,
                        "paid_amount": ln.paid_amount,
                        "points_amount": ln.points_amount,
                        "gift": ln.gift,
                        "detail": promotion_list(ln.promotions),
                        "sold_by": ln.sold_by,
                        "substitutes": ln.substitutes,
                    }
                    for i, ln in enumerate(pricing.lines)
                ],
            )
            new = {p.fulfilment_id for p in added}
            for part in parts:
                if part.fulfilment_id in new:
                    if s.get(Fulfilment, part.fulfilment_id) is None:
                        s.add(_fulfilment_row(oid, part))
                    continue
                s.execute(
                    update(FULFILMENTS)
                    .where(FULFILMENTS.c.fulfilment_id == part.fulfilment_id)
                    .values(
                        lines=[
                            {"sku": ln.sku, "qty": ln.qty, "picked_qty": None} for ln in part.lines
                        ],
                        carrier=part.carrier,
                        carrier_reasons=part.carrier_reasons,
                        updated_at=utcnow(),
                    )
                )
                if moved:  # another address: no longer in the same parcel as before
                    _leave_shipment(s, part.fulfilment_id)
            s.flush()
            _timeline(s, oid, f"{oid}:changed:{len(detail)}:{detail[:80]}", "changed", detail)
            _tell_channel(s, oid, "order.changed")

    def add_fulfilment(self, order_id: str, part: PlannedPart) -> None:
        with session_scope(self.engine) as s:
            if s.get(Fulfilment, part.fulfilment_id) is None:
                s.add(_fulfilment_row(order_id, part))

    def record_refund(
        self,
        order_id: str,
        refund_id: str,
        *,
        amount: int,
        reason: str,
        status: str,
        lines: list[dict[str, Any]],
        payment_id: str | None = None,
        detail: str = "",
    ) -> None:
        """A refund, new or with its outcome; an outcome is never taken back to pending."""
        with session_scope(self.engine) as s:
            row = s.get(Refund, refund_id)
            if row is None:
                row = Refund(
                    refund_id=refund_id,
                    order_id=order_id,
                    amount=amount,
                    reason=reason,
                    status=status,
                    lines=lines,
                    payment_id=payment_id,
                    detail=detail,
                )
            elif row.status != "pending" or status == "pending":
                return
            row.status, row.detail = status, detail
            row.updated_at = utcnow()
            s.add(row)
            if status == "succeeded":
                s.flush()
                _tell_channel(s, order_id, "refund.succeeded")

    def refunds(self, status: str | None) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(Refund).order_by(col(Refund.created_at))
            if status:
                q = q.where(Refund.status == status)
            return [
                {
                    "refund_id": r.refund_id,
                    "order_id": r.order_id,
                    "amount": r.amount,
                    "reason": r.reason,
                    "status": r.status,
                    "lines": r.lines,
                    "detail": r.detail,
                    "created_at": r.created_at.isoformat(),
                }
                for r in s.exec(q)
            ]

    def close_refund(self, refund_id: str, *, reason: str) -> Refund:
        """Operations close a refund the tender refused for good (settled by hand, say): it
        ends `closed`, with their reason; the money counts as given back."""
        with session_scope(self.engine) as s:
            row = s.get(Refund, refund_id)
            if row is None:
                raise NotFound(f"refund {refund_id} does not exist")
            if row.status in ("succeeded", "closed"):
                return row
            if row.status != "failed":
                raise InvalidTransition(
                    f"refund {refund_id} is {row.status}: only a failed refund can be closed "
                    "by hand (a pending one is still being retried)",
                    details={"refund_id": refund_id, "status": row.status},
                )
            row.status, row.detail, row.updated_at = (
                "closed",
                f"closed by operations: {reason}",
                utcnow(),
            )
            s.add(row)
            _timeline(
                s,
                row.order_id,
                f"{refund_id}:closed",
                "refund_closed",
                f"{refund_id}: {row.detail}",
            )
            return row

    def record_substitution(
        self,
        order_id: str,
        proposal: Any,
        *,
        event: str,
        detail: str,
        part_lines: list[LineRequest] | None = None,
        new_line: PricedLine | None = None,
        plan: dict[str, Any] | None = None,
    ) -> None:
        """A substitution proposed or answered, in one transaction: its row; when answered the
        part's lines, the replacement's priced line and the order's plan as they now are; the
        timeline; and the channel's event."""
        row = asdict(proposal) | {"order_id": order_id}
        with session_scope(self.engine) as s:
            current = s.get(Substitution, proposal.substitution_id)
            if current is not None and current.status == proposal.status:
                return  # recorded already (a retried activity)
            if current is None:
                s.add(Substitution(**row))
            else:
                for k, v in row.items():
                    setattr(current, k, v)
                current.decided_at = utcnow()
                s.add(current)
            if part_lines is not None:
                s.execute(
                    update(FULFILMENTS)
                    .where(FULFILMENTS.c.fulfilment_id == proposal.fulfilment_id)
                    .values(
                        lines=[
                            {"sku": ln.sku, "qty": ln.qty, "picked_qty": None} for ln in part_lines
                        ]
                    )
                )
            if new_line is not None:
                last = s.execute(
                    sa_select(LINES.c.line_no)
                    .where(LINES.c.order_id == order_id)
                    .order_by(LINES.c.line_no.desc())
                    .limit(1)
                ).scalar()
                s.add(
                    OrderLine(
                        order_id=order_id,
                        line_no=(last or 0) + 1,
                        sku=new_line.sku,
                        qty=new_line.qty,
                        unit_price_amount=new_line.unit_price_amount,
                        discount_amount=new_line.discount_amount,
                        paid_amount=new_line.paid_amount,
                        points_amount=new_line.points_amount,
                        gift=False,
                        detail=promotion_list(new_line.promotions),
                        sold_by=new_line.sold_by,
                        substitutes=new_line.substitutes,
                    )
                )
            if plan is not None:
                s.execute(update(ORDERS).where(ORDERS.c.order_id == order_id).values(plan=plan))
            s.flush()
            key = f"{proposal.substitution_id}:{proposal.status}"
            _timeline(s, order_id, key, f"substitution_{proposal.status}", detail)
            _tell_channel(s, order_id, event)

    def add_timeline(self, order_id: str, *, key: str, event: str, detail: str) -> None:
        with session_scope(self.engine) as s:
            _timeline(s, order_id, key, event, detail)

    # --- reads -----------------------------------------------------------------------------

    def order_request(self, order_id: str) -> dict[str, Any] | None:
        """The request an order was placed with (to compare a resubmission with)."""
        with read_tx(self.engine) as s:
            row = fastsql.first(s, ORDER_REQUEST, {"oid": order_id})
            return None if row is None else dict(row.request)

    def order_channel(self, order_id: str) -> str | None:
        found = self.order_owner(order_id)
        return None if found is None else found[0]

    def order_owner(self, order_id: str) -> tuple[str, str | None] | None:
        """The channel that placed the order, and its member (None: no such order)."""
        with read_tx(self.engine) as s:
            row = fastsql.first(s, ORDER_OWNER, {"oid": order_id})
            return None if row is None else (row.channel, row.member_id)

    def order_status(self, order_id: str) -> str | None:
        with read_tx(self.engine) as s:
            row = fastsql.first(s, ORDER_STATUS, {"oid": order_id})
            return None if row is None else str(row.status)

    def payment_of(self, payment_id: str) -> tuple[str, int] | None:
        """(order id, amount) of a payment."""
        with read_tx(self.engine) as s:
            row = fastsql.first(s, PAYMENT_ORDER, {"pid": payment_id})
            return None if row is None else (row.order_id, row.amount)

    def webhook_seen(self, event_id: str) -> bool:
        with read_tx(self.engine) as s:
            return fastsql.first(s, WEBHOOK_SEEN, {"eid": event_id}) is not None

    def payment_event(
        self, event_id: str, payment_id: str
    ) -> tuple[bool, tuple[PaymentRecord, str, str | None] | None]:
        """What a gateway's webhook needs, in one read: whether its event was applied before,
        and its payment (as `payment` gives it)."""
        with read_tx(self.engine) as s:
            seen = fastsql.first(s, WEBHOOK_SEEN, {"eid": event_id}) is not None
            return seen, _payment_and_member(s, payment_id)

    def remember_webhook(self, event_id: str) -> None:
        try:
            with session_scope(self.engine) as s:
                if fastsql.first(s, WEBHOOK_SEEN, {"eid": event_id}) is None:
                    fastsql.insert(s, WebhookEvent, [{"event_id": event_id}])
        except IntegrityError:
            pass  # the same event, delivered twice at once: remembered by the other

    def fulfilment(self, fulfilment_id: str) -> Any | None:
        """The part's row of the fulfilment table (a plain row: read on every staff action)."""
        with read_tx(self.engine) as s:
            return fastsql.first(s, PART_ROW, {"fid": fulfilment_id})

    def order_view(self, order_id: str) -> dict[str, Any] | None:
        with read_tx(self.engine) as s:
            order = fastsql.first(s, VIEW_ORDER, {"oid": order_id})
            if order is None:
                return None
            return _view(s, order)

    def list_orders(
        self,
        *,
        channel: str | None = None,
        status: str | None = None,
        member_phone: str | None = None,
        member_id: str | None = None,
        location_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `cursor` is opaque and continues after the last order returned."""
        with read_scope(self.engine) as s:
            q = select(Order)
            if channel:
                q = q.where(Order.channel == channel)
            if status:
                q = q.where(Order.status == status)
            if member_phone:
                q = q.where(Order.member_phone == member_phone)
            if member_id:
                q = q.where(Order.member_id == member_id)
            if location_id:
                sub = select(Fulfilment.order_id).where(Fulfilment.location_id == location_id)
                q = q.where(col(Order.order_id).in_(sub))
            if cursor:
                at, oid = decode_cursor(cursor)
                q = q.where(
                    (col(Order.created_at) < at)
                    | ((col(Order.created_at) == at) & (col(Order.order_id) < oid))
                )
            q = q.order_by(col(Order.created_at).desc(), col(Order.order_id).desc()).limit(
                limit + 1
            )
            rows = list(s.exec(q))
            more = len(rows) > limit
            rows = rows[:limit]
            nxt = encode_cursor(rows[-1].created_at, rows[-1].order_id) if more and rows else None
            return [_view(s, o) for o in rows], nxt

    def console_parts(self, location_id: str, *, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
        """A location's parts in these statuses, oldest first, as the store console shows them:
        each line with its item's name, the delivery address, and when the part last changed."""
        from adapters.tables import Sku

        with read_scope(self.engine) as s:
            rows = s.execute(
                sa_select(
                    *PART_COLUMNS,
                    FULFILMENTS.c.order_id,
                    FULFILMENTS.c.updated_at,
                    ORDERS.c.request,
                )
                .join(ORDERS, ORDERS.c.order_id == FULFILMENTS.c.order_id)
                .where(FULFILMENTS.c.location_id == location_id)
                .where(FULFILMENTS.c.status.in_(statuses))
                .order_by(FULFILMENTS.c.updated_at)
            ).all()
            skus = sorted({ln["sku"] for r in rows for ln in r.lines})
            table: Table = Sku.__table__  # type: ignore[attr-defined]
            query = sa_select(
                table.c.sku,
                table.c.name,
                table.c.barcode,
                table.c.sold_by,
                table.c.plu,
                table.c.price_amount,
            ).where(table.c.sku.in_(skus))
            items = {
                r.sku: {
                    "name": r.name,
                    "barcode": r.barcode,
                    "sold_by": r.sold_by,
                    "plu": r.plu,
                    "price_amount": r.price_amount,
                }
                for r in s.execute(query)
            }
        return [
            fulfilment_view(r)
            | {
                "order_id": r.order_id,
                "changed_at": r.updated_at,
                "address": (r.request.get("fulfilment") or {}).get("address"),
                "lines": [
                    ln
                    | items.get(
                        ln["sku"],
                        {"name": ln["sku"], "barcode": None, "sold_by": "unit", "plu": None},
                    )
                    for ln in r.lines
                ],
            }
            for r in rows
        ]

    def code_hashes(self, fulfilment_ids: list[str]) -> dict[str, str]:
        """The pickup code hashes of these parts (to find the part a code belongs to)."""
        with read_scope(self.engine) as s:
            rows = s.execute(
                sa_select(FULFILMENTS.c.fulfilment_id, FULFILMENTS.c.pickup_code_hash).where(
                    FULFILMENTS.c.fulfilment_id.in_(fulfilment_ids)
                )
            )
            return {fid: h for fid, h in rows if h}

    def timeline_events(self, event: str, *, limit: int) -> list[dict[str, Any]]:
        """The latest timeline entries of one kind, across orders."""
        with read_scope(self.engine) as s:
            rows = s.execute(
                sa_select(TIMELINE.c.order_id, TIMELINE.c.at, TIMELINE.c.detail)
                .where(TIMELINE.c.event == event)
                .order_by(TIMELINE.c.at.desc())
                .limit(limit)
            )
            return [{"order_id": o, "at": at, "detail": d} for o, at, d in rows]

    def console_part(self, fulfilment_id: str) -> dict[str, Any] | None:
        """One part as the console shows it (whatever its status)."""
        with read_scope(self.engine) as s:
            row = s.execute(
                sa_select(FULFILMENTS.c.location_id, FULFILMENTS.c.status).where(
                    FULFILMENTS.c.fulfilment_id == fulfilment_id
                )
            ).first()
        if row is None:
            return None
        found = self.console_parts(row.location_id, statuses=(row.status,))
        return next((p for p in found if p["fulfilment_id"] == fulfilment_id), None)

    def location_fulfilments(self, location_id: str, status: str | None) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(Fulfilment).where(Fulfilment.location_id == location_id)
            if status:
                q = q.where(Fulfilment.status == status)
            rows = s.exec(q.order_by(col(Fulfilment.created_at)))
            return [fulfilment_view(f) | {"order_id": f.order_id} for f in rows]


def _fulfilment_values(order_id: str, part: PlannedPart) -> dict[str, Any]:
    return {
        "fulfilment_id": part.fulfilment_id,
        "order_id": order_id,
        "location_id": part.location_id,
        "mode": part.mode,
        "status": "pending",
        "lines": [{"sku": ln.sku, "qty": ln.qty, "picked_qty": None} for ln in part.lines],
        "reasons": part.reasons,
        "execution": part.execution,
        "carrier": part.carrier,
        "carrier_reasons": part.carrier_reasons,
    }


def _fulfilment_row(order_id: str, part: PlannedPart) -> Fulfilment:
    return Fulfilment(**_fulfilment_values(order_id, part))


def _priced_order(req: OrderRequest, pricing: Pricing, parts: list[PlannedPart]) -> dict[str, Any]:
    """An order row's request, amounts and plan."""
    return {
        "request": asdict(req),
        "subtotal_amount": pricing.subtotal_amount,
        "discount_amount": pricing.discount_amount,
        "payable_amount": pricing.payable_amount,
        "points_redeemed": pricing.points_redeemed,
        "points_amount": pricing.points_amount,
        "applied_promotions": [asdict(p) for p in pricing.applied_promotions],
        "plan": {"pricing": asdict(pricing), "parts": [asdict(p) for p in parts]},
    }


_moves: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def _moving(
    table: Table,
    key: str,
    allowed: list[str],
    columns: tuple[str, ...],
    *,
    returning: tuple[str, ...] = (),
) -> Any:
    """UPDATE the row `key` (parameter `key`) to the values `columns` (parameters `v_<column>`)
    if its status is one of `allowed`: built once per table, statuses and columns. The statuses
    are the code's own names, written into the statement."""
    cache_key = (table.name, key, tuple(allowed), columns + ("->",) + returning)
    stmt = _moves.get(cache_key)
    if stmt is None:
        assert all(a.isidentifier() for a in allowed)  # names, never input
        stmt = (
            update(table)
            .where(table.c[key] == bindparam("key"))
            .where(table.c.status.in_([literal_column(f"'{a}'") for a in allowed]))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        if returning:
            stmt = stmt.returning(*(table.c[r] for r in returning))
        _moves[cache_key] = stmt
    return stmt


def _set(values: dict[str, Any]) -> dict[str, Any]:
    return {f"v_{k}": v for k, v in values.items()}


def _join_shipment(
    s: Session | Tx, fid: str, order_id: str, location_id: str, window_s: int
) -> None:
    """A delivery part just dispatched joins the shipment of a part of the same member's other
    order to the same address at the same location, dispatched within `window_s` and not yet
    accepted (a staff-run location's; a warehouse's execution system ships on its own)."""
    me = fastsql.first(s, SHIPMENT_SELF, {"fid": fid})
    if me is None or me.mode != "delivery" or me.execution != "staff" or not me.member_id:
        return
    address = _parcel_address(me.request)
    since = utcnow() - timedelta(seconds=window_s)
    others = fastsql.rows(
        s,
        SHIPMENT_OTHERS,
        {"loc": location_id, "oid": order_id, "since": since, "member": me.member_id},
    )
    for other in others:
        if _parcel_address(other.request) != address:
            continue
        shipment = other.shipment_id or f"SH-{other.fulfilment_id}"
        together = [fid] if other.shipment_id else [fid, other.fulfilment_id]
        fastsql.execute_many(s, SET_SHIPMENT, [{"fid": f, "shipment": shipment} for f in together])
        return


def _leave_shipment(s: Session | Tx, fid: str) -> None:
    """A part that will not leave takes itself out of its shipment (a shipment of one is none)."""
    row = fastsql.first(s, SHIPMENT_OF, {"fid": fid})
    if row is None or row.shipment_id is None:
        return
    fastsql.execute(s, SET_SHIPMENT, {"fid": fid, "shipment": None})
    rest = fastsql.rows(s, SHIPMENT_PARTS, {"shipment": row.shipment_id})
    if len(rest) == 1:
        fastsql.execute(s, SET_SHIPMENT, {"fid": rest[0].fulfilment_id, "shipment": None})


def _parcel_address(request: dict[str, Any]) -> tuple[str, ...]:
    a = (request.get("fulfilment") or {}).get("address") or {}
    keys = ("province", "city", "line1", "recipient", "phone")
    return tuple(" ".join(str(a.get(k) or "").split()).lower() for k in keys)


def _timeline(s: Session | Tx, order_id: str, key: str, event: str, detail: str) -> bool:
    """An event on the order's timeline, once per key (a repeated projection adds nothing):
    whether it was new."""
    row = {"key": key[:200], "order_id": order_id, "event": event, "detail": detail, "at": utcnow()}
    return bool(fastsql.execute(s, insert_ignoring_duplicates(s, TIMELINE), row))


def _timelines(s: Session | Tx, order_id: str, events: list[tuple[str, str, str]]) -> None:
    """Events (key, event, detail) on the order's timeline in one statement, each once per key."""
    at = utcnow()
    rows = [
        {"key": key[:200], "order_id": order_id, "event": event, "detail": detail, "at": at}
        for key, event, detail in events
    ]
    fastsql.execute_many(s, insert_ignoring_duplicates(s, TIMELINE), rows)


def _tell_channel(s: Session | Tx, order_id: str, *types: str) -> None:
    """Events for the order's channel, with the order as the channel now sees it (in the
    transaction of the change they report: events of one change share one view)."""
    if not outbox_on() or not types:
        return
    order = fastsql.first(s, VIEW_ORDER, {"oid": order_id})
    if order is not None:
        view = _view(s, order)
        emit_each(s, channel=order.channel, types=types, order_id=order_id, data=view)


def _payment_and_member(
    s: Session | Tx, payment_id: str
) -> tuple[PaymentRecord, str, str | None] | None:
    row = fastsql.first(s, PAYMENT_AND_MEMBER, {"pid": payment_id})
    if row is None:
        return None
    record = PaymentRecord(row.payment_id, row.method, row.amount, row.status)
    return record, row.order_id, row.member_id


def fulfilment_view(f: Any) -> dict[str, Any]:
    return {
        "fulfilment_id": f.fulfilment_id,
        "location_id": f.location_id,
        "mode": f.mode,
        "status": f.status,
        "lines": f.lines,
        "carrier": f.carrier,
        "tracking_no": f.tracking_no,
        "pickup_code": None,
        "reasons": f.reasons,
        "execution": f.execution,
        "carrier_reasons": f.carrier_reasons,
        "tracking": [{k: t[k] for k in ("at", "event", "detail")} for t in f.tracking],
        "shipment_id": f.shipment_id,
    }


def _view(s: Session | Tx, o: Any) -> dict[str, Any]:
    """The order as the API shows it, read with statements built once (an `Order` row, or a
    row of the order table): the API's answer and every channel event's data."""
    oid = {"oid": o.order_id}
    lines = fastsql.rows(s, VIEW_LINES, oid)
    fulfilments = fastsql.rows(s, VIEW_PARTS, oid)
    payments = fastsql.rows(s, VIEW_PAYMENTS, oid)
    # (a row of VIEW_ORDER says whether there are any; an `Order` object does not)
    refunds = fastsql.rows(s, VIEW_REFUNDS, oid) if getattr(o, "refund_rows", 1) else []
    substitutions = (
        fastsql.rows(s, VIEW_SUBSTITUTIONS, oid) if getattr(o, "substitution_rows", 1) else []
    )
    timeline = fastsql.rows(s, VIEW_TIMELINE, oid)
    payment = counted_payment(payments, refunds)
    return {
        "order_id": o.order_id,
        "channel": o.channel,
        "channel_order_id": o.channel_order_id,
        "member_id": o.member_id,
        "status": o.status,
        "created_at": o.created_at.isoformat(),
        "pricing": {
            "lines": [line_view(ln) for ln in lines],
            "subtotal_amount": o.subtotal_amount,
            "discount_amount": o.discount_amount,
            "points_redeemed": o.points_redeemed,
            "points_amount": o.points_amount,
            "payable_amount": o.payable_amount,
            "applied_promotions": o.applied_promotions,
        },
        "payment": None if payment is None else payment_view(payment),
        "payments": [payment_view(p) for p in payments],
        "fulfilments": [fulfilment_view(f) for f in fulfilments],
        "substitutions": [r._asdict() for r in substitutions],
        "refunds": [
            {
                "refund_id": r.refund_id,
                "amount": r.amount,
                "reason": r.reason,
                "status": r.status,
                "lines": r.lines,
                "detail": r.detail,
            }
            for r in refunds
        ],
        "timeline": [
            {"at": t.at.isoformat(), "event": t.event, "detail": t.detail} for t in timeline
        ],
    }


def late_refund_id(order_id: str, payment_id: str) -> str:
    """The refund of a payment the order could not keep (it succeeded too late, or twice)."""
    return f"R{order_id[1:]}-late-{payment_id}"


def counted_payment(payments: Sequence[Any], refunds: Sequence[Any]) -> Any:
    """The payment the order shows: the one that paid it (not refunded as late), else the
    latest one."""
    late = {r.refund_id for r in refunds}
    kept = [
        p
        for p in payments
        if p.status == "succeeded" and late_refund_id(p.order_id, p.payment_id) not in late
    ]
    return kept[0] if kept else (payments[-1] if payments else None)


def payment_view(p: Any) -> dict[str, Any]:
    return {"payment_id": p.payment_id, "method": p.method, "amount": p.amount, "status": p.status}


def encode_cursor(at: datetime, order_id: str) -> str:
    raw = json.dumps([at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, oid = json.loads(raw)
        return datetime.fromisoformat(at), str(oid)
    except Exception as exc:
        raise InvalidRequest(
            "cursor is not valid: pass next_cursor from the previous page unchanged, or leave "
            "cursor out",
            details={"cursor": cursor, "field": "cursor"},
        ) from exc


def promotion_list(promotions: dict[str, int]) -> list[dict[str, Any]]:
    """A line's promotions as the API shows them."""
    return [{"promotion_id": p, "amount": a} for p, a in promotions.items()]


def line_view(ln: Any) -> dict[str, Any]:
    """A priced line as the API shows it, from the read model or straight from pricing."""
    promotions = promotion_list(ln.promotions) if isinstance(ln, PricedLine) else ln.detail
    return {
        "sku": ln.sku,
        "qty": ln.qty,
        "unit_price_amount": ln.unit_price_amount,
        "discount_amount": ln.discount_amount,
        "paid_amount": ln.paid_amount,
        "gift": ln.gift,
        "points_amount": ln.points_amount,
        "promotions": promotions,
        "sold_by": ln.sold_by,
        "substitutes": ln.substitutes or None,
    }


def _planned(r: Any) -> PlannedPart:
    """A part as planned, from its row of the fulfilment table."""
    lines = [LineRequest(ln["sku"], ln["qty"]) for ln in r.lines]
    return PlannedPart(
        r.fulfilment_id,
        r.location_id,
        r.mode,
        lines,
        list(r.reasons),
        r.execution,
        r.carrier,
        list(r.carrier_reasons),
    )


def _part_state(row: Any) -> FulfilmentState:
    """A part as the read model holds it (a row of the fulfilment table)."""
    picked = [
        LineRequest(ln["sku"], ln["picked_qty"])
        for ln in row.lines
        if ln.get("picked_qty") is not None
    ]
    return FulfilmentState(
        fulfilment_id=row.fulfilment_id,
        location_id=row.location_id,
        mode=row.mode,
        status="dispatched" if row.status == "pending" else row.status,
        lines=[LineRequest(ln["sku"], ln["qty"]) for ln in row.lines],
        picked=picked,
        carrier=row.carrier or "",
        tracking_no=row.tracking_no or "",
        code_hash=row.pickup_code_hash or "",
    )
