"""An uncollected pickup through the real API, with a short expiry: refunded, goods back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from adapters.inventory import InventoryRepository
from tests.integration.conftest import Stack, running_stack
from tests.integration.test_cancel_and_refunds import wait_refunds
from tests.integration.test_order_flow import act, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def quick(
    sqlite_engine: Engine, dev_env: WorkflowEnvironment, gateway_url: str, tmp_path_factory: Any
) -> AsyncIterator[Stack]:
    async with running_stack(
        sqlite_engine,
        dev_env.client,
        gateway_url,
        tmp_path_factory.mktemp("quick"),
        pickup_expiry_s=2,
    ) as s:
        yield s


async def test_an_uncollected_pickup_expires_is_refunded_and_its_goods_return(
    quick: Stack,
) -> None:
    pos = await quick.token(role="channel", channel="pos")
    loc, sku = await quick.store_with_stock(on_hand=6, price=700)
    o = await quick.place(pos, sku, 2, pickup_at=loc)
    staff = await quick.token(role="staff", location_id=loc)
    fid = o["fulfilments"][0]["fulfilment_id"]
    await act(quick, staff, fid, "accept")
    await act(quick, staff, fid, "picked")
    final = await wait_for_status(quick, pos, o["order_id"], "cancelled")
    assert final["fulfilments"][0]["status"] == "expired"
    refunds = await wait_refunds(quick, pos, o["order_id"])
    assert [x["amount"] for x in refunds] == [1400]
    row = InventoryRepository(quick.engine).get(loc, sku)
    assert row is not None and (row.on_hand, row.reserved) == (6, 0)
    late = await act(quick, staff, fid, "pickup", code="123456")
    assert late.status_code == 409
