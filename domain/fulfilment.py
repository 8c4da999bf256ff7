"""A part of an order at one location: its state machine (which action is valid in which state),
its state, and what its end means for the store's credit and the member's money."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from domain.errors import InvalidTransition
from domain.orders import LineRequest, PaymentRecord

DONE_STATES = ("delivered", "picked_up")  # the member has the goods
# the part ended without the member having the goods (a failed delivery brings them back)
FAILED_STATES = ("rejected", "cancelled", "expired", "delivery_failed")
TERMINAL_STATES = DONE_STATES + FAILED_STATES
HANDED_OVER = ("shipped", "delivered", "picked_up")  # the goods have left the location

# action -> mode -> {from_state: to_state}
_TRANSITIONS: dict[str, dict[str, dict[str, str]]] = {
    "accept": {"delivery": {"dispatched": "accepted"}, "pickup": {"dispatched": "accepted"}},
    "reject": {"delivery": {"dispatched": "rejected"}, "pickup": {"dispatched": "rejected"}},
    "lapse": {"delivery": {"dispatched": "rejected"}, "pickup": {"dispatched": "rejected"}},
    "picked": {"delivery": {"accepted": "picked"}, "pickup": {"accepted": "ready_for_pickup"}},
    "ship": {"delivery": {"picked": "shipped"}},
    "deliver": {"delivery": {"shipped": "delivered"}},
    "fail": {"delivery": {"shipped": "delivery_failed"}},
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

# How each action reads in a sentence ("cannot <verb> a pickup part that is cancelled").
VERBS = {
    "accept": "accept",
    "reject": "reject",
    "lapse": "let lapse",
    "picked": "record the pick of",
    "ship": "ship",
    "deliver": "confirm the delivery of",
    "fail": "record the failed delivery of",
    "pickup": "hand over",
    "expire": "expire",
    "cancel": "cancel",
}

# What each action does to the stock reserved for the part.
STOCK_EFFECT = {
    "ship": "deduct",
    "pickup": "deduct",
    "reject": "release",
    "lapse": "release",
    "cancel": "release",
    "expire": "release",
    "fail": "restock",  # the parcel came back: its goods are on the location's shelves again
}

# Credit score points a store loses for refusing a part: more for letting the accept window pass
# in silence than for saying no.
CREDIT_PENALTY = {"reject": 5, "lapse": 10}

# How far along each status is: a record never moves a part back to an earlier status.
_PROGRESS = {
    "pending": 0,
    "dispatched": 1,
    "accepted": 2,
    "picked": 3,
    "ready_for_pickup": 3,
    "shipped": 4,
    **{s: 5 for s in TERMINAL_STATES},
}


@dataclass
class FulfilmentState:
    """Where a part stands."""

    fulfilment_id: str
    location_id: str
    mode: str
    status: str
    lines: list[LineRequest]
    picked: list[LineRequest] = field(default_factory=list)
    carrier: str = ""
    tracking_no: str = ""
    ended_by: str = ""  # the last action applied: accept, picked, reject, lapse, cancel, ...
    code_hash: str = ""  # of the code the member shows at pickup (never the code itself)


@dataclass
class RecordedOrder:
    """What the read model holds of an order: an order whose workflow was reset starts again
    from its records rather than redoing what happened."""

    status: str
    cancel_reason: str = ""
    paid: PaymentRecord | None = None
    payments: list[PaymentRecord] = field(default_factory=list)
    parts: list[FulfilmentState] = field(default_factory=list)


def next_state(action: str, *, mode: str, state: str) -> str:
    """The state after `action`, or InvalidTransition when the action is out of order."""
    target = _TRANSITIONS.get(action, {}).get(mode, {}).get(state)
    if target is None:
        raise InvalidTransition(
            f"cannot {VERBS.get(action, action)} a {mode} part that is {state}",
            details={"action": action, "mode": mode, "status": state},
        )
    return target


def already_applied(action: str, *, mode: str, state: str) -> bool:
    """True when `state` is exactly what `action` leads to: the same action again is a no-op."""
    targets = set(_TRANSITIONS.get(action, {}).get(mode, {}).values())
    return state in targets


def action_leading_to(status: str, *, mode: str) -> str | None:
    """The staff or timer action that brings a part of `mode` into `status` (the first one that
    does, for a status several actions reach)."""
    for action, modes in _TRANSITIONS.items():
        if status in modes.get(mode, {}).values():
            return action
    return None


def is_behind(status: str, recorded: str) -> bool:
    """Whether `status` is an earlier stage than `recorded`: a record must not go back to it.
    (A terminal record never changes; the same status again is not behind.)"""
    if status == recorded:
        return False
    if recorded in TERMINAL_STATES:
        return True
    return _PROGRESS.get(status, 0) < _PROGRESS.get(recorded, 0)


def statuses_not_ahead_of(status: str) -> list[str]:
    """The recorded part statuses a record may move to `status` from (itself included)."""
    return [s for s in _PROGRESS if not is_behind(status, s)]


def shortage(state: FulfilmentState) -> list[LineRequest]:
    """Units ordered but not picked: refunded, not routed elsewhere."""
    if not state.picked:
        return []
    picked = {ln.sku: ln.qty for ln in state.picked}
    return [
        LineRequest(sku=ln.sku, qty=ln.qty - picked.get(ln.sku, ln.qty))
        for ln in state.lines
        if picked.get(ln.sku, ln.qty) < ln.qty
    ]


def heaviest_pick(ordered_g: int) -> int:
    """The most a weighed line may be picked at for `ordered_g` grams: 10 % over, at no charge."""
    return ordered_g * 11 // 10


def handed_lines(state: FulfilmentState) -> list[LineRequest]:
    """The units a part handed over (its picked quantities, or all of it when not short)."""
    return state.picked or state.lines


def code_hash(fulfilment_id: str, code: str) -> str:
    """What the records keep of a pickup code: its hash, salted with the part's id."""
    return hashlib.sha256(f"{fulfilment_id}:{code}".encode()).hexdigest()
