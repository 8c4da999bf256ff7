"""Channel events: what happened to a channel's orders and to the stock it sells, recorded in the
same transaction as the change they report (an outbox), then delivered to the channel's webhook
at least once and in order per order, and readable as a feed.

An event is `{"event_id", "type", "created_at", "channel", "order_id", "data"}`. Delivery state
lives on the event itself (one channel per event): `pending` until the channel's receiver
answers 2xx (`delivered`), retried with backoff, `failed` after the give-up time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import BindParameter, Select, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters import fastsql
from adapters.db import Tx, read_scope, read_tx, session_scope, upsert, write_tx
from adapters.tables import (
    ChannelEvent,
    ChannelWebhook,
    Stock,
    StockState,
    StockTouch,
    utcnow,
)
from domain.errors import InvalidRequest, NotFound

EVENTS: Table = ChannelEvent.__table__  # type: ignore[attr-defined]
WEBHOOKS: Table = ChannelWebhook.__table__  # type: ignore[attr-defined]
TOUCHED: Table = StockTouch.__table__  # type: ignore[attr-defined]
STOCK_STATE: Table = StockState.__table__  # type: ignore[attr-defined]
STOCK: Table = Stock.__table__  # type: ignore[attr-defined]
EVENT_INSERT = insert(EVENTS)  # built once: executed with each event's values
_LOC: BindParameter[str] = bindparam("loc")
_SKU: BindParameter[str] = bindparam("sku")
STOCK_AVAILABLE = select(STOCK.c.on_hand - STOCK.c.reserved - STOCK.c.safety_stock).where(
    STOCK.c.location_id == _LOC, STOCK.c.sku == _SKU
)
STATE_NOW = select(STOCK_STATE.c.sold_out, STOCK_STATE.c.available).where(
    STOCK_STATE.c.location_id == _LOC, STOCK_STATE.c.sku == _SKU
)
STATE_COLUMNS = ("sold_out", "available", "updated_at")
TOUCHED_FIRST = select(TOUCHED).order_by(TOUCHED.c.touched_at).limit(bindparam("limit"))
TOUCH_DONE = TOUCHED.delete().where(
    TOUCHED.c.location_id == _LOC, TOUCHED.c.sku == _SKU, TOUCHED.c.touched_at <= bindparam("at")
)

DELIVERED = (
    update(EVENTS)
    .where(EVENTS.c.event_id == bindparam("eid"))
    .values(status="delivered", delivered_at=bindparam("at"), last_error="")
)


def _due_heads(n: int) -> Select[Any]:
    """The first event not delivered of each stream of `n` channels (`in0`...), if it is pending
    and due at `now`, oldest first, at most `limit` (built once per number of channels)."""
    heads = (
        select(EVENTS.c.channel, EVENTS.c.stream, func.min(EVENTS.c.seq).label("seq"))
        .where(or_(EVENTS.c.status == "pending", EVENTS.c.status == "failed"))
        .where(EVENTS.c.channel.in_(fastsql.any_of(n)))
        .group_by(EVENTS.c.channel, EVENTS.c.stream)
        .subquery()
    )
    return (
        select(EVENTS)
        .join(heads, EVENTS.c.seq == heads.c.seq)
        .where(EVENTS.c.status == "pending")
        .where(
            or_(EVENTS.c.next_attempt_at.is_(None), EVENTS.c.next_attempt_at <= bindparam("now"))
        )
        .order_by(EVENTS.c.seq)
        .limit(bindparam("limit"))
    )


ORDER_EVENTS = {  # an order status -> the event that reports it
    "paid": "order.paid",
    "cancelled": "order.cancelled",
    "completed": "order.completed",
    "returned": "order.returned",
}
PART_EVENTS = {  # a part's status -> its event
    s: f"fulfilment.{s}"
    for s in (
        "dispatched",
        "accepted",
        "rejected",
        "picked",
        "ready_for_pickup",
        "shipped",
        "delivered",
        "picked_up",
        "expired",
        "cancelled",
        "delivery_failed",
    )
}
TYPES = sorted(
    {
        "order.created",
        "order.changed",
        *ORDER_EVENTS.values(),
        *PART_EVENTS.values(),
        "refund.succeeded",
        "fulfilment.in_transit",
        "substitution.proposed",
        "substitution.approved",
        "substitution.declined",
        "substitution.withdrawn",
        "stock.sold_out",
        "stock.back_in_stock",
    }
)


_outbox = {"on": True}


def set_outbox(on: bool) -> None:
    """Record channel events (the default), or not at all (`OMS_CHANNEL_EVENTS=0`: for a chain
    that has no channel to tell, and to measure what events cost). Set once per process."""
    _outbox["on"] = on


def outbox_on() -> bool:
    return _outbox["on"]


def new_event_id() -> str:
    """Sortable by time, unique: `evt_<ms since epoch, hex>_<random>`."""
    return f"evt_{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def emit(
    s: Session | Tx, *, channel: str, type: str, data: dict[str, Any], order_id: str | None = None
) -> None:
    """Record an event in the caller's transaction (nothing is sent here)."""
    emit_each(s, channel=channel, types=(type,), data=data, order_id=order_id)


