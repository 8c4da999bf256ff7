"""Stock per (location, SKU) with a movement ledger; reserve, release, deduct and restock are
atomic and idempotent, keyed by (order, fulfilment, SKU)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters import fastsql
from adapters.catalog import site_of
from adapters.db import Tx, read_scope, read_tx, session_scope, write_tx
from adapters.events import touch_stock
from adapters.tables import DailyDispatch, Location, Stock, StockMovement
from domain.changes import Hold
from domain.orders import PlannedPart
from domain.routing import Site


@dataclass
class StockSnapshot:
    sites: list[Site]
    available: dict[tuple[str, str], int]


MOVEMENTS: Table = StockMovement.__table__  # type: ignore[attr-defined]
STOCK: Table = Stock.__table__  # type: ignore[attr-defined]
LOCATIONS: Table = Location.__table__  # type: ignore[attr-defined]
DISPATCH: Table = DailyDispatch.__table__  # type: ignore[attr-defined]


# what every order's plan reads, in statements built once (`adapters/fastsql.py`)
DISPATCHED_ON = sa_select(DISPATCH.c.location_id, DISPATCH.c.parts).where(
    DISPATCH.c.day == bindparam("day")
)
ALL_LOCATIONS = sa_select(LOCATIONS).order_by(LOCATIONS.c.location_id)


def _available_of(n: int) -> Any:
    return sa_select(
        STOCK.c.location_id,
        STOCK.c.sku,
        (STOCK.c.on_hand - STOCK.c.reserved - STOCK.c.safety_stock).label("available"),
    ).where(STOCK.c.sku.in_(fastsql.any_of(n)))


def _has_movement(s: Session, key: str) -> bool:
    found = s.execute(sa_select(MOVEMENTS.c.id).where(MOVEMENTS.c.key == key)).first()
    return found is not None


def _keys_of(n: int) -> Any:
    return sa_select(MOVEMENTS.c.key).where(MOVEMENTS.c.key.in_(fastsql.any_of(n)))


def _recorded(s: Session | Tx, keys: list[str]) -> set[str]:
    """Which of `keys` the movement ledger already holds (one lookup for all of them)."""
    return {r.key for r in fastsql.rows_in(s, _keys_of, keys)}


class _Short(Exception):
    """A line could not be reserved: the reservation's transaction is rolled back."""


class InventoryRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reads -----------------------------------------------------------------------------

    def get(self, location_id: str, sku: str) -> Stock | None:
        with read_scope(self.engine) as s:
            return s.get(Stock, (location_id, sku))

    def snapshot(self, skus: list[str], *, day: date) -> StockSnapshot:
        """Sites and available stock of `skus`, for planning (plain rows: every order reads
        every location, and building ORM objects for them cost more than the reads)."""
        with read_tx(self.engine) as s:
            used = dict(fastsql.rows(s, DISPATCHED_ON, {"day": day.isoformat()}))
            sites = [
                site_of(loc, quota_used=used.get(loc.location_id, 0))
                for loc in fastsql.rows(s, ALL_LOCATIONS, {})
            ]
            available = {
                (loc, sku): max(0, n) for loc, sku, n in fastsql.rows_in(s, _available_of, skus)
            }
            return StockSnapshot(sites, available)

    def sellable(
        self, skus: list[str], *, location_id: str | None, mode: str, wanted: dict[str, int]
    ) -> set[str]:
        """Which of `skus` one location (the given one, or any serving `mode`) can supply."""
        with read_scope(self.engine) as s:
            q = (
                select(Stock)
                .join(Location, col(Location.location_id) == col(Stock.location_id))
                .where(col(Stock.sku).in_(skus))
                .where(col(Location.pickup) if mode == "pickup" else col(Location.ships))
            )
            if location_id:
                q = q.where(Stock.location_id == location_id)
            return {
                r.sku
                for r in s.exec(q)
                if r.on_hand - r.reserved - r.safety_stock >= wanted.get(r.sku, 1)
            }

    def drift(self) -> list[dict[str, object]]:
        """Stock rows whose counters disagree with the movement ledger (empty when all agree)."""
        with read_scope(self.engine) as s:
            sums = {
                (loc, sku): (int(oh or 0), int(rs or 0))
                for loc, sku, oh, rs in s.execute(
                    text(
                        "SELECT location_id, sku, SUM(on_hand_delta), SUM(reserved_delta) "
                        "FROM stockmovement GROUP BY location_id, sku"
                    )
                )
            }
            out: list[dict[str, object]] = []
            for row in s.exec(select(Stock)):
                on_hand, reserved = sums.pop((row.location_id, row.sku), (0, 0))
                if (on_hand, reserved) != (row.on_hand, row.reserved):
                    out.append(
                        {
                            "location_id": row.location_id,
                            "sku": row.sku,
                            "on_hand": row.on_hand,
                            "ledger_on_hand": on_hand,
                            "reserved": row.reserved,
                            "ledger_reserved": reserved,
                        }
                    )
            out += [
                {
                    "location_id": loc,
                    "sku": sku,
                    "on_hand": None,
                    "ledger_on_hand": oh,
                    "reserved": None,
                    "ledger_reserved": rs,
                }
                for (loc, sku), (oh, rs) in sums.items()
                if oh or rs
            ]
            return out

    # --- writes ----------------------------------------------------------------------------

    def set_counted(self, location_id: str, sku: str, *, on_hand: int, safety_stock: int) -> Stock:
        """Admin count: set on_hand (through the ledger) and safety stock; keep reservations."""
        with session_scope(self.engine) as s:
            row = s.get(Stock, (location_id, sku), with_for_update=True)
            if row is None:
                row = Stock(location_id=location_id, sku=sku, on_hand=0, reserved=0)
            delta = on_hand - row.on_hand
            row.on_hand = on_hand
            row.safety_stock = safety_stock
            s.add(row)
            s.flush()
            if delta:
                _moved(s, self._movement("adjust", location_id, sku, on_hand_delta=delta))
            touch_stock(s, {(location_id, sku)})
            return row

    def receive(self, location_id: str, sku: str, *, qty: int, key: str) -> Stock:
        """Goods received: on_hand grows through the ledger. Idempotent on `key`."""
        with session_scope(self.engine) as s:
            if not _has_movement(s, key):
                self._ensure_row(s, location_id, sku)
                s.execute(
                    text("UPDATE stock SET on_hand = on_hand + :q WHERE location_id=:l AND sku=:s"),
                    {"q": qty, "l": location_id, "s": sku},
                )
                _moved(s, self._movement("receive", location_id, sku, on_hand_delta=qty, key=key))
                touch_stock(s, {(location_id, sku)})
            row = s.get(Stock, (location_id, sku))
            assert row is not None
            s.refresh(row)
            return row

    def reserve(self, order_id: str, parts: list[PlannedPart], *, day: date) -> bool:
        """Reserve every line of every part atomically; False (nothing reserved) on a conflict.

        Rows are touched in (location, SKU) order so concurrent reservations never deadlock;
        each update is conditional on enough available stock, so none can over-reserve.
        Already-reserved keys are skipped: a repeated call changes nothing.
        """
        todo = sorted(
            (
                (part.location_id, line.sku, line.qty, part.fulfilment_id)
                for part in parts
                for line in part.lines
            ),
        )
        touched: set[str] = set()
        try:
            with write_tx(self.engine) as s:
                keys = [f"reserve:{order_id}:{fid}:{sku}" for _, sku, _, fid in todo]
                done = _recorded(s, keys)
                for (location_id, sku, qty, fulfilment_id), key in zip(todo, keys, strict=True):
                    if key in done:
                        continue
                    done.add(key)
                    touched.add(location_id)
                    if not self._reserve_row(
                        s, location_id, sku, qty, key, order_id, fulfilment_id
                    ):
                        raise _Short  # nothing of this reservation stays
                for location_id in sorted(touched):
                    self._count_dispatch(s, location_id, day)
                touch_stock(s, {(loc, sku) for loc, sku, _, _ in todo})
        except _Short:
            return False
        return True

    def swap(
        self,
        order_id: str,
        fulfilment_id: str,
        location_id: str,
        *,
        key: str,
        less: tuple[str, int],
        more: tuple[str, int] | None = None,
    ) -> bool:
        """A substitution's answer: `less` (sku, qty) released from the part's reservation and
        `more` reserved for it instead, at once; False (nothing changed) when `more` is not to
        be had. The replacement's reservation is keyed as the part's own, so that the part's
        release or deduction settles it. Idempotent."""
        sku, qty = less
        keys = [f"substitute:{key}:{sku}"]
        with session_scope(self.engine) as s:
            if _recorded(s, keys):
                return True
            if more is not None:  # the part's own key, unless a change took it before
                own = f"reserve:{order_id}:{fulfilment_id}:{more[0]}"
                keys.append(own if not _recorded(s, [own]) else f"substitute:{key}:{more[0]}:in")
            rows = sorted([(sku, -qty, keys[0]), *([(more[0], more[1], keys[1])] if more else [])])
            for row_sku, delta, row_key in rows:  # in SKU order, as reservations take rows
                if delta > 0:
                    if not _take(s, location_id, row_sku, delta):
                        s.rollback()
                        return False
                else:
                    s.execute(
                        text(
                            "UPDATE stock SET reserved = reserved + :q "
                            "WHERE location_id=:l AND sku=:s"
                        ),
                        {"q": delta, "l": location_id, "s": row_sku},
                    )
                _moved(
                    s,
                    self._movement(
                        "reserve" if delta > 0 else "release",
                        location_id,
                        row_sku,
                        reserved_delta=delta,
                        key=row_key,
                        order_id=order_id,
                        fulfilment_id=fulfilment_id,
                        note=f"substitution {key}",
                    ),
                )
            touch_stock(s, {(location_id, r[0]) for r in rows})
            return True

    def hold(self, order_id: str, change: str, holds: list[Hold]) -> bool:
        """An order change's increases, all or none (False: one is not to be had). A part's
        first hold of a SKU is its reservation of it, keyed as the part's own, so that the
        part's release or deduction settles it. Idempotent."""
        own = [f"reserve:{order_id}:{h.fulfilment_id}:{h.sku}" for h in holds]
        changed = [f"change:{order_id}:{change}:{h.fulfilment_id}:{h.sku}" for h in holds]
        note = f"order change {change}"
        with session_scope(self.engine) as s:
            done = _recorded(s, changed)
            taken = dict(  # a part's own keys already in the ledger, and the change that took each
                s.execute(
                    sa_select(MOVEMENTS.c.key, MOVEMENTS.c.note).where(MOVEMENTS.c.key.in_(own))
                ).all()
            )
            keys = []
            for h, o, c in zip(holds, own, changed, strict=True):
                if h.first and o not in taken:
                    keys.append(o)
                elif h.first and taken[o] == note:
                    done.add(o)  # this change, tried again
                    keys.append(o)
                else:  # an increase, or a part's own key taken by a change that was undone
                    keys.append(c)
            todo = sorted(
                (h.location_id, h.sku, h.fulfilment_id, h.qty, key)
                for h, key in zip(holds, keys, strict=True)
                if key not in done
            )
            for location_id, sku, fid, qty, key in todo:  # rows in (location, SKU) order
                if not self._reserve_row(s, location_id, sku, qty, key, order_id, fid, note):
                    s.rollback()
                    return False
            touch_stock(s, {(h.location_id, h.sku) for h in holds})
            return True

    def let_go(self, order_id: str, change: str, holds: list[Hold], *, kind: str) -> None:
        """An order change's decreases once it stands (`kind` "change"), or its increases when
        it is undone ("undo"). Idempotent."""
        with session_scope(self.engine) as s:
            keys = [f"{kind}:{order_id}:{change}:{h.fulfilment_id}:{h.sku}:out" for h in holds]
            done = _recorded(s, keys)
            for h, key in sorted(
                zip(holds, keys, strict=True), key=lambda x: (x[0].location_id, x[0].sku)
            ):
                if key in done:
                    continue
                s.execute(
                    text(
                        "UPDATE stock SET reserved = reserved - :q WHERE location_id=:l AND sku=:s"
                    ),
                    {"q": h.qty, "l": h.location_id, "s": h.sku},
                )
                _moved(
                    s,
                    self._movement(
                        "release",
                        h.location_id,
                        h.sku,
                        reserved_delta=-h.qty,
                        key=key,
                        order_id=order_id,
                        fulfilment_id=h.fulfilment_id,
                        note=f"order change {change}",
                    ),
                )
            touch_stock(s, {(h.location_id, h.sku) for h in holds})

    def release(self, order_id: str, part: PlannedPart, *, reason: str = "release") -> None:
        """Give back what `part` reserved and has not yet deducted. Idempotent."""
        self._settle(order_id, part, kind="release", reason=reason)

    def deduct(
        self, order_id: str, part: PlannedPart, *, handed: dict[str, int] | None = None
    ) -> None:
        """Goods left the location: the reservation ends and on_hand drops by what left
        (`handed`, after a short pick; all of it by default). Idempotent."""
        self._settle(order_id, part, kind="deduct", reason="handed over", handed=handed)

    def _settle(
        self,
        order_id: str,
        part: PlannedPart,
        *,
        kind: str,
        reason: str,
        handed: dict[str, int] | None = None,
    ) -> None:
        # Rows in SKU order, as reservations take them: concurrent moves never deadlock.
        lines = sorted(part.lines, key=lambda ln: ln.sku)
        bases = [f"{order_id}:{part.fulfilment_id}:{line.sku}" for line in lines]
        with write_tx(self.engine) as s:
            done = _recorded(
                s, [f"{k}:{b}" for b in bases for k in ("reserve", "release", "deduct")]
            )
            for line, base in zip(lines, bases, strict=True):
                if f"reserve:{base}" not in done:
                    continue
                if f"release:{base}" in done or f"deduct:{base}" in done:
                    continue
                done.add(f"{kind}:{base}")
                left = line.qty if handed is None else min(line.qty, handed.get(line.sku, 0))
                on_hand_delta = -left if kind == "deduct" else 0
                fastsql.execute(
                    s,
                    SETTLE,
                    {"q": line.qty, "d": on_hand_delta, "l": part.location_id, "s": line.sku},
                )
                _moved(
                    s,
                    self._movement(
                        kind,
                        part.location_id,
                        line.sku,
                        reserved_delta=-line.qty,
                        on_hand_delta=on_hand_delta,
                        key=f"{kind}:{base}",
                        order_id=order_id,
                        fulfilment_id=part.fulfilment_id,
                        note=reason,
                    ),
                )
            touch_stock(s, {(part.location_id, line.sku) for line in lines})

    def restock(self, order_id: str, location_id: str, sku: str, qty: int, *, key: str) -> None:
        """Returned goods back on the shelf: on_hand grows through the ledger. Idempotent."""
        with session_scope(self.engine) as s:
            if _has_movement(s, key):
                return
            self._ensure_row(s, location_id, sku)
            s.execute(
                text("UPDATE stock SET on_hand = on_hand + :q WHERE location_id=:l AND sku=:s"),
                {"q": qty, "l": location_id, "s": sku},
            )
            _moved(
                s,
                self._movement(
                    "restock",
                    location_id,
                    sku,
                    on_hand_delta=qty,
                    key=key,
                    order_id=order_id,
                    note="returned",
                ),
            )
            touch_stock(s, {(location_id, sku)})

    # --- helpers ---------------------------------------------------------------------------

    def _reserve_row(
        self,
        s: Session | Tx,
        location_id: str,
        sku: str,
        qty: int,
        key: str,
        order_id: str,
        fulfilment_id: str,
        note: str | None = None,
    ) -> bool:
        """`qty` reserved for a part if that many are to be had, with its movement."""
        if not _take(s, location_id, sku, qty):
            return False
        _moved(
            s,
            self._movement(
                "reserve",
                location_id,
                sku,
                reserved_delta=qty,
                key=key,
                order_id=order_id,
                fulfilment_id=fulfilment_id,
                **({"note": note} if note else {}),
            ),
        )
        return True

    @staticmethod
    def _ensure_row(s: Session, location_id: str, sku: str) -> None:
        if s.get(Stock, (location_id, sku)) is None:
            s.add(Stock(location_id=location_id, sku=sku))
            s.flush()

    @staticmethod
    def _count_dispatch(s: Session | Tx, location_id: str, day: date) -> None:
        fastsql.execute(s, COUNT_DISPATCH, {"l": location_id, "d": day.isoformat()})

    @staticmethod
    def _movement(kind: str, location_id: str, sku: str, **kw: object) -> dict[str, object]:
        key = kw.pop("key", None) or f"{kind}:{location_id}:{sku}:{uuid.uuid4().hex}"
        return {"kind": kind, "location_id": location_id, "sku": sku, "key": key, **kw}


def _moved(s: Session | Tx, movement: dict[str, object]) -> None:
    """A movement in the ledger (a plain insert in the session's transaction)."""
    fastsql.insert(s, StockMovement, [movement])


TAKE = text(
    "UPDATE stock SET reserved = reserved + :q WHERE location_id=:l "
    "AND sku=:s AND on_hand - reserved - safety_stock >= :q"
)
COUNT_DISPATCH = text(
    "INSERT INTO dailydispatch (location_id, day, parts) VALUES (:l, :d, 1) "
    "ON CONFLICT (location_id, day) DO UPDATE SET parts = dailydispatch.parts + 1"
)
SETTLE = text(
    "UPDATE stock SET reserved = reserved - :q, on_hand = on_hand + :d "
    "WHERE location_id=:l AND sku=:s"
)


def _take(s: Session | Tx, location_id: str, sku: str, qty: int) -> bool:
    """Reserve `qty` if that many are available beyond the safety stock (one conditional
    update, so that concurrent reservations never over-reserve)."""
    return fastsql.execute(s, TAKE, {"q": qty, "l": location_id, "s": sku}) == 1
