"""The order read model: every state change of an order workflow is projected here, so the API
lists and filters orders without asking Temporal."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.db import insert_ignoring_duplicates, read_scope, session_scope
from adapters.tables import (
    Fulfilment,
    Order,
    OrderLine,
    Payment,
    Refund,
    TimelineEvent,
    WebhookEvent,
    utcnow,
)
from domain.errors import InvalidRequest
from domain.orders import OrderRequest, PlannedPart, PricedLine, Pricing

# the tables behind the models, for plain (Core) statements on hot paths
ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
FULFILMENTS: Table = Fulfilment.__table__  # type: ignore[attr-defined]
TIMELINE: Table = TimelineEvent.__table__  # type: ignore[attr-defined]


class ReadModel:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- projections (called from activities; each is idempotent) ------------------------

    def record_order(
        self,
        req: OrderRequest,
        pricing: Pricing,
        parts: list[PlannedPart],
        *,
        status: str,
        member_id: str | None,
        payment_id: str,
        payment_status: str,
    ) -> None:
        with session_scope(self.engine) as s:
            if s.get(Order, req.order_id) is not None:
                return
            s.add(
                Order(
                    order_id=req.order_id,
                    channel=req.channel,
                    channel_order_id=req.channel_order_id,
                    member_id=member_id,
                    member_phone=req.member_phone,
                    status=status,
                    mode=req.fulfilment.mode,
                    payment_method=req.payment_method,
                    subtotal_amount=pricing.subtotal_amount,
                    discount_amount=pricing.discount_amount,
                    payable_amount=pricing.payable_amount,
                    points_redeemed=pricing.points_redeemed,
                    points_amount=pricing.points_amount,
                    applied_promotions=[asdict(p) for p in pricing.applied_promotions],
                    request=asdict(req),
                )
            )
            s.flush()
            for i, line in enumerate(pricing.lines):
                s.add(
                    OrderLine(
                        order_id=req.order_id,
                        line_no=i + 1,
                        sku=line.sku,
                        qty=line.qty,
                        unit_price_amount=line.unit_price_amount,
                        discount_amount=line.discount_amount,
                        paid_amount=line.paid_amount,
                        points_amount=line.points_amount,
                        gift=line.gift,
                        detail=promotion_list(line.promotions),
                    )
                )
            for part in parts:
                s.add(_fulfilment_row(req.order_id, part))
            s.add(
                Payment(
                    payment_id=payment_id,
                    order_id=req.order_id,
                    method=req.payment_method,
                    amount=pricing.payable_amount,
                    status=payment_status,
                )
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

    def set_order_status(self, order_id: str, status: str, *, event: str, detail: str = "") -> None:
        with session_scope(self.engine) as s:
            changed = s.execute(
                update(ORDERS)
                .where(ORDERS.c.order_id == order_id)
                .values(status=status, updated_at=utcnow())
            )
            if changed.rowcount:  # type: ignore[attr-defined]
                _timeline(s, order_id, f"{order_id}:{event}", event, detail)

    def set_payment(self, payment_id: str, status: str) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Payment, payment_id)
            if row is not None:
                row.status = status
                row.updated_at = utcnow()
                s.add(row)

    def set_fulfilment(
        self, fulfilment_id: str, *, status: str, event: str, detail: str = "", **fields: Any
    ) -> None:
        with session_scope(self.engine) as s:
            t = FULFILMENTS  # plain table statements: no ORM work on this hot path
            changed = s.execute(
                update(t)
                .where(t.c.fulfilment_id == fulfilment_id)
                .values(status=status, updated_at=utcnow(), **fields)
                .returning(t.c.order_id, t.c.location_id)
            ).first()
            if changed is None:
                return
            order_id, location_id = changed
            _timeline(
                s,
                order_id,
                f"{fulfilment_id}:{event}",
                event,
                detail or f"{fulfilment_id} at {location_id}: {status}",
            )

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
    ) -> None:
        with session_scope(self.engine) as s:
            row = s.get(Refund, refund_id) or Refund(
                refund_id=refund_id,
                order_id=order_id,
                amount=amount,
                reason=reason,
                status=status,
                lines=lines,
            )
            row.status = status
            row.updated_at = utcnow()
            s.add(row)

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
                    "created_at": r.created_at.isoformat(),
                }
                for r in s.exec(q)
            ]

    def add_timeline(self, order_id: str, *, key: str, event: str, detail: str) -> None:
        with session_scope(self.engine) as s:
            _timeline(s, order_id, key, event, detail)

    # --- reads -----------------------------------------------------------------------------

    def order_id_by_channel(self, channel: str, channel_order_id: str) -> str | None:
        with read_scope(self.engine) as s:
            return s.exec(
                select(Order.order_id).where(
                    Order.channel == channel, Order.channel_order_id == channel_order_id
                )
            ).first()

    def order_channel(self, order_id: str) -> str | None:
        with read_scope(self.engine) as s:
            row = s.get(Order, order_id)
            return None if row is None else row.channel

    def order_status(self, order_id: str) -> str | None:
        with read_scope(self.engine) as s:
            row = s.get(Order, order_id)
            return None if row is None else row.status

    def payment_of(self, payment_id: str) -> tuple[str, int] | None:
        """(order id, amount) of a payment."""
        with read_scope(self.engine) as s:
            row = s.get(Payment, payment_id)
            return None if row is None else (row.order_id, row.amount)

    def webhook_seen(self, event_id: str) -> bool:
        with read_scope(self.engine) as s:
            return s.get(WebhookEvent, event_id) is not None

    def remember_webhook(self, event_id: str) -> None:
        try:
            with session_scope(self.engine) as s:
                if s.get(WebhookEvent, event_id) is None:
                    s.add(WebhookEvent(event_id=event_id))
        except IntegrityError:
            pass  # the same event, delivered twice at once: remembered by the other

    def fulfilment(self, fulfilment_id: str) -> Fulfilment | None:
        with read_scope(self.engine) as s:
            return s.get(Fulfilment, fulfilment_id)

    def order_view(self, order_id: str) -> dict[str, Any] | None:
        with read_scope(self.engine) as s:
            order = s.get(Order, order_id)
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

    def location_fulfilments(self, location_id: str, status: str | None) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(Fulfilment).where(Fulfilment.location_id == location_id)
            if status:
                q = q.where(Fulfilment.status == status)
            rows = s.exec(q.order_by(col(Fulfilment.created_at)))
            return [fulfilment_view(f) | {"order_id": f.order_id} for f in rows]


def _fulfilment_row(order_id: str, part: PlannedPart) -> Fulfilment:
    return Fulfilment(
        fulfilment_id=part.fulfilment_id,
        order_id=order_id,
        location_id=part.location_id,
        mode=part.mode,
        status="pending",
        lines=[{"sku": ln.sku, "qty": ln.qty, "picked_qty": None} for ln in part.lines],
        reasons=part.reasons,
    )


def _timeline(s: Session, order_id: str, key: str, event: str, detail: str) -> None:
    """An event on the order's timeline, once per key (a repeated projection adds nothing)."""
    _timelines(s, order_id, [(key, event, detail)])


