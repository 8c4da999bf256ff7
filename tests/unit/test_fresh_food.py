"""Fresh food's arithmetic, exact to the fen: weighed lines priced per kilogram (worked examples
and properties under every kind of promotion and points), grams refunded in any steps, a
replacement's cost and what goes back, the line's preference, and shelf scales' labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.barcodes import scale_code, scale_label
from domain.orders import LineRequest, PricedLine, line_amount
from domain.pricing import CatalogItem, PricingContext, Rule, Scope, price
from domain.refunds import RefundLedger, unit_share
from domain.substitutions import Replacement, preference_decides, substitute

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("price_per_kg", "grams", "fen"),
    [
        (3980, 1000, 3980),  # 1 kg of pork belly at 39.80
        (3980, 870, 3463),  # 3462.6 fen: half a fen and more rounds up
        (16800, 333, 5594),  # 5594.4 fen rounds down
        (1280, 1500, 1920),
        (999, 1, 1),  # 0.999 fen
        (999, 0, 0),
    ],
)
def test_a_weighed_line_costs_its_grams_at_the_price_per_kilogram(
    price_per_kg: int, grams: int, fen: int
) -> None:
    assert line_amount(price_per_kg, grams, "weight") == fen
    item = CatalogItem("PORK", price_per_kg, "fresh", sold_by="weight")
    assert item.amount(grams) == fen


def test_a_percentage_off_a_weighed_line_is_taken_off_its_weighed_price() -> None:
    catalog = {
        "PORK": CatalogItem("PORK", 3980, "fresh", sold_by="weight"),
        "MILK": CatalogItem("MILK", 1290, "dairy"),
    }
    rules = [Rule("FRESH10", "percent_off", Scope(categories=frozenset({"fresh"})), percent=10)]
    p = price(
        [LineRequest("PORK", 870), LineRequest("MILK", 1)],
        catalog,
        rules,
        PricingContext("app", NOW),
    )
    pork = next(ln for ln in p.lines if ln.sku == "PORK")
    assert (pork.subtotal_amount, pork.discount_amount, pork.paid_amount) == (3463, 346, 3117)
    assert p.subtotal_amount == 3463 + 1290 and p.payable_amount == 3117 + 1290


ITEMS = {
    "W1": CatalogItem("W1", 3980, "fresh", sold_by="weight"),
    "W2": CatalogItem("W2", 16800, "fresh", sold_by="weight"),
    "U1": CatalogItem("U1", 1290, "dairy"),
    "U2": CatalogItem("U2", 990, "fresh"),
}
RULES = [
    Rule("FRESH", "percent_off", Scope(categories=frozenset({"fresh"})), percent=15),
    Rule("OFF", "amount_off", Scope(skus=frozenset({"W2", "U1"})), amount=700, stackable=True),
    Rule("THRESH", "threshold_amount_off", amount=1000, threshold_amount=5000, repeat=True),
]


@given(
    grams=st.lists(st.integers(1, 5000), min_size=2, max_size=2),
    units=st.lists(st.integers(0, 5), min_size=2, max_size=2),
    points=st.integers(0, 20_000),
)
def test_every_weighed_line_adds_up_to_the_fen_under_promotions_and_points(
    grams: list[int], units: list[int], points: int
) -> None:
    lines = [LineRequest("W1", grams[0]), LineRequest("W2", grams[1])]
    lines += [LineRequest(s, n) for s, n in zip(("U1", "U2"), units, strict=True) if n]
    ctx = PricingContext("app", NOW, points_to_redeem=points, points_balance=points)
    p = price(lines, ITEMS, RULES, ctx)
    for ln in p.lines:
        assert ln.subtotal_amount == ln.discount_amount + ln.points_amount + ln.paid_amount
        assert min(ln.discount_amount, ln.points_amount, ln.paid_amount) >= 0
    assert p.subtotal_amount == sum(ln.subtotal_amount for ln in p.lines)
    assert p.payable_amount == sum(ln.paid_amount for ln in p.lines)
    assert p.points_amount == sum(ln.points_amount for ln in p.lines)
    assert p.subtotal_amount == p.discount_amount + p.points_amount + p.payable_amount


@given(
    paid=st.integers(0, 10**7),
    ordered=st.integers(1, 10**5),
    cuts=st.lists(st.floats(0, 1), max_size=6),
)
def test_grams_refunded_in_any_steps_add_up_to_the_line_exactly(
    paid: int, ordered: int, cuts: list[float]
) -> None:
    """A light pick, then returns of what was handed over, gram by gram or all at once."""
    marks = sorted({int(c * ordered) for c in cuts} | {0, ordered})
    done, total = 0, 0
    for a, b in zip(marks, marks[1:], strict=False):
        total += unit_share(paid, ordered, done=done, more=b - a)
        done = b
    assert total == paid


@given(
    qty=st.integers(1, 50),
    missing=st.integers(1, 50),
    paid=st.integers(0, 10**6),
    points=st.integers(0, 10**5),
    with_price=st.integers(0, 10**5),
    weighed=st.booleans(),
)
def test_a_replacement_costs_at_most_the_missing_units_share_and_the_rest_goes_back(
    qty: int, missing: int, paid: int, points: int, with_price: int, weighed: bool
) -> None:
    missing = min(missing, qty)
    sold_by = "weight" if weighed else "unit"
    listed_unit = paid + points + 1  # the missing line's list price covers what was paid
    line = PricedLine("A", qty, listed_unit, listed_unit * qty - paid - points, paid)
    line.points_amount, line.sold_by = points, sold_by
    if weighed:
        line.unit_price_amount = listed_unit * 1000
    ledger = RefundLedger()
    share = unit_share(paid, qty, done=0, more=missing)
    share_pts = unit_share(points, qty, done=0, more=missing)
    new, back = substitute(
        ledger, [line], "A", missing, Replacement("B", missing, with_price, sold_by)
    )
    listed = line_amount(with_price, missing, sold_by)
    cost = new.paid_amount + new.points_amount
    assert cost == min(listed, share + share_pts)
    assert new.subtotal_amount == new.discount_amount + new.points_amount + new.paid_amount
    assert (new.paid_amount + back.amount, new.points_amount + back.points) == (share, share_pts)
    assert min(back.amount, back.points, new.discount_amount) >= 0
    assert ledger.refunded_amount == back.amount  # only what went back counts as refunded
    assert ledger.refunded_units == {"A": missing} and new.substitutes == "A"


@pytest.mark.parametrize(
    ("preference", "with_sku", "answer"),
    [
        ("none", "B", "decline"),
        ("similar", "B", "approve"),
        ("sku:B", "B", "approve"),
        ("sku:C", "B", "decline"),
    ],
)
def test_without_an_answer_the_preference_decides(
    preference: str, with_sku: str, answer: str
) -> None:
    assert preference_decides(preference, with_sku) == answer


def test_a_scale_label_carries_its_item_and_its_weight_or_price() -> None:
    weight = scale_code("00101", grams=870)
    assert weight == "2100101008702"
    label = scale_label(weight)
    assert label is not None and (label.plu, label.grams) == ("00101", 870)
    priced = scale_label(scale_code("00101", price_amount=3463))  # 870 g at 39.80 a kilogram
    assert priced is not None and priced.weight(3980) == 870
    assert scale_label(weight[:-1] + "0") is None  # a wrong check digit
    assert scale_label("6970000000019") is None  # a pack's own barcode
    assert scale_label("2300101008702") is None  # a layout we do not read


@given(plu=st.integers(0, 99_999), grams=st.integers(0, 99_999))
def test_every_weight_label_reads_back(plu: int, grams: int) -> None:
    label = scale_label(scale_code(f"{plu:05d}", grams=grams))
    assert label is not None and (label.plu, label.grams) == (f"{plu:05d}", grams)
