"""Database engine and sessions: the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import SingletonThreadPool
from sqlmodel import Session, create_engine


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        _writers[engine] = threading.RLock()
        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    # Writers take the lock at BEGIN: no upgrade deadlocks between concurrent transactions.
    # Read-only sessions (`read_scope`) begin deferred: in WAL mode they never wait for writers.
    # Straight on the driver's connection: a statement through SQLAlchemy's execution costs
    # more than SQLite's BEGIN itself, and every transaction starts with one.
    raw = conn.connection.driver_connection
    raw.execute("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


READ_ONLY = "oms_read_only"
_readers: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _one_writer(engine: Engine) -> AbstractContextManager[object]:
    """SQLite lets one transaction write at a time. This process's writers wait for each other
    on a lock, each woken as soon as the one before it has committed, instead of each polling
    SQLite's lock on the busy handler's growing sleeps (1, 2, 5, 10, ... 100 ms), which under
    load kept writers asleep long after the lock was free and spent CPU on failed attempts.
    (Other processes' writers still meet at SQLite's lock. PostgreSQL needs no such lock.)"""
    lock = _writers.get(engine)
    return lock if lock is not None else nullcontext()


class Tx:
    """One transaction straight on a driver's connection (`write_tx`, `read_tx`), for
    statements run through `adapters/fastsql.py`. A short transaction of a hot path costs
    several times more through SQLAlchemy's session (its transaction's states, the
    connection's events, the identity map) than its statements do; here it is a BEGIN and a
    COMMIT on the driver. It has no ORM and no `execute`: what needs them uses a session
    (`session_scope`, `read_scope`)."""

    __slots__ = ("engine", "dialect", "connection")

    def __init__(self, engine: Engine, connection: Any) -> None:
        self.engine = engine  # where a session for the same database comes from
        self.dialect = engine.dialect
        self.connection = connection  # `.driver_connection` is the driver's (`_connection_for`)

    def get_bind(self) -> Engine:
        return self.engine


def _driver_error(engine: Engine, sql: str, exc: Exception) -> Exception:
    """A driver's error raised as SQLAlchemy raises it, as `fastsql` does for statements."""
    from sqlalchemy.exc import DBAPIError

    dbapi_error = engine.dialect.loaded_dbapi.Error
    if not isinstance(exc, dbapi_error):
        return exc
    return DBAPIError.instance(sql, None, exc, dbapi_error, dialect=engine.dialect)


class _Kept:
    """A connection this thread keeps for an SQLite file's transactions, out of the pool."""

    __slots__ = ("busy", "detached", "driver_connection", "pool", "stale")

    def __init__(self, detached: Any, driver_connection: Any, pool: Any) -> None:
        self.detached = detached  # the pool's connection, detached from it: closing closes it
        self.driver_connection = driver_connection
        self.pool = pool  # the engine's pool it was made by: a disposed engine has a new one
        self.busy = False  # in one of this thread's transactions
        self.stale = False  # its engine was disposed while it was busy: closed when done

    def close(self) -> None:
        self.detached.close()  # (a second close does nothing)


_kept = threading.local()  # this thread's kept connections, by engine
_every_kept: weakref.WeakKeyDictionary[Engine, set[_Kept]] = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()


def _base_engine(engine: Engine) -> Engine:
    """The engine an engine with other execution options was made from (it is disposed)."""
    base: Engine = getattr(engine, "_proxied", engine)
    return base


def _close_kept(engine: Engine) -> None:
    """An engine was disposed: every thread's kept connections to it close (a busy one when its
    transaction ends), so that no file stays open for an engine that is done with."""
    with _kept_lock:
        every = _every_kept.pop(engine, set())
    for kept in every:
        if kept.busy:
            kept.stale = True
        else:
            kept.close()


def _keep(engine: Engine) -> _Kept:
    pooled = engine.raw_connection()  # set up by the pool's connect events (pragmas)
    driver = pooled.driver_connection
    pooled.detach()  # ours now, for this thread
    kept = _Kept(pooled, driver, engine.pool)
    base = _base_engine(engine)
    with _kept_lock:
        every = _every_kept.get(base)
        if every is None:
            every = _every_kept[base] = set()
            if not event.contains(base, "engine_disposed", _close_kept):
                event.listen(base, "engine_disposed", _close_kept)
        every.add(kept)
    return kept


