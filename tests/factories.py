"""Small factories for test data, with unique ids so tests can share a database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from tests.conftest import uid

HANGZHOU: dict[str, Any] = {
    "province": "Zhejiang",
    "city": "Hangzhou",
    "lat": 30.2741,
    "lng": 120.1551,
}


def location(engine: Engine, *, kind: str = "store", prefix: str = "S-", **over: Any) -> str:
    lid = over.pop("location_id", None) or uid(prefix)
    data = {
        "kind": kind,
        "name": f"test {lid}",
        **HANGZHOU,
        "ships": True,
        "pickup": True,
        "franchise": False,
        "daily_quota": None,
        "credit_score": 100,
        "priority": 10,
        "shipping_cost_amount": 500,
    } | over
    CatalogRepository(engine).put_location(lid, data)
    return lid


def sku(
    engine: Engine,
    *,
    price: int = 1000,
    category: str = "dairy",
    goods_class: str = "B",
    **over: Any,
) -> str:
    code = over.pop("sku", None) or uid("SKU-")
    CatalogRepository(engine).put_sku(
        code,
        {
            "name": f"test {code}",
            "category": category,
            "price_amount": price,
            "goods_class": goods_class,
        }
        | over,
    )
    return code


def stock(engine: Engine, location_id: str, sku_code: str, on_hand: int, safety: int = 0) -> None:
    InventoryRepository(engine).set_counted(
        location_id, sku_code, on_hand=on_hand, safety_stock=safety
    )


def phone() -> str:
    """A unique mainland mobile number."""
    return "137" + str(int(uid(), 16) % 10**8).rjust(8, "0")


def order_row(
    engine: Engine, *, channel: str, payable_amount: int, refunded: list[int] | None = None
) -> str:
    """A completed order in the read model only (for ledgers that key on an order), paid by cash
    and with these refunds, so that it reconciles once settled for what is left."""
    from adapters.db import session_scope
    from adapters.tables import Order, Payment, Refund

    oid = uid("O-")
    with session_scope(engine) as s:
        s.add(
            Order(
                order_id=oid,
                channel=channel,
                channel_order_id=oid,
                status="completed",
                mode="delivery",
                payment_method="cash",
                payable_amount=payable_amount,
            )
        )
        s.flush()
        s.add(
            Payment(
                payment_id=f"{oid}-P",
                order_id=oid,
                method="cash",
                amount=payable_amount,
                status="succeeded",
            )
        )
        for i, amount in enumerate(refunded or []):
            s.add(Refund(refund_id=f"{oid}-R{i}", order_id=oid, amount=amount, status="succeeded"))
    return oid
