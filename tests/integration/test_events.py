"""Channel events on the real stack, received by the simulated channels' receiver: in order per
order, signed, retried after downtime, given up and redelivered, never another channel's, and a
store's SKU sold out (and back) within seconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.conftest import uid
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_order_flow import act, wait_for_status

pytestmark = pytest.mark.integration
SECRET = "channel-secret-0123456789"


async def subscribe(
    stack: Stack, sim: str, channel: str, *, events: list[str] | None = None
) -> None:
    httpx.put(f"{sim}/channels/{channel}", json={"secret": SECRET}).raise_for_status()
    r = await stack.http.put(
        f"/v1/admin/channels/{channel}/webhook",
        headers=stack.admin,
        json={"url": f"{sim}/hooks/{channel}", "secret": SECRET, "events": events or ["*"]},
    )
    assert r.status_code == 200, r.text


def received(sim: str, **query: str) -> list[dict[str, Any]]:
    return httpx.get(f"{sim}/events", params=query).json()["events"]  # type: ignore[no-any-return]


async def wait_received(
    sim: str, check: Any, what: str, timeout: float = 15, **query: str
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        got = received(sim, **query)
        if check(got):
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: received {[(e['type'], e.get('order_id')) for e in got]}")


def faults(sim: str, **kw: Any) -> None:
    httpx.put(f"{sim}/faults", json=kw).raise_for_status()


async def channel_token(stack: Stack, channel: str) -> dict[str, str]:
    return await stack.token(role="channel", channel=channel)


async def picked_up(stack: Stack, headers: dict[str, str], loc: str, sku: str) -> dict[str, Any]:
    """A cash-less pickup order of the channel (paid at once from stored value is for the
    chain's own channels: this one pays through the gateway), taken to its hand-over."""
    order = await stack.place(headers, sku, 1, pickup_at=loc, method="wechat")
    await stack.http.post(
        f"/v1/sim/payments/{order['payment']['payment_id']}",
        headers=stack.admin,
        json={"outcome": "succeeded"},
    )
    await wait_for_status(stack, headers, order["order_id"], "fulfilling")
    staff = await stack.token(role="staff", location_id=loc)
    fid = order["fulfilments"][0]["fulfilment_id"]
    await act(stack, staff, fid, "accept")
    await act(stack, staff, fid, "picked")
    view = (await stack.http.get(f"/v1/orders/{order['order_id']}", headers=headers)).json()
    await act(stack, staff, fid, "pickup", code=view["fulfilments"][0]["pickup_code"])
    return await wait_for_status(stack, headers, order["order_id"], "completed")


LIFECYCLE = [
    "order.created",
    "order.paid",
    "fulfilment.dispatched",
    "fulfilment.accepted",
    "fulfilment.picked",
    "fulfilment.ready_for_pickup",
    "fulfilment.picked_up",
    "order.completed",
]


async def test_a_channel_hears_each_step_of_its_order_in_order_and_signed(
    stack: Stack, channel_sim_url: str
) -> None:
    channel = uid("shop-")
    await subscribe(stack, channel_sim_url, channel)
    headers = await channel_token(stack, channel)
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await picked_up(stack, headers, loc, sku)
    got = await wait_received(
        channel_sim_url,
        lambda es: "order.completed" in [e["type"] for e in es],
        "the order's events",
        order_id=order["order_id"],
    )
    assert [e["type"] for e in got] == LIFECYCLE
    assert all(e["channel"] == channel for e in got)
    # each event shows the order as it was just after the change it reports
    statuses = {e["type"]: e["data"]["status"] for e in got}
    assert statuses["order.created"] == "awaiting_payment"
    assert statuses["order.completed"] == "completed"
    ready = next(e for e in got if e["type"] == "fulfilment.ready_for_pickup")
    assert ready["data"]["fulfilments"][0]["pickup_code"]  # the member's app shows it
    # the feed has the same events, for channels that poll
    r = await stack.http.get("/v1/events", headers=headers)
    feed = [e for e in r.json()["events"] if e["order_id"] == order["order_id"]]
    assert [e["event_id"] for e in feed] == [e["event_id"] for e in got]
    later = await stack.http.get(f"/v1/events?after={feed[2]['event_id']}", headers=headers)
    assert [
        e["type"] for e in later.json()["events"] if e["order_id"] == order["order_id"]
    ] == LIFECYCLE[3:]


async def test_a_channel_never_hears_of_another_channels_orders(
    stack: Stack, channel_sim_url: str
) -> None:
    mine, theirs = uid("shop-"), uid("shop-")
    await subscribe(stack, channel_sim_url, mine)
    await subscribe(stack, channel_sim_url, theirs)
    loc, sku = await stack.store_with_stock(on_hand=10)
    other = await stack.place(
        await channel_token(stack, theirs), sku, 1, pickup_at=loc, method="wechat"
    )
    await wait_received(channel_sim_url, bool, "their order", order_id=other["order_id"])
    assert all(e["hook"] == theirs for e in received(channel_sim_url, order_id=other["order_id"]))
    assert not [e for e in received(channel_sim_url, channel=mine) if e.get("order_id")]
    feed = (await stack.http.get("/v1/events", headers=await channel_token(stack, mine))).json()
    assert not [e for e in feed["events"] if e["order_id"] == other["order_id"]]


async def test_a_receiver_down_for_a_while_gets_every_event_afterwards_in_order(
    stack: Stack, channel_sim_url: str
) -> None:
    channel = uid("shop-")
    await subscribe(stack, channel_sim_url, channel)
    headers = await channel_token(stack, channel)
    loc, sku = await stack.store_with_stock(on_hand=10)
    faults(channel_sim_url, fail=True)
    try:
        order = await picked_up(stack, headers, loc, sku)  # nothing waits for the receiver
        pending: list[dict[str, Any]] = []
        for _ in range(100):
            pending = (
                await stack.http.get(
                    f"/v1/admin/webhook-deliveries?status=pending&channel={channel}",
                    headers=stack.admin,
                )
            ).json()["deliveries"]
            if pending and pending[0]["attempts"]:
                break
            await asyncio.sleep(0.1)
        assert pending[0]["attempts"] >= 1 and pending[0]["last_error"] == "HTTP 503"
        assert all(p["attempts"] == 0 for p in pending[1:])  # the order's later events wait
    finally:
        faults(channel_sim_url)
    got = await wait_received(
        channel_sim_url,
        lambda es: len(es) == len(LIFECYCLE),
        "every event after the downtime",
        timeout=30,
        order_id=order["order_id"],
    )
    assert [e["type"] for e in got] == LIFECYCLE


async def test_a_bad_signature_is_refused_by_the_receiver_and_the_event_is_retried(
    stack: Stack, channel_sim_url: str
) -> None:
    channel = uid("shop-")
    await subscribe(stack, channel_sim_url, channel)
    httpx.put(f"{channel_sim_url}/channels/{channel}", json={"secret": "not-the-secret"})
    refused_before = httpx.get(f"{channel_sim_url}/events").json()["refused"]
    loc, sku = await stack.store_with_stock(on_hand=10)
    order = await stack.place(
        await channel_token(stack, channel), sku, 1, pickup_at=loc, method="wechat"
    )
    for _ in range(100):
        if httpx.get(f"{channel_sim_url}/events").json()["refused"] > refused_before:
            break
        await asyncio.sleep(0.1)
    assert received(channel_sim_url, order_id=order["order_id"]) == []
    httpx.put(f"{channel_sim_url}/channels/{channel}", json={"secret": SECRET})
    await wait_received(
        channel_sim_url,
        bool,
        "the event once the secrets agree",
        timeout=30,
        order_id=order["order_id"],
    )


async def test_a_webhook_url_must_be_public_https_in_production(stack: Stack) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "secret": SECRET}
    stack.settings.env = "production"
    try:
        r = await stack.http.put("/v1/admin/channels/app/webhook", headers=stack.admin, json=body)
        assert r.status_code == 422
        assert_error(r.json(), "invalid_webhook_url")
        body["url"] = "https://127.0.0.1/hook"
        r = await stack.http.put("/v1/admin/channels/app/webhook", headers=stack.admin, json=body)
        assert r.status_code == 422 and "private" in r.json()["error"]["message"]
    finally:
        stack.settings.env = "dev"
    r = await stack.http.put(
        "/v1/admin/channels/x/webhook", headers=stack.admin, json=body | {"events": ["order.nope"]}
    )
    assert r.status_code == 422


