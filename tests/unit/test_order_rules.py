"""The order's business rules, out of the workflow and into the domain: what a store's refusal
costs it, the points an order earns, which units are returnable and where they go back, what a
refund gives back, settlement weights, how far along a record is, and what a repair owes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import TooManyUnits, UnknownSku
from domain.fulfilment import (
    CREDIT_PENALTY,
    FulfilmentState,
    action_leading_to,
    is_behind,
    shortage,
    statuses_not_ahead_of,
)
from domain.members import points_earned
from domain.orders import LineRequest, PricedLine, request_differences, statuses_before
from domain.refunds import RefundLedger, handed_units, receiving_locations
from domain.repair import decide_repair
from domain.settlement import handed_values

pytestmark = pytest.mark.unit


def line(sku: str, qty: int, paid: int, *, gift: bool = False, points: int = 0) -> PricedLine:
    return PricedLine(
        sku=sku,
        qty=qty,
        unit_price_amount=(paid + points) // qty if qty else 0,
        discount_amount=0,
        paid_amount=paid,
        gift=gift,
        points_amount=points,
    )


def part(
    fid: str, loc: str, status: str, lines: dict[str, int], picked: dict[str, int] | None = None
) -> FulfilmentState:
    return FulfilmentState(
        fulfilment_id=fid,
        location_id=loc,
        mode="delivery",
        status=status,
        lines=[LineRequest(s, q) for s, q in lines.items()],
        picked=[LineRequest(s, q) for s, q in (picked or {}).items()],
    )


def test_letting_the_accept_window_lapse_costs_a_store_more_than_saying_no() -> None:
    assert CREDIT_PENALTY["lapse"] == 10 > CREDIT_PENALTY["reject"] == 5


@pytest.mark.parametrize(("paid", "points"), [(0, 0), (99, 0), (100, 1), (12_345, 123), (-5, 0)])
def test_an_order_earns_a_point_per_full_yuan_paid(paid: int, points: int) -> None:
    assert points_earned(paid) == points


def test_a_short_pick_leaves_the_missing_units_to_refund() -> None:
    state = part("F1", "L1", "picked", {"A": 3, "B": 2}, picked={"A": 1, "B": 2})
    assert shortage(state) == [LineRequest("A", 2)]
    assert shortage(part("F2", "L1", "picked", {"A": 3})) == []  # nothing recorded as short


def test_returnable_units_are_what_done_parts_handed_over_never_more_than_bought() -> None:
    parts = [
        part("F1", "L1", "delivered", {"A": 2, "B": 1}, picked={"A": 1, "B": 1}),
        part("F2", "L2", "picked_up", {"A": 2}),
        part("F3", "L3", "cancelled", {"C": 5}),
    ]
    assert handed_units({"A": 2, "B": 1, "C": 5}, parts) == {"A": 2, "B": 1}
    assert receiving_locations(parts, {"A": 2}) == [("L1", "A", 1), ("L2", "A", 1)]


def test_a_return_names_received_skus_and_at_most_what_is_left() -> None:
    ledger = RefundLedger()
    with pytest.raises(UnknownSku):
        ledger.check_return({"A": 2}, [LineRequest("Z", 1)])
    ledger.record_return([LineRequest("A", 1)], 500)
    with pytest.raises(TooManyUnits) as err:
        ledger.check_return({"A": 2}, [LineRequest("A", 2)])
    assert err.value.details["returnable"] == 1
    ledger.check_return({"A": 2}, [LineRequest("A", 1)])


def test_a_ledger_refunds_each_unit_once_and_gifts_never() -> None:
    priced = [line("A", 3, 1000, points=300), line("G", 1, 0, gift=True)]
    ledger = RefundLedger()
    first = ledger.take(priced, [LineRequest("A", 1), LineRequest("G", 1)])
    assert [(r.sku, r.qty, r.amount, r.points) for r in first] == [("A", 1, 333, 100)]
    rest = ledger.take(priced, [LineRequest("A", 5)])  # capped at the two units left
    assert [(r.qty, r.amount, r.points) for r in rest] == [(2, 667, 200)]
    assert ledger.take(priced, [LineRequest("A", 1)]) == []
    assert ledger.refunded_amount == 1000 and ledger.all_refunded({"A": 3})


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=12))
def test_refunds_in_any_steps_add_up_to_the_line_exactly(steps: list[int]) -> None:
    priced = [line("A", 10, 9_999, points=701)]
    ledger = RefundLedger()
    for n in steps:
        ledger.take(priced, [LineRequest("A", n)])
    ledger.take(priced, [LineRequest("A", 10)])
    assert ledger.refunded_amount == 9_999 and ledger.refunded_units == {"A": 10}


def test_a_split_order_is_settled_by_the_paid_value_each_location_handed_over() -> None:
    priced = [line("A", 2, 3000), line("B", 1, 7001), line("G", 1, 0, gift=True)]
    parts = [
        part("F1", "L1", "delivered", {"A": 2}, picked={"A": 1}),
        part("F2", "L2", "picked_up", {"B": 1, "G": 1}),
        part("F3", "L3", "rejected", {"A": 2}),
    ]
    assert handed_values(priced, parts) == [("L1", 1500), ("L2", 7001)]


def test_records_never_go_back_to_an_earlier_status() -> None:
    assert is_behind("accepted", "picked")
    assert is_behind("dispatched", "cancelled")  # a terminal record never changes
    assert not is_behind("picked", "picked")
    assert not is_behind("shipped", "picked")
    assert "picked_up" not in statuses_not_ahead_of("ready_for_pickup")
    assert action_leading_to("ready_for_pickup", mode="pickup") == "picked"
    assert action_leading_to("rejected", mode="delivery") == "reject"
    assert "completed" not in statuses_before("cancelled")
    assert "cancelled" not in statuses_before("completed")
    assert statuses_before("fulfilling") == ["submitting", "awaiting_payment", "paid", "fulfilling"]


def test_a_resubmission_names_the_fields_that_differ() -> None:
    first = {"lines": [{"sku": "A", "qty": 1}], "payment_method": "cash", "member_phone": None}
    again = first | {"payment_method": "wechat"}
    assert request_differences(first, again) == ["payment_method"]
    assert request_differences(first, dict(first)) == []


def test_a_repair_refunds_what_was_not_handed_over_and_settles_what_was() -> None:
    priced = [line("A", 2, 2000), line("B", 1, 1000)]
    parts = [
        part("F1", "L1", "shipped", {"A": 2}, picked={"A": 1}),
        part("F2", "L2", "accepted", {"B": 1}),
    ]
    decision = decide_repair(
        priced=priced,
        parts=parts,
        refunded_units={"A": 1},  # the short pick was refunded when it was recorded
        refunded_amount=1000,
        paid_amount=3000,
    )
    assert decision.outcome == "completed"
    assert decision.release == ["F2"] and decision.stop == ["F2"] and decision.delivered == ["F1"]
    assert [(r.sku, r.qty, r.amount) for r in decision.refund] == [("B", 1, 1000)]
    assert decision.net == 1000 and decision.points == 10


def test_a_repair_of_an_order_nothing_left_is_a_cancellation_with_everything_back() -> None:
    decision = decide_repair(
        priced=[line("A", 2, 2000)],
        parts=[part("F1", "L1", "dispatched", {"A": 2})],
        refunded_units={},
        refunded_amount=0,
        paid_amount=2000,
    )
    assert decision.outcome == "cancelled" and decision.net == 0 and decision.points == 0
    assert sum(r.amount for r in decision.refund) == 2000
    unpaid = decide_repair(
        priced=[line("A", 2, 2000)],
        parts=[part("F1", "L1", "dispatched", {"A": 2})],
        refunded_units={},
        refunded_amount=0,
        paid_amount=0,
    )
    assert unpaid.refund == [] and unpaid.release == ["F1"]
