"""Statements on the hottest paths, run on the session's own database connection.

A Core statement is compiled once per dialect; each call then hands its SQL and parameters
straight to the driver (sqlite3 or psycopg) on the connection of the session's transaction, and
converts what comes back with the column types' own processors (JSON, datetimes). The result
is what SQLAlchemy's execution would give (rows with attributes by column name), without its
per-call machinery, which costs several times what SQLite itself does for these small
statements (`docs/performance.md`). Same transaction, same locks, same dialects: nothing about
what a statement does changes, only how many Python calls surround it.

Statements given here must be built once (module constants, or cached as `rows_in` and the read
model's status updates do): plans are kept per statement. SQLAlchemy's events and statement
logging do not see these statements. The compiled form's processors and parameter order are
SQLAlchemy 2.1's (pinned in `requirements.lock`); `tests/integration/test_fastsql.py` checks
them on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

from adapters.db import Tx


@dataclass
class _Plan:
    sql: str
    positions: tuple[str, ...] | None  # parameter names in order, for positional paramstyles
    binds: tuple[tuple[str, Callable[[Any], Any]], ...]
    types: tuple[Any, ...]  # the result columns' types
    row: Any  # a namedtuple type with the result's column names, or None
    fixed: dict[str, Any]  # values the statement carries itself (a literal in a function)
    dialect: Dialect
    # the result columns' processors, found at the first execution: some depend on the type
    # the database reports (PostgreSQL's numeric types)
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None

    def args(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters: the statement's own values, each processed by its type,
        by name or in order as the driver's paramstyle wants them."""
        if self.fixed:
            params = {**self.fixed, **params}
        if self.binds:
            params = dict(params)
            for name, fn in self.binds:
                if name in params:
                    params[name] = fn(params[name])
        return params if self.positions is None else tuple(params[n] for n in self.positions)

    def converters(self, description: Any) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        if self.results is None:
            found = []
            for i, type_ in enumerate(self.types):
                coltype = description[i][1] if description else None
                fn = type_._cached_result_processor(self.dialect, coltype)
                if fn is not None:
                    found.append((i, fn))
            self.results = tuple(found)
        return self.results


_plans: dict[tuple[str, str, int, tuple[str, ...]], tuple[ClauseElement, _Plan]] = {}


def _plan(dialect: Dialect, stmt: ClauseElement, keys: tuple[str, ...]) -> _Plan:
    key = (dialect.name, dialect.driver, id(stmt), keys)
    found = _plans.get(key)
    if found is not None and found[0] is stmt:
        return found[1]
    # the parameters' names matter to an INSERT without values: its columns are those given
    compiled: Any = stmt.compile(dialect=dialect, column_keys=list(keys))
    if "POSTCOMPILE" in str(compiled):  # an IN list expanded per call: use `rows_in`
        raise ValueError(f"a statement with a list expanded at run time: {stmt}")
    positions = tuple(compiled.positiontup or ()) if compiled.positional else None
    binds = tuple((k, fn) for k, fn in compiled._bind_processors.items() if fn is not None)
    columns = compiled._result_columns or []
    row = namedtuple("Row", [rc.keyname for rc in columns], rename=True) if columns else None  # type: ignore[misc]
    fixed = {
        name: bp.effective_value
        for name, bp in compiled.binds.items()
        if name not in keys and not bp.required
    }
    types = tuple(rc.type for rc in columns)
    plan = _Plan(str(compiled), positions, tuple(binds), types, row, fixed, dialect)
    _plans[key] = (stmt, plan)  # the statement is kept: its id stays its own
    return plan


def _connection(s: Session | Tx) -> Any:
    """The connection of the transaction: a session's (objects added to it before are written
    first), or a plain transaction's (`adapters/db.py`)."""
    if isinstance(s, Tx):
        return s
    s._autoflush()
    return s.connection()


def _run(s: Session | Tx, stmt: ClauseElement, params: Mapping[str, Any]) -> tuple[Any, _Plan]:
    conn = _connection(s)
    plan = _plan(conn.dialect, stmt, tuple(params))
    return _cursor(conn, plan, "execute", plan.args(params)), plan


def _cursor(conn: Any, plan: _Plan, method: str, args: Any) -> Any:
    """A cursor of the session's connection that has run the plan (`execute` or
    `executemany`); the driver's error raised as SQLAlchemy raises it (IntegrityError for a
    duplicate key, ...), so that callers catch the same exceptions on every path."""
    cursor = conn.connection.driver_connection.cursor()
    try:
        getattr(cursor, method)(plan.sql, args)
    except conn.dialect.loaded_dbapi.Error as exc:
        cursor.close()
        error = conn.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(plan.sql, args, exc, error, dialect=conn.dialect) from exc
    return cursor


def _convert(plan: _Plan, converters: Any, raw: Sequence[Any]) -> Any:
    if converters:
        values = list(raw)
        for i, fn in converters:
            values[i] = fn(values[i])
        return plan.row._make(values)
    return plan.row._make(raw)


def rows(s: Session | Tx, stmt: ClauseElement, params: Mapping[str, Any]) -> list[Any]:
    """Every row of a SELECT, in the session's transaction."""
    cursor, plan = _run(s, stmt, params)
    try:
        converters = plan.converters(cursor.description)
        return [_convert(plan, converters, r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def first(s: Session | Tx, stmt: ClauseElement, params: Mapping[str, Any]) -> Any | None:
    """The first row of a SELECT, or None."""
    cursor, plan = _run(s, stmt, params)
    try:
        raw = cursor.fetchone()
        converters = plan.converters(cursor.description)
        return None if raw is None else _convert(plan, converters, raw)
    finally:
        cursor.close()


def execute(s: Session | Tx, stmt: ClauseElement, params: Mapping[str, Any]) -> int:
    """An INSERT, UPDATE or DELETE in the session's transaction: how many rows it touched."""
    cursor, _ = _run(s, stmt, params)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def execute_many(s: Session | Tx, stmt: ClauseElement, params: Sequence[Mapping[str, Any]]) -> None:
    """The same INSERT, UPDATE or DELETE once per set of parameters (all with the same keys),
    in one call to the driver, in the session's transaction."""
    if not params:
        return
    conn = _connection(s)
    plan = _plan(conn.dialect, stmt, tuple(params[0]))
    _cursor(conn, plan, "executemany", [plan.args(p) for p in params]).close()


_inserts: dict[type, tuple[Any, tuple[tuple[str, Any, Any], ...]]] = {}


def _defaults(model: type) -> tuple[Any, tuple[tuple[str, Any, Any], ...]]:
    """A table model's INSERT and its fields' defaults: (name, default, factory)."""
    found = _inserts.get(model)
    if found is None:
        from pydantic_core import PydanticUndefined
        from sqlalchemy import insert as sa_insert

        fields = tuple(
            (name, None if f.default is PydanticUndefined else f.default, f.default_factory)
            for name, f in model.model_fields.items()  # type: ignore[attr-defined]
        )
        found = _inserts[model] = (sa_insert(model.__table__), fields)  # type: ignore[attr-defined]
    return found


def insert(s: Session | Tx, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    """Rows of a table model, each with the model's defaults for what it leaves out (a default
    of NULL is left to the database), in one statement per set of columns."""
    stmt, fields = _defaults(model)
    names = {name for name, _, _ in fields}
    full: list[dict[str, Any]] = []
    for given in rows:
        if not given.keys() <= names:
            raise ValueError(f"{model.__name__} has no {sorted(given.keys() - names)}")
        row = {}
        for name, default, factory in fields:
            if name in given:
                row[name] = given[name]
            elif factory is not None:
                row[name] = factory()
            elif default is not None:
                row[name] = default
        full.append(row)
    if not full:
        return
    conn = _connection(s)
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in full:
        by_keys.setdefault(tuple(row), []).append(row)
    for keys, group in by_keys.items():
        plan = _plan(conn.dialect, stmt, keys)
        _cursor(conn, plan, "executemany", [plan.args(row) for row in group]).close()


_by_count: dict[tuple[Callable[..., Any], int], ClauseElement] = {}


def any_of(n: int) -> list[Any]:
    """`n` parameters `in0` ... for an IN list (`column.in_(any_of(n))`)."""
    from sqlalchemy import bindparam

    return [bindparam(f"in{i}") for i in range(n)]


def rows_in(
    s: Session | Tx,
    build: Callable[[int], ClauseElement],
    values: Sequence[Any],
    params: Mapping[str, Any] | None = None,
) -> list[Any]:
    """`rows` of a statement with an IN list of `values`: `build(n)` makes it for n values
    (with `any_of(n)`), once per n."""
    if not values:
        return []
    key = (build, len(values))
    stmt = _by_count.get(key)
    if stmt is None:
        stmt = _by_count[key] = build(len(values))
    return rows(s, stmt, {**(params or {}), **{f"in{i}": v for i, v in enumerate(values)}})
