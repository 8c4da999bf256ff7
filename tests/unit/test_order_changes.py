"""An order changed after it was placed: its new plan set against the parts it has (kept,
dropped, added), stock re-reserved without ever holding less than either plan needs, and the
money after any sequence of edits, then refunds, adding up to the fen."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.changes import replan
from domain.orders import LineRequest, PlannedPart
from domain.pricing import CatalogItem, PricingContext, Rule, Scope, price
from domain.refunds import RefundLedger

pytestmark = pytest.mark.unit


def part(fid: str, loc: str, **qty: int) -> PlannedPart:
    return PlannedPart(fid, loc, "delivery", [LineRequest(s, q) for s, q in qty.items()])


def test_a_location_that_still_serves_keeps_its_part_with_new_lines() -> None:
    old = [part("O-F-1", "S1", MILK=2, TEA=1), part("O-F-2", "S2", RICE=1)]
    new = [part("O-E1-1", "S1", MILK=3, CUPS=1), part("O-E1-2", "S3", RICE=1)]
    r = replan(old, new)
    assert [p.fulfilment_id for p in r.parts] == ["O-F-1", "O-E1-2"]
    assert (r.kept, r.dropped, r.added) == (["O-F-1"], ["O-F-2"], ["O-E1-2"])
    assert [(h.fulfilment_id, h.sku, h.qty, h.first) for h in r.increases] == [
        ("O-F-1", "CUPS", 1, True),
        ("O-F-1", "MILK", 1, False),
        ("O-E1-2", "RICE", 1, True),
    ]
    assert [(h.sku, h.qty) for h in r.decreases] == [("TEA", 1)]
    assert r.changed(old)
    assert not replan(old, [part("X", "S1", MILK=2, TEA=1), part("Y", "S2", RICE=1)]).changed(old)


SKUS = ["A", "B", "C"]
LOCS = ["S1", "S2", "S3"]
plans = st.lists(
    st.tuples(st.sampled_from(LOCS), st.dictionaries(st.sampled_from(SKUS), st.integers(1, 5))),
    max_size=3,
    unique_by=lambda t: t[0],
)


@given(before=plans, after=plans)
def test_stock_moves_from_the_old_plan_to_the_new_never_holding_less(
    before: list[tuple[str, dict[str, int]]], after: list[tuple[str, dict[str, int]]]
) -> None:
    old = [part(f"O-F-{i}", loc, **q) for i, (loc, q) in enumerate(before) if q]
    new = [part(f"O-E1-{i}", loc, **q) for i, (loc, q) in enumerate(after) if q]
    r = replan(old, new)
    held: dict[tuple[str, str], int] = {}  # what each part holds of each SKU
    for p in old:
        for ln in p.lines:
            held[(p.fulfilment_id, ln.sku)] = ln.qty
    start = dict(held)
    for h in r.increases:  # first: every increase held
        held[(h.fulfilment_id, h.sku)] = held.get((h.fulfilment_id, h.sku), 0) + h.qty
    wanted = {(p.fulfilment_id, ln.sku): ln.qty for p in r.parts for ln in p.lines}
    for key in held.keys() | wanted.keys():  # in between: at least what either plan needs
        assert held.get(key, 0) >= max(start.get(key, 0), wanted.get(key, 0)) or (
            key[0] in r.dropped
        )
    for h in r.decreases:  # then, once the change stands, what is no longer owed let go
        held[(h.fulfilment_id, h.sku)] -= h.qty
    for p in old:  # a dropped part's own release (its cancel) lets go of the rest
        if p.fulfilment_id in r.dropped:
            for ln in p.lines:
                held[(p.fulfilment_id, ln.sku)] -= ln.qty
    assert {k: v for k, v in held.items() if v} == wanted


ITEMS = {s: CatalogItem(s, price, "food") for s, price in zip(SKUS, (1290, 3980, 650), strict=True)}
RULES = [
    Rule("TEN", "percent_off", Scope(skus=frozenset({"B"})), percent=10),
    Rule("T", "threshold_amount_off", amount=500, threshold_amount=5000),
]
edits = st.lists(st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6), min_size=1), min_size=1)


@given(versions=edits, points=st.integers(0, 3000), returns=st.lists(st.integers(0, 6)))
def test_after_any_edits_then_refunds_the_money_adds_up(
    versions: list[dict[str, int]], points: int, returns: list[int]
) -> None:
    """Each edit collects or refunds the difference; refunds afterwards are shares of the
    last price. What the member paid less what came back is what they still hold, to the fen."""
    now = datetime(2026, 12, 5, tzinfo=UTC)
    ctx = PricingContext("app", now, points_to_redeem=points, points_balance=points)
    paid = refunded = 0
    current = None
    for lines in versions:
        p = price([LineRequest(s, q) for s, q in lines.items()], ITEMS, RULES, ctx)
        diff = p.payable_amount - (current.payable_amount if current else 0)
        if diff > 0:
            paid += diff
        else:
            refunded -= diff
        current = p
    assert current is not None
    assert paid - refunded == current.payable_amount
    ledger = RefundLedger()
    for n, sku in zip(returns, SKUS * 3, strict=False):
        refunded += sum(r.amount for r in ledger.take(current.lines, [LineRequest(sku, n)]))
        assert paid - refunded >= 0
    everything = [LineRequest(ln.sku, ln.qty) for ln in current.lines]
    refunded += sum(r.amount for r in ledger.take(current.lines, everything))
    assert paid == refunded
