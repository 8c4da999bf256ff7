"""The chain's business defaults: how long each step of an order may take, and the thresholds
that dispatch and pickup use. The one source of each default: settings and workflow inputs take
them from here."""

from __future__ import annotations

from dataclasses import dataclass

PAYMENT_TIMEOUT_S = 900  # an unpaid order is cancelled after this
ACCEPT_TIMEOUT_S = 600  # a store that does not accept in time loses the part
PICKUP_EXPIRY_S = 3 * 24 * 3600  # an uncollected pickup goes back on the shelf
DELIVERY_CONFIRM_S = 7 * 24 * 3600  # a shipment counts as delivered after this
RETURN_WINDOW_S = 7 * 24 * 3600  # returns are taken this long after completion
SUBSTITUTION_WAIT_S = 300  # a proposed replacement waits this long for the member's answer
MERGE_WINDOW_S = 300  # one member's parts to one address dispatched this close travel together
MIN_CREDIT_SCORE = 60  # stores below this score are not dispatched to
PICKUP_ATTEMPTS = 5  # wrong pickup codes before a part locks
PICKUP_LOCKOUT_S = 15 * 60  # how long a locked part refuses every code
# The chain's own channels: they see whole members and a member's orders from every channel,
# and may spend stored value and points; marketplaces (tmall, jd, meituan, ...) may not.
FIRST_PARTY_CHANNELS = ("app", "miniprogram", "pos")


@dataclass
class Timeouts:
    """How long an order waits at each step (seconds)."""

    payment_s: int = PAYMENT_TIMEOUT_S
    accept_s: int = ACCEPT_TIMEOUT_S
    pickup_expiry_s: int = PICKUP_EXPIRY_S
    delivery_confirm_s: int = DELIVERY_CONFIRM_S
    return_window_s: int = RETURN_WINDOW_S
    substitution_wait_s: int = SUBSTITUTION_WAIT_S
