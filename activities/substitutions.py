"""Activities of a substitution: the replacement looked up (sold, and to be had where the part
is), the part's reservation swapped when the member answers, and every step recorded for the
timeline, the console and the channel."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from temporalio import activity

from activities import contracts as c
from activities.orders import business_error
from adapters.catalog import CatalogRepository
from adapters.inventory import InventoryRepository
from adapters.read_model import ReadModel
from domain.errors import InsufficientStock, InvalidRequest
from domain.substitutions import Replacement


class SubstitutionActivities:
    def __init__(
        self, *, catalog: CatalogRepository, inventory: InventoryRepository, read_model: ReadModel
    ) -> None:
        self.catalog = catalog
        self.inventory = inventory
        self.read_model = read_model

    def all(self) -> list[Any]:
        return [self.find_replacement, self.swap_stock, self.record_substitution]

    @activity.defn
    def find_replacement(self, q: c.SubstituteQuery) -> Replacement:
        """The replacement as sold, when the location has `qty` of it to spare."""
        item = self.catalog.get_sku(q.with_sku)
        if item is None:
            raise business_error(
                InvalidRequest(
                    f"SKU {q.with_sku} is not in the catalogue: propose one that is",
                    details={"field": "with_sku", "with_sku": q.with_sku},
                )
            )
        stock = self.inventory.get(q.location_id, q.with_sku)
        spare = 0 if stock is None else stock.on_hand - stock.reserved - stock.safety_stock
        if spare < q.qty:
            raise business_error(
                InsufficientStock(
                    f"{q.location_id} has {max(0, spare)} of {q.with_sku} to spare, not {q.qty}: "
                    "propose another item",
                    details={"skus": [q.with_sku], "available": max(0, spare)},
                )
            )
        return Replacement(item.sku, q.qty, item.price_amount, item.sold_by, item.category)

    @activity.defn
    def swap_stock(self, swap: c.StockSwap) -> bool:
        """The missing units released and the replacement reserved in their place (False: it
        is no longer to be had, and nothing changed)."""
        more = (swap.with_sku, swap.with_qty) if swap.with_sku else None
        return self.inventory.swap(
            swap.order_id,
            swap.fulfilment_id,
            swap.location_id,
            key=swap.substitution_id,
            less=(swap.sku, swap.qty),
            more=more,
        )

    @activity.defn
    def record_substitution(self, rec: c.SubstitutionRecord) -> None:
        plan = None
        if rec.pricing is not None and rec.parts is not None:
            plan = {"pricing": asdict(rec.pricing), "parts": [asdict(p) for p in rec.parts]}
        self.read_model.record_substitution(
            rec.order_id,
            rec.proposal,
            event=rec.event,
            detail=rec.detail,
            part_lines=rec.part_lines,
            new_line=rec.new_line,
            plan=plan,
        )


__all__ = ["SubstitutionActivities"]