def _timelines(s: Session, order_id: str, events: list[tuple[str, str, str]]) -> None:
    """Events (key, event, detail) on the order's timeline in one statement, each once per key."""
    at = utcnow()
    rows = [
        {"key": key[:200], "order_id": order_id, "event": event, "detail": detail, "at": at}
        for key, event, detail in events
    ]
    s.execute(insert_ignoring_duplicates(s, TIMELINE), rows)


def fulfilment_view(f: Fulfilment) -> dict[str, Any]:
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
    }


def _view(s: Session, o: Order) -> dict[str, Any]:
    lines = s.exec(
        select(OrderLine).where(OrderLine.order_id == o.order_id).order_by(col(OrderLine.line_no))
    )
    fulfilments = s.exec(
        select(Fulfilment)
        .where(Fulfilment.order_id == o.order_id)
        .order_by(col(Fulfilment.fulfilment_id))
    )
    payment = s.exec(select(Payment).where(Payment.order_id == o.order_id)).first()
    refunds = s.exec(
        select(Refund).where(Refund.order_id == o.order_id).order_by(col(Refund.created_at))
    )
    timeline = s.exec(
        select(TimelineEvent)
        .where(TimelineEvent.order_id == o.order_id)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    )
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
        "payment": None
        if payment is None
        else {
            "payment_id": payment.payment_id,
            "method": payment.method,
            "amount": payment.amount,
            "status": payment.status,
        },
        "fulfilments": [fulfilment_view(f) for f in fulfilments],
        "refunds": [
            {
                "refund_id": r.refund_id,
                "amount": r.amount,
                "reason": r.reason,
                "status": r.status,
                "lines": r.lines,
            }
            for r in refunds
        ],
        "timeline": [
            {"at": t.at.isoformat(), "event": t.event, "detail": t.detail} for t in timeline
        ],
    }


def encode_cursor(at: datetime, order_id: str) -> str:
    raw = json.dumps([at.isoformat(), order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, oid = json.loads(raw)
        return datetime.fromisoformat(at), str(oid)
    except Exception as exc:
        raise InvalidRequest("cursor is not valid", details={"cursor": cursor}) from exc


def promotion_list(promotions: dict[str, int]) -> list[dict[str, Any]]:
    """A line's promotions as the API shows them."""
    return [{"promotion_id": p, "amount": a} for p, a in promotions.items()]


def line_view(ln: OrderLine | PricedLine) -> dict[str, Any]:
    """A priced line as the API shows it, from the read model or straight from pricing."""
    promotions = ln.detail if isinstance(ln, OrderLine) else promotion_list(ln.promotions)
    return {
        "sku": ln.sku,
        "qty": ln.qty,
        "unit_price_amount": ln.unit_price_amount,
        "discount_amount": ln.discount_amount,
        "paid_amount": ln.paid_amount,
        "gift": ln.gift,
        "points_amount": ln.points_amount,
        "promotions": promotions,
    }
