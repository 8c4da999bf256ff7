"""Settlement rules per channel and location, settlement entries per order, daily statements."""

from __future__ import annotations

import csv
import io
from collections import namedtuple
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters import fastsql
from adapters.db import Tx, read_scope, session_scope, write_tx
from adapters.tables import (
    Location,
    Order,
    OrderSettlement,
    SettlementEntry,
    SettlementRule,
    utcnow,
)
from domain.errors import NotFound
from domain.settlement import SettlementTerms, settlement_delta

_ENTRIES = SettlementEntry.__table__  # type: ignore[attr-defined]
# the key itself, or an entry of its shares (`key|party|role`, among the order's entries: both
# found through an index): a settlement made before
ENTRY_SEEN = sa_select(_ENTRIES.c.id).where(
    or_(
        _ENTRIES.c.key == bindparam("key"),
        and_(
            _ENTRIES.c.order_id == bindparam("oid"),
            _ENTRIES.c.key.startswith(bindparam("prefix")),
        ),
    )
)


_SNAPSHOTS = OrderSettlement.__table__  # type: ignore[attr-defined]
_RULES = SettlementRule.__table__  # type: ignore[attr-defined]
SNAPSHOT_FOR_UPDATE = (
    sa_select(_SNAPSHOTS).where(_SNAPSHOTS.c.order_id == bindparam("oid")).with_for_update()
)
SET_NET = (
    update(_SNAPSHOTS)
    .where(_SNAPSHOTS.c.order_id == bindparam("oid"))
    .values(net_amount=bindparam("net"))
)
_Snapshot = namedtuple(
    "_Snapshot", ["order_id", "rule_id", "model", "params", "fulfiller", "net_amount"]
)


def _rules_of(n: int) -> Any:
    return sa_select(_RULES.c.rule_id, _RULES.c.model, _RULES.c.params).where(
        _RULES.c.rule_id.in_(fastsql.any_of(n))
    )


def rule_id_for(channel: str | None, location_id: str | None) -> str:
    return f"{channel or '*'}@{location_id or '*'}"


