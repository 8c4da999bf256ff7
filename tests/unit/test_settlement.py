"""Settlement of completed orders: worked examples per model, and splits that always add up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidRequest
from domain.members import tier_for_spend, upgraded_tier
from domain.settlement import (
    SettlementTerms,
    business_day,
    settlement_delta,
    split_settlement,
)

pytestmark = pytest.mark.unit

STORE = "location:S-HZ-01"


def shares(terms: SettlementTerms, amount: int) -> list[tuple[str, str, int]]:
    return [(s.party, s.role, s.amount) for s in split_settlement(terms, amount, fulfiller=STORE)]


# --- worked examples (amounts in fen) ---------------------------------------------------------

EXAMPLES = [
    # buy-sell: the fulfilling store sells the whole amount
    ("buy_sell", SettlementTerms(), 12_345, [(STORE, "seller", 12_345)]),
    # exclusive, 5 % commission to the operator: 100.00 yuan -> 95.00 + 5.00
    (
        "exclusive 5%",
        SettlementTerms("exclusive", commission_bp=500),
        10_000,
        [(STORE, "owner", 9_500), ("operator", "operator", 500)],
    ),
    # exclusive 3.33 % of 1.01 yuan: 3.3633 fen of commission -> 3 (largest remainder)
    (
        "exclusive rounding",
        SettlementTerms("exclusive", commission_bp=333, owner="brand:ACME"),
        101,
        [("brand:ACME", "owner", 98), ("operator", "operator", 3)],
    ),
    # shared 6:3:1 of 99.99 yuan: 5999.4 / 2999.7 / 999.9 -> 5999 / 3000 / 1000
    (
        "shared 6:3:1",
        SettlementTerms(
            "shared", owner_ratio=6, fulfiller_ratio=3, operator_ratio=1, owner="chain"
        ),
        9_999,
        [("chain", "owner", 5_999), (STORE, "fulfiller", 3_000), ("operator", "operator", 1_000)],
    ),
    # shared 1:1:1 of 1 fen: the fen goes to the first party
    (
        "shared 1 fen",
        SettlementTerms("shared", owner_ratio=1, fulfiller_ratio=1, operator_ratio=1),
        1,
        [("chain", "owner", 1), (STORE, "fulfiller", 0), ("operator", "operator", 0)],
    ),
    # distribution, 8 % to the distributor of 250.00 yuan
    (
        "distribution 8%",
        SettlementTerms("distribution", commission_bp=800, distributor="dist:WX-007"),
        25_000,
        [(STORE, "seller", 23_000), ("dist:WX-007", "distributor", 2_000)],
    ),
]


@pytest.mark.parametrize(
    ("name", "terms", "amount", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES]
)
def test_worked_examples(
    name: str, terms: SettlementTerms, amount: int, expected: list[tuple[str, str, int]]
) -> None:
    terms.validate()
    assert shares(terms, amount) == expected
    assert sum(a for _, _, a in expected) == amount


def test_a_split_order_shares_the_fulfilling_share_by_what_each_location_handed_over() -> None:
    # exclusive 5 % of 100.01 yuan: owner 9500.95 -> 9501, operator 500; the owner's share is
    # then split 3000 : 7001 between the two stores: 2850.015 -> 2850, 6650.985 -> 6651
    terms = SettlementTerms("exclusive", commission_bp=500)
    got = split_settlement(
        terms,
        10_001,
        fulfiller="location:A",
        fulfillers=[("location:A", 3000), ("location:B", 7001)],
    )
    assert [(s.party, s.role, s.amount) for s in got] == [
        ("location:A", "owner", 2850),
        ("location:B", "owner", 6651),
        ("operator", "operator", 500),
    ]


def test_a_return_moves_each_party_to_its_share_of_the_new_net() -> None:
    # exclusive 5 %: 101.00 yuan settled, then 50.50 yuan returned
    terms = SettlementTerms("exclusive", commission_bp=500)
    first = settlement_delta(terms, net_before=0, net_after=10_100, fulfiller=STORE)
    back = settlement_delta(terms, net_before=10_100, net_after=5_050, fulfiller=STORE)
    assert [(s.role, s.amount) for s in first] == [("owner", 9_595), ("operator", 505)]
    assert [(s.role, s.amount) for s in back] == [("owner", -4_797), ("operator", -253)]
    # what is left equals a fresh split of the remaining 50.50 yuan
    assert shares(terms, 5_050) == [(STORE, "owner", 4_798), ("operator", "operator", 252)]


@pytest.mark.parametrize(
    "terms",
    [
        SettlementTerms("barter"),
        SettlementTerms("exclusive"),
        SettlementTerms("exclusive", commission_bp=10_001),
        SettlementTerms("distribution", commission_bp=100),
        SettlementTerms("shared"),
        SettlementTerms("shared", owner_ratio=-1, operator_ratio=2),
    ],
)
def test_incomplete_terms_are_refused(terms: SettlementTerms) -> None:
    with pytest.raises(InvalidRequest):
        terms.validate()


def test_terms_survive_their_stored_form() -> None:
    terms = SettlementTerms("shared", owner_ratio=5, fulfiller_ratio=4, operator_ratio=1)
    assert SettlementTerms.from_params("shared", terms.as_params()) == terms


def test_the_business_day_is_china_time() -> None:
    assert business_day(datetime(2026, 11, 22, 15, 59, tzinfo=UTC)) == "2026-11-22"
    assert business_day(datetime(2026, 11, 22, 16, 0, tzinfo=UTC)) == "2026-11-23"


# --- properties -------------------------------------------------------------------------------

terms_strategy = st.one_of(
    st.just(SettlementTerms()),
    st.builds(
        SettlementTerms,
        model=st.just("exclusive"),
        commission_bp=st.integers(1, 10_000),
    ),
    st.builds(
        SettlementTerms,
        model=st.just("distribution"),
        commission_bp=st.integers(1, 10_000),
        distributor=st.just("dist:D1"),
    ),
    st.builds(
        SettlementTerms,
        model=st.just("shared"),
        owner_ratio=st.integers(1, 1000),
        fulfiller_ratio=st.integers(0, 1000),
        operator_ratio=st.integers(0, 1000),
    ),
)


@given(
    terms_strategy,
    st.integers(0, 10**9),
    st.lists(st.integers(0, 10**6), min_size=0, max_size=4),
)
def test_every_split_adds_up_and_is_never_negative(
    terms: SettlementTerms, amount: int, weights: list[int]
) -> None:
    fulfillers = [(f"location:L{i}", w) for i, w in enumerate(weights)]
    first = fulfillers[0][0] if fulfillers else STORE
    got = split_settlement(terms.validate(), amount, fulfiller=first, fulfillers=fulfillers)
    assert sum(s.amount for s in got) == amount
    assert all(s.amount >= 0 for s in got)


@given(terms_strategy, st.integers(0, 10**8), st.lists(st.integers(0, 10**8), max_size=5))
def test_settling_then_returning_in_steps_adds_up_to_the_final_net(
    terms: SettlementTerms, paid: int, returns: list[int]
) -> None:
    net = 0
    totals: dict[tuple[str, str], int] = {}
    steps = [paid] + [-r for r in returns]
    for step in steps:
        after = max(0, net + step)
        for s in settlement_delta(terms, net_before=net, net_after=after, fulfiller=STORE):
            totals[(s.party, s.role)] = totals.get((s.party, s.role), 0) + s.amount
        net = after
    assert sum(totals.values()) == net
    fresh = {(s.party, s.role): s.amount for s in split_settlement(terms, net, fulfiller=STORE)}
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in fresh.items() if v}


# --- tiers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "tier"),
    [
        (0, "normal"),
        (99_999, "normal"),
        (100_000, "silver"),
        (499_999, "silver"),
        (500_000, "gold"),
        (2_000_000, "platinum"),
    ],
)
def test_tier_thresholds(spend: int, tier: str) -> None:
    assert tier_for_spend(spend) == tier


def test_tiers_only_go_up_on_their_own() -> None:
    assert upgraded_tier("gold", 100_000) == "gold"
    assert upgraded_tier("silver", 600_000) == "gold"
    assert upgraded_tier("platinum", 0) == "platinum"