def emit_each(
    s: Session | Tx,
    *,
    channel: str,
    types: Sequence[str],
    data: dict[str, Any],
    order_id: str | None = None,
) -> None:
    """Record one event of each type, in this order, with the same data (serialised once), in
    the caller's transaction."""
    if not _outbox["on"] or not types:
        return
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    stream = order_id or f"stock:{data.get('location_id')}:{data.get('sku')}"
    now = utcnow()
    rows = [
        {
            "event_id": new_event_id(),
            "channel": channel,
            "type": type_,
            "order_id": order_id,
            "stream": stream,
            "data": body,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "created_at": now,
        }
        for type_ in types
    ]
    fastsql.execute_many(s, EVENT_INSERT, rows)


def touch_stock(s: Session | Tx, pairs: set[tuple[str, str]]) -> None:
    """Note, in the caller's transaction, that the stock of these (location, SKU) changed: the
    sold-out watcher looks at them next."""
    if not _outbox["on"] or not pairs:
        return
    now = utcnow()
    rows = [{"location_id": loc, "sku": sku, "touched_at": now} for loc, sku in sorted(pairs)]
    fastsql.execute_many(s, upsert(s, TOUCHED, update=("touched_at",)), rows)


# --- signing ---------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, headers: dict[str, str], *, window_s: int = 300) -> bool:
    """What a receiver checks: the signature over the timestamp and the raw body, and a fresh
    timestamp (the client package has the same helper)."""
    try:
        ts = int(headers.get("x-oms-timestamp", ""))
    except ValueError:
        return False
    if abs(time.time() - ts) > window_s:
        return False
    given = headers.get("x-oms-signature", "")
    return hmac.compare_digest(given, signature(secret, ts, body))


# --- subscriptions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    channel: str
    url: str
    secret: str
    events: tuple[str, ...]
    since: datetime

    def wants(self, type_: str) -> bool:
        return "*" in self.events or type_ in self.events


