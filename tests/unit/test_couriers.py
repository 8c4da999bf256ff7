"""The courier strategy, rule by rule, each with a worked example: coverage, weight, priority,
cost, a tie, a channel's own logistics, and no carrier at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.couriers import Carrier, choose_carrier
from workers.demo import CARRIERS

pytestmark = pytest.mark.unit

YTO = Carrier("YTO", "YTO Express", frozenset({"Zhejiang", "Jiangsu"}), 600, 20_000, 10)
SF = Carrier("SF", "SF Express", frozenset(), 1500, 30_000, 20)
JD = Carrier("JD", "JD Logistics", frozenset(), 1200, 50_000, 30)
ALL = [YTO, SF, JD]


def test_the_covering_carrier_with_the_lowest_priority_wins() -> None:
    choice = choose_carrier(ALL, province="Zhejiang", weight_g=2_000)
    assert choice.carrier_id == "YTO"
    assert choice.reasons == [
        "YTO: covers Zhejiang, takes 2000 g, priority 10, 6.00 yuan",
        "SF: priority 20 after 10",  # the others, in the order they rank
        "JD: priority 30 after 10",
    ]


def test_a_carrier_that_does_not_cover_the_province_is_passed_over() -> None:
    choice = choose_carrier(ALL, province="Sichuan", weight_g=2_000)
    assert choice.carrier_id == "SF"
    assert "YTO: does not cover Sichuan" in choice.reasons


def test_a_parcel_over_a_carriers_weight_limit_goes_to_one_that_takes_it() -> None:
    choice = choose_carrier(ALL, province="Zhejiang", weight_g=35_000)
    assert choice.carrier_id == "JD"
    assert "YTO: 35000 g is over its 20000 g limit" in choice.reasons
    assert "SF: 35000 g is over its 30000 g limit" in choice.reasons


def test_at_equal_priority_the_cheaper_carrier_wins_then_the_id() -> None:
    cheap = Carrier("ZTO", "ZTO Express", frozenset(), 500, None, 20)
    choice = choose_carrier([SF, cheap], province="Hubei", weight_g=1_000)
    assert choice.carrier_id == "ZTO"
    assert choice.reasons[1] == "SF: costs 15.00 yuan, more than 5.00"
    twin = Carrier("AAA", "Twin", frozenset(), 500, None, 20)
    assert choose_carrier([cheap, twin], province="Hubei", weight_g=1).carrier_id == "AAA"


def test_a_channel_with_its_own_logistics_always_gets_them() -> None:
    choice = choose_carrier(ALL, province="Tibet", weight_g=90_000, channel_carrier="RIDERS")
    assert choice.carrier_id == "RIDERS"
    assert choice.reasons == ["RIDERS: the channel's own logistics"]


def test_without_a_qualifying_carrier_staff_name_one() -> None:
    none = choose_carrier([YTO], province="Sichuan", weight_g=1_000)
    assert none.carrier_id is None and none.reasons[-1].startswith("no carrier qualifies")
    assert choose_carrier([], province="Zhejiang", weight_g=1).carrier_id is None


@given(
    st.lists(
        st.builds(
            Carrier,
            carrier_id=st.sampled_from(["A", "B", "C", "D"]),
            name=st.just("x"),
            provinces=st.frozensets(st.sampled_from(["Zhejiang", "Sichuan"])),
            cost_amount=st.integers(0, 3000),
            max_weight_g=st.none() | st.integers(1, 50_000),
            priority=st.integers(0, 50),
        ),
        unique_by=lambda c: c.carrier_id,
        max_size=4,
    ),
    st.sampled_from(["Zhejiang", "Sichuan", "Hubei"]),
    st.integers(0, 60_000),
)
def test_the_choice_qualifies_and_nothing_that_qualifies_ranks_before_it(
    carriers: list[Carrier], province: str, weight: int
) -> None:
    def fits(c: Carrier) -> bool:
        covers = not c.provinces or province in c.provinces
        return covers and (c.max_weight_g is None or weight <= c.max_weight_g)

    choice = choose_carrier(carriers, province=province, weight_g=weight)
    fit = [c for c in carriers if fits(c)]
    if not fit:
        assert choice.carrier_id is None
        return
    best = next(c for c in carriers if c.carrier_id == choice.carrier_id)
    assert fits(best)
    rank = (best.priority, best.cost_amount, best.carrier_id)
    assert all(rank <= (c.priority, c.cost_amount, c.carrier_id) for c in fit)
    assert len(choice.reasons) == len(carriers)  # every carrier accounted for


@pytest.mark.parametrize(
    ("province", "weight_g", "carrier"),
    [
        ("Zhejiang", 2_000, "YTO"),
        ("Guangdong", 2_000, "SF"),
        ("Zhejiang", 25_000, "SF"),
        ("Zhejiang", 40_000, "JD"),
        ("Zhejiang", 60_000, None),
    ],
)
def test_the_worked_examples_of_the_logistics_guide(
    province: str, weight_g: int, carrier: str | None
) -> None:
    """docs/logistics.md's table, with the dev stack's carriers."""
    dev = [Carrier(i, n, frozenset(p), c, w, o) for i, n, p, c, w, o in CARRIERS]
    assert choose_carrier(dev, province=province, weight_g=weight_g).carrier_id == carrier
