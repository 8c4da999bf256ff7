"""The outside systems that move goods, each behind a small port and spoken to over HTTP
(idempotent by the part's id): a warehouse's execution system (WMS), which takes a
part's notice, picks and ships it, and reports back through signed callbacks; and the courier,
which issues and cancels waybills, collects parcels and reports tracking events the same way."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from adapters.http import BlockingClient, TransportError


class SystemUnavailable(Exception):
    """The system failed or timed out; the call may be retried (it is idempotent)."""


@dataclass(frozen=True)
class Notice:
    """What a warehouse needs to pick and ship a part."""

    order_id: str
    fulfilment_id: str
    location_id: str
    mode: str
    lines: list[dict[str, Any]]  # [{"sku", "qty"}]
    carrier: str | None
    waybill: str | None
    address: dict[str, Any] | None
    callback_url: str


@dataclass(frozen=True)
class WaybillRequest:
    fulfilment_id: str
    carrier: str
    sender: dict[str, Any]
    recipient: dict[str, Any]
    weight_g: int
    callback_url: str
    items: list[dict[str, Any]] = field(default_factory=list)


class Warehouse(Protocol):
    def send_notice(self, notice: Notice) -> None: ...

    def stop(self, fulfilment_id: str) -> str: ...  # "stopped" | "too_late"


class Courier(Protocol):
    def create_waybill(self, req: WaybillRequest) -> str: ...

    def cancel_waybill(self, tracking_no: str) -> None: ...

    def collected(self, tracking_no: str) -> bool: ...  # False: the courier does not know it

    def drive(self, tracking_no: str, event: str) -> dict[str, Any]: ...


class _Http:
    def __init__(self, base_url: str, *, timeout_s: float = 5.0) -> None:
        self.client = BlockingClient(base_url, timeout=timeout_s)

    def call(self, method: str, path: str, body: Any = None, *, key: str | None = None) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            r = self.client.request(method, path, json=body, headers=headers)
        except TransportError as exc:
            raise SystemUnavailable(f"{path}: {exc}") from exc
        if r.status_code >= 500:
            raise SystemUnavailable(f"{path}: {r.status_code}")
        if r.status_code == 404:
            raise LookupError(r.text[:200])
        if r.status_code >= 400:
            raise ValueError(r.text[:200])
        return r.json() if r.content else None


class HttpWarehouse(_Http):
    def send_notice(self, notice: Notice) -> None:
        self.call("POST", "/notices", asdict(notice), key=f"notice:{notice.fulfilment_id}")

    def stop(self, fulfilment_id: str) -> str:
        answer = self.call("POST", f"/notices/{fulfilment_id}/stop")
        return str(answer["result"])


class HttpCourier(_Http):
    def create_waybill(self, req: WaybillRequest) -> str:
        answer = self.call("POST", "/waybills", asdict(req), key=f"waybill:{req.fulfilment_id}")
        return str(answer["tracking_no"])

    def cancel_waybill(self, tracking_no: str) -> None:
        try:
            self.call("DELETE", f"/waybills/{tracking_no}")
        except LookupError:
            pass  # never issued, or cancelled before

    def collected(self, tracking_no: str) -> bool:
        try:
            self.call("POST", f"/waybills/{tracking_no}/collected")
        except LookupError:
            return False  # a waybill of another courier (staff gave their own)
        return True

    def drive(self, tracking_no: str, event: str) -> dict[str, Any]:
        return self.call("POST", f"/waybills/{tracking_no}/events", {"event": event})  # type: ignore[no-any-return]
