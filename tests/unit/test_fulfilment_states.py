"""The fulfilment state machine."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTransition
from domain.fulfilment import already_applied, next_state

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("mode", "path", "end"),
    [
        ("delivery", ["accept", "picked", "ship", "deliver"], "delivered"),
        ("pickup", ["accept", "picked", "pickup"], "picked_up"),
        ("pickup", ["accept", "picked", "expire"], "expired"),
        ("delivery", ["reject"], "rejected"),
        ("delivery", ["lapse"], "rejected"),
        ("pickup", ["accept", "cancel"], "cancelled"),
    ],
)
def test_each_path_reaches_its_end(mode: str, path: list[str], end: str) -> None:
    state = "dispatched"
    for action in path:
        state = next_state(action, mode=mode, state=state)
    assert state == end


@pytest.mark.parametrize(
    ("action", "mode", "state"),
    [
        ("ship", "delivery", "accepted"),  # ship before pick
        ("pickup", "delivery", "picked"),  # pickup on a delivery
        ("ship", "pickup", "ready_for_pickup"),
        ("accept", "delivery", "cancelled"),  # anything on a cancelled part
        ("cancel", "delivery", "shipped"),
        ("deliver", "delivery", "picked"),
    ],
)
def test_out_of_order_actions_are_invalid_transitions(action: str, mode: str, state: str) -> None:
    with pytest.raises(InvalidTransition):
        next_state(action, mode=mode, state=state)


def test_an_action_already_applied_is_recognised() -> None:
    assert already_applied("accept", mode="delivery", state="accepted")
    assert already_applied("picked", mode="pickup", state="ready_for_pickup")
    assert not already_applied("ship", mode="delivery", state="picked")
