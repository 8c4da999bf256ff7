"""Master data: locations and SKUs, as tables for admins and as domain values for the engines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine, Row
from sqlmodel import col, select

from adapters import fastsql
from adapters.db import read_scope, read_tx, session_scope
from adapters.tables import Carrier, ChannelConfig, CreditEvent, Location, Sku, utcnow
from domain.couriers import Carrier as CarrierRule
from domain.couriers import choose_carrier
from domain.errors import LocationNotAvailable, NotFound
from domain.orders import Address, PlannedPart
from domain.pricing import CatalogItem
from domain.routing import ChannelRule, Site

M = TypeVar("M", Location, Sku)
LOCATIONS: Table = Location.__table__  # type: ignore[attr-defined]
CHANNELS: Table = ChannelConfig.__table__  # type: ignore[attr-defined]
SKUS: Table = Sku.__table__  # type: ignore[attr-defined]
CARRIERS: Table = Carrier.__table__  # type: ignore[attr-defined]
# what every order reads, in statements built once (`adapters/fastsql.py`)
CHANNEL_CONFIG = sa_select(CHANNELS).where(CHANNELS.c.channel == bindparam("channel"))
LOCATION_ROW = sa_select(LOCATIONS).where(LOCATIONS.c.location_id == bindparam("loc"))
ALL_CARRIERS = sa_select(CARRIERS)


def _items_of(n: int) -> Any:
    return sa_select(
        SKUS.c.sku,
        SKUS.c.price_amount,
        SKUS.c.category,
        SKUS.c.goods_class,
        SKUS.c.sold_by,
        SKUS.c.weight_g,
    ).where(SKUS.c.sku.in_(fastsql.any_of(n)))


def _execution_of(n: int) -> Any:
    return sa_select(LOCATIONS.c.location_id, LOCATIONS.c.execution).where(
        LOCATIONS.c.location_id.in_(fastsql.any_of(n))
    )


class CatalogRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put_location(self, location_id: str, data: dict[str, Any]) -> tuple[Location, bool]:
        """Create or replace a location; True when it is new."""
        return self._put(Location(location_id=location_id, **data), location_id, data)

    def put_sku(self, sku: str, data: dict[str, Any]) -> tuple[Sku, bool]:
        """Create or replace a SKU; True when it is new."""
        return self._put(Sku(sku=sku, **data), sku, data)

    def _put(self, new: M, key: str, data: dict[str, Any]) -> tuple[M, bool]:
        with session_scope(self.engine) as s:
            row = s.get(type(new), key)
            created = row is None
            row = row or new
            for k, v in data.items():
                setattr(row, k, v)
            row.updated_at = utcnow()  # type: ignore[attr-defined]
            s.add(row)
            return row, created

    def get_location(self, location_id: str) -> Location | None:
        with read_scope(self.engine) as s:
            return s.get(Location, location_id)

    def get_sku(self, sku: str) -> Sku | None:
        with read_scope(self.engine) as s:
            return s.get(Sku, sku)

    def sku_by_plu(self, plu: str) -> Sku | None:
        """The item sold by weight whose shelf-scale labels carry `plu`."""
        with read_scope(self.engine) as s:
            return s.exec(select(Sku).where(Sku.plu == plu, Sku.sold_by == "weight")).first()

    def list_locations(self) -> list[Location]:
        with read_scope(self.engine) as s:
            return list(s.exec(select(Location).order_by(Location.location_id)))

    def list_skus(self) -> list[Sku]:
        with read_scope(self.engine) as s:
            return list(s.exec(select(Sku).order_by(Sku.sku)))

    def browse_skus(
        self, *, category: str | None, q: str | None, limit: int, after: str | None
    ) -> tuple[list[Sku], str | None]:
        """SKUs in code order, from after `after`: (this page, the last code when more follow)."""
        with read_scope(self.engine) as s:
            query = select(Sku)
            if category:
                query = query.where(Sku.category == category)
            if q:
                like = f"%{q.replace('%', '').replace('_', '')}%"
                query = query.where(col(Sku.name).ilike(like) | col(Sku.sku).ilike(like))
            if after:
                query = query.where(col(Sku.sku) > after)
            rows = list(s.exec(query.order_by(col(Sku.sku)).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, rows[-1].sku if more and rows else None

    def locations_for(
        self, channel: str | None, *, pickup: bool | None, city: str | None
    ) -> list[Location]:
        """The locations a channel may sell from (all of them for no channel)."""
        with read_scope(self.engine) as s:
            query = select(Location).order_by(Location.location_id)
            if pickup is not None:
                query = query.where(Location.pickup == pickup)
            if city:
                query = query.where(Location.city == city)
            rows = list(s.exec(query))
            config = s.get(ChannelConfig, channel) if channel else None
        rule = channel_rule_of(config) if config is not None else None
        return [r for r in rows if rule is None or rule.refuses(site_of(r), None) is None]

    def lower_credit(self, location_id: str, points: int, *, key: str, why: str) -> None:
        """Take `points` off a location's credit score (not below 0), once per `key`."""
        with session_scope(self.engine) as s:
            if s.get(CreditEvent, key) is not None:
                return
            row = s.get(Location, location_id, with_for_update=True)
            if row is None:
                return
            row.credit_score = max(0, row.credit_score - points)
            s.add(row)
            s.add(CreditEvent(key=key, location_id=location_id, delta=-points, why=why))

    def require_pickup(self, location_id: str, *, channel: str) -> None:
        """A location where this channel's members may pick up: it exists, offers pickup, and
        the channel may sell from it."""
        with read_tx(self.engine) as s:
            row = fastsql.first(s, LOCATION_ROW, {"loc": location_id})
            if row is None:
                raise NotFound(f"location {location_id} does not exist")
            config = fastsql.first(s, CHANNEL_CONFIG, {"channel": channel})
        if not row.pickup:
            raise LocationNotAvailable(
                f"location {location_id} offers no pickup: choose a location with pickup: true "
                "(GET /v1/locations?pickup=true), or ask for delivery",
                details={"location_id": location_id, "field": "fulfilment.location_id"},
            )
        rule = channel_rule_of(config) if config is not None else None
        refused = rule.refuses(site_of(row), None) if rule is not None else None
        if refused is not None:
            raise LocationNotAvailable(
                f"channel {channel} does not sell from location {location_id} ({refused}): "
                "choose one of GET /v1/locations",
                details={"location_id": location_id, "field": "fulfilment.location_id"},
            )

    def selling_channels(self, location_id: str, known: list[str]) -> list[str]:
        """Every channel that may sell from this location: the ones named in `known`, and every
        channel with a configuration, a webhook or a token, less those whose configuration
        leaves this location out."""
        from sqlalchemy import text

        with read_scope(self.engine) as s:
            row = s.get(Location, location_id)
            if row is None:
                return []
            names = set(known)
            for sql in (
                "SELECT channel FROM channelconfig",
                "SELECT channel FROM channelwebhook",
                "SELECT DISTINCT channel FROM apitoken WHERE channel IS NOT NULL",
            ):
                names |= {r[0] for r in s.execute(text(sql))}
            rules = {c.channel: channel_rule_of(c) for c in s.exec(select(ChannelConfig))}
        site = site_of(row)
        return sorted(n for n in names if n not in rules or rules[n].refuses(site, None) is None)

    def channel_rule(self, channel: str) -> ChannelRule | None:
        with read_tx(self.engine) as s:
            row = fastsql.first(s, CHANNEL_CONFIG, {"channel": channel})
            return None if row is None else channel_rule_of(row)

    def put_channel(self, channel: str, data: dict[str, Any]) -> ChannelConfig:
        with session_scope(self.engine) as s:
            row = s.get(ChannelConfig, channel) or ChannelConfig(channel=channel)
            for k, v in data.items():
                setattr(row, k, v)
            s.add(row)
            return row

    def list_channels(self) -> list[ChannelConfig]:
        with read_scope(self.engine) as s:
            return list(s.exec(select(ChannelConfig).order_by(ChannelConfig.channel)))

    def catalog_items(self, skus: list[str]) -> dict[str, CatalogItem]:
        with read_tx(self.engine) as s:
            return {r.sku: CatalogItem(*r) for r in fastsql.rows_in(s, _items_of, skus)}

    def assign_logistics(
        self,
        parts: list[PlannedPart],
        *,
        channel: str,
        address: Address | None,
        items: dict[str, CatalogItem],
    ) -> list[PlannedPart]:
        """Each part with how its location runs it (staff, or an execution system) and, for a
        delivery, its carrier by the courier rules (or the channel's own logistics)."""
        with read_tx(self.engine) as s:
            ids = sorted({p.location_id for p in parts})
            execution = {r.location_id: r.execution for r in fastsql.rows_in(s, _execution_of, ids)}
            deliveries = any(p.mode == "delivery" for p in parts)
            carriers = (
                [carrier_of(r) for r in fastsql.rows(s, ALL_CARRIERS, {})] if deliveries else []
            )
            config = fastsql.first(s, CHANNEL_CONFIG, {"channel": channel}) if deliveries else None
        own = config.logistics_carrier if config is not None else None
        out = []
        for part in parts:
            choice = None
            if part.mode == "delivery":
                weight = sum(items[ln.sku].grams(ln.qty) for ln in part.lines if ln.sku in items)
                province = address.province if address else ""
                choice = choose_carrier(
                    carriers, province=province, weight_g=weight, channel_carrier=own
                )
            out.append(
                replace(
                    part,
                    execution=execution.get(part.location_id, "staff"),
                    carrier=choice.carrier_id if choice else None,
                    carrier_reasons=choice.reasons if choice else [],
                )
            )
        return out

    def put_carrier(self, carrier_id: str, data: dict[str, Any]) -> tuple[Carrier, bool]:
        with session_scope(self.engine) as s:
            row = s.get(Carrier, carrier_id)
            created = row is None
            row = row or Carrier(carrier_id=carrier_id, **data)
            for k, v in data.items():
                setattr(row, k, v)
            row.updated_at = utcnow()
            s.add(row)
            return row, created

    def list_carriers(self) -> list[Carrier]:
        with read_scope(self.engine) as s:
            return list(s.exec(select(Carrier).order_by(Carrier.carrier_id)))


def site_of(row: Location | Row[Any], *, quota_used: int = 0) -> Site:
    """A location as routing sees it, from its model or a plain row of its table."""
    quota_left = None if row.daily_quota is None else row.daily_quota - quota_used
    return Site(
        location_id=row.location_id,
        kind=row.kind,
        province=row.province,
        city=row.city,
        lat=row.lat,
        lng=row.lng,
        ships=row.ships,
        pickup=row.pickup,
        priority=row.priority,
        shipping_cost_amount=row.shipping_cost_amount,
        credit_score=row.credit_score,
        quota_left=quota_left,
    )


def carrier_of(row: Carrier) -> CarrierRule:
    return CarrierRule(
        row.carrier_id,
        row.name,
        frozenset(row.provinces),
        row.cost_amount,
        row.max_weight_g,
        row.priority,
    )


def channel_rule_of(row: ChannelConfig) -> ChannelRule:
    return ChannelRule(frozenset(row.location_kinds), frozenset(row.location_ids), row.radius_km)
