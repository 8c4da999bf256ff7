"""Splitting money: largest remainder, always adding up."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import percent_of, split_capped, split_proportionally

pytestmark = pytest.mark.unit


def test_a_split_gives_leftover_fen_to_the_largest_remainders() -> None:
    assert split_proportionally(100, [1, 1, 1]) == [34, 33, 33]
    assert split_proportionally(1000, [2990, 1000, 10]) == [748, 250, 2]


def test_a_split_over_zero_weights_is_even() -> None:
    assert split_proportionally(5, [0, 0]) == [3, 2]


def test_percentages_round_half_up_to_the_fen() -> None:
    assert percent_of(1290, 5) == 65  # 64.5 -> 65
    assert percent_of(1289, 5) == 64  # 64.45 -> 64
    assert percent_of(0, 50) == 0


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=50))
def test_every_split_adds_up_exactly(total: int, weights: list[int]) -> None:
    parts = split_proportionally(total, weights)
    assert sum(parts) == total and all(p >= 0 for p in parts)


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=50), st.data())
def test_a_capped_split_never_exceeds_a_cap(caps: list[int], data: st.DataObject) -> None:
    total = data.draw(st.integers(0, sum(caps)))
    parts = split_capped(total, caps)
    assert sum(parts) == total
    assert all(0 <= p <= c for p, c in zip(parts, caps, strict=True))
