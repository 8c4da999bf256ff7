"""One walk through every operation of the API with real data, each answer checked by
schemathesis against `/openapi.json` (status, content type, headers and body schema). The
answers it meets are the contract's examples: `OMS_EXAMPLES=1` writes them to
`api/examples.json`, which `/docs` shows beside each operation."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from schemathesis.checks import positive_data_acceptance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "api" / "examples.json"


class Journey:
    """Calls operations as their users would, validates each answer, and keeps the first
    successful exchange of each operation as its example."""

    def __init__(self, schema: Any, base_url: str, tokens: dict[str, dict[str, str]]) -> None:
        self.schema, self.base_url, self.tokens = schema, base_url, tokens
        self.examples: dict[str, dict[str, Any]] = {}

    def call(
        self,
        method: str,
        path: str,
        role: str | None,
        *,
        params: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        operation = self.schema[path][method.upper()]
        kwargs: dict[str, Any] = {"path_parameters": params or {}, "query": query}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        headers = self.tokens[role] if role else {}
        response = case.call(base_url=self.base_url, headers=headers, timeout=60)
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
        assert response.status_code in expect, (method, path, response.status_code, response.text)
        answer = _answer(response)
        self.keep(method, path, body, response.status_code, answer)
        return answer

    def keep(self, method: str, path: str, body: Any, status: int, answer: Any) -> None:
        key = f"{method.upper()} {path}"
        if key not in self.examples and 200 <= status < 300:
            self.examples[key] = {"request": body, "status": status, "answer": answer}

    def write(self) -> None:
        EXAMPLES.write_text(
            json.dumps(dict(sorted(self.examples.items())), indent=1, ensure_ascii=False) + "\n"
        )


def _answer(response: Any) -> Any:
    kind = response.headers.get("content-type", "")
    kind = " ".join(kind) if isinstance(kind, list) else kind  # a list of values, or one
    if not response.content:
        return None
    if "json" in kind:
        return response.json()
    if not kind.startswith("text/"):
        return f"({kind}, {len(response.content)} bytes)"
    return response.text[:400]


def wait(check: Any, *, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def walk(
    j: Journey,
    *,
    webhook_secret: str,
    callback_secrets: dict[str, str],
    gateway: str,
    terminate: Callable[[str], None],
) -> None:
    """Every operation, in the order a chain's first day would use them."""
    run = uuid.uuid4().hex[:8].upper()
    get, post, put, patch, delete = (
        partial(j.call, m) for m in ("get", "post", "put", "patch", "delete")
    )

    # Health, and operators' master data.
    get("/healthz", None)
    get("/readyz", None)
    get("/metrics", None)
    token = post("/v1/admin/tokens", "admin", body={"role": "channel", "channel": "app"})
    get("/v1/admin/tokens", "admin")
    delete("/v1/admin/tokens/{token_id}", "admin", params={"token_id": token["token_id"]})
    location = {
        "kind": "store",
        "name": "Binjiang store",
        "province": "Zhejiang",
        "city": "Hangzhou",
        "lat": 30.21,
        "lng": 120.21,
        "ships": True,
        "pickup": True,
        "franchise": False,
        "daily_quota": None,
        "credit_score": 100,
        "priority": 50,
        "shipping_cost_amount": 600,
    }
    loc = f"S-HZ-{run}"
    put("/v1/admin/locations/{location_id}", "admin", params={"location_id": loc}, body=location)
    staff = post("/v1/admin/tokens", "admin", body={"role": "staff", "location_id": loc})
    j.tokens["store"] = {"Authorization": f"Bearer {staff['token']}"}
    get("/v1/admin/locations/{location_id}", "admin", params={"location_id": loc})
    get("/v1/admin/locations", "admin")
    sku = f"TEA-{run}"
    item = {
        "name": "Longjing tea 250 g",
        "category": "drinks",
        "price_amount": 8800,
        "goods_class": "B",
        "barcode": "6970000099998",
    }
    put("/v1/admin/skus/{sku}", "admin", params={"sku": sku}, body=item)
    get("/v1/admin/skus/{sku}", "admin", params={"sku": sku})
    get("/v1/admin/skus", "admin")
    at = {"location_id": loc, "sku": sku}
    put(
        "/v1/admin/stock/{location_id}/{sku}",
        "admin",
        params=at,
        body={"on_hand": 40, "safety_stock": 2},
    )
    get("/v1/admin/stock/{location_id}/{sku}", "admin", params=at)
    post(
        "/v1/admin/stock/{location_id}/{sku}/receipts",
        "admin",
        params=at,
        body={"qty": 10, "receipt_id": f"GRN-{run}"},
    )
    get("/v1/admin/stock/{location_id}", "admin", params={"location_id": loc})
    get("/v1/admin/stock-drift", "admin")
    put(
        "/v1/admin/channels/{channel}",
        "admin",
        params={"channel": f"douyin-{run.lower()}"},
        body={"location_kinds": ["store"], "location_ids": [], "radius_km": 10},
    )
    get("/v1/admin/channels", "admin")
    promo = f"TEA10-{run}"
    put(
        "/v1/admin/promotions/{promotion_id}",
        "admin",
        params={"promotion_id": promo},
        body={
            "kind": "percent_off",
            "scope": {"skus": [sku]},
            "percent": 10,
            "coupon_required": True,
        },
    )
    get("/v1/admin/promotions", "admin")
    coupon = f"TEA-{run}"
    post(
        "/v1/admin/coupons",
        "admin",
        body={"promotion_id": promo, "code": coupon, "member_phone": None, "uses": 5},
    )
    get("/v1/admin/coupons", "admin")
    post(
        "/v1/admin/staff-accounts",
        "admin",
        body={
            "username": f"binjiang-{run.lower()}",
            "password": "tea-and-milk",
            "location_id": loc,
        },
    )
    rule = put(
        "/v1/admin/settlement-rules",
        "admin",
        body={
            "channel": "tmall",
            "location_id": loc,
            "model": "exclusive",
            "commission_bp": 500,
            "operator": "tmall",
        },
    )
    get("/v1/admin/settlement-rules", "admin")

    # A channel's developer: what is sold, where, and to whom.
    get("/v1/catalog/skus", "channel", query={"q": "tea", "limit": 5})
    get("/v1/locations", "channel", query={"pickup": "true"})
    get("/v1/stock/{sku}", "channel", params={"sku": sku})
    phone = f"139{int(run, 16) % 10**8:08d}"
    member = post(
        "/v1/members",
        "channel",
        body={"phone": phone, "name": "Zhou Min", "external_id": f"app-{run}"},
    )
    mid = member["member_id"]
    get("/v1/members/{member_id}", "channel", params={"member_id": mid})
    post(
        "/v1/members/{member_id}/stored-value",
        "pos",
        params={"member_id": mid},
        body={"amount": 50_000, "topup_id": f"T-{run}"},
    )
    patch(
        "/v1/admin/members/{member_id}", "admin", params={"member_id": mid}, body={"tier": "silver"}
    )
    post(
        "/v1/admin/members/{member_id}/points",
        "admin",
        params={"member_id": mid},
        body={"delta": 300, "reason": "welcome"},
    )
    post("/v1/members", "pos", body={"phone": phone, "name": "Zhou M.", "external_id": None})
    conflicts = get("/v1/admin/member-conflicts", "admin", query={"resolved": "false"})
    conflict = next(c for c in conflicts["conflicts"] if c["member_id"] == mid)
    post(
        "/v1/admin/member-conflicts/{conflict_id}/resolve",
        "admin",
        params={"conflict_id": conflict["id"]},
        body={"keep": "existing"},
    )
    pickup = {"mode": "pickup", "location_id": loc}
    lines = [{"sku": sku, "qty": 2, "substitution": "similar"}]
    post(
        "/v1/quotes",
        "channel",
        body={
            "member_phone": phone,
            "lines": lines,
            "fulfilment": pickup,
            "coupon_codes": [coupon],
            "payment_method": "stored_value",
        },
    )

    # A pickup order paid from stored value: the store accepts, picks, hands over.
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-1",
            "member_phone": phone,
            "lines": lines,
            "fulfilment": pickup,
            "coupon_codes": [coupon],
            "payment_method": "stored_value",
        },
    )
    oid = order["order_id"]
    fid = order["fulfilments"][0]["fulfilment_id"]
    get("/v1/orders/{order_id}", "channel", params={"order_id": oid})
    get("/v1/orders", "channel", query={"member_phone": phone, "limit": 10})
    get("/v1/members/{member_id}/orders", "channel", params={"member_id": mid})
    get(
        "/v1/locations/{location_id}/fulfilments",
        "store",
        params={"location_id": loc},
        query={"status": "dispatched"},
    )
    part = {"fulfilment_id": fid}
    post("/v1/fulfilments/{fulfilment_id}/accept", "store", params=part)
    # One tin is missing from the shelf: the store proposes matcha instead, the member approves.
    matcha = f"MATCHA-{run}"
    put(
        "/v1/admin/skus/{sku}",
        "admin",
        params={"sku": matcha},
        body={"name": "Matcha tin 100 g", "category": "drinks", "price_amount": 6800},
    )
    put(
        "/v1/admin/stock/{location_id}/{sku}",
        "admin",
        params={"location_id": loc, "sku": matcha},
        body={"on_hand": 10, "safety_stock": 0},
    )
    proposal = post(
        "/v1/fulfilments/{fulfilment_id}/substitutions",
        "store",
        params=part,
        body={"sku": sku, "with_sku": matcha, "qty": 1},
    )
    post(
        "/v1/orders/{order_id}/substitutions/{substitution_id}",
        "channel",
        params={"order_id": oid, "substitution_id": proposal["substitution_id"]},
        body={"decision": "approve"},
    )
    post(
        "/v1/fulfilments/{fulfilment_id}/picked",
        "store",
        params=part,
        body={"lines": [{"sku": sku, "qty": 1}, {"sku": matcha, "qty": 1}]},
    )
    code = wait(lambda: _code(j, oid))
    post("/v1/fulfilments/{fulfilment_id}/pickup", "store", params=part, body={"code": code})
    wait(
        lambda: (
            get("/v1/orders/{order_id}", "channel", params={"order_id": oid})["status"]
            == "completed"
        )
    )
    post(
        "/v1/orders/{order_id}/returns",
        "channel",
        params={"order_id": oid},
        body={"lines": [{"sku": sku, "qty": 1}], "reason": "the tin was dented"},
    )
    get("/v1/orders/{order_id}/settlement", "admin", params={"order_id": oid})

    # A delivery paid by WeChat: the gateway's webhook, then the store ships it.
    delivery = {
        "mode": "delivery",
        "address": {
            "province": "Zhejiang",
            "city": "Hangzhou",
            "lat": 30.22,
            "lng": 120.2,
            "line1": "18 Jiangnan Ave",
            "recipient": "Zhou Min",
            "phone": phone,
        },
    }
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-2",
            "member_phone": phone,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": delivery,
            "payment_method": "wechat",
        },
    )
    oid2, payment = order["order_id"], order["payment"]
    event = {
        "event_id": f"evt-{run}",
        "payment_id": payment["payment_id"],
        "status": "succeeded",
        "amount": payment["amount"],
        "timestamp": int(time.time()),
    }
    signed(j, "/v1/payments/webhook", webhook_secret, event)
    wait(lambda: _status(j, oid2, "dispatched"))
    fid2 = get("/v1/orders/{order_id}", "channel", params={"order_id": oid2})["fulfilments"][0][
        "fulfilment_id"
    ]
    part = {"fulfilment_id": fid2}
    post("/v1/fulfilments/{fulfilment_id}/accept", "store", params=part)
    post(
        "/v1/fulfilments/{fulfilment_id}/picked",
        "store",
        params=part,
        body={"lines": [{"sku": sku, "qty": 1}]},
    )
    post(
        "/v1/fulfilments/{fulfilment_id}/ship",
        "store",
        params=part,
        body={"carrier": "SF Express", "tracking_no": f"SF{int(run, 16)}"},
    )
    post("/v1/fulfilments/{fulfilment_id}/deliver", "store", params=part)
    terminate(oid2)  # an operator presses Terminate in Temporal UI: the repair finishes it
    post("/v1/admin/orders/{order_id}/repair", "admin", params={"order_id": oid2})

    # The member changes an order before it is picked: one more tin, paid from stored value.
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-C",
            "member_phone": phone,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": pickup,
            "payment_method": "stored_value",
        },
    )
    patch(
        "/v1/orders/{order_id}",
        "channel",
        params={"order_id": order["order_id"]},
        body={"lines": [{"sku": sku, "qty": 2}]},
    )
    post(
        "/v1/orders/{order_id}/cancel",
        "channel",
        params={"order_id": order["order_id"]},
        body={"reason": "changed my mind after all"},
    )

    # A warehouse run by its execution system, and a courier chosen by the rules: the simulated
    # execution system picks and ships, the courier tracks the parcel to the door.
    carrier = {
        "name": "Zhejiang Express",
        "provinces": ["Zhejiang"],
        "cost_amount": 500,
        "max_weight_g": 30_000,
        "priority": 0,
    }
    put(
        "/v1/admin/carriers/{carrier_id}", "admin", params={"carrier_id": f"ZJ-{run}"}, body=carrier
    )
    get("/v1/admin/carriers", "admin")
    wh = f"W-JX-{run}"
    put(
        "/v1/admin/locations/{location_id}",
        "admin",
        params={"location_id": wh},
        body=location
        | {"kind": "central_warehouse", "name": "Jiaxing warehouse", "city": "Jiaxing"}
        | {"pickup": False, "execution": "wms"},
    )
    rice = f"RICE-{run}"
    put(
        "/v1/admin/skus/{sku}",
        "admin",
        params={"sku": rice},
        body={"name": "Wuchang rice 5 kg", "category": "grain", "price_amount": 6900}
        | {"goods_class": "B", "weight_g": 5000},
    )
    put(
        "/v1/admin/stock/{location_id}/{sku}",
        "admin",
        params={"location_id": wh, "sku": rice},
        body={"on_hand": 20, "safety_stock": 0},
    )
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-W",
            "member_phone": phone,
            "lines": [{"sku": rice, "qty": 1}],
            "fulfilment": delivery,
            "payment_method": "stored_value",
        },
    )
    oid3 = order["order_id"]
    wait(lambda: _status(j, oid3, "shipped"), seconds=60)
    shipped = get("/v1/orders/{order_id}", "channel", params={"order_id": oid3})["fulfilments"][0]
    fid3, waybill = shipped["fulfilment_id"], shipped["tracking_no"]
    # The execution system sends its `picked` report again (a retry): applied once.
    signed(
        j,
        "/v1/callbacks/wms",
        callback_secrets["wms"],
        {
            "event_id": f"wms-{run}-retry",
            "fulfilment_id": fid3,
            "seq": 1,
            "type": "picked",
            "lines": [{"sku": rice, "qty": 1}],
            "carrier": None,
            "waybill": None,
            "timestamp": int(time.time()),
        },
    )
    get("/v1/fulfilments/{fulfilment_id}/label", "admin", params={"fulfilment_id": fid3})

    def in_transit() -> bool:  # once the courier has collected the parcel (just after shipping)
        try:
            post(
                "/v1/sim/couriers/{tracking_no}",
                "admin",
                params={"tracking_no": waybill},
                body={"event": "in_transit"},
            )
        except AssertionError:  # 409: not collected yet
            return False
        return True

    wait(in_transit)
    wait(lambda: _tracked(j, oid3))
    signed(
        j,
        "/v1/callbacks/courier",
        callback_secrets["courier"],
        {
            "event_id": f"trk-{run}-done",
            "tracking_no": waybill,
            "seq": 2,
            "event": "delivered",
            "detail": "delivered to Zhou Min",
            "timestamp": int(time.time()),
        },
    )
    wait(lambda: _status(j, oid3, "delivered"))

    # A card payment that fails and is paid again from stored value, then the store rejects the
    # part; and an order the member cancels.
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-3",
            "member_phone": phone,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": pickup,
            "payment_method": "card",
        },
    )
    oid3 = order["order_id"]
    post(
        "/v1/sim/payments/{payment_id}",
        "admin",
        params={"payment_id": order["payment"]["payment_id"]},
        body={"outcome": "failed"},
    )
    wait(lambda: _payment_failed(j, oid3))
    post(
        "/v1/orders/{order_id}/payments",
        "channel",
        params={"order_id": oid3},
        body={"payment_method": "stored_value"},
    )
    wait(lambda: _status(j, oid3, "dispatched"))
    fid3 = get("/v1/orders/{order_id}", "channel", params={"order_id": oid3})["fulfilments"][0][
        "fulfilment_id"
    ]
    post(
        "/v1/fulfilments/{fulfilment_id}/reject",
        "store",
        params={"fulfilment_id": fid3},
        body={"reason": "the freezer is broken"},
    )
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-4",
            "member_phone": phone,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": pickup,
            "payment_method": "stored_value",
        },
    )
    post(
        "/v1/orders/{order_id}/cancel",
        "channel",
        params={"order_id": order["order_id"]},
        body={"reason": "the member changed her mind"},
    )
    get("/v1/admin/refunds", "admin", query={"status": "succeeded"})

    # A refund the gateway refuses for good (a closed account): operations settle it by hand.
    order = post(
        "/v1/orders",
        "channel",
        body={
            "channel_order_id": f"APP-{run}-5",
            "member_phone": phone,
            "lines": [{"sku": sku, "qty": 1}],
            "fulfilment": pickup,
            "payment_method": "alipay",
        },
    )
    oid5 = order["order_id"]
    post(
        "/v1/sim/payments/{payment_id}",
        "admin",
        params={"payment_id": order["payment"]["payment_id"]},
        body={"outcome": "succeeded"},
    )
    wait(lambda: _status(j, oid5, "dispatched"))
    httpx.put(f"{gateway}/faults", json={"refuse_refunds": True}).raise_for_status()
    try:
        post(
            "/v1/orders/{order_id}/cancel",
            "channel",
            params={"order_id": oid5},
            body={"reason": "ordered twice"},
        )
        failed = wait(
            lambda: [
                r
                for r in get("/v1/admin/refunds", "admin", query={"status": "failed"})["refunds"]
                if r["order_id"] == oid5
            ]
        )
    finally:
        httpx.put(f"{gateway}/faults", json={}).raise_for_status()
    post(
        "/v1/admin/refunds/{refund_id}/close",
        "admin",
        params={"refund_id": failed[0]["refund_id"]},
        body={"reason": "paid back in cash at the service desk"},
    )

    # Channel events: a webhook subscription, the deliveries, the feed.
    hook = {"channel": "app"}
    current = get("/v1/admin/channels/{channel}/webhook", "admin", params=hook)
    put(
        "/v1/admin/channels/{channel}/webhook",
        "admin",
        params={"channel": f"jd-{run.lower()}"},
        body={
            "url": current["url"],
            "secret": "a-secret-of-16-chars-or-more",
            "events": ["order.paid", "fulfilment.ready_for_pickup"],
        },
    )
    delete("/v1/admin/channels/{channel}/webhook", "admin", params={"channel": f"jd-{run.lower()}"})
    deliveries = get("/v1/admin/webhook-deliveries", "admin", query={"channel": "app", "limit": 5})
    post(
        "/v1/admin/webhook-deliveries/{delivery_id}/redeliver",
        "admin",
        params={"delivery_id": deliveries["deliveries"][0]["delivery_id"]},
    )
    get("/v1/events", "channel", query={"limit": 3})

    # Settlement, rules, refunds closed by hand, and the codec.
    from datetime import date

    get("/v1/admin/settlement/{day}", "admin", params={"day": date.today().isoformat()})
    get(
        "/v1/admin/settlement/{day}/statement.csv",
        "admin",
        params={"day": date.today().isoformat()},
    )
    delete(
        "/v1/admin/settlement-rules/{rule_id}",
        "admin",
        params={"rule_id": rule["rule_id"]},
        expect=(204,),
    )
    post("/v1/admin/promotions/{promotion_id}/deactivate", "admin", params={"promotion_id": promo})
    sealed = post(
        "/v1/codec/encode",
        "admin",
        body={
            "payloads": [
                {
                    "metadata": {"encoding": "anNvbi9wbGFpbg=="},
                    "data": "eyJwaG9uZSI6ICIxMzgwMDAwMDAwMSJ9",
                }
            ]
        },
    )
    post("/v1/codec/decode", "admin", body=sealed)