def check_url(url: str, *, production: bool) -> None:
    """A webhook URL: http(s) with a host; in production https, and never a loopback, private
    or link-local address (the platform must not be made to call into its own network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhookUrl(
            "url must be an http(s) URL with a host: send e.g. https://hooks.example.com/oms"
        )
    if not production:
        return
    if parts.scheme != "https":
        raise InvalidWebhookUrl("url must use https in production: change http:// to https://")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        raise InvalidWebhookUrl(
            f"the url's host {parts.hostname} does not resolve: check the host name in url"
        ) from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved:
            raise InvalidWebhookUrl(
                f"the url's host resolves to {ip}, a private, loopback or reserved address: "
                "give a host on the public internet"
            )


class InvalidWebhookUrl(InvalidRequest):
    code = "invalid_webhook_url"


class EventStore:
    """Subscriptions, the feed, and the delivery state of events."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- subscriptions -----------------------------------------------------------------------

    def subscribe(
        self, channel: str, *, url: str, secret: str, events: list[str]
    ) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            row = s.get(ChannelWebhook, channel)
            if row is None:
                row = ChannelWebhook(channel=channel, url=url, secret=secret, events=events)
            else:
                row.url, row.secret, row.events, row.updated_at = url, secret, events, utcnow()
            s.add(row)
            s.flush()
            return webhook_view(row)

    def subscription(self, channel: str) -> dict[str, Any]:
        with read_scope(self.engine) as s:
            row = s.get(ChannelWebhook, channel)
            if row is None:
                raise NotFound(f"channel {channel} has no webhook")
            return webhook_view(row)

    def unsubscribe(self, channel: str) -> None:
        with session_scope(self.engine) as s:
            row = s.get(ChannelWebhook, channel)
            if row is None:
                raise NotFound(f"channel {channel} has no webhook")
            s.delete(row)

    def subscriptions(self) -> list[Subscription]:
        with read_scope(self.engine) as s:
            return [
                Subscription(r.channel, r.url, r.secret, tuple(r.events), _aware(r.created_at))
                for r in s.exec(select(ChannelWebhook))  # type: ignore[call-overload]
                .scalars()
                .all()
            ]

    # --- the feed ----------------------------------------------------------------------------

    def feed(self, *, channel: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Events oldest first, after the event `after` (a channel sees its own only)."""
        with read_scope(self.engine) as s:
            q = select(EVENTS).order_by(EVENTS.c.seq).limit(limit)
            if channel is not None:
                q = q.where(EVENTS.c.channel == channel)
            if after:
                seq = s.execute(select(EVENTS.c.seq).where(EVENTS.c.event_id == after)).scalar()
                if seq is None:
                    raise InvalidRequest(
                        f"no event {after}: give the event_id of an event you received",
                        details={"field": "after"},
                    )
                q = q.where(EVENTS.c.seq > seq)
            return [event_body(r) for r in s.execute(q)]

    # --- deliveries --------------------------------------------------------------------------

    def deliveries(
        self, *, status: str | None, channel: str | None, limit: int
    ) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(EVENTS).order_by(EVENTS.c.seq).limit(limit)
            if status:
                q = q.where(EVENTS.c.status == status)
            if channel:
                q = q.where(EVENTS.c.channel == channel)
            return [delivery_view(r) for r in s.execute(q)]

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send an event again (a failed one, or one already delivered)."""
        with session_scope(self.engine) as s:
            row = s.execute(select(EVENTS).where(EVENTS.c.event_id == delivery_id)).first()
            if row is None:
                raise NotFound(f"delivery {delivery_id} does not exist")
            s.execute(
                update(EVENTS)
                .where(EVENTS.c.event_id == delivery_id)
                .values(status="pending", next_attempt_at=None, first_attempt_at=None, attempts=0)
            )
            fresh = s.execute(select(EVENTS).where(EVENTS.c.event_id == delivery_id)).first()
            return delivery_view(fresh)

    def due(self, subs: dict[str, Subscription], *, now: datetime, limit: int) -> list[Any]:
        """The next event of each order (or stock) stream that is due to be sent: the oldest
        not yet delivered, if it is pending and its retry time has come. Streams whose oldest
        event failed wait for it to be redelivered."""
        if not subs:
            return []
        with read_tx(self.engine) as s:
            rows = fastsql.rows_in(s, _due_heads, list(subs), {"now": now, "limit": limit})
        return [r for r in rows if _aware(r.created_at) >= subs[r.channel].since]

    def skip_unwanted(self, subs: dict[str, Subscription]) -> None:
        """Events no subscription asks for (of a channel without one, of a type it leaves out,
        from before it) are not sent: they are `skipped` (and stay in the feed)."""
        with session_scope(self.engine) as s:
            s.execute(
                update(EVENTS)
                .where(EVENTS.c.status == "pending", EVENTS.c.channel.not_in(list(subs) or [""]))
                .values(status="skipped")
            )
            for sub in subs.values():
                q = update(EVENTS).where(
                    EVENTS.c.channel == sub.channel, EVENTS.c.status == "pending"
                )
                s.execute(q.where(EVENTS.c.created_at < sub.since).values(status="skipped"))
                if "*" not in sub.events:
                    s.execute(q.where(EVENTS.c.type.not_in(sub.events)).values(status="skipped"))

    def delivered(self, done: list[tuple[str, datetime]]) -> None:
        """Events the receiver answered with a 2xx, and when (one transaction for them all)."""
        if not done:
            return
        with write_tx(self.engine) as s:
            fastsql.execute_many(s, DELIVERED, [{"eid": eid, "at": at} for eid, at in done])

    def not_delivered(
        self, event_id: str, *, at: datetime, error: str, retry_max_s: int, give_up_s: int
    ) -> str:
        """A failed attempt: retried after a backoff (doubling, capped at `retry_max_s`), or
        `failed` once `give_up_s` have passed since the first attempt. The new status."""
        with session_scope(self.engine) as s:
            row = s.execute(select(EVENTS).where(EVENTS.c.event_id == event_id)).first()
            if row is None:
                return "gone"
            first = _aware(row.first_attempt_at) if row.first_attempt_at else at
            attempts = row.attempts + 1
            give_up = at - first >= timedelta(seconds=give_up_s)
            backoff = min(retry_max_s, 2 ** min(attempts - 1, 20))
            status = "failed" if give_up else "pending"
            s.execute(
                update(EVENTS)
                .where(EVENTS.c.event_id == event_id)
                .values(
                    status=status,
                    attempts=attempts,
                    first_attempt_at=first,
                    next_attempt_at=at + timedelta(seconds=backoff),
                    last_error=error[:300],
                )
            )
            return status

    # --- sold out ----------------------------------------------------------------------------

    def touched(self, *, limit: int = 500) -> list[tuple[str, str, datetime]]:
        with read_tx(self.engine) as s:
            rows = fastsql.rows(s, TOUCHED_FIRST, {"limit": limit})
            return [(r.location_id, r.sku, r.touched_at) for r in rows]

    def publish_stock(
        self, touched: list[tuple[str, str, datetime]], channels: dict[str, list[str]]
    ) -> int:
        """The stock of each touched (location, SKU) as it is now; where its sold-out state
        changed since it was last published, an event for each channel selling from there
        (`channels` by location). The touches are cleared, unless touched again meanwhile. One
        transaction for them all: how many events."""
        if not touched:
            return 0
        sent = 0
        with write_tx(self.engine) as s:
            for location_id, sku, at in touched:
                key = {"loc": location_id, "sku": sku}
                stock = fastsql.first(s, STOCK_AVAILABLE, key)
                available = max(0, stock[0] or 0) if stock is not None else 0
                was = fastsql.first(s, STATE_NOW, key)
                sold_out = available == 0
                if was is None or was.sold_out != sold_out:
                    state = {"location_id": location_id, "sku": sku, "sold_out": sold_out}
                    state |= {"available": available, "updated_at": utcnow()}
                    fastsql.execute(s, upsert(s, STOCK_STATE, update=STATE_COLUMNS), state)
                told = was is not None or sold_out  # a SKU never sold out: nothing to say
                if told and (was is None or was.sold_out != sold_out):
                    kind = "stock.sold_out" if sold_out else "stock.back_in_stock"
                    data = _stock_data(location_id, sku, available)
                    for channel in channels.get(location_id, []):
                        emit(s, channel=channel, type=kind, data=data)
                        sent += 1
                fastsql.execute(s, TOUCH_DONE, key | {"at": at})
        return sent


def _stock_data(location_id: str, sku: str, available: int) -> dict[str, Any]:
    return {
        "location_id": location_id,
        "sku": sku,
        "available": available,
        "sold_out": available == 0,
    }


def event_body(r: Any) -> dict[str, Any]:
    return {
        "event_id": r.event_id,
        "type": r.type,
        "created_at": _aware(r.created_at).isoformat(),
        "channel": r.channel,
        "order_id": r.order_id,
        "data": json.loads(r.data or "null"),
    }


def event_bytes(r: Any) -> bytes:
    """The event as it is POSTed: its data as it was recorded, not decoded and encoded again."""
    head = {
        "event_id": r.event_id,
        "type": r.type,
        "created_at": _aware(r.created_at).isoformat(),
        "channel": r.channel,
        "order_id": r.order_id,
    }
    return (
        json.dumps(head, separators=(",", ":"))[:-1] + ',"data":' + (r.data or "null") + "}"
    ).encode()


def delivery_view(r: Any) -> dict[str, Any]:
    return {
        "delivery_id": r.event_id,
        "event_id": r.event_id,
        "channel": r.channel,
        "type": r.type,
        "order_id": r.order_id,
        "status": r.status,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "next_attempt_at": _aware(r.next_attempt_at).isoformat() if r.next_attempt_at else None,
        "delivered_at": _aware(r.delivered_at).isoformat() if r.delivered_at else None,
        "created_at": _aware(r.created_at).isoformat(),
    }


def webhook_view(r: ChannelWebhook) -> dict[str, Any]:
    return {
        "channel": r.channel,
        "url": r.url,
        "events": r.events,
        "secret_set": bool(r.secret),
        "created_at": _aware(r.created_at).isoformat(),
    }


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
