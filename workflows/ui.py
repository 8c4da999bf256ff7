"""What operations see in Temporal UI: search attribute keys and readable summaries."""

from __future__ import annotations

from datetime import datetime

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
MEMBER_ID = SearchAttributeKey.for_keyword("MemberId")
LOCATION_IDS = SearchAttributeKey.for_keyword_list("LocationIds")
ORDER_TOTAL = SearchAttributeKey.for_int("OrderTotal")
FULFILMENT_STATUS = SearchAttributeKey.for_keyword("FulfilmentStatus")  # a child part's
# each part's status, alone and at its location ("picked", "S-HZ-01:picked"), on an order whose
# parts run in its own workflow
PART_STATUSES = SearchAttributeKey.for_keyword_list("PartStatuses")


def yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def hhmm(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def stage(text: str, since: datetime, *, lines: list[str] | None = None) -> str:
    """Current details: where the thing stands and since when, then any detail lines."""
    body = [f"**{text}** since {hhmm(since)}"]
    body += [f"- {ln}" for ln in (lines or [])]
    return "\n".join(body)
