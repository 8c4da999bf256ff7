"""Activities that speak to the systems moving goods: the courier (waybills, collection) and a
warehouse's execution system (notices, stops); and the tracking the courier reports, into the
read model. Each is idempotent: a retry asks again for the same part's waybill or notice."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import contracts as c
from adapters.catalog import CatalogRepository
from adapters.logistics import (
    Courier,
    Notice,
    SystemUnavailable,
    Warehouse,
    WaybillRequest,
)
from adapters.read_model import ReadModel


class LogisticsActivities:
    def __init__(
        self,
        *,
        warehouse: Warehouse,
        courier: Courier,
        catalog: CatalogRepository,
        read_model: ReadModel,
        wms_callback_url: str,
        courier_callback_url: str,
    ) -> None:
        self.warehouse = warehouse
        self.courier = courier
        self.catalog = catalog
        self.read_model = read_model
        self.wms_callback_url = wms_callback_url
        self.courier_callback_url = courier_callback_url

    def all(self) -> list[Any]:
        return [
            self.issue_waybill,
            self.cancel_waybill,
            self.parcel_collected,
            self.send_notice,
            self.stop_at_warehouse,
            self.record_tracking,
        ]

    @activity.defn
    def issue_waybill(self, p: c.Parcel) -> str:
        """The part's waybill from its carrier (the same one again on a retry), recorded on the
        part so that its label prints: the waybill number."""
        part = p.part
        assert p.carrier, "a waybill needs a carrier"
        location = self.catalog.get_location(part.location_id)
        items = self.catalog.catalog_items(sorted({ln.sku for ln in part.lines}))
        weight = sum(items[ln.sku].grams(ln.qty) for ln in part.lines if ln.sku in items)
        sender = {"name": part.location_id, "province": "", "city": ""}
        if location is not None:
            sender = {
                "name": location.name,
                "province": location.province,
                "city": location.city,
            }
        req = WaybillRequest(
            fulfilment_id=part.fulfilment_id,
            carrier=p.carrier,
            sender=sender,
            recipient=asdict(p.address) if p.address else {},
            weight_g=weight,
            callback_url=self.courier_callback_url,
            items=[{"sku": ln.sku, "qty": ln.qty} for ln in part.lines],
        )
        number = _answer(lambda: self.courier.create_waybill(req))
        self.read_model.set_waybill(part.fulfilment_id, carrier=p.carrier, tracking_no=number)
        return number

    @activity.defn
    def cancel_waybill(self, tracking_no: str) -> None:
        _answer(lambda: self.courier.cancel_waybill(tracking_no))

    @activity.defn
    def parcel_collected(self, tracking_no: str) -> bool:
        """The carrier has the parcel (it starts tracking it); False for a waybill it does not
        know (staff gave their own number)."""
        return bool(_answer(lambda: self.courier.collected(tracking_no)))

    @activity.defn
    def send_notice(self, p: c.Parcel) -> None:
        """The part goes to its warehouse's execution system, which will report back."""
        part = p.part
        notice = Notice(
            order_id=p.order_id,
            fulfilment_id=part.fulfilment_id,
            location_id=part.location_id,
            mode=part.mode,
            lines=[{"sku": ln.sku, "qty": ln.qty} for ln in part.lines],
            carrier=p.carrier,
            waybill=p.waybill,
            address=asdict(p.address) if p.address else None,
            callback_url=self.wms_callback_url,
        )
        _answer(lambda: self.warehouse.send_notice(notice))

    @activity.defn
    def stop_at_warehouse(self, fulfilment_id: str) -> str:
        """ "stopped" (the part will not leave), or "too_late" (it has shipped)."""
        return str(_answer(lambda: self.warehouse.stop(fulfilment_id)))

    @activity.defn
    def record_tracking(self, t: c.TrackingNote) -> None:
        self.read_model.add_tracking(
            t.order_id, t.fulfilment_id, seq=t.seq, event=t.event, detail=t.detail
        )


def _answer(call: Any) -> Any:
    """The system's answer; a failure it may recover from is retried (raised as is), one it
    will not is not."""
    try:
        return call()
    except SystemUnavailable:
        raise
    except (ValueError, LookupError) as err:
        raise ApplicationError(str(err), type="refused_by_system", non_retryable=True) from err
