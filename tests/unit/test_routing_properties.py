"""Properties of routing under hypothesis: plans never use stock that is not there, never split
when one location could serve everything, and cover each line exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InsufficientStock
from domain.orders import Address, LineRequest
from domain.routing import RoutingInput, Site, plan_fulfilments

pytestmark = pytest.mark.unit
SKUS = ["A", "B", "C", "D", "E"]
LOCS = [f"L{i}" for i in range(8)]


@st.composite
def inputs(draw: st.DrawFn) -> RoutingInput:
    sites = [
        Site(
            loc,
            draw(st.sampled_from(["store", "central_warehouse"])),
            "Zhejiang",
            draw(st.sampled_from(["Hangzhou", "Ningbo"])),
            draw(st.floats(29, 31)),
            draw(st.floats(119, 122)),
            ships=draw(st.booleans()),
            priority=draw(st.integers(0, 2)),
            credit_score=draw(st.integers(40, 100)),
            quota_left=draw(st.sampled_from([None, 0, 1])),
        )
        for loc in LOCS
    ]
    available = {(loc, sku): draw(st.integers(0, 6)) for loc in LOCS for sku in SKUS}
    lines = [
        LineRequest(sku, draw(st.integers(1, 8)))
        for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=5, unique=True))
    ]
    goods = {sku: draw(st.sampled_from("AB")) for sku in SKUS}
    return RoutingInput(
        lines,
        "delivery",
        Address("Zhejiang", "Hangzhou", 30.27, 120.15),
        None,
        sites,
        available,
        goods,
    )


def eligible(inp: RoutingInput) -> list[Site]:
    return [
        s
        for s in inp.sites
        if s.ships and s.credit_score >= 60 and (s.quota_left is None or s.quota_left > 0)
    ]


@settings(max_examples=400, deadline=None)
@given(inputs())
def test_plans_are_feasible_exact_and_split_only_when_they_must(inp: RoutingInput) -> None:
    ok = eligible(inp)
    try:
        parts = plan_fulfilments(inp, id_prefix="O-F")
    except InsufficientStock as err:
        for sku in err.details["skus"]:
            wanted = next(ln.qty for ln in inp.lines if ln.sku == sku)
            assert sum(inp.available[(s.location_id, sku)] for s in ok) < wanted
        return
    ids = {s.location_id for s in ok}
    covered: dict[str, int] = {}
    for part in parts:
        assert part.location_id in ids
        for ln in part.lines:
            assert ln.qty > 0 and inp.available[(part.location_id, ln.sku)] >= ln.qty
            covered[ln.sku] = covered.get(ln.sku, 0) + ln.qty
    assert covered == {ln.sku: ln.qty for ln in inp.lines}
    assert len({p.location_id for p in parts}) == len(parts)
    one_can = any(
        all(inp.available[(s.location_id, ln.sku)] >= ln.qty for ln in inp.lines) for s in ok
    )
    assert (len(parts) == 1) if one_can else (len(parts) >= 2)
