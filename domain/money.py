"""Money is integer fen; splits use largest-remainder rounding and always add up."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def split_proportionally(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` fen over `weights` in proportion, parts adding up exactly to `total`.

    Largest remainder: each part gets the floor of its exact share; the fen left over go to
    the parts with the largest remainders, ties to the earlier part. With all weights zero the
    split is even (earlier parts first). Negative totals or weights are refused.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("total and weights must be non-negative")
    if not weights:
        if total:
            raise ValueError("cannot split a non-zero total over nothing")
        return []
    base = list(weights) if sum(weights) > 0 else [1] * len(weights)
    whole = sum(base)
    parts = [total * w // whole for w in base]
    leftover = total - sum(parts)
    if leftover:
        remainders = [(total * w % whole, -i) for i, w in enumerate(base)]
        for _, neg_i in heapq.nlargest(leftover, remainders):
            parts[-neg_i] += 1
    return parts


def split_capped(total: int, caps: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `caps`, never giving a part more than its cap.

    Used to share an order-level discount over lines: no line's discount may exceed its amount.
    `total` must not exceed `sum(caps)`.
    """
    if total > sum(caps):
        raise ValueError("total exceeds the sum of caps")
    parts = split_proportionally(total, caps)
    # Proportional shares never exceed caps when total <= sum(caps), but rounding up by one fen
    # can, when a cap is small; move any excess to parts with room.
    excess = 0
    for i, cap in enumerate(caps):
        if parts[i] > cap:
            excess += parts[i] - cap
            parts[i] = cap
    for i, cap in enumerate(caps):
        if not excess:
            break
        room = min(cap - parts[i], excess)
        parts[i] += room
        excess -= room
    return parts


def percent_of(amount: int, percent: int) -> int:
    """`percent` % of `amount` fen, rounded half up to the fen."""
    return (amount * percent * 2 + 100) // 200
