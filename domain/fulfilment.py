"""The fulfilment state machine: which store action is valid in which state."""

from __future__ import annotations

from domain.errors import InvalidTransition

OPEN_STATES = ("dispatched", "accepted", "picked", "ready_for_pickup", "shipped")
DONE_STATES = ("delivered", "picked_up")
FAILED_STATES = ("rejected", "cancelled", "expired")

# action -> mode -> {from_state: to_state}
_TRANSITIONS: dict[str, dict[str, dict[str, str]]] = {
    "accept": {"delivery": {"dispatched": "accepted"}, "pickup": {"dispatched": "accepted"}},
    "reject": {"delivery": {"dispatched": "rejected"}, "pickup": {"dispatched": "rejected"}},
    "lapse": {"delivery": {"dispatched": "rejected"}, "pickup": {"dispatched": "rejected"}},
    "picked": {"delivery": {"accepted": "picked"}, "pickup": {"accepted": "ready_for_pickup"}},
    "ship": {"delivery": {"picked": "shipped"}},
    "deliver": {"delivery": {"shipped": "delivered"}},
    "pickup": {"pickup": {"ready_for_pickup": "picked_up"}},
    "expire": {"pickup": {"ready_for_pickup": "expired"}},
    "cancel": {
        "delivery": {"dispatched": "cancelled", "accepted": "cancelled", "picked": "cancelled"},
        "pickup": {
            "dispatched": "cancelled",
            "accepted": "cancelled",
            "ready_for_pickup": "cancelled",
        },
    },
}

ACTIONS = tuple(_TRANSITIONS)
STAFF_ACTIONS = ("accept", "reject", "picked", "ship", "deliver", "pickup")
# What each action does to the stock reserved for the part.
STOCK_EFFECT = {
    "ship": "deduct",
    "pickup": "deduct",
    "reject": "release",
    "lapse": "release",
    "cancel": "release",
    "expire": "release",
}


def next_state(action: str, *, mode: str, state: str) -> str:
    """The state after `action`, or InvalidTransition when the action is out of order."""
    target = _TRANSITIONS.get(action, {}).get(mode, {}).get(state)
    if target is None:
        raise InvalidTransition(
            f"cannot {action} a {mode} fulfilment that is {state}",
            details={"action": action, "mode": mode, "status": state},
        )
    return target


def already_applied(action: str, *, mode: str, state: str) -> bool:
    """True when `state` is exactly what `action` leads to: the same action again is a no-op."""
    targets = set(_TRANSITIONS.get(action, {}).get(mode, {}).values())
    return state in targets