# --- sold out -----------------------------------------------------------------------------------


async def test_a_sku_sells_out_within_5_s_under_50_concurrent_orders_and_comes_back(
    stack: Stack, channel_sim_url: str
) -> None:
    channel = uid("shop-")
    await subscribe(stack, channel_sim_url, channel)
    headers = await channel_token(stack, channel)
    loc, sku = await stack.store_with_stock(on_hand=10)

    async def one(i: int) -> int:
        r = await stack.http.post(
            "/v1/orders",
            headers=headers,
            json={
                "channel_order_id": uid(),
                "payment_method": "wechat",
                "lines": [{"sku": sku, "qty": 1}],
                "fulfilment": {"mode": "pickup", "location_id": loc},
            },
        )
        return r.status_code

    codes = await asyncio.gather(*(one(i) for i in range(50)))
    last_sale = time.monotonic()
    assert codes.count(201) == 10 and codes.count(409) == 40
    got = await wait_received(
        channel_sim_url,
        lambda es: any(e["data"]["sku"] == sku for e in es),
        "sold out",
        timeout=5,
        channel=channel,
        type="stock.sold_out",
    )
    assert time.monotonic() - last_sale < 5
    [event] = [e for e in got if e["data"]["sku"] == sku]
    assert event["data"] == {"location_id": loc, "sku": sku, "available": 0, "sold_out": True}
    stock = (await stack.http.get(f"/v1/stock/{sku}?location_id={loc}", headers=headers)).json()
    assert stock["sold_out"] is True and stock["available"] == 0  # the stock view agrees
    # a count puts it back on sale: one event, whatever the burst of changes before it
    await stack.http.put(f"/v1/admin/stock/{loc}/{sku}", headers=stack.admin, json={"on_hand": 12})
    back = await wait_received(
        channel_sim_url,
        lambda es: any(e["data"]["sku"] == sku for e in es),
        "back in stock",
        timeout=5,
        channel=channel,
        type="stock.back_in_stock",
    )
    assert [e["data"]["available"] for e in back if e["data"]["sku"] == sku] == [2]
    sold = [
        e
        for e in received(channel_sim_url, channel=channel, type="stock.sold_out")
        if e["data"]["sku"] == sku
    ]
    assert len(sold) == 1  # coalesced: one sold-out for the whole burst


