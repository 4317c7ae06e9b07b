"""Fixed statements for the hottest reads: SQL written once, rows turned into model instances
with the ORM's own value converters, on every database.

Compiling an ORM query costs more than running it when it joins several tables (the IPN's
read of an order with its dossier, procedure and agency: about 2 ms of Python against 0.2 ms in
PostgreSQL, issue 10 §7). A `Part` names a model, its table alias and the columns read; the
statement's select list comes from it, and `instances()` builds each part's instance the way
Django's iterator does (`Model.from_db`, then the backend's and the fields' converters: SQLite's
text timestamps, integers for booleans, JSON), so the instances are the ones the ORM would
give, with the columns not read deferred (loaded on access, as with `.only()`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model
from django.db.models.expressions import DatabaseDefault


@dataclass(frozen=True, eq=False)  # hashed by identity: parts are module constants
class Part:
    model: type[Model]
    alias: str
    fields: tuple[Field, ...]

    @property
    def select(self) -> str:
        quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)


def part(
    model: type[Model],
    alias: str,
    *,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
) -> Part:
    """The columns of `model` read under `alias`, in the model's order (the primary key always):
    `only` these attnames, or every concrete column but `exclude` (large ones not needed)."""
    only, exclude = (set(only) if only is not None else None), set(exclude)
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if f.primary_key
        or (
            (only is None or f.attname in only)
            and f.attname not in exclude
            and f.name not in exclude
        )
    )
    return Part(model, alias, fields)


def select_list(*parts: Part) -> str:
    return ", ".join(p.select for p in parts)


@cache
def _reader(p: Part, vendor: str) -> tuple[list[str], tuple]:
    """The part's attnames, and per column (its expression, its converters) as the ORM's
    compiler finds them for this database."""
    conn = connections[DEFAULT_DB_ALIAS]
    columns = []
    for f in p.fields:
        col = f.get_col(p.alias)
        columns.append((col, (*conn.ops.get_db_converters(col), *f.get_db_converters(conn))))
    return [f.attname for f in p.fields], tuple(columns)


def instances(row: Sequence, *parts: Part) -> list[Model]:
    """One instance per part from a row whose columns follow `select_list(*parts)`."""
    conn = connections[DEFAULT_DB_ALIAS]
    out, i = [], 0
    for p in parts:
        names, columns = _reader(p, conn.vendor)
        values = list(row[i : i + len(names)])
        i += len(names)
        for k, (col, converters) in enumerate(columns):
            for convert in converters:
                values[k] = convert(values[k], col, conn)
        out.append(p.model.from_db(conn.alias, names, values))
    return out


def lock_clause(*aliases: str) -> str:
    """` FOR UPDATE OF a, b` where the database locks rows (PostgreSQL); nothing on SQLite,
    whose writers are serialised by the database itself, as the ORM's select_for_update()."""
    if not connection.features.has_select_for_update:
        return ""
    if aliases and connection.features.has_select_for_update_of:
        return " FOR UPDATE OF " + ", ".join(aliases)
    return " FOR UPDATE"


# --- writes ------------------------------------------------------------------------------
# The hot paths write a few rows per request (an IPN: eight). Django's `create()` and
# `save(update_fields=…)` compile their statement each time, about 0.15 ms of Python per row
# more than running it; these write the same statement, built once per model and set of
# columns, with the fields' own preparation of values (`get_db_prep_save`: JSON, timestamps,
# foreign keys). No signals are sent: the models written this way have no receivers.


@cache
def _insert_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, tuple]:
    meta = model._meta
    fields = tuple(meta.get_field(n) for n in names)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES "
        f"({', '.join(['%s'] * len(fields))})"
    )
    if connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {connection.ops.quote_name(meta.pk.column)}"
    return sql, fields


def insert(model: type[Model], **values) -> Model:
    """`model.objects.create(**values)` as one prepared statement: the instance is built as
    create() builds it (field defaults), each field's `pre_save` runs (auto_now_add), the row
    is inserted and the instance returned with its primary key."""
    return _insert(model, values, read_pk=True)


def insert_later(model: type[Model], **values) -> Model:
    """insert(), for a row whose key the caller does not need: inside `pipelined()` it is
    sent with the statements that follow, without waiting for its answer (its instance then
    has no primary key); elsewhere it is insert()."""
    return _insert(model, values, read_pk=False)


def _insert(model: type[Model], values: dict, *, read_pk: bool) -> Model:
    conn = connections[DEFAULT_DB_ALIAS]
    obj = model(**values)
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    prepared = [(f, f.pre_save(obj, True)) for f in fields]
    prepared = [(f, v) for f, v in prepared if not isinstance(v, DatabaseDefault)]
    sql, _ = _insert_sql(model, tuple(f.name for f, _ in prepared), conn.vendor)
    with conn.cursor() as cur:
        cur.execute(sql, [f.get_db_prep_save(v, conn) for f, v in prepared])
        if read_pk or not _in_pipeline(conn):
            obj.pk = (
                cur.fetchone()[0] if conn.features.can_return_columns_from_insert else cur.lastrowid
            )
    obj._state.adding = False
    return obj


@cache
def _update_sql(model: type[Model], names: tuple[str, ...], vendor: str) -> tuple[str, tuple]:
    meta = model._meta
    fields = tuple(meta.get_field(n) for n in names)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    return (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {assignments} "
        f"WHERE {connection.ops.quote_name(meta.pk.column)} = %s"
    ), fields


def save_fields(obj: Model, names: Iterable[str]) -> None:
    """`obj.save(update_fields=names)` as one prepared statement: each field's `pre_save`
    (an `auto_now` timestamp is set, as by save()), then the UPDATE of those columns."""
    conn = connections[DEFAULT_DB_ALIAS]
    sql, fields = _update_sql(type(obj), tuple(names), conn.vendor)
    params = [f.get_db_prep_save(f.pre_save(obj, False), conn) for f in fields]
    with conn.cursor() as cur:
        cur.execute(sql, [*params, obj.pk])


# --- one round trip for several writes (PostgreSQL) -------------------------------------------


def _in_pipeline(conn) -> bool:
    return conn.vendor == "postgresql" and conn.connection.pgconn.pipeline_status != 0


@contextmanager
def pipelined():
    """The writes inside are sent to PostgreSQL without waiting for each answer (psycopg's
    pipeline mode), and the answers read together at the end or when a value is needed (a
    SELECT, insert()'s key): the same statements in the same transaction, in one or two round
    trips instead of one each. An error surfaces at the latest when the block ends, as
    Django's exception (IntegrityError…), and the caller's transaction rolls back as usual.
    Other databases run the statements one by one."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql" or not conn.in_atomic_block:
        yield
        return
    conn.ensure_connection()
    with conn.wrap_database_errors, conn.connection.pipeline():
        yield
