"""Members' data and money only for those entitled, pickup codes that cannot be guessed, tokens
that can be listed, revoked and expire, and personal data sealed in Temporal: each tried as a
marketplace integration (or a curious operator) would, through the API on the real stack."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.members import MemberRepository
from adapters.promotions import PromotionRepository
from api.app import create_app
from tests.conftest import uid
from tests.factories import phone
from tests.integration.conftest import HZ_ADDRESS, Stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_cancel_and_refunds import member_with_balance
from tests.integration.test_order_flow import act
from workers.demo import _promotion
from workflows.messages import order_workflow_id

pytestmark = pytest.mark.integration


# --- who sees a member ------------------------------------------------------------------------


async def test_a_marketplace_sees_only_the_id_and_tier_of_members_linked_to_it(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    tmall = await stack.token(role="channel", channel="tmall")
    meituan = await stack.token(role="channel", channel="meituan")
    number = phone()
    member = (
        await stack.http.post(
            "/v1/members", headers=app, json={"phone": number, "name": "Wang", "external_id": uid()}
        )
    ).json()
    assert member["phone"] == number and member["name"] == "Wang"  # the chain's own app
    url = f"/v1/members/{member['member_id']}"
    r = await stack.http.get(url, headers=tmall)
    assert r.status_code == 404  # not linked to tmall: no such member for it
    # registering through tmall links it there, and answers only the id and the tier
    r = await stack.http.post(
        "/v1/members", headers=tmall, json={"phone": number, "name": "W", "external_id": uid()}
    )
    assert r.status_code == 200
    assert r.json() == {"member_id": member["member_id"], "tier": "normal"}
    assert (await stack.http.get(url, headers=tmall)).json() == {
        "member_id": member["member_id"],
        "tier": "normal",
    }
    assert (await stack.http.get(url, headers=meituan)).status_code == 404
    # a phone number is no oracle: another phone in, no name or balance out
    r = await stack.http.post("/v1/members", headers=meituan, json={"phone": phone()})
    assert r.status_code == 201 and set(r.json()) == {"member_id", "tier"}
    # and no member id is made from a phone number
    assert member["member_id"][1:].lower() not in hashlib.sha256(number.encode()).hexdigest()


# --- who spends a member's money ---------------------------------------------------------------


async def test_a_marketplace_cannot_spend_stored_value_points_or_member_coupons(
    stack: Stack,
) -> None:
    app = await stack.token(role="channel", channel="app")
    tmall = await stack.token(role="channel", channel="tmall")
    member = await member_with_balance(stack, app, 50_000)
    members = MemberRepository(stack.engine)
    members.adjust_points(member["member_id"], 800, reason="test")
    loc, sku = await stack.store_with_stock(on_hand=10, price=1000)
    promos = PromotionRepository(stack.engine)
    pid, code = uid("P-"), uid("C-")
    promos.put(pid, _promotion({"kind": "amount_off", "amount": 100, "coupon_required": True}))
    promos.create_coupon(
        {"promotion_id": pid, "code": code, "member_phone": member["phone"], "uses": 1}
    )
    base = {
        "member_phone": member["phone"],
        "lines": [{"sku": sku, "qty": 1}],
        "fulfilment": {"mode": "delivery", "address": HZ_ADDRESS},
        "coupon_codes": [code],
    }
    for over in (
        {"payment_method": "stored_value"},
        {"payment_method": "wechat", "points_to_redeem": 200},
    ):
        body = base | over | {"channel_order_id": uid()}
        r = await stack.http.post("/v1/orders", headers=tmall, json=body)
        assert r.status_code == 403, r.text
        assert_error(r.json(), "not_allowed_for_channel")
        r = await stack.http.post("/v1/quotes", headers=tmall, json=base | over)
        assert r.status_code == 403
    got = members.view(member["member_id"])
    assert (got["stored_value_amount"], got["points"]) == (50_000, 800)
    coupon = {c["code"]: c for c in promos.list_coupons()}[code]
    assert (coupon["held"], coupon["used"]) == (0, 0)
    row = stack.engine  # nothing held at the store either
    from adapters.inventory import InventoryRepository

    stock = InventoryRepository(row).get(loc, sku)
    assert stock is not None and stock.reserved == 0


# --- pickup codes cannot be guessed ------------------------------------------------------------


async def test_five_wrong_pickup_codes_lock_the_part_and_are_in_the_timeline(stack: Stack) -> None:
    pos = await stack.token(role="channel", channel="pos")
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await stack.place(pos, sku, 1, pickup_at=loc)
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    await act(stack, staff, fid, "picked")
    view = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    code = view["fulfilments"][0]["pickup_code"]
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 6)]
    left = []
    for guess in wrong:
        r = await act(stack, staff, fid, "pickup", code=guess)
        assert r.status_code == 409
        assert_error(r.json(), "wrong_pickup_code")
        left.append(r.json()["error"]["details"]["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    r = await act(stack, staff, fid, "pickup", code=code)  # the right code, now refused too
    assert r.status_code == 429
    assert_error(r.json(), "too_many_attempts")
    assert r.json()["error"]["details"]["retry_after_s"] > 800
    got = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=pos)).json()
    assert got["fulfilments"][0]["status"] == "ready_for_pickup"
    wrongs = [t for t in got["timeline"] if t["event"] == "wrong_pickup_code"]
    assert len(wrongs) == 5 and "15 minutes" in wrongs[-1]["detail"]
    assert all(code not in t["detail"] for t in got["timeline"])


# --- tokens ------------------------------------------------------------------------------------


async def test_tokens_are_listed_without_secrets_and_a_revoked_one_is_refused_everywhere(
    stack: Stack, tmp_path: Path
) -> None:
    r = await stack.http.post(
        "/v1/admin/tokens",
        headers=stack.admin,
        json={"role": "channel", "channel": "app", "label": "till 7"},
    )
    issued = r.json()
    token, token_id = issued["token"], issued["token_id"]
    listed = (await stack.http.get("/v1/admin/tokens", headers=stack.admin)).json()["tokens"]
    mine = next(t for t in listed if t["token_id"] == token_id)
    assert mine["label"] == "till 7" and mine["revoked_at"] is None
    assert token not in str(listed)
    # a second API process over the same database, which has seen the token
    other = create_app(stack.settings, stack.engine, lambda: _client(stack.temporal))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://oms2"
    ) as http2:
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http2.get("/v1/orders", headers=headers)).status_code == 200
        r = await stack.http.delete(f"/v1/admin/tokens/{token_id}", headers=stack.admin)
        assert r.status_code == 200 and r.json()["revoked_at"]
        await asyncio.sleep(1.0)
        r = await http2.get("/v1/orders", headers=headers)
        assert r.status_code == 401
        assert_error(r.json(), "unauthorized")
    assert (await stack.http.get("/v1/orders", headers=headers)).status_code == 401
    again = await stack.http.delete(f"/v1/admin/tokens/{token_id}", headers=stack.admin)
    assert again.status_code == 200  # the same as once
    assert (
        await stack.http.delete("/v1/admin/tokens/tok_nope", headers=stack.admin)
    ).status_code == 404


async def _client(client: Client) -> Client:
    return client


async def test_a_token_stops_working_when_it_expires(stack: Stack) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=1)
    r = await stack.http.post(
        "/v1/admin/tokens",
        headers=stack.admin,
        json={"role": "channel", "channel": "app", "expires_at": soon.isoformat()},
    )
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await stack.http.get("/v1/orders", headers=headers)).status_code == 200
    await asyncio.sleep(1.2)
    assert (await stack.http.get("/v1/orders", headers=headers)).status_code == 401
    naive = await stack.http.post(
        "/v1/admin/tokens",
        headers=stack.admin,
        json={"role": "channel", "channel": "app", "expires_at": "2030-01-01T00:00:00"},
    )
    assert naive.status_code == 422


# --- personal data in Temporal ----------------------------------------------------------------


async def test_an_orders_raw_history_holds_no_personal_data_in_the_clear(
    stack: Stack, dev_env: WorkflowEnvironment
) -> None:
    app = await stack.token(role="channel", channel="app")
    pos = await stack.token(role="channel", channel="pos")
    number = phone()
    await stack.http.post(
        "/v1/members", headers=app, json={"phone": number, "name": "Zhang Sanfeng"}
    )
    loc, sku = await stack.store_with_stock(on_hand=10)
    address = HZ_ADDRESS | {
        "line1": "88 Wensan Road",
        "recipient": "Zhang Sanfeng",
        "phone": "13912345678",
    }
    delivery = await stack.place(
        app,
        sku,
        1,
        method="wechat",
        member_phone=number,
        fulfilment={"mode": "delivery", "address": address},
    )
    pickup = await stack.place(pos, sku, 1, pickup_at=loc, member_phone=number)
    staff = await stack.token(role="staff", location_id=loc)
    fid = pickup["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    await act(stack, staff, fid, "picked")
    code = (await stack.http.get(f"/v1/orders/{pickup['order_id']}", headers=pos)).json()[
        "fulfilments"
    ][0]["pickup_code"]
    secrets_ = [number, "Zhang Sanfeng", "88 Wensan Road", "13912345678", code]
    raw = await Client.connect(dev_env.client.service_client.config.target_host)  # no codec
    for order in (delivery, pickup):
        history = await raw.get_workflow_handle(
            order_workflow_id(order["order_id"])
        ).fetch_history()
        text = history.to_json()
        for secret in secrets_:
            assert secret not in text, f"{secret} is readable in {order['order_id']}"
            assert base64.b64encode(secret.encode()).decode()[:8] not in text
    # the same history read through the codec does hold them: the check above can fail
    sealed = await stack.temporal.get_workflow_handle(
        order_workflow_id(delivery["order_id"])
    ).fetch_history()
    decoded = await _decoded_text(stack, sealed)
    assert number in decoded and "88 Wensan Road" in decoded


async def _decoded_text(stack: Stack, history: Any) -> str:
    """The history's payloads, decrypted through the codec endpoint as Temporal UI does."""
    from google.protobuf import json_format

    payloads: list[dict[str, Any]] = []
    for event in history.events:
        attrs = json_format.MessageToDict(event)
        _collect(attrs, payloads)
    r = await stack.http.post("/v1/codec/decode", headers=stack.admin, json={"payloads": payloads})
    assert r.status_code == 200, r.text
    return " ".join(
        base64.b64decode(p.get("data", "")).decode(errors="replace") for p in r.json()["payloads"]
    )


