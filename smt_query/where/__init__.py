"""The ``--where`` expression language: parser, Python semantics, SQL.

``parse("optimizer.lr >= 1e-3 and model.activation == 'relu'")`` returns an
:class:`Expr` tree. Every node can

* :meth:`Expr.evaluate` itself on a parameter dict and a mapping of record
  fields -- the reference semantics;
* :meth:`Expr.test` a Sumatra ``Record`` (the same, reading the record);
* :meth:`Expr.to_q` compile itself to a Django ``Q`` over Sumatra's
  ``Record`` model selecting exactly the records :meth:`Expr.test` accepts,
  or return ``None`` when that cannot be said exactly in SQL.

Parameters stored as JSON are read in SQL with SQLite's JSON1 functions or
PostgreSQL's ``jsonb``; keys resolve as :func:`~smt_query.params.get_task_param`
does (command-line overrides, task-description ``inputs`` levels). The
language is documented in ``docs/where.rst``. Importing this package imports
neither Django nor pandas.

The modules, each importing only those above it:

=============  ================================================================
``values``     literals, equality and order, :class:`Key`, :class:`Field`
``sqltext``    SQL text with parameters (:class:`Sql`, ``fill``); safe values
``globs``      glob patterns: fnmatch's meaning, as a regular expression
``chain``      the SQL of a condition on parameters, common to both databases
``sqlite``     the SQLite dialect (every SQLite-specific line)
``postgresql`` the PostgreSQL dialect (every PostgreSQL-specific line)
``dialect``    the dialects by vendor name; database errors recognized
``qfields``    ``Q`` objects on record columns: tags, text, sets, time spans
``compiler``   a tree to one ``Q``: parameter conditions, acceptance
``nodes``      the nodes and their Python semantics (``_to_q``: their SQL shape)
``parser``     text to nodes (grammar in its docstring)
=============  ================================================================

Adding an operator (say ``startswith``), a checklist:

1. ``values.OPERATORS`` (and ``values.ORDER`` if it orders);
   ``nodes.FIELD_OPS`` for the field kinds it applies to.
2. ``nodes.Compare._check`` (which values it takes) and
   ``nodes.Compare.holds`` (its meaning on a parameter value), plus
   ``nodes._test_<kind>`` for record fields; ``Compare.__str__`` if it is
   written differently.
3. ``parser``: recognize it in ``parse_operator`` (and ``_FLIP`` /
   ``parse_value_first`` if ``value op key`` makes sense); add it to the
   grammar in the parser's docstring.
4. SQL: ``chain.Chain.compare`` for parameters, using a method each dialect
   class implements (``sqlite.SQLiteChain``, ``postgresql.PostgresChain``),
   or ``pushable()`` returning False where a database cannot say it exactly;
   ``qfields.field_q`` for record fields (return None to leave it to Python).
5. Tests in ``tests/test_where.py``: parse, ``evaluate`` and SQL = Python
   on both databases (``EXPRESSIONS``); ``docs/where.rst``; ``CHANGES.rst``.
"""
from .compiler import reads_params
from .dialect import query_too_large, unreadable_params
from .nodes import (FIELD_OPS, MAX_DEPTH, And, Compare, Exists, Expr, Missing, Not, Or,
                    RecordFields, WhereSyntaxError, check_tree, sql_form, status_words,
                    tree_depth)
from .parser import parse
from .qfields import in_set, tags_q
from .sqltext import sql_text_ok
from .values import (FIELDS, KEYWORDS, MAX_LIST_DEPTH, NO_VALUE, OPERATORS, Field, Key, equal,
                     format_value, ordered)

__all__ = [
    "And", "Compare", "Exists", "Expr", "FIELDS", "FIELD_OPS", "Field", "KEYWORDS", "Key",
    "MAX_DEPTH", "MAX_LIST_DEPTH", "Missing", "NO_VALUE", "Not", "OPERATORS", "Or",
    "RecordFields", "WhereSyntaxError", "check_tree", "equal", "format_value", "in_set",
    "ordered", "parse", "query_too_large", "reads_params", "sql_form", "sql_text_ok",
    "status_words", "tags_q", "tree_depth", "unreadable_params",
]