def _connection_for(engine: Engine) -> tuple[Any, _Kept | None]:
    """A connection for a plain transaction: the pool's (given back after), or the thread's
    own (`_Kept`).

    On an SQLite file each thread keeps one connection per engine, out of the pool, for as long
    as the thread and the engine live: checking a connection out of the pool and back in (and
    rolling it back on the way in) cost more than a short transaction's statements. The pool
    stays for sessions. (A PostgreSQL connection is a server's process: those stay pooled.)"""
    if not reads_here_cheaply(engine):
        return engine.raw_connection(), None
    mine: weakref.WeakKeyDictionary[Engine, _Kept] | None = getattr(_kept, "by", None)
    if mine is None:
        mine = _kept.by = weakref.WeakKeyDictionary()
    kept = mine.get(engine)
    if kept is not None and kept.busy:
        return engine.raw_connection(), None  # a transaction in a transaction: one of its own
    if kept is not None and (kept.pool is not engine.pool or kept.driver_connection.in_transaction):
        kept.close()  # its engine was disposed, or a transaction was left open on it
        kept = None
    if kept is None:
        kept = mine[engine] = _keep(engine)
    kept.busy = True
    return kept, kept


@contextmanager
def _plain(engine: Engine, begin: str | None) -> Iterator[Tx]:
    """A transaction on a connection of `engine` (`_connection_for`): `begin` on SQLite
    (PostgreSQL's driver opens one at the first statement), committed when the block ends,
    rolled back when it raises."""
    try:
        conn, kept = _connection_for(engine)
    except Exception as exc:  # the file cannot be opened, say: as SQLAlchemy raises it
        raise _driver_error(engine, "connect", exc) from exc
    raw: Any = conn.driver_connection
    broken = False
    try:
        try:
            if engine.dialect.name == "sqlite":
                try:
                    raw.execute(begin)
                except Exception as exc:
                    raise _driver_error(engine, begin or "", exc) from exc
            yield Tx(engine, conn)
        except BaseException:
            try:
                raw.rollback()
            except Exception:  # noqa: BLE001 - a connection that cannot roll back is not reused
                broken = True
            raise
        try:
            raw.commit()
        except Exception as exc:
            try:
                raw.rollback()
            except Exception:  # noqa: BLE001
                broken = True
            raise _driver_error(engine, "COMMIT", exc) from exc
    finally:
        if kept is None:
            if broken:
                conn.invalidate()
            conn.close()
        else:
            kept.busy = False
            if broken or kept.stale:
                kept.close()
                _kept.by.pop(engine, None)


@contextmanager
def write_tx(engine: Engine) -> Iterator[Tx]:
    """`session_scope` for a block whose statements are all `fastsql`'s: committed on success,
    rolled back on error; on SQLite it takes the write lock at BEGIN, as `session_scope` does."""
    with _one_writer(engine), _plain(engine, "BEGIN IMMEDIATE") as tx:
        yield tx


@contextmanager
def read_tx(engine: Engine) -> Iterator[Tx | Session]:
    """`read_scope` for a block whose statements are all `fastsql`'s (which takes a session as
    well): inside `reads_together` or `reads_here` on the same engine, that block's
    transaction; else one of its own, deferred, that never waits for writers. Writing in it is
    a bug."""
    shared = getattr(_together, "scope", None)
    if shared is not None and shared[0] is engine:
        yield shared[1]
        return
    with _plain(engine, "BEGIN") as tx:
        yield tx


