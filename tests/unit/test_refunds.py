"""Refund amounts: exact, cumulative, never more than was paid."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidRequest
from domain.orders import PricedLine
from domain.refunds import points_to_reverse, refund_lines, unit_share

pytestmark = pytest.mark.unit


def test_a_unit_gives_back_its_share_of_every_discount() -> None:
    line = PricedLine("MILK", 3, 1290, 3870 - 3421, 3421, points_amount=0)
    got = refund_lines([line], refunded={}, wanted={"MILK": 1})
    assert [(r.sku, r.qty, r.amount) for r in got] == [("MILK", 1, 1140)]


def test_refunding_more_units_than_are_left_is_refused() -> None:
    line = PricedLine("MILK", 2, 1000, 0, 2000)
    with pytest.raises(InvalidRequest):
        refund_lines([line], refunded={"MILK": 2}, wanted={"MILK": 1})


def test_gifts_give_nothing_back() -> None:
    with pytest.raises(InvalidRequest):
        refund_lines([PricedLine("BAG", 1, 0, 0, 0, gift=True)], refunded={}, wanted={"BAG": 1})


@given(st.integers(0, 10**7), st.integers(1, 50), st.data())
def test_refunds_in_any_steps_add_up_to_the_line_exactly(
    total: int, qty: int, data: st.DataObject
) -> None:
    done = given_back = 0
    while done < qty:
        more = data.draw(st.integers(1, qty - done))
        part = unit_share(total, qty, done=done, more=more)
        assert part >= 0
        given_back += part
        done += more
        assert given_back <= total
    assert given_back == total


@given(st.integers(0, 10**5), st.integers(1, 10**7), st.data())
def test_points_taken_back_never_exceed_what_was_earned(
    earned: int, paid: int, data: st.DataObject
) -> None:
    back = refunded = 0
    # up to 20 refunds of any size, then one for what is left: drawing one refund at a time
    # up to the paid amount could take thousands of draws and trip Hypothesis' health check
    steps = data.draw(st.lists(st.integers(1, paid), max_size=20))
    for step in [*steps, paid]:
        if refunded >= paid:
            break
        now = min(step, paid - refunded)
        back += points_to_reverse(earned, paid, refunded_before=refunded, refunded_now=now)
        refunded += now
        assert back <= earned
    assert back == earned
