"""Members keyed by phone, and their stored-value balance."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from adapters import fastsql
from adapters.db import Tx, read_scope, read_tx, session_scope, write_tx
from adapters.tables import (
    Member,
    MemberConflict,
    MemberLink,
    Order,
    PointsEntry,
    SettlementEntry,
    StoredValueEntry,
    utcnow,
)
from domain.errors import InvalidRequest, NotFound
from domain.members import normalise_phone, upgraded_tier


def new_member_id() -> str:
    """A random member id: nothing about the member (the phone least of all) can be read from
    it or guessed into it."""
    return "M" + uuid.uuid4().hex[:16].upper()


class MemberRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, member_id: str) -> Member | None:
        with read_scope(self.engine) as s:
            return s.get(Member, member_id)

    def by_phone(self, phone: str) -> Member | None:
        with read_scope(self.engine) as s:
            return s.exec(select(Member).where(Member.phone == normalise_phone(phone))).first()

    def rights(self, phone: str) -> Any | None:
        """What pricing needs of the member with this phone (member_id, phone, tier, points):
        a plain row, read for every order."""
        with read_tx(self.engine) as s:
            return fastsql.first(s, MEMBER_RIGHTS, {"phone": normalise_phone(phone)})

    def ensure(self, phone: str, *, name: str = "", tier: str = "normal") -> tuple[Member, bool]:
        """The member with this phone, created when new; True when created."""
        norm = normalise_phone(phone)
        existing = self.by_phone(norm)
        if existing is not None:
            return existing, False
        try:
            with session_scope(self.engine) as s:
                row = Member(member_id=new_member_id(), phone=norm, name=name, tier=tier)
                s.add(row)
            return row, True
        except IntegrityError:  # created concurrently
            again = self.by_phone(norm)
            assert again is not None
            return again, False

    def top_up(self, member_id: str, amount: int, *, key: str) -> None:
        return self._move_stored_value(member_id, amount, kind="topup", key=key)

    def pay_stored_value(self, member_id: str, amount: int, *, key: str, order_id: str) -> None:
        return self._move_stored_value(member_id, -amount, kind="pay", key=key, order_id=order_id)

    def refund_stored_value(self, member_id: str, amount: int, *, key: str, order_id: str) -> None:
        return self._move_stored_value(member_id, amount, kind="refund", key=key, order_id=order_id)

    def _move_stored_value(
        self, member_id: str, delta: int, *, kind: str, key: str, order_id: str | None = None
    ) -> None:
        with write_tx(self.engine) as s:
            if fastsql.first(s, STORED_VALUE_SEEN, {"key": key}) is None:
                _add_to_balance(
                    s,
                    member_id,
                    "stored_value_amount",
                    delta,
                    refusal="the member's stored value balance is too low: top up at the till, or "
                    "choose another payment_method",
                )
                fastsql.insert(
                    s,
                    StoredValueEntry,
                    [
                        {
                            "key": key,
                            "member_id": member_id,
                            "kind": kind,
                            "delta": delta,
                            "order_id": order_id,
                        }
                    ],
                )

    # --- admin and registration --------------------------------------------------------------

    def view(self, member_id: str) -> dict[str, Any]:
        with read_scope(self.engine) as s:
            m = s.get(Member, member_id)
            if m is None:
                raise NotFound(f"member {member_id} does not exist")
            conflicts = s.exec(select(MemberConflict).where(MemberConflict.member_id == member_id))
            links = s.exec(select(MemberLink).where(MemberLink.member_id == member_id))
            return {
                "member_id": m.member_id,
                "phone": m.phone,
                "name": m.name,
                "tier": m.tier,
                "points": m.points,
                "stored_value_amount": m.stored_value_amount,
                "channels": [
                    {"channel": ln.channel, "external_id": ln.external_id} for ln in links
                ],
                "conflicts": [
                    {
                        "id": c.id,
                        "channel": c.channel,
                        "field": c.field_name,
                        "existing": c.existing,
                        "incoming": c.incoming,
                        "resolved": c.resolved,
                    }
                    for c in conflicts
                ],
            }

    def evaluate_tier(self, member_id: str) -> tuple[str, str, int]:
        """Upgrade the member when the rolling 12-month spend reached a higher tier's threshold
        (never a downgrade): (tier before, tier after, spend).

        Most orders change no tier: the spend and the tier are read without taking the write
        lock, which is taken only for an upgrade (and the tier read again under it)."""
        with read_tx(self.engine) as s:
            spend = _rolling_spend(s, member_id, 365)
            m = fastsql.first(s, MEMBER_TIER, {"m": member_id})
            if m is None:
                raise NotFound(f"member {member_id} does not exist")
            if upgraded_tier(m.tier, spend) == m.tier:
                return m.tier, m.tier, spend
        with session_scope(self.engine) as s:
            m = s.get(Member, member_id, with_for_update=True)
            if m is None:
                raise NotFound(f"member {member_id} does not exist")
            before = m.tier
            m.tier = upgraded_tier(before, spend)
            s.add(m)
            return before, m.tier, spend

    def set_tier(self, member_id: str, tier: str) -> None:
        with session_scope(self.engine) as s:
            m = s.get(Member, member_id)
            if m is None:
                raise NotFound(f"member {member_id} does not exist")
            m.tier = tier
            s.add(m)

    def adjust_points(
        self,
        member_id: str,
        delta: int,
        *,
        reason: str,
        key: str | None = None,
        kind: str = "adjust",
        order_id: str | None = None,
    ) -> None:
        """A points ledger entry; the balance never goes below zero. Idempotent on `key`."""
        key = key or f"adjust:{member_id}:{uuid.uuid4().hex}"
        with write_tx(self.engine) as s:
            if fastsql.first(s, POINTS_SEEN, {"key": key}) is not None:
                return
            _add_to_balance(
                s,
                member_id,
                "points",
                delta,
                refusal="the points balance cannot go below zero: take off at most the member's "
                "current points",
            )
            fastsql.insert(
                s,
                PointsEntry,
                [
                    {
                        "key": key,
                        "member_id": member_id,
                        "kind": kind,
                        "delta": delta,
                        "reason": reason,
                        "order_id": order_id,
                    }
                ],
            )

    def conflicts(self, *, resolved: bool | None) -> list[dict[str, Any]]:
        with read_scope(self.engine) as s:
            q = select(MemberConflict).order_by(MemberConflict.id)  # type: ignore[arg-type]
            if resolved is not None:
                q = q.where(MemberConflict.resolved == resolved)
            return [
                {
                    "id": c.id,
                    "member_id": c.member_id,
                    "channel": c.channel,
                    "field": c.field_name,
                    "existing": c.existing,
                    "incoming": c.incoming,
                    "resolved": c.resolved,
                    "at": c.at.isoformat(),
                }
                for c in s.exec(q)
            ]

    def resolve_conflict(self, conflict_id: int, *, keep: str) -> None:
        """Settle a recorded conflict: keep the existing value, or take the incoming name."""
        with session_scope(self.engine) as s:
            c = s.get(MemberConflict, conflict_id)
            if c is None:
                raise NotFound(f"conflict {conflict_id} does not exist")
            if c.resolved:
                return
            if keep == "incoming":
                if c.field_name != "name":
                    raise InvalidRequest(
                        f"member conflict {conflict_id} is about {c.field_name}, and only a "
                        'name can be taken from the incoming side: send keep "existing"',
                        details={"field": c.field_name},
                    )
                member = s.get(Member, c.member_id)
                assert member is not None
                member.name = c.incoming
                s.add(member)
            c.resolved = True
            s.add(c)

    def take_back_points(self, member_id: str, points: int, *, key: str, order_id: str) -> int:
        """Take back up to `points` earned points (never below zero); how many were taken."""
        with session_scope(self.engine) as s:
            seen = s.exec(select(PointsEntry).where(PointsEntry.key == key)).first()
            if seen is not None:
                return -seen.delta
            member = s.get(Member, member_id, with_for_update=True)
            if member is None:
                return 0
            taken = min(points, member.points)
            if taken:
                _add_to_balance(s, member_id, "points", -taken, refusal="points went negative")
            s.add(
                PointsEntry(
                    key=key,
                    member_id=member_id,
                    kind="reversal",
                    delta=-taken,
                    reason=f"returned goods of order {order_id}",
                    order_id=order_id,
                )
            )
            return taken

    def register(
        self, phone: str, *, name: str, channel: str, external_id: str | None
    ) -> tuple[str, bool]:
        """Create or find the member with this phone, link the channel's id, keep conflicts."""
        member, created = self.ensure(phone, name=name)
        with session_scope(self.engine) as s:
            m = s.get(Member, member.member_id)
            assert m is not None
            if not created and name and m.name and name != m.name:
                _record_conflict(s, m.member_id, channel, "name", m.name, name)
            elif not m.name and name:
                m.name = name
                s.add(m)
            if external_id:
                link = s.get(MemberLink, (channel, external_id))
                if link is None:
                    s.add(
                        MemberLink(channel=channel, external_id=external_id, member_id=m.member_id)
                    )
                elif link.member_id != m.member_id:
                    _record_conflict(
                        s, m.member_id, channel, "external_id", link.member_id, external_id
                    )
        return member.member_id, created