_together = threading.local()  # the transaction `reads_together` (`reads_here`) shares


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session for reads only: a consistent snapshot that neither waits for writers nor holds
    them up (on SQLite it does not take the write lock). Writing in it is a bug. Inside
    `reads_together` on the same engine, it is that block's session; inside `reads_together`
    or `reads_here`, whose transaction has no session, one of its own (for `reads_here`, on the
    same read-only connections as the block's: the thread's own, which never waits for the
    pool)."""
    shared = getattr(_together, "scope", None)
    if shared is not None and shared[0] is engine:
        if isinstance(shared[1], Session):
            yield shared[1]
            return
        engine = shared[1].engine  # the block's engine: `reads_here`'s own reader, say
    reader = _readers.get(engine)
    if reader is None:
        reader = _readers[engine] = engine.execution_options(**{READ_ONLY: True})
    with Session(reader, expire_on_commit=False) as session:
        yield session  # closing ends the transaction; loaded objects stay readable


@contextmanager
def reads_together(engine: Engine) -> Iterator[None]:
    """The reads of a block (each `read_tx` in it, on this thread) in one read-only transaction
    instead of one each. For a run of reads with no write in between that the block would need
    to see. (A `read_scope` in it, for the ORM, is a session of its own.)"""
    if getattr(_together, "scope", None) is not None:
        yield  # already inside one
        return
    with _plain(engine, "BEGIN") as tx, _sharing(engine, tx):
        yield


@contextmanager
def _sharing(engine: Engine, session: Session | Tx) -> Iterator[None]:
    """`session` is what `read_tx(engine)` gives on this thread, for the block."""
    _together.scope = (engine, session)
    try:
        yield
    finally:
        _together.scope = None


def reads_here_cheaply(engine: Engine) -> bool:
    """Whether a short read is cheaper done where it is asked for (`reads_here`) than handed to
    a thread: on an SQLite file, a point read is tens of microseconds of local work that, in
    WAL mode, never waits for a writer. (A PostgreSQL read waits for the network.)"""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


_own: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_own_lock = threading.Lock()
LOOP_READ_WAIT_MS = 200  # a read on an event loop waits this long for SQLite, then gives up


def _sqlite_read_only(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA query_only=ON")  # a write here is refused, not taken on the loop
    cur.execute(f"PRAGMA busy_timeout={LOOP_READ_WAIT_MS}")
    cur.close()


def _own_reader(engine: Engine) -> Engine:
    with _own_lock:
        own = _own.get(engine)
        if own is None:
            base = create_engine(
                engine.url,
                connect_args={"check_same_thread": False, "timeout": LOOP_READ_WAIT_MS / 1000},
                poolclass=SingletonThreadPool,  # one connection per thread, kept open
                pool_size=16,
            )
            event.listen(base, "connect", _sqlite_read_only)
            event.listen(base, "begin", _sqlite_begin_immediate)  # deferred: READ_ONLY below
            event.listen(engine, "engine_disposed", lambda _conn: base.dispose())
            own = _own[engine] = base.execution_options(**{READ_ONLY: True})
        return own


@contextmanager
def reads_here(engine: Engine) -> Iterator[None]:
    """The reads of a block, on this thread's own read-only connection to the SQLite file (one
    per thread, kept open; meant for the few threads that run event loops), in one
    transaction: for an event loop's short reads, which must not wait for a connection from the
    pool that worker threads share (`reads_here_cheaply`). The connection refuses writes, and
    waits at most `LOOP_READ_WAIT_MS` for SQLite (a WAL read waits only while the file is
    being recovered or its WAL cleaned up): then `sqlalchemy.exc.OperationalError`."""
    if getattr(_together, "scope", None) is not None:
        yield  # already inside one
        return
    with _plain(_own_reader(engine), "BEGIN") as tx, _sharing(engine, tx):
        yield


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with _one_writer(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_ignoring: dict[tuple[str, Any], Any] = {}


def insert_ignoring_duplicates(s: Session | Tx, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING, in the session's dialect (SQLite or PostgreSQL), built
    once per table and dialect: execute it with each row's values as parameters (a list of rows
    is one executemany), so that no statement is built and cached again per row."""
    dialect = s.get_bind().dialect.name
    stmt = _ignoring.get((dialect, table))
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing()
        _ignoring[(dialect, table)] = stmt
    return stmt


_upserts: dict[tuple[str, Any, tuple[str, ...]], Any] = {}


def upsert(s: Session | Tx, table: Any, *, update: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE SET the columns `update` to the values
    inserted, in the session's dialect, built once per table, dialect and columns."""
    dialect = s.get_bind().dialect.name
    key = (dialect, table, update)
    stmt = _upserts.get(key)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
        base = dialect_insert(table)
        stmt = base.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={c: base.excluded[c] for c in update},
        )
        _upserts[key] = stmt
    return stmt
