"""Compilation of a ``where`` tree to a Django ``Q``: the parts that are
not a node's own (see ``_to_q`` of each node in :mod:`~smt_query.where.nodes`).

A condition reading only parameters becomes one :class:`ParamsCondition`
expression, written by the store's dialect when Django compiles the query;
:func:`accepted` asks the dialect whether the database can prepare it.
"""
import functools

from .chain import param_leaves
from .dialect import dialect_for, dialect_of
from .sqltext import Sql, sql_value_ok

# A leaf on a parameter costs ~35 µs per row in SQL on either database;
# reading records for Python costs about as much as 30 of them (measured).
_MAX_PARAM_LEAVES = 32


def accepted(q, ctx, depth):
    """``q`` if the database of ``ctx`` can prepare it (``depth``: levels of
    And/Or/Not of the tree it comes from), else None (Python finishes)."""
    dialect = dialect_of(ctx)
    if q is not None and depth > 0 and dialect is not None and not dialect.accepts(q, ctx):
        return None    # too deep for the database's parser
    return q


def param_q(expr, ctx):
    """One ``Q`` for ``expr``, an And/Or/Not tree reading only parameters, or
    None (no dialect, parameters not in SQL on this store, a leaf the dialect
    cannot say exactly, too many leaves)."""
    from django.db.models import F, Q
    dialect = dialect_of(ctx)
    if dialect is None or not ctx.store.params_in_sql:
        return None
    for n, leaf in enumerate(param_leaves(expr)):
        if not dialect.chain.pushable(leaf) or not sql_value_ok(getattr(leaf, "value", None)):
            return None
        if n == _MAX_PARAM_LEAVES:
            return None   # one column per leaf on PostgreSQL: Python finishes
    columns = [F(c) for c in dialect.params_columns()]
    return Q(_condition_class()(expr, ctx.models.ParameterSet._meta.db_table, *columns))


@functools.cache
def _condition_class():
    from django.db.models import BooleanField, Expression

    class ParamsCondition(Expression):
        """A ``where`` condition on parameters, compiled when the query is:
        on SQLite over the joined parameter set (``content``, ``type``), on
        PostgreSQL as ``parameters_id IN (...)``."""

        output_field = BooleanField()

        def __init__(self, expr, table, *columns):
            super().__init__()
            self.expr, self.table, self.columns = expr, table, list(columns)

        def get_source_expressions(self):
            return self.columns

        def set_source_expressions(self, exprs):
            self.columns = list(exprs)

        def as_sql(self, compiler, connection):
            columns = [Sql(*compiler.compile(c)) for c in self.columns]
            table = connection.ops.quote_name(self.table)
            sql = dialect_for(connection.vendor).params_condition(self.expr, columns, table)
            return sql.text, sql.params

    return ParamsCondition


def reads_params(qs):
    """Whether the queryset ``qs`` filters with a condition on parameters
    (worth not evaluating twice: read its ids once instead of a subquery)."""
    cls = _condition_class()

    def walk(node):
        if isinstance(node, cls):
            return True
        children = list(getattr(node, "children", ()))
        if hasattr(node, "get_source_expressions"):
            children += node.get_source_expressions()
        return any(walk(child) for child in children if child is not None)
    return walk(qs.query.where)