_MEMBERS = Member.__table__  # type: ignore[attr-defined]
_ENTRIES = SettlementEntry.__table__  # type: ignore[attr-defined]
_ORDERS = Order.__table__  # type: ignore[attr-defined]
MEMBER_RIGHTS = sa_select(
    _MEMBERS.c.member_id, _MEMBERS.c.phone, _MEMBERS.c.tier, _MEMBERS.c.points
).where(_MEMBERS.c.phone == bindparam("phone"))
MEMBER_TIER = sa_select(_MEMBERS.c.tier).where(_MEMBERS.c.member_id == bindparam("m"))
ROLLING_SPEND = (
    sa_select(func.coalesce(func.sum(_ENTRIES.c.amount), 0).label("total"))
    .join(_ORDERS, _ORDERS.c.order_id == _ENTRIES.c.order_id)
    .where(_ORDERS.c.member_id == bindparam("m"), _ENTRIES.c.at >= bindparam("since"))
)


def _rolling_spend(s: Session | Tx, member_id: str, days: int) -> int:
    since = utcnow() - timedelta(days=days)
    row = fastsql.first(s, ROLLING_SPEND, {"m": member_id, "since": since})
    return int(row.total) if row is not None else 0


def _record_conflict(
    s: Session, member_id: str, channel: str, field_name: str, existing: str, incoming: str
) -> None:
    seen = s.exec(
        select(MemberConflict).where(
            MemberConflict.member_id == member_id,
            MemberConflict.channel == channel,
            MemberConflict.field_name == field_name,
            MemberConflict.incoming == incoming,
        )
    ).first()
    if seen is None:
        s.add(
            MemberConflict(
                member_id=member_id,
                channel=channel,
                field_name=field_name,
                existing=existing,
                incoming=incoming,
            )
        )


_ADD_TO = {
    column: text(
        f"UPDATE member SET {column} = {column} + :d WHERE member_id = :m AND {column} + :d >= 0"
    )
    for column in ("points", "stored_value_amount")
}
_KEY: BindParameter[str] = bindparam("key")
POINTS_SEEN = sa_select(PointsEntry.__table__.c.id).where(PointsEntry.__table__.c.key == _KEY)  # type: ignore[attr-defined]
STORED_VALUE_SEEN = sa_select(StoredValueEntry.__table__.c.id).where(  # type: ignore[attr-defined]
    StoredValueEntry.__table__.c.key == _KEY  # type: ignore[attr-defined]
)


def _add_to_balance(
    s: Session | Tx, member_id: str, column: str, delta: int, *, refusal: str
) -> None:
    """Add `delta` to a member's balance in one conditional update: never below zero, no lost
    update under concurrency."""
    changed = fastsql.execute(s, _ADD_TO[column], {"d": delta, "m": member_id})
    if changed != 1:
        if fastsql.first(s, MEMBER_TIER, {"m": member_id}) is None:
            raise NotFound(f"member {member_id} does not exist")
        raise InvalidRequest(refusal, details={"member_id": member_id, "delta": delta})