def _collect(node: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if "metadata" in node and "data" in node:
            out.append({"metadata": node["metadata"], "data": node["data"]})
            return
        for v in node.values():
            _collect(v, out)
    elif isinstance(node, list):
        for v in node:
            _collect(v, out)


async def test_the_codec_endpoint_decodes_for_operators_only_and_lets_temporal_ui_call_it(
    stack: Stack,
) -> None:
    pos = await stack.token(role="channel", channel="pos")
    sealed = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(b'"hello"').decode(),
            }
        ]
    }
    r = await stack.http.post("/v1/codec/encode", headers=stack.admin, json=sealed)
    assert r.status_code == 200
    [payload] = r.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    for headers in ({}, pos, {"Authorization": "Bearer wrong"}):
        r = await stack.http.post("/v1/codec/decode", headers=headers, json={"payloads": [payload]})
        assert r.status_code == 401
        assert_error(r.json(), "unauthorized")
    r = await stack.http.post("/v1/codec/decode", headers=stack.admin, json={"payloads": [payload]})
    assert base64.b64decode(r.json()["payloads"][0]["data"]) == b'"hello"'
    ui = stack.settings.ui_origin
    r = await stack.http.options(
        "/v1/codec/decode",
        headers={"Origin": ui, "Access-Control-Request-Method": "POST"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ui
    assert r.headers["access-control-allow-credentials"] == "true"
    r = await stack.http.options("/v1/codec/decode", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers
