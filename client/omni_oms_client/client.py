"""The client: one method per operation a channel (or its store, or its test harness) calls,
thin over httpx. Answers are plain dicts typed as the API documents them (`types`); a refusal is
raised as `OmsError` with the API's code, message and details."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal, cast

import httpx

from omni_oms_client import types as t

Method = Literal["wechat", "alipay", "card", "stored_value", "cash"]
OPERATIONS: dict[str, str] = {}  # "METHOD /path" -> the client method that calls it


def operation(key: str) -> Any:
    """Marks a method as the one that calls the API operation `key` ("POST /v1/orders")."""

    def mark(fn: Any) -> Any:
        OPERATIONS[key] = fn.__name__
        return fn

    return mark


class OmsError(Exception):
    """The API refused a request: `status` (HTTP), `code` (e.g. `insufficient_stock`),
    `message` (what is wrong and how to fix it) and `details` (which field, which SKUs...)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


class OmsClient:
    """`OmsClient("http://127.0.0.1:8000", token)`; a context manager, or `close()` it.

    Placing an order is idempotent by its `channel_order_id`: sending the same order again (after
    a timeout, say) answers the order placed first, never a second one."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
            transport=transport,
        )

    def __enter__(self) -> OmsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        query = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        response = self.http.request(method, path, json=json, params=query)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "unexpected", "message": response.text[:200], "details": {}}
            raise OmsError(
                response.status_code, error["code"], error["message"], error.get("details") or {}
            )
        if raw:
            return response.content
        return response.json() if response.content else None

    # --- what is sold, and where ---------------------------------------------------------

    @operation("GET /v1/catalog/skus")
    def catalog(
        self,
        *,
        category: str | None = None,
        q: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> t.CatalogPage:
        """One page of the catalogue (`next_cursor` continues it)."""
        params = {"category": category, "q": q, "limit": limit, "cursor": cursor}
        return cast(t.CatalogPage, self._call("GET", "/v1/catalog/skus", params=params))

    def all_skus(
        self, *, category: str | None = None, q: str | None = None
    ) -> Iterator[t.CatalogItem]:
        """Every SKU, page after page."""
        cursor = None
        while True:
            page = self.catalog(category=category, q=q, limit=200, cursor=cursor)
            yield from page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return

    @operation("GET /v1/locations")
    def locations(
        self, *, pickup: bool | None = None, city: str | None = None
    ) -> t.SellingLocations:
        """The locations this channel sells from (`pickup=True`: where members may collect)."""
        params = {"pickup": pickup, "city": city}
        return cast(t.SellingLocations, self._call("GET", "/v1/locations", params=params))

    @operation("GET /v1/stock/{sku}")
    def stock(self, sku: str, *, location_id: str | None = None) -> t.StockView:
        params = {"location_id": location_id}
        return cast(t.StockView, self._call("GET", f"/v1/stock/{sku}", params=params))

    # --- members ---------------------------------------------------------------------------

    @operation("POST /v1/members")
    def register_member(
        self, phone: str, name: str, *, external_id: str | None = None
    ) -> t.Member | t.MemberBrief:
        """The member with this phone, created or linked to this channel's `external_id`."""
        body = {"phone": phone, "name": name, "external_id": external_id}
        return cast(t.Member, self._call("POST", "/v1/members", json=body))

    @operation("GET /v1/members/{member_id}")
    def member(self, member_id: str) -> t.Member | t.MemberBrief:
        return cast(t.Member, self._call("GET", f"/v1/members/{member_id}"))

    @operation("GET /v1/members/{member_id}/orders")
    def member_orders(
        self, member_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> t.OrderPage:
        params = {"limit": limit, "cursor": cursor}
        path = f"/v1/members/{member_id}/orders"
        return cast(t.OrderPage, self._call("GET", path, params=params))

    @operation("POST /v1/members/{member_id}/stored-value")
    def top_up(self, member_id: str, amount: int, *, topup_id: str | None = None) -> t.Member:
        """Prepaid balance, in fen (the till, `pos`, or an admin). `topup_id` makes it once."""
        body = {"amount": amount, "topup_id": topup_id}
        return cast(
            t.Member, self._call("POST", f"/v1/members/{member_id}/stored-value", json=body)
        )

    # --- orders ----------------------------------------------------------------------------

    @operation("POST /v1/quotes")
    def quote(
        self,
        lines: list[t.LineIn],
        fulfilment: t.FulfilmentIn,
        *,
        payment_method: Method = "wechat",
        member_phone: str | None = None,
        coupon_codes: list[str] | None = None,
        points_to_redeem: int = 0,
    ) -> t.Quote:
        """The price of an order, without placing it (with every step in `pricing.trace`)."""
        body = _order_body(
            lines, fulfilment, payment_method, member_phone, coupon_codes, points_to_redeem
        )
        return cast(t.Quote, self._call("POST", "/v1/quotes", json=body))

    @operation("POST /v1/orders")
    def place_order(
        self,
        channel_order_id: str,
        lines: list[t.LineIn],
        fulfilment: t.FulfilmentIn,
        *,
        payment_method: Method,
        member_phone: str | None = None,
        coupon_codes: list[str] | None = None,
        points_to_redeem: int = 0,
    ) -> t.Order:
        """Place an order. Gateway methods leave it `awaiting_payment` with `payment.payment_id`
        to pay; `stored_value` and `cash` pay at once."""
        body = _order_body(
            lines, fulfilment, payment_method, member_phone, coupon_codes, points_to_redeem
        )
        body["channel_order_id"] = channel_order_id
        return cast(t.Order, self._call("POST", "/v1/orders", json=body))

    @operation("GET /v1/orders/{order_id}")
    def order(self, order_id: str) -> t.Order:
        return cast(t.Order, self._call("GET", f"/v1/orders/{order_id}"))

    @operation("GET /v1/orders")
    def orders(
        self,
        *,
        status: str | None = None,
        member_phone: str | None = None,
        location_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> t.OrderPage:
        params = {
            "status": status,
            "member_phone": member_phone,
            "location_id": location_id,
            "limit": limit,
            "cursor": cursor,
        }
        return cast(t.OrderPage, self._call("GET", "/v1/orders", params=params))

    @operation("POST /v1/orders/{order_id}/payments")
    def pay_again(self, order_id: str, payment_method: Method) -> t.OrderPaidAgain:
        """After a failed payment: a new one (`opened`)."""
        body = {"payment_method": payment_method}
        path = f"/v1/orders/{order_id}/payments"
        return cast(t.OrderPaidAgain, self._call("POST", path, json=body))

    @operation("POST /v1/orders/{order_id}/cancel")
    def cancel(self, order_id: str, reason: str) -> t.Order:
        body = {"reason": reason}
        return cast(t.Order, self._call("POST", f"/v1/orders/{order_id}/cancel", json=body))

    @operation("POST /v1/orders/{order_id}/returns")
    def return_goods(self, order_id: str, lines: list[t.LineIn], reason: str) -> t.Order:
        body = {"lines": lines, "reason": reason}
        return cast(t.Order, self._call("POST", f"/v1/orders/{order_id}/returns", json=body))

    # --- events ----------------------------------------------------------------------------

    @operation("GET /v1/events")
    def events(self, *, after: str | None = None, limit: int = 100) -> t.EventFeed:
        """This channel's events, oldest first, after the event `after`."""
        params = {"after": after, "limit": limit}
        return cast(t.EventFeed, self._call("GET", "/v1/events", params=params))

    def follow_events(
        self, *, after: str | None = None, poll_s: float = 1.0, timeout_s: float | None = None
    ) -> Iterator[t.Event]:
        """Events as they come (polling the feed): for channels without a public webhook URL.
        Remember the last `event_id` you handled, and pass it as `after` when you start again."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while deadline is None or time.monotonic() < deadline:
            page = self.events(after=after)
            yield from page["events"]
            after = page["next_after"]
            if not page["events"]:
                time.sleep(poll_s)

    @operation("PATCH /v1/orders/{order_id}")
    def change_order(
        self,
        order_id: str,
        *,
        lines: list[t.OrderLineIn] | None = None,
        fulfilment: t.FulfilmentIn | None = None,
    ) -> t.OrderChanged:
        """Change the lines (all of them) or the fulfilment until the first part is picked:
        `change.status` is `applied`, or `awaiting_payment` (pay `change.payment_id`)."""
        body: dict[str, Any] = {}
        if lines is not None:
            body["lines"] = lines
        if fulfilment is not None:
            body["fulfilment"] = fulfilment
        return cast(t.OrderChanged, self._call("PATCH", f"/v1/orders/{order_id}", json=body))

    @operation("POST /v1/orders/{order_id}/substitutions/{substitution_id}")
    def answer_substitution(
        self, order_id: str, substitution_id: str, decision: Literal["approve", "decline"]
    ) -> t.Substitution:
        """The member's answer to a replacement the store proposed (`substitution.proposed`)."""
        path = f"/v1/orders/{order_id}/substitutions/{substitution_id}"
        return cast(t.Substitution, self._call("POST", path, json={"decision": decision}))

    # --- the simulated payment gateway (dev stack; an admin token) -------------------------

    @operation("POST /v1/sim/payments/{payment_id}")
    def simulate_payment(
        self,
        payment_id: str,
        outcome: Literal["succeeded", "failed"] = "succeeded",
        *,
        force: bool = False,
    ) -> t.SimulatedPayment:
        """Tell the simulated gateway how a payment ends: it then calls the API's webhook."""
        body = {"outcome": outcome, "force": force}
        path = f"/v1/sim/payments/{payment_id}"
        return cast(t.SimulatedPayment, self._call("POST", path, json=body))

    @operation("POST /v1/sim/couriers/{tracking_no}")
    def simulate_courier(
        self, tracking_no: str, event: Literal["in_transit", "delivered", "failed"]
    ) -> t.SimulatedParcel:
        """Tell the simulated courier what happens to a parcel: it then calls the API back."""
        path = f"/v1/sim/couriers/{tracking_no}"
        return cast(t.SimulatedParcel, self._call("POST", path, json={"event": event}))

    # --- a store's staff (a staff token) ---------------------------------------------------

    @operation("GET /v1/locations/{location_id}/fulfilments")
    def work_list(self, location_id: str, *, status: str | None = None) -> t.LocationParts:
        params = {"status": status}
        path = f"/v1/locations/{location_id}/fulfilments"
        return cast(t.LocationParts, self._call("GET", path, params=params))

    def _act(self, fulfilment_id: str, action: str, body: Any = None) -> t.StaffPart:
        path = f"/v1/fulfilments/{fulfilment_id}/{action}"
        return cast(t.StaffPart, self._call("POST", path, json=body))

    @operation("POST /v1/fulfilments/{fulfilment_id}/accept")
    def accept(self, fulfilment_id: str) -> t.StaffPart:
        return self._act(fulfilment_id, "accept")

    @operation("POST /v1/fulfilments/{fulfilment_id}/reject")
    def reject(self, fulfilment_id: str, reason: str) -> t.StaffPart:
        return self._act(fulfilment_id, "reject", {"reason": reason})

    @operation("POST /v1/fulfilments/{fulfilment_id}/picked")
    def picked(self, fulfilment_id: str, lines: list[t.LineIn]) -> t.StaffPart:
        return self._act(fulfilment_id, "picked", {"lines": lines})

    @operation("POST /v1/fulfilments/{fulfilment_id}/ship")
    def ship(
        self, fulfilment_id: str, carrier: str | None = None, tracking_no: str | None = None
    ) -> t.StaffPart:
        """Without a carrier and tracking number, the part's carrier issues a waybill."""
        body = {"carrier": carrier, "tracking_no": tracking_no} if carrier or tracking_no else {}
        return self._act(fulfilment_id, "ship", body)

    @operation("GET /v1/fulfilments/{fulfilment_id}/label")
    def label(self, fulfilment_id: str) -> bytes:
        """The part's shipping label, a PDF (100 x 150 mm)."""
        return cast(bytes, self._call("GET", f"/v1/fulfilments/{fulfilment_id}/label", raw=True))

    @operation("POST /v1/fulfilments/{fulfilment_id}/deliver")
    def deliver(self, fulfilment_id: str) -> t.StaffPart:
        return self._act(fulfilment_id, "deliver")

    @operation("POST /v1/fulfilments/{fulfilment_id}/substitutions")
    def propose_substitution(
        self, fulfilment_id: str, sku: str, with_sku: str, qty: int
    ) -> t.Substitution:
        """Short of `qty` of `sku` while picking: propose `with_sku` instead (the member's
        channel is asked)."""
        body = {"sku": sku, "with_sku": with_sku, "qty": qty}
        path = f"/v1/fulfilments/{fulfilment_id}/substitutions"
        return cast(t.Substitution, self._call("POST", path, json=body))

    @operation("POST /v1/fulfilments/{fulfilment_id}/pickup")
    def pickup(self, fulfilment_id: str, code: str) -> t.StaffPart:
        return self._act(fulfilment_id, "pickup", {"code": code})


def _order_body(
    lines: list[t.LineIn],
    fulfilment: t.FulfilmentIn,
    payment_method: str,
    member_phone: str | None,
    coupon_codes: list[str] | None,
    points_to_redeem: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "lines": lines,
        "fulfilment": fulfilment,
        "payment_method": payment_method,
        "coupon_codes": coupon_codes or [],
        "points_to_redeem": points_to_redeem,
    }
    if member_phone is not None:
        body["member_phone"] = member_phone
    return body


def _param(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value
