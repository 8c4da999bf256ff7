"""What operations see of an order in Temporal UI: its search attributes (shown as list
columns and used by saved views) and its current details."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

if TYPE_CHECKING:
    from domain.fulfilment import FulfilmentState
    from workflows.state import OrderState

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
CHANNEL_ORDER_ID = SearchAttributeKey.for_keyword("ChannelOrderId")
MEMBER_ID = SearchAttributeKey.for_keyword("MemberId")
LOCATION_IDS = SearchAttributeKey.for_keyword_list("LocationIds")
ORDER_TOTAL = SearchAttributeKey.for_int("OrderTotal")
# each part's status, alone and at its location ("picked", "S-HZ-01:picked")
PART_STATUSES = SearchAttributeKey.for_keyword_list("PartStatuses")
REFUSAL = SearchAttributeKey.for_keyword("RefusalReason")


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100}.{abs(fen) % 100:02d}"


def stage(text: str, since: datetime, *, lines: list[str] | None = None) -> str:
    """Current details: where the thing stands and since when, then any detail lines."""
    body = [f"**{text}** since {since.strftime('%Y-%m-%d %H:%M:%S UTC')}"]
    body += [f"- {ln}" for ln in (lines or [])]
    return "\n".join(body)


def part_statuses(parts: list[tuple[str, str]]) -> list[str]:
    """PartStatuses of (location, status) pairs: each status alone and at its location."""
    out: set[str] = set()
    for location_id, status in parts:
        out |= {status, f"{location_id}:{status}"}
    return sorted(out)


class OperatorView:
    """Search attributes as they were last shown: a change is staged, and `show` upserts
    whatever changed since, in one command (a visibility write on the server each)."""

    def __init__(self) -> None:
        self._shown: dict[str, Any] = {}
        self._staged: dict[str, tuple[SearchAttributeKey[Any], Any]] = {}

    def stage(self, key: SearchAttributeKey[Any], value: Any) -> None:
        if self._shown.get(key.name) == value:
            self._staged.pop(key.name, None)
        else:
            self._staged[key.name] = (key, value)

    def shown(self, key: SearchAttributeKey[Any], value: Any) -> None:
        """A value set when the workflow started (nothing to upsert)."""
        self._shown[key.name] = value

    def show(self) -> None:
        if not self._staged:
            return
        updates: list[SearchAttributeUpdate[Any]] = [
            key.value_set(value) for key, value in self._staged.values()
        ]
        workflow.upsert_search_attributes(updates)
        self._shown |= {name: value for name, (_, value) in self._staged.items()}
        self._staged = {}

    def details(self, headline: str, lines: list[str]) -> None:
        workflow.set_current_details(stage(headline, workflow.now(), lines=lines))


def order_details(o: OrderState, running: dict[str, FulfilmentState]) -> list[str]:
    """The order's current details: what it costs and why, its member's tier, each part with
    where it stands and why it went there, and any refund that failed."""
    lines = []
    if o.pricing:
        lines.append(f"payable {yuan(o.pricing.payable_amount)} by {o.request.payment_method}")
        lines += o.pricing.trace
    if o.member_tier:
        lines.append(f"member {o.member_id} is {o.member_tier}")
    for p in o.parts:
        state = running.get(p.fulfilment_id) or o.results.get(p.fulfilment_id)
        lines.append(
            f"{p.fulfilment_id} at {p.location_id}"
            + (f": {state.status}" if state else "")
            + f" — {'; '.join(p.reasons[:2])}"
        )
    lines += [f"refund FAILED {failed}" for failed in o.failed_refunds]
    return lines