# --- give up, then redeliver --------------------------------------------------------------------


@pytest.fixture
async def impatient(
    sqlite_engine: Engine, dev_env: WorkflowEnvironment, gateway_url: str, tmp_path: Any
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path,
        webhook_retry_max_s=1,
        webhook_give_up_s=2,
    ) as s:
        yield s


async def test_an_event_given_up_is_failed_until_redelivered(
    impatient: Stack, channel_sim_url: str
) -> None:
    stack = impatient
    channel = uid("shop-")
    await subscribe(stack, channel_sim_url, channel)
    loc, sku = await stack.store_with_stock(on_hand=10)
    faults(channel_sim_url, fail=True)
    try:
        order = await stack.place(
            await channel_token(stack, channel), sku, 1, pickup_at=loc, method="wechat"
        )
        failed: list[dict[str, Any]] = []
        for _ in range(300):  # given up after 2 s; slow machines take longer
            failed = (
                await stack.http.get(
                    f"/v1/admin/webhook-deliveries?status=failed&channel={channel}",
                    headers=stack.admin,
                )
            ).json()["deliveries"]
            if failed:
                break
            await asyncio.sleep(0.1)
        assert failed and failed[0]["type"] == "order.created" and failed[0]["attempts"] >= 2
    finally:
        faults(channel_sim_url)
    await asyncio.sleep(1)
    assert received(channel_sim_url, order_id=order["order_id"]) == []  # the order's stream waits
    r = await stack.http.post(
        f"/v1/admin/webhook-deliveries/{failed[0]['delivery_id']}/redeliver", headers=stack.admin
    )
    assert r.status_code == 200 and r.json()["status"] == "pending"
    got = await wait_received(channel_sim_url, bool, "redelivered", order_id=order["order_id"])
    assert got[0]["type"] == "order.created"