def signed(j: Journey, path: str, secret: str, event: dict[str, Any]) -> Any:
    """A signed callback (the gateway's, a warehouse's, a courier's) as its sender posts it."""
    raw = json.dumps(event).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{j.base_url}{path}",
        content=raw,
        headers={"X-Signature": signature, "content-type": "application/json"},
    )
    operation = j.schema[path]["POST"]
    operation.Case(body=event, media_type="application/json").validate_response(response)
    assert response.status_code == 200, response.text
    j.keep("post", path, event, 200, response.json())
    return response.json()


def _tracked(j: Journey, oid: str) -> bool:
    view = j.call("get", "/v1/orders/{order_id}", "channel", params={"order_id": oid})
    return bool(view["fulfilments"][0]["tracking"])


def _code(j: Journey, oid: str) -> str | None:
    view = j.call("get", "/v1/orders/{order_id}", "channel", params={"order_id": oid})
    return view["fulfilments"][0]["pickup_code"]  # type: ignore[no-any-return]


def _status(j: Journey, oid: str, status: str) -> bool:
    view = j.call("get", "/v1/orders/{order_id}", "channel", params={"order_id": oid})
    return bool(view["fulfilments"]) and view["fulfilments"][0]["status"] == status


def _payment_failed(j: Journey, oid: str) -> bool:
    view = j.call("get", "/v1/orders/{order_id}", "channel", params={"order_id": oid})
    return bool(view["payment"]) and view["payment"]["status"] == "failed"
