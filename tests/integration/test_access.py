"""Scoped access: marketplaces read only their own orders, tokens are rate limited, and a
wrong-scope token changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from tests.integration.conftest import Stack, running_stack
from tests.integration.test_api_foundation import assert_error
from tests.integration.test_cancel_and_refunds import member_with_balance

pytestmark = pytest.mark.integration


async def test_a_marketplace_sees_only_its_own_orders_of_a_member(stack: Stack) -> None:
    app = await stack.token(role="channel", channel="app")
    jd = await stack.token(role="channel", channel="jd")
    tmall = await stack.token(role="channel", channel="tmall")
    member = await member_with_balance(stack, app, 100_000)
    loc, sku = await stack.store_with_stock(on_hand=10, price=100)
    mine = await stack.place(jd, sku, 1, method="wechat", member_phone=member["phone"])
    await stack.place(app, sku, 1, method="stored_value", member_phone=member["phone"])
    url = f"/v1/members/{member['member_id']}/orders"
    seen_by_app = (await stack.http.get(url, headers=app)).json()["orders"]
    seen_by_jd = (await stack.http.get(url, headers=jd)).json()["orders"]
    seen_by_tmall = (await stack.http.get(url, headers=tmall)).json()["orders"]
    assert {o["channel"] for o in seen_by_app} == {"app", "jd"}
    assert [o["order_id"] for o in seen_by_jd] == [mine["order_id"]]
    assert seen_by_tmall == []
    r = await stack.http.get(f"/v1/orders/{mine['order_id']}", headers=tmall)
    assert r.status_code == 404
    r = await stack.http.post(f"/v1/orders/{mine['order_id']}/cancel", headers=tmall, json={})
    assert r.status_code == 404
    got = (await stack.http.get(f"/v1/orders/{mine['order_id']}", headers=jd)).json()
    assert got["status"] == "awaiting_payment"  # untouched by the refused cancel


async def test_a_token_over_its_rate_is_answered_429_until_it_slows_down(
    sqlite_engine: Engine,
    dev_env: WorkflowEnvironment,
    gateway_url: str,
    tmp_path: Path,
) -> None:
    async with running_stack(
        sqlite_engine, dev_env.client, gateway_url, tmp_path, rate_limit_per_minute=60
    ) as s:
        app = await s.token(role="channel", channel="app")
        other = await s.token(role="channel", channel="app")
        codes = [(await s.http.get("/v1/orders", headers=app)).status_code for _ in range(15)]
        assert codes[:10] == [200] * 10  # a burst of 10 for 60 a minute
        assert 429 in codes[10:]
        r = await s.http.get("/v1/orders", headers=app)
        assert r.status_code == 429
        assert_error(r.json(), "rate_limited")
        assert r.json()["error"]["details"]["retry_after_s"] > 0
        # another token has its own budget
        assert (await s.http.get("/v1/orders", headers=other)).status_code == 200
