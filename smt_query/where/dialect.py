"""The SQL dialects: one class per database, chosen by its vendor name.

Everything that differs between SQLite and PostgreSQL lives in
:mod:`~smt_query.where.sqlite` and :mod:`~smt_query.where.postgresql` (the
idea of peewee's per-database JSON methods); nothing else in smt_query asks
which database it talks to. A dialect offers:

* ``chain``, ``params_columns()``, ``params_condition(expr, columns, table)``:
  a ``where`` condition on parameters (see :mod:`~smt_query.where.chain`);
* ``tag_condition(column, params, names, tests_max)``: a tag in ``names``;
* ``value_set(values, kind)``: a long ``IN`` list as one parameter;
* ``text_order(lhs)``, ``order_guard(column, op)``, ``regex_q(column,
  pattern)``: comparisons of record fields as Python makes them;
* ``glob_sql(sql, params, pattern, connection)``, ``max_glob``: globs;
* ``accepts(q, ctx)``: whether the database can prepare a condition;
* ``too_large(exc)``, ``unreadable(exc)``: its errors, recognized;
* for the store: ``id_set(ids)``, ``begin_write(cursor)``, ``locks_rows``,
  ``write_column(...)`` (tagging), ``on_connect(connection)``,
  ``database_missing(connection)``, ``is_file(db)``, ``engine``, ``scheme``
  (setting Django up; :func:`dialect_of_engine`, :func:`uri_scheme`), ``float_type``
  (a column of floats: the metric table), ``write_mark(connection)`` (a
  number every commit changes, or None: the metrics' refresh).

This module and the two dialect modules are the only places that compare
vendor or engine names (``tests/test_contracts.py`` checks it).

A database without a dialect (MySQL...) gets no SQL from filters: Python
decides every condition there.
"""
from .postgresql import PostgreSQL
from .sqlite import SQLite

#: vendor name -> dialect.
DIALECTS = {d.vendor: d for d in (SQLite(), PostgreSQL())}


def dialect_for(vendor):
    """The dialect of Django's ``vendor`` name, or None."""
    return DIALECTS.get(vendor)


def dialect_of_engine(engine):
    """The dialect of a Django ``ENGINE`` (``django.db.backends.sqlite3``,
    also Sumatra's ``postgresql_psycopg2``), or None."""
    return next((d for d in DIALECTS.values() if d.engine in (engine or "")), None)


def engine_key(engine):
    """``engine`` with the names of one backend made equal (Sumatra names
    PostgreSQL ``postgresql_psycopg2``, an alias Django still accepts)."""
    dialect = dialect_of_engine(engine)
    return dialect.vendor if dialect is not None else engine or ""


def uri_scheme(engine):
    """The scheme of a store URI for a database of ``engine`` (None: a file
    path), or a ``QueryError`` for a database Sumatra cannot store records in."""
    dialect = dialect_of_engine(engine)
    if dialect is not None:
        return dialect.scheme
    if "mysql" in (engine or ""):   # Sumatra stores records there; we read it without SQL forms
        return "mysql"
    from ..errors import QueryError
    raise QueryError(f"a Sumatra record store is SQLite, PostgreSQL or MySQL, not {engine!r}")


def dialect_of(ctx):
    """The dialect of the store of ``ctx`` (an
    :class:`~smt_query.recordstore.SQLContext`), or None."""
    return DIALECTS.get(ctx.vendor)


def query_too_large(exc):
    """Whether the database error ``exc`` says a query is too large or too
    deeply nested for it (a limit of the query, not a fault of the store)."""
    return any(d.too_large(exc) for d in DIALECTS.values())


def unreadable_params(exc):
    """Whether the database error ``exc`` is the database refusing a stored
    parameter set that a ``where`` condition reads: not JSON, or JSON it
    parses differently from Python (NaN, Infinity; ``\\u0000`` and lone
    surrogates on PostgreSQL; a dotted key with ``"`` in an override on SQLite;
    JSON nested too deep for PostgreSQL's stack). The query is then right only
    in Python."""
    return any(d.unreadable(exc) for d in DIALECTS.values())