class SettlementLedger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- rules -------------------------------------------------------------------------------

    def put_rule(
        self, terms: SettlementTerms, *, channel: str | None, location_id: str | None
    ) -> dict[str, Any]:
        terms.validate()
        rule_id = rule_id_for(channel, location_id)
        with session_scope(self.engine) as s:
            if location_id and s.get(Location, location_id) is None:
                raise NotFound(f"location {location_id} does not exist")
            row = s.get(SettlementRule, rule_id) or SettlementRule(
                rule_id=rule_id, channel=channel, location_id=location_id, model=terms.model
            )
            row.model = terms.model
            row.params = terms.as_params()
            row.updated_at = utcnow()
            s.add(row)
            s.flush()
            return _rule_view(row)

    def rules(self) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(SettlementRule).order_by(col(SettlementRule.rule_id))
            return [_rule_view(r) for r in s.exec(q)]

    def delete_rule(self, rule_id: str) -> None:
        with session_scope(self.engine) as s:
            row = s.get(SettlementRule, rule_id)
            if row is None:
                raise NotFound(f"settlement rule {rule_id} does not exist")
            s.delete(row)

    def terms_for(
        self, s: Session | Tx, channel: str, location_id: str
    ) -> tuple[str | None, SettlementTerms]:
        """The most specific rule: channel and location, then location, then channel, then the
        default rule `*@*`; without any, buy-sell."""
        candidates = [
            rule_id_for(channel, location_id),
            rule_id_for(None, location_id),
            rule_id_for(channel, None),
            rule_id_for(None, None),
        ]
        rules = {r.rule_id: r for r in fastsql.rows_in(s, _rules_of, candidates)}
        for rule_id in candidates:
            row = rules.get(rule_id)
            if row is not None:
                return rule_id, SettlementTerms.from_params(row.model, row.params)
        return None, SettlementTerms()

    # --- entries -----------------------------------------------------------------------------

    def settle(
        self,
        order_id: str,
        *,
        key: str,
        delta: int,
        channel: str,
        location_id: str,
        day: str,
        cause: str,
        fulfillers: list[tuple[str, int]] | None = None,
    ) -> None:
        """Move the order's settled net by `delta` fen (negative for a return) and record what
        each party gains or gives back. The terms are fixed at the first settlement; keyed by
        `key`, so repeating it changes nothing."""
        with write_tx(self.engine) as s:
            snap = fastsql.first(s, SNAPSHOT_FOR_UPDATE, {"oid": order_id})
            new = snap is None
            if (
                fastsql.first(s, ENTRY_SEEN, {"key": key, "oid": order_id, "prefix": key + "|"})
                is not None
            ):
                return
            if snap is None:
                rule_id, terms = self.terms_for(s, channel, location_id)
                snap = _Snapshot(
                    order_id=order_id,
                    rule_id=rule_id,
                    model=terms.model,
                    params=terms.as_params() | {"fulfillers": [list(f) for f in fulfillers or []]},
                    fulfiller=f"location:{location_id}",
                    net_amount=0,
                )
            terms = SettlementTerms.from_params(snap.model, snap.params)
            shared_by = [(str(p), int(w)) for p, w in snap.params.get("fulfillers", [])]
            before = snap.net_amount
            after = max(0, before + delta)
            moves = settlement_delta(
                terms,
                net_before=before,
                net_after=after,
                fulfiller=shared_by[0][0] if shared_by else snap.fulfiller,
                fulfillers=shared_by,
            )
            entries = [
                {
                    "key": f"{key}|{share.party}|{share.role}",
                    "order_id": order_id,
                    "model": snap.model,
                    "party": share.party,
                    "role": share.role,
                    "amount": share.amount,
                    "day": day,
                    "cause": cause,
                }
                for share in moves
            ]
            if not moves:  # keep the key, so a repeat is recognised
                entries = [
                    {
                        "key": key,
                        "order_id": order_id,
                        "model": snap.model,
                        "party": snap.fulfiller,
                        "role": "none",
                        "amount": 0,
                        "day": day,
                        "cause": cause,
                    }
                ]
            fastsql.insert(s, SettlementEntry, entries)
            if new:
                fastsql.insert(s, OrderSettlement, [snap._replace(net_amount=after)._asdict()])
            else:
                fastsql.execute(s, SET_NET, {"oid": order_id, "net": after})

    def order_settlement(self, order_id: str) -> dict[str, Any]:
        with read_scope(self.engine) as s:
            if s.get(Order, order_id) is None:
                raise NotFound(f"order {order_id} does not exist")
            snap = s.get(OrderSettlement, order_id)
            rows = list(
                s.exec(
                    select(SettlementEntry)
                    .where(SettlementEntry.order_id == order_id, SettlementEntry.amount != 0)
                    .order_by(col(SettlementEntry.id))
                )
            )
            totals: dict[tuple[str, str], int] = {}
            for r in rows:
                totals[(r.party, r.role)] = totals.get((r.party, r.role), 0) + r.amount
            return {
                "model": snap.model if snap else "buy_sell",
                "rule_id": snap.rule_id if snap else None,
                "settled": snap is not None,
                "net_amount": snap.net_amount if snap else 0,
                "entries": [
                    {
                        "party": r.party,
                        "role": r.role,
                        "amount": r.amount,
                        "day": r.day,
                        "cause": r.cause,
                    }
                    for r in rows
                ],
                "totals": [
                    {"party": p, "role": role, "amount": amount}
                    for (p, role), amount in totals.items()
                ],
            }

    # --- statements --------------------------------------------------------------------------

    def statement_rows(self, day: str, party: str | None) -> list[SettlementEntry]:
        with read_scope(self.engine) as s:
            q = select(SettlementEntry).where(
                SettlementEntry.day == day, SettlementEntry.amount != 0
            )
            if party:
                q = q.where(SettlementEntry.party == party)
            q = q.order_by(col(SettlementEntry.party), col(SettlementEntry.id))
            return list(s.exec(q))

    def statement_csv(self, day: str, party: str | None) -> str:
        """The day's statement as CSV: one row per entry, then a total row per party and role.
        Amounts are integer fen."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["day", "party", "role", "order_id", "model", "cause", "amount_fen"])
        totals: dict[tuple[str, str], int] = {}
        for r in self.statement_rows(day, party):
            w.writerow([r.day, r.party, r.role, r.order_id, r.model, r.cause, r.amount])
            totals[(r.party, r.role)] = totals.get((r.party, r.role), 0) + r.amount
        for (p, role), amount in sorted(totals.items()):
            w.writerow([day, p, role, "TOTAL", "", "", amount])
        return out.getvalue()

    def parties(self, day: str) -> list[dict[str, Any]]:
        """Each party's net for the day, per role."""
        with read_scope(self.engine) as s:
            q = (
                select(
                    SettlementEntry.party,
                    SettlementEntry.role,
                    func.sum(SettlementEntry.amount),
                    func.count(func.distinct(SettlementEntry.order_id)),
                )
                .where(SettlementEntry.day == day, SettlementEntry.amount != 0)
                .group_by(col(SettlementEntry.party), col(SettlementEntry.role))
                .order_by(col(SettlementEntry.party), col(SettlementEntry.role))
            )
            return [
                {"party": p, "role": role, "amount": int(total), "orders": int(n)}
                for p, role, total, n in s.exec(q)  # type: ignore[call-overload]
            ]


def _rule_view(r: SettlementRule) -> dict[str, Any]:
    return {
        "rule_id": r.rule_id,
        "channel": r.channel,
        "location_id": r.location_id,
        "model": r.model,
        **{k: v for k, v in r.params.items() if v not in (None, 0) or k == "operator"},
        "updated_at": r.updated_at.isoformat(),
    }
