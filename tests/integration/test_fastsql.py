"""Statements run on the session's own connection (`adapters/fastsql.py`) give what SQLAlchemy's
own execution gives, on SQLite and PostgreSQL: typed values back, defaults filled in, the same
exceptions, in the session's transaction."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from adapters import fastsql
from adapters.db import read_scope, read_tx, session_scope
from adapters.tables import Order, TimelineEvent

pytestmark = pytest.mark.integration

ORDERS = Order.__table__  # type: ignore[attr-defined]
TIMELINE = TimelineEvent.__table__  # type: ignore[attr-defined]
ONE_ORDER = select(ORDERS).where(ORDERS.c.order_id == bindparam("oid"))
DELETE_ORDER = ORDERS.delete().where(ORDERS.c.order_id == bindparam("oid"))
EVENTS_OF = (
    select(TIMELINE.c.key, TIMELINE.c.at)
    .where(TIMELINE.c.order_id == bindparam("oid"))
    .order_by(TIMELINE.c.key)
)
COUNTED = select(func.coalesce(func.sum(ORDERS.c.payable_amount), 0).label("total")).where(
    ORDERS.c.channel == bindparam("channel")
)


def _order(oid: str, channel: str, amount: int) -> dict[str, object]:
    return {
        "order_id": oid,
        "channel": channel,
        "channel_order_id": oid,
        "status": "paid",
        "mode": "delivery",
        "payment_method": "cash",
        "payable_amount": amount,
        "request": {"lines": [{"sku": "MILK-1L", "qty": 2}]},
        "applied_promotions": [{"promotion_id": "P", "amount": 5}],
    }


def _orders_in(n: int) -> Any:
    return select(ORDERS.c.order_id, ORDERS.c.payable_amount).where(
        ORDERS.c.order_id.in_(fastsql.any_of(n))
    )


def test_rows_come_back_typed_and_inserts_take_the_models_defaults(engine: Engine) -> None:
    oid, channel = f"T{uuid.uuid4().hex[:10]}", f"c-{uuid.uuid4().hex[:6]}"
    with session_scope(engine) as s:
        fastsql.insert(s, Order, [_order(oid, channel, 1234)])
        fastsql.insert(
            s,
            TimelineEvent,
            [
                {"key": f"{oid}:a", "order_id": oid, "event": "a"},
                {"key": f"{oid}:b", "order_id": oid, "event": "b", "detail": "more"},
            ],
        )
    with read_scope(engine) as s:
        row = fastsql.first(s, ONE_ORDER, {"oid": oid})
        events = fastsql.rows(s, EVENTS_OF, {"oid": oid})
        total = fastsql.first(s, COUNTED, {"channel": channel})
        missing = fastsql.first(s, ONE_ORDER, {"oid": "nope"})
    assert row is not None and missing is None
    assert row.request == {"lines": [{"sku": "MILK-1L", "qty": 2}]}  # JSON, decoded
    assert row.applied_promotions == [{"promotion_id": "P", "amount": 5}]
    assert row.plan == {} and row.cancel_reason == "" and row.points_amount == 0  # defaults
    assert isinstance(row.created_at, datetime) and row.created_at.tzinfo is not None
    assert abs((datetime.now(UTC) - row.created_at).total_seconds()) < 60
    assert [e.key for e in events] == [f"{oid}:a", f"{oid}:b"]
    assert all(isinstance(e.at, datetime) for e in events)
    assert total is not None and total.total == 1234  # a literal the statement carries itself


def test_updates_count_their_rows_and_in_lists_take_any_length(engine: Engine) -> None:
    oid = f"T{uuid.uuid4().hex[:10]}"
    others = [f"{oid}-{i}" for i in range(3)]
    with session_scope(engine) as s:
        fastsql.insert(s, Order, [_order(o, "app", 10 + i) for i, o in enumerate([oid, *others])])
    from adapters.read_model import _moving, _set

    moved = _moving(ORDERS, "order_id", ["paid"], ("status",))
    with session_scope(engine) as s:
        assert fastsql.execute(s, moved, {"key": oid, **_set({"status": "fulfilling"})}) == 1
        assert fastsql.execute(s, moved, {"key": oid, **_set({"status": "fulfilling"})}) == 0
    with read_scope(engine) as s:
        row = fastsql.first(s, ONE_ORDER, {"oid": oid})
        assert row is not None and row.status == "fulfilling"
        for n in range(len(others) + 1):
            found = fastsql.rows_in(s, _orders_in, [*others[:n], "nope"])
            assert sorted((r.order_id, r.payable_amount) for r in found) == [
                (o, 11 + i) for i, o in enumerate(others[:n])
            ]


def test_a_duplicate_is_sqlalchemys_integrity_error_and_the_transaction_rolls_back(
    engine: Engine,
) -> None:
    oid = f"T{uuid.uuid4().hex[:10]}"
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            fastsql.insert(s, Order, [_order(oid, "app", 10)])
            fastsql.insert(s, Order, [_order(oid, "app", 10)])
    with read_scope(engine) as s:
        assert fastsql.first(s, ONE_ORDER, {"oid": oid}) is None  # nothing of it was kept


def test_what_it_cannot_run_as_built_once_is_refused_before_it_runs(engine: Engine) -> None:
    per_call = select(ORDERS.c.order_id).where(ORDERS.c.order_id.in_(["a", "b"]))
    with read_scope(engine) as s:
        with pytest.raises(ValueError, match="expanded at run time"):
            fastsql.rows(s, per_call, {})
    with session_scope(engine) as s:
        with pytest.raises(ValueError, match="no \\['channle'\\]"):
            fastsql.insert(s, Order, [_order("T-typo", "app", 1) | {"channle": "app"}])


def test_the_pumps_reads_and_writes_take_each_streams_head_on_both_databases(
    engine: Engine,
) -> None:
    from datetime import timedelta

    from adapters.events import EVENTS, EventStore, Subscription, emit

    run = uuid.uuid4().hex[:8]
    a, b, other = f"app-{run}", f"jd-{run}", f"pos-{run}"
    with session_scope(engine) as s:
        for n in range(3):
            emit(s, channel=a, type="order.paid", order_id=f"A{run}", data={"n": n})
        emit(s, channel=b, type="order.paid", order_id=f"B{run}", data={"n": 0})
        emit(s, channel=other, type="order.paid", order_id=f"C{run}", data={"n": 0})
    since = datetime.now(UTC) - timedelta(minutes=1)
    subs = {c: Subscription(c, "http://x", "secret", ("*",), since) for c in (a, b)}
    store = EventStore(engine)
    now = datetime.now(UTC)
    heads = store.due(subs, now=now, limit=10)
    assert [(r.channel, r.stream, r.data) for r in heads] == [
        (a, f"A{run}", '{"n":0}'),
        (b, f"B{run}", '{"n":0}'),
    ]
    assert [r.channel for r in store.due(subs, now=now, limit=1)] == [a]
    store.delivered([(r.event_id, now) for r in heads])
    assert [(r.stream, r.data) for r in store.due(subs, now=now, limit=10)] == [
        (f"A{run}", '{"n":1}')
    ]
    # a stream whose head waits for a retry sends nothing before its time
    [head] = store.due(subs, now=now, limit=10)
    store.not_delivered(head.event_id, at=now, error="HTTP 500", retry_max_s=60, give_up_s=600)
    assert store.due(subs, now=now, limit=10) == []
    assert [r.event_id for r in store.due(subs, now=now + timedelta(seconds=2), limit=10)] == [
        head.event_id
    ]
    with session_scope(engine) as s:  # the suite's other tests read every channel's feed
        s.execute(EVENTS.delete().where(EVENTS.c.channel.in_([a, b, other])))


def test_an_order_view_reads_refunds_only_when_the_order_has_some(engine: Engine) -> None:
    from adapters.read_model import ReadModel
    from adapters.tables import Refund

    oid = f"T{uuid.uuid4().hex[:10]}"
    with session_scope(engine) as s:
        fastsql.insert(s, Order, [_order(oid, "app", 500)])
    view = ReadModel(engine).order_view(oid)
    assert view is not None and view["refunds"] == [] and view["substitutions"] == []
    refund = {"refund_id": f"R{oid}", "order_id": oid, "amount": 120, "status": "succeeded"}
    lines = [{"sku": "MILK-1L", "qty": 1, "amount": 120}]
    with session_scope(engine) as s:
        fastsql.insert(s, Refund, [refund | {"lines": lines}])
    view = ReadModel(engine).order_view(oid)
    assert view is not None
    assert [(r["refund_id"], r["amount"]) for r in view["refunds"]] == [(f"R{oid}", 120)]
    with session_scope(engine) as s:  # a refund with no payment: the suite's books must balance
        s.execute(Refund.__table__.delete().where(Refund.__table__.c.order_id == oid))  # type: ignore[attr-defined]
        s.execute(ORDERS.delete().where(ORDERS.c.order_id == oid))


def test_reads_together_share_one_transaction_on_their_thread_only(engine: Engine) -> None:
    import threading

    from adapters.db import reads_together

    with read_tx(engine) as a, read_tx(engine) as b:
        assert a is not b
    other: list[object] = []

    def read_elsewhere() -> None:
        with read_tx(engine) as s:
            other.append(s)

    with reads_together(engine):
        with read_tx(engine) as first, read_tx(engine) as second:
            assert first is second
            assert fastsql.first(first, ONE_ORDER, {"oid": "none"}) is None
            with read_scope(engine) as orm:  # the ORM's reads: a session of their own
                assert orm is not first and orm.get(Order, "none") is None
        thread = threading.Thread(target=read_elsewhere)
        thread.start()
        thread.join()
        assert other[0] is not first  # another thread reads on its own
    with read_tx(engine) as after:
        assert after is not first


def _driver(s: object) -> object:
    from adapters.db import Tx

    assert isinstance(s, Tx)  # a plain transaction, no session
    return s.connection.driver_connection


def test_reads_here_read_each_commit_on_the_threads_own_connection(engine: Engine) -> None:
    import threading

    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import SingletonThreadPool

    from adapters import db
    from adapters.db import reads_here, reads_here_cheaply

    if not reads_here_cheaply(engine):
        assert engine.dialect.name == "postgresql"  # its reads go to worker threads
        return
    oid = f"O{uuid.uuid4().hex[:12]}"
    try:
        with reads_here(engine), read_tx(engine) as s:
            bind = s.get_bind()
            assert isinstance(bind, Engine) and isinstance(bind.pool, SingletonThreadPool)
            assert fastsql.first(s, ONE_ORDER, {"oid": oid}) is None
            mine = _driver(s)
            with read_scope(engine) as orm:  # the ORM's reads: a session of their own, read-only
                assert getattr(orm.get_bind(), "pool", None) is bind.pool
                with pytest.raises(OperationalError, match="readonly"):
                    orm.execute(ORDERS.delete().where(ORDERS.c.order_id == oid))
        with session_scope(engine) as w:  # committed between two blocks: the next one sees it
            w.execute(ORDERS.insert().values(**_order(oid, "app", 300)))
        with reads_here(engine), read_tx(engine) as s:
            row = fastsql.first(s, ONE_ORDER, {"oid": oid})
            assert row is not None and row.payable_amount == 300
            assert _driver(s) is mine  # kept open
        theirs: list[object] = []

        def read_elsewhere() -> None:
            with reads_here(engine), read_tx(engine) as s:
                theirs.append(_driver(s))

        thread = threading.Thread(target=read_elsewhere)
        thread.start()
        thread.join()
        assert theirs[0] is not mine  # one connection per thread

        # a writer in the middle of its transaction does not hold the read up (WAL, deferred)
        with session_scope(engine) as w:
            w.execute(ORDERS.update().where(ORDERS.c.order_id == oid).values(payable_amount=1))
            started = time.monotonic()
            with reads_here(engine), read_tx(engine) as s:
                row = fastsql.first(s, ONE_ORDER, {"oid": oid})
            assert row is not None and row.payable_amount == 300  # the last commit
            assert time.monotonic() - started < 0.1

        with pytest.raises(OperationalError, match="readonly"):  # it refuses to write
            with reads_here(engine), read_tx(engine) as s:
                fastsql.execute(s, DELETE_ORDER, {"oid": oid})
        assert getattr(db._together, "scope", None) is None  # nothing left behind
    finally:
        with session_scope(engine) as w:
            w.execute(ORDERS.delete().where(ORDERS.c.order_id == oid))


def test_a_plain_transaction_commits_rolls_back_and_gives_its_connection_back(
    engine: Engine,
) -> None:
    from adapters.db import Tx, reads_together, write_tx

    oid, other = f"O{uuid.uuid4().hex[:12]}", f"O{uuid.uuid4().hex[:12]}"
    out_before = engine.pool.checkedout()  # type: ignore[attr-defined]
    try:
        with write_tx(engine) as s:
            assert isinstance(s, Tx)
            fastsql.insert(s, Order, [_order(oid, "app", 300)])
        with read_tx(engine) as s:  # committed
            row = fastsql.first(s, ONE_ORDER, {"oid": oid})
            assert row is not None and row.payable_amount == 300

        with pytest.raises(RuntimeError), write_tx(engine) as s:  # an error rolls all back
            fastsql.insert(s, Order, [_order(other, "app", 100)])
            fastsql.execute(s, DELETE_ORDER, {"oid": oid})
            raise RuntimeError("stop")
        with read_tx(engine) as s:
            assert fastsql.first(s, ONE_ORDER, {"oid": other}) is None
            assert fastsql.first(s, ONE_ORDER, {"oid": oid}) is not None

        with pytest.raises(IntegrityError), write_tx(engine) as s:  # the driver's, as SQLAlchemy's
            fastsql.insert(s, Order, [_order(oid, "app", 300)])
        assert engine.pool.checkedout() == out_before  # type: ignore[attr-defined]

        with reads_together(engine), read_tx(engine) as shared, read_tx(engine) as s:
            assert s is shared and isinstance(s, Tx)  # a block's reads share its transaction
    finally:
        with session_scope(engine) as w:
            w.execute(ORDERS.delete().where(ORDERS.c.order_id.in_([oid, other])))


def test_sold_out_is_published_once_per_change_on_both_databases(engine: Engine) -> None:
    from adapters.events import EVENTS, EventStore, touch_stock
    from tests import factories as f

    loc, sku = f.location(engine), f.sku(engine)
    f.stock(engine, loc, sku, 0)
    store, channel = EventStore(engine), f"app-{uuid.uuid4().hex[:8]}"

    def publish() -> int:
        for _ in range(2):
            with session_scope(engine) as s:
                touch_stock(s, {(loc, sku)})
        mine = [t for t in store.touched(limit=100_000) if t[:2] == (loc, sku)]
        assert len(mine) == 1  # touched twice is one touch
        sent = store.publish_stock(mine, {loc: [channel]})
        assert all(t[:2] != (loc, sku) for t in store.touched(limit=100_000))
        return sent

    try:
        assert publish() == 1  # sold out: told
        assert publish() == 0  # still sold out: nothing new
        with read_scope(engine) as s:
            told = s.execute(select(EVENTS.c.type).where(EVENTS.c.channel == channel)).all()
        assert [t.type for t in told] == ["stock.sold_out"]
    finally:
        with session_scope(engine) as s:
            s.execute(EVENTS.delete().where(EVENTS.c.channel == channel))


def test_a_thread_keeps_one_connection_for_its_plain_transactions_on_an_sqlite_file(
    engine: Engine,
) -> None:
    import threading

    from adapters.db import reads_here_cheaply, write_tx

    if not reads_here_cheaply(engine):
        out = engine.pool.checkedout()  # type: ignore[attr-defined]
        with read_tx(engine) as a:  # PostgreSQL: pooled connections, given back after
            assert engine.pool.checkedout() == out + 1  # type: ignore[attr-defined]
            assert _driver(a) is not None
        assert engine.pool.checkedout() == out  # type: ignore[attr-defined]
        return
    with write_tx(engine) as w:
        mine = _driver(w)
        with read_tx(engine) as inner:  # a transaction inside another: a connection of its own
            assert _driver(inner) is not mine
    with read_tx(engine) as r:
        assert _driver(r) is mine  # kept between transactions, out of the pool
    theirs: list[object] = []

    def elsewhere() -> None:
        with read_tx(engine) as s:
            theirs.append(_driver(s))

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert theirs[0] is not mine  # one per thread
    with read_tx(engine) as r:
        left_open = _driver(r)
    left_open.execute("BEGIN")  # type: ignore[attr-defined]
    with read_tx(engine) as r:  # a transaction left open: that connection is not used again
        assert _driver(r) is not left_open
        mine = _driver(r)
    assert _closed(left_open)
    engine.dispose()  # a disposed engine's connections close, every thread's
    assert _closed(mine) and _closed(theirs[0])
    with read_tx(engine) as r:
        assert _driver(r) is not mine


def _closed(conn: object) -> bool:
    import sqlite3

    try:
        conn.execute("SELECT 1")  # type: ignore[attr-defined]
    except sqlite3.ProgrammingError:  # closed
        return True
    return False
