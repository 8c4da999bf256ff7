"""Member identity: the phone number is the key, normalised the way Chinese retail writes it."""

from __future__ import annotations

import re

from domain.errors import InvalidRequest

TIERS = ("normal", "silver", "gold", "platinum")

# Rolling 12-month spend (what members paid less refunds, over completed orders) at which a
# member is upgraded, in fen. Upgrades only: a tier is never lowered automatically.
TIER_THRESHOLDS: tuple[tuple[str, int], ...] = (
    ("platinum", 2_000_000),  # 20,000 yuan
    ("gold", 500_000),  # 5,000 yuan
    ("silver", 100_000),  # 1,000 yuan
    ("normal", 0),
)
TIER_RANK = {"normal": 0, "silver": 1, "gold": 2, "platinum": 3}


def tier_for_spend(spend: int) -> str:
    for tier, threshold in TIER_THRESHOLDS:
        if spend >= threshold:
            return tier
    return "normal"


def upgraded_tier(current: str, spend: int) -> str:
    """The member's tier after an order completes: the spend's tier if higher, else unchanged."""
    earned = tier_for_spend(spend)
    return earned if TIER_RANK[earned] > TIER_RANK.get(current, 0) else current


def normalise_phone(raw: str) -> str:
    """Digits only, without a +86 / 0086 / 86 country prefix: '+86 138-0000-0001' -> '13800000001'.

    Mainland mobile numbers are 11 digits starting with 1; other numbers (landlines, foreign)
    keep their digits, with a leading '+' when one was given and no China prefix applies.
    """
    text = raw.strip()
    plus = text.startswith("+")
    digits = re.sub(r"[\s\-().]", "", text.lstrip("+"))
    if not digits.isdigit():
        raise InvalidRequest(
            "phone may hold only digits, spaces, dashes, dots, brackets and a leading +: send it "
            "as e.g. 13800000001",
            details={"phone": raw},
        )
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    if len(digits) < 5 or len(digits) > 20:
        raise InvalidRequest(
            f"phone has {len(digits)} digits: send 5 to 20, e.g. 13800000001",
            details={"phone": raw},
        )
    return ("+" + digits) if plus and not (len(digits) == 11 and digits[0] == "1") else digits


POINTS_PER_YUAN = 1  # members earn 1 point per full yuan paid, when the order completes


def points_earned(paid_amount: int) -> int:
    """Points an order earns on what the member paid for it (less refunds), in fen."""
    return max(0, paid_amount) // 100 * POINTS_PER_YUAN
