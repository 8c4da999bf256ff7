"""Worked routing examples: which locations serve an order, and why."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InsufficientStock
from domain.orders import Address, LineRequest
from domain.routing import ChannelRule, RoutingInput, Site, plan_fulfilments

pytestmark = pytest.mark.unit
HZ = Address("Zhejiang", "Hangzhou", 30.2741, 120.1551)
CITY = {
    "Hangzhou": ("Zhejiang", 30.2741, 120.1551),
    "Hangzhou-far": ("Zhejiang", 30.40, 120.30),
    "Ningbo": ("Zhejiang", 29.8683, 121.5440),
    "Suzhou": ("Jiangsu", 31.2990, 120.5853),
}


def site(lid: str, city: str = "Hangzhou", kind: str = "store", **kw: Any) -> Site:
    prov, lat, lng = CITY[city]
    return Site(lid, kind, prov, city.split("-")[0], lat, lng, **({"pickup": True} | kw))


def plan(
    sites: list[Site], stock: dict[str, dict[str, int]], lines: dict[str, int], **kw: Any
) -> list[tuple[str, dict[str, int]]]:
    available = {(loc, sku): q for loc, skus in stock.items() for sku, q in skus.items()}
    inp = RoutingInput(
        lines=[LineRequest(s, q) for s, q in lines.items()],
        mode=kw.pop("mode", "delivery"),
        address=kw.pop("address", HZ),
        pickup_location_id=kw.pop("pickup", None),
        sites=sites,
        available=available,
        goods_class=kw.pop("goods_class", {}),
        **kw,
    )
    return [
        (p.location_id, {ln.sku: ln.qty for ln in p.lines})
        for p in plan_fulfilments(inp, id_prefix="O-F")
    ]


def test_a_complete_location_is_preferred_over_nearer_partial_ones() -> None:
    sites = [site("NEAR"), site("FAR", "Ningbo")]
    got = plan(sites, {"NEAR": {"A": 5}, "FAR": {"A": 5, "B": 5}}, {"A": 1, "B": 1})
    assert got == [("FAR", {"A": 1, "B": 1})]


def test_among_complete_locations_the_lower_priority_wins() -> None:
    sites = [site("P20", priority=20), site("P10", "Ningbo", priority=10)]
    assert plan(sites, {"P20": {"A": 1}, "P10": {"A": 1}}, {"A": 1})[0][0] == "P10"


def test_same_city_comes_before_same_province_before_the_rest() -> None:
    sites = [site("SZ", "Suzhou"), site("NB", "Ningbo"), site("HZ", "Hangzhou-far")]
    stock = {s.location_id: {"A": 1} for s in sites}
    assert plan(sites, stock, {"A": 1})[0][0] == "HZ"
    assert plan(sites[:2], stock, {"A": 1})[0][0] == "NB"


def test_within_a_region_the_cheaper_shipping_wins() -> None:
    sites = [
        site("DEAR", shipping_cost_amount=800),
        site("CHEAP", "Hangzhou-far", shipping_cost_amount=300),
    ]
    assert plan(sites, {"DEAR": {"A": 1}, "CHEAP": {"A": 1}}, {"A": 1})[0][0] == "CHEAP"


def test_at_equal_cost_the_nearer_location_wins() -> None:
    sites = [site("FAR", "Hangzhou-far"), site("NEAR")]
    assert plan(sites, {"FAR": {"A": 1}, "NEAR": {"A": 1}}, {"A": 1})[0][0] == "NEAR"


def test_at_equal_distance_the_location_with_more_stock_wins() -> None:
    sites = [site("LOW"), site("HIGH")]
    assert plan(sites, {"LOW": {"A": 2}, "HIGH": {"A": 9}}, {"A": 1})[0][0] == "HIGH"


def test_a_goods_are_served_from_a_warehouse_before_a_nearer_store() -> None:
    sites = [site("STORE"), site("WH", "Suzhou", kind="central_warehouse", priority=50)]
    got = plan(sites, {"STORE": {"A": 9}, "WH": {"A": 9}}, {"A": 1}, goods_class={"A": "A"})
    assert got[0][0] == "WH"


def test_a_goods_go_to_a_store_when_no_warehouse_qualifies() -> None:
    sites = [site("STORE"), site("WH", "Suzhou", kind="central_warehouse")]
    got = plan(sites, {"STORE": {"A": 9}, "WH": {"A": 0}}, {"A": 1}, goods_class={"A": "A"})
    assert got[0][0] == "STORE"


def test_b_goods_take_no_warehouse_preference() -> None:
    sites = [site("WH", "Suzhou", kind="regional_warehouse"), site("STORE")]
    assert plan(sites, {"STORE": {"A": 9}, "WH": {"A": 9}}, {"A": 1})[0][0] == "STORE"


def test_an_order_with_a_and_b_goods_still_goes_to_one_complete_location() -> None:
    sites = [site("WH", "Suzhou", kind="central_warehouse"), site("STORE")]
    got = plan(
        sites, {"WH": {"A": 9}, "STORE": {"A": 9, "B": 9}}, {"A": 1, "B": 1}, goods_class={"A": "A"}
    )
    assert got == [("STORE", {"A": 1, "B": 1})]


def test_locations_that_do_not_ship_never_serve_deliveries() -> None:
    sites = [site("NOSHIP", ships=False), site("SHIPS", "Ningbo")]
    assert plan(sites, {"NOSHIP": {"A": 9}, "SHIPS": {"A": 9}}, {"A": 1})[0][0] == "SHIPS"


def test_a_pickup_goes_to_the_chosen_location_only() -> None:
    sites = [site("MINE", "Ningbo"), site("NEARER")]
    got = plan(
        sites,
        {"MINE": {"A": 1}, "NEARER": {"A": 9}},
        {"A": 1},
        mode="pickup",
        pickup="MINE",
        address=None,
    )
    assert got == [("MINE", {"A": 1})]


def test_a_pickup_location_short_of_stock_refuses_naming_the_skus() -> None:
    with pytest.raises(InsufficientStock) as err:
        plan(
            [site("MINE"), site("OTHER")],
            {"MINE": {"A": 1, "B": 0}, "OTHER": {"B": 9}},
            {"A": 1, "B": 1},
            mode="pickup",
            pickup="MINE",
            address=None,
        )
    assert err.value.details == {"skus": ["B"], "field": "lines"}


def test_a_location_without_pickup_cannot_be_chosen_for_pickup() -> None:
    with pytest.raises(InsufficientStock):
        plan(
            [site("NOPICK", pickup=False)],
            {"NOPICK": {"A": 9}},
            {"A": 1},
            mode="pickup",
            pickup="NOPICK",
            address=None,
        )


def test_a_franchise_whose_daily_quota_is_used_up_gets_nothing() -> None:
    sites = [site("FULL", quota_left=0), site("FREE", "Ningbo", quota_left=3)]
    assert plan(sites, {"FULL": {"A": 9}, "FREE": {"A": 9}}, {"A": 1})[0][0] == "FREE"


def test_a_store_below_the_credit_floor_gets_nothing_and_one_at_it_does() -> None:
    sites = [site("LOW", credit_score=59), site("AT", "Ningbo", credit_score=60)]
    assert plan(sites, {"LOW": {"A": 9}, "AT": {"A": 9}}, {"A": 1})[0][0] == "AT"


def test_locations_that_rejected_the_part_are_not_used_again() -> None:
    sites = [site("REJECTED"), site("NEXT", "Ningbo")]
    got = plan(
        sites, {"REJECTED": {"A": 9}, "NEXT": {"A": 9}}, {"A": 1}, excluded=frozenset({"REJECTED"})
    )
    assert got[0][0] == "NEXT"


def test_without_a_complete_location_the_order_is_split() -> None:
    sites = [site("X"), site("Y", "Ningbo")]
    got = plan(sites, {"X": {"A": 5}, "Y": {"B": 5}}, {"A": 1, "B": 1})
    assert sorted(got) == [("X", {"A": 1}), ("Y", {"B": 1})]


def test_a_split_uses_as_few_parts_as_stock_allows() -> None:
    # Greedy by lines would take BIG (3 lines) then need two more; the pair P1+P2 covers all.
    sites = [site("BIG"), site("P1", "Ningbo"), site("P2", "Suzhou"), site("S1"), site("S2")]
    stock = {
        "BIG": {"A": 1, "B": 1, "C": 1},
        "P1": {"A": 1, "B": 1, "D": 1},
        "P2": {"C": 1, "E": 1},
        "S1": {"D": 1},
        "S2": {"E": 1},
    }
    got = plan(sites, stock, {"A": 1, "B": 1, "C": 1, "D": 1, "E": 1})
    assert len(got) == 2


def test_one_line_may_be_shared_by_two_locations() -> None:
    sites = [site("X"), site("Y", "Ningbo")]
    got = plan(sites, {"X": {"A": 3}, "Y": {"A": 4}}, {"A": 6})
    assert sum(q["A"] for _, q in got) == 6 and len(got) == 2


def test_not_enough_stock_anywhere_names_the_skus() -> None:
    with pytest.raises(InsufficientStock) as err:
        plan(
            [site("X"), site("Y", "Ningbo")],
            {"X": {"A": 3, "B": 9}, "Y": {"A": 2}},
            {"A": 6, "B": 1},
        )
    assert err.value.details == {"skus": ["A"], "field": "lines"}


def test_a_channel_served_by_warehouses_only_ignores_stores() -> None:
    sites = [site("STORE"), site("WH", "Suzhou", kind="central_warehouse")]
    got = plan(
        sites,
        {"STORE": {"A": 9}, "WH": {"A": 9}},
        {"A": 1},
        channel_rule=ChannelRule(kinds=frozenset({"central_warehouse"})),
    )
    assert got[0][0] == "WH"


def test_a_delivery_platform_is_served_only_within_its_radius() -> None:
    sites = [site("NEAR"), site("FAR", "Ningbo", priority=1)]
    got = plan(
        sites,
        {"NEAR": {"A": 9}, "FAR": {"A": 9}},
        {"A": 1},
        channel_rule=ChannelRule(radius_km=5.0),
    )
    assert got[0][0] == "NEAR"


def test_every_part_says_why_it_was_chosen_and_what_was_dropped() -> None:
    sites = [site("LOW", credit_score=10), site("PARTIAL"), site("CHOSEN", "Ningbo")]
    available = {
        ("PARTIAL", "A"): 9,
        ("CHOSEN", "A"): 9,
        ("CHOSEN", "B"): 9,
        ("LOW", "A"): 9,
        ("LOW", "B"): 9,
    }
    inp = RoutingInput(
        [LineRequest("A", 1), LineRequest("B", 1)], "delivery", HZ, None, sites, available, {}
    )
    reasons = plan_fulfilments(inp, id_prefix="O-F")[0].reasons
    assert reasons[0].startswith("complete: serves every line")
    assert any(r.startswith("PARTIAL: preferred but short of B") for r in reasons)
    assert any(r.startswith("LOW: credit score 10 below 60") for r in reasons)
