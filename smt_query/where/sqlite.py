"""SQLite: JSON1 functions for parameters, ``instr`` and ``json_each`` for
tags and sets, a Python function for globs.

Everything SQLite-specific of the ``where`` package and the filters lives
here (see :mod:`smt_query.where.dialect` for the interface).
"""
import datetime as _dt
import json
import sqlite3

from .chain import Chain, param_leaves
from .globs import glob_match
from .sqltext import fill, join, raw

# Nested a few levels deeper than the condition itself (see SQLite.accepts).
_MARGIN = 6
# SQLite's messages for a query too large or too deeply nested.
_TOO_LARGE = ("parser stack overflow", "Expression tree is too large",
              "too many SQL variables", "too many terms in compound",
              "too many arguments on function", "string or blob too big")


class SQLiteChain(Chain):
    """SQLite's JSON1 functions; keys are read with JSON paths.

    SQLite (before 3.45) matches a path label against the key *as written*
    in the JSON text, escapes included. Python's ``json`` module writes a key
    the same way except for non-ASCII characters, which it escapes unless
    ``ensure_ascii=False`` -- in which case no ASCII-only text has any. So a
    label is spelled raw when the content has a non-ASCII byte ("m"), else
    escaped.

    The replay finds keys with json_each (which decodes them, as Python
    does) and addresses them by their ``fullkey`` (spelled as written); it
    creates a key from its decoded text, which json_set writes escaped, and
    copies override values as written with ``->`` (SQLite 3.38).
    """

    vendor = "sqlite"
    NO_FLATTEN = " LIMIT -1"
    KIND = {"number": "IN ('integer', 'real')", "string": "= 'text'", "true": "= 'true'",
            "false": "= 'false'", "null": "= 'null'", "array": "= 'array'",
            "object": "= 'object'"}

    @staticmethod
    def pushable(node):
        # A path label cannot hold '"' (no escape in SQLite's path syntax); DEL
        # is written raw or escaped depending on ensure_ascii, in ASCII text.
        import sqlite3
        return (sqlite3.sqlite_version_info >= (3, 38)
                and not any('"' in p or "\x7f" in p for p in node.key.parts))

    def param(self, k):
        return fill("{}", k)

    @staticmethod
    def child(d, p, k):
        return fill(f"(SELECT fullkey FROM json_each({d}, {p}) WHERE key = {{}})", k)

    @staticmethod
    def is_desc(d, p):
        return raw(f"(json_type({d}, {p} || '.taskname') IS NOT NULL AND json_type({d}, {p} "
                   f"|| '.module') IS NOT NULL AND json_type({d}, {p} || '.inputs') = 'object')")

    def replay(self, doc):
        mid = "instr(w.rest, '.') > 0"
        part = raw(f"CASE WHEN {mid} THEN substr(w.rest, 1, instr(w.rest, '.') - 1) "
                   "ELSE w.rest END")
        path = fill("COALESCE({}, CASE WHEN {} THEN {} END, w.p || '.\"' || {} || '\"')",
                    self.child("w.d", "w.p", part), self.is_desc("w.d", "w.p"),
                    self.child("w.d", "w.p || '.inputs'", part), part)
        self.layers += [
            # a key with '"' has no JSON path (no escapes in SQLite's syntax)
            fill("dk AS (SELECT row_number() OVER (ORDER BY id) AS n, key, fullkey AS fk "
                 "FROM json_each({}) WHERE instr(key, '.') > 0 AND CASE WHEN instr(key, '\"') "
                 "> 0 THEN {} ELSE 1 END)", doc, self.refuse(raw("key"))),
            fill("w(n, rest, p, d, np) AS (SELECT 1, (SELECT key FROM dk WHERE n = 1), '$', {}, "
                 f"NULL UNION ALL SELECT CASE WHEN w.np IS NULL OR {mid} THEN w.n ELSE w.n + 1 END, "
                 f"CASE WHEN w.np IS NULL THEN w.rest WHEN {mid} THEN substr(w.rest, "
                 "instr(w.rest, '.') + 1) ELSE (SELECT key FROM dk WHERE dk.n = w.n + 1) END, "
                 f"CASE WHEN w.np IS NULL THEN w.p WHEN {mid} THEN w.np ELSE '$' END, "
                 f"CASE WHEN w.np IS NULL THEN w.d WHEN NOT {mid} THEN json_set(w.d, w.np, "
                 "json({} -> (SELECT fk FROM dk WHERE dk.n = w.n))) WHEN json_type(w.d, w.np) = "
                 "'object' THEN w.d ELSE json_set(w.d, w.np, json_object()) END, "
                 "CASE WHEN w.np IS NULL THEN {} END FROM w WHERE w.rest IS NOT NULL)",
                 doc, doc, path),
            raw("l0 AS (SELECT d, '$' AS p FROM w WHERE rest IS NULL)")]
        return "l0"

    def step(self, k, direct):
        found = fill("CASE WHEN {} THEN {} END", self.is_desc("s.d", "s.p"),
                     self.child("s.d", "s.p || '.inputs'", k))
        if direct:
            found = fill("COALESCE({}, {})", self.child("s.d", "s.p", k), found)
        return {"d": raw("s.d"), "p": fill("CASE WHEN s.p IS NOT NULL THEN {} END", found)}

    def leaf(self):
        return raw("s.p IS NULL"), ("path", raw("s.d"), raw("s.p"))

    def condition(self, expr, kind):
        """``expr`` on the row's parameter set (``kind``: its type column).
        A set SQLite cannot read as Python does -- not JSON, or JSON with
        NaN, which json.dumps writes -- raises "malformed JSON" instead."""
        prefixes = [self.prefixes(node) for node in param_leaves(expr)]
        cond = self.boolean(expr, lambda node: self.slow(node, self.c, self.fast))
        if None not in prefixes:
            cond = fill("CASE WHEN {} THEN {} ELSE {} END",
                        self.overridden(sorted(set().union(*prefixes)), self.c), cond,
                        self.boolean(expr, self.fast))
        return fill("CASE WHEN {} = 'JSONParameterSet' AND json_valid({}) THEN {} ELSE {} END",
                    kind, self.c, cond, self.refuse(kind))

    @staticmethod
    def refuse(text):
        """SQL raising "malformed JSON" when evaluated (for a non-JSON ``text``)."""
        return fill("json('{' || {}) IS NULL", text)

    @staticmethod
    def overridden(prefixes, doc):
        # json_each parses the text again (the scalar functions share one parse);
        # still cheaper than searching the text for each prefix
        starts = join(" OR ", (fill(f"substr(key, 1, {len(p)}) = {{}}", p) for p in prefixes))
        return fill("EXISTS (SELECT 1 FROM json_each({}) WHERE instr(key, '.') > 0 AND ({}))",
                    doc, starts)

    def fast(self, node):
        labels = [k for k in node.key.parts if json.dumps(k) != json.dumps(k, ensure_ascii=False)]
        if not labels:
            return self.tree(node)
        self.ascii = False
        raw = self.tree(node)
        self.ascii = True
        escaped = self.tree(node)
        return fill("CASE WHEN length(CAST({} AS BLOB)) <> length({}) THEN {} ELSE {} END",
                    self.c, self.c, raw, escaped)

    ascii = False   # how fast() spells path labels

    def ref(self, path):
        labels = "".join('."' + json.dumps(k, ensure_ascii=self.ascii)[1:-1] + '"' for k in path)
        return ("path", self.c, fill("{}", "$" + labels))

    def present(self, path):
        return fill("{} IS NOT NULL", self.type_of(self.ref(path)))

    # values: ("path", doc, path) or ("row", alias) of json_each
    def type_of(self, ref):
        if ref[0] == "row":
            return raw(f"{ref[1]}.type")
        return fill("json_type({}, {})", ref[1], ref[2])

    def value_of(self, ref):
        if ref[0] == "row":
            return raw(f"{ref[1]}.value")
        return fill("json_extract({}, {})", ref[1], ref[2])

    def is_type(self, ref, kind):
        return fill("{} " + self.KIND[kind], self.type_of(ref))

    def item(self, ref, i):
        if ref[0] == "row":
            return ("path", raw(f"{ref[1]}.value"), fill("{}", f"$[{i}]"))
        return ("path", ref[1], fill("{} || {}", ref[2], f"[{i}]"))

    def array_length(self, ref):
        if ref[0] == "row":
            return raw(f"json_array_length({ref[1]}.value)")
        return fill("json_array_length({}, {})", ref[1], ref[2])

    def elements_exist(self, ref, cond):
        a = self.alias()
        source = (raw(f"json_each({ref[1]}.value)") if ref[0] == "row"
                  else fill("json_each({}, {})", ref[1], ref[2]))
        return fill("EXISTS (SELECT 1 FROM {} AS " + a + " WHERE {})", source, cond(("row", a)))

    def num_cmp(self, ref, op, x):
        return fill("{} " + ("=" if op == "==" else op) + " {}", self.value_of(ref), x)

    def text_cmp(self, ref, op, x):
        return fill("{} " + ("=" if op == "==" else op) + " {}", self.value_of(ref), x)

    def num_in(self, ref, numbers):
        return fill("{} IN (SELECT value FROM json_each({}))", self.value_of(ref), json.dumps(numbers))

    text_in = num_in

    def substring(self, ref, x):
        return fill("instr({}, {}) > 0", self.value_of(ref), x)

    def regex(self, ref, x):
        return fill("{} REGEXP {}", self.value_of(ref), x)  # Django's: Python's re.search




class SQLite:
    """The SQLite dialect (one instance, chosen by vendor name)."""

    vendor = "sqlite"
    float_type = "REAL"   # a column of floats (smt_query.metrics)
    #: After an index column whose NULLs come first (SQLite's NULLs come first already: smt_query.storetools).
    index_nulls_first = ""
    #: What Django's ENGINE names of this database contain.
    engine = "sqlite"
    #: The scheme of a store URI (None: a file path).
    scheme = None
    chain = SQLiteChain
    #: Longest glob sent to SQL (None: any; SQLite calls fnmatch itself).
    max_glob = None
    #: Whether writers lock the rows they change (SELECT ... FOR UPDATE).
    locks_rows = False   # the database's write lock already serialises writers

    @staticmethod
    def is_file(db):
        """Whether the ``DATABASES`` entry ``db`` is a file (not in memory)."""
        return db.get("NAME") not in (None, "", ":memory:")

    #: ``OPTIONS`` of our stores' connections: no type detection by declared
    #: type, whose datetime converter (Django's, for every SQLite connection
    #: of the process) raises on a timestamp that is no date; the store's
    #: converter (:meth:`on_connect`) reads those as None instead.
    connect_options = {"detect_types": sqlite3.PARSE_COLNAMES}

    def on_connect(self, connection):
        """A new connection of one of our stores reads timestamps tolerantly:
        text :func:`~smt_query.dates.read_stored_timestamp` cannot read is
        None, named once in an ``UnreadableTimestamp`` warning."""
        from ..dates import read_stored_timestamp, report_unreadable
        ops = connection.ops
        if "convert_datetimefield_value" in vars(ops):
            return
        convert = ops.convert_datetimefield_value
        store = connection.settings_dict.get("NAME")

        def tolerant(value, expression, conn):
            if value is None or isinstance(value, _dt.datetime):
                return convert(value, expression, conn)
            when = read_stored_timestamp(value)
            if when is None:
                report_unreadable(value, store)
                return None
            return convert(when, expression, conn)
        ops.convert_datetimefield_value = tolerant

    #: SQL of :meth:`timestamp_ok` (``{c}``: the column): the rule of
    #: :func:`~smt_query.dates.read_stored_timestamp` in SQLite's own functions
    #: (no Python call per row, cheap text tests first); ``date(.., '+0
    #: days')`` normalizes a day past the month's end (2020-02-30) to another
    #: text; lengths in bytes (text functions stop at a NUL). Tested equal.
    TIMESTAMP_OK = (
        "(typeof({c}) = 'text' AND {c} GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9] "
        "[0-2][0-9]:[0-5][0-9]:[0-5][0-9]*' AND (length(CAST({c} AS BLOB)) = 19 "
        "OR (length(CAST({c} AS BLOB)) = 26 "
        "AND substr({c}, 20) GLOB '.[0-9][0-9][0-9][0-9][0-9][0-9]' "
        "AND substr({c}, 20) <> '.000000')) AND substr({c}, 1, 4) <> '0000' "
        "AND substr({c}, 6, 2) BETWEEN '01' AND '12' AND substr({c}, 12, 2) <= '23' "
        "AND (substr({c}, 9, 2) BETWEEN '01' AND '28' "
        "OR date(substr({c}, 1, 10), '+0 days') = substr({c}, 1, 10)))")

    def timestamp_ok(self, sql, connection):
        """SQL: the timestamp column ``sql`` is readable (:data:`TIMESTAMP_OK`)."""
        return self.TIMESTAMP_OK.format(c=sql)

    @staticmethod
    def write_mark(connection):
        """A number every commit to the database of ``connection`` changes,
        read in O(1) (the metrics' refresh: :mod:`smt_query.metrics.table`):
        the file change counter in the database file's header, which SQLite
        increments at each commit in rollback-journal mode (Sumatra's); None
        in WAL mode, or for a database that is no file."""
        import os
        path = connection.settings_dict.get("NAME")
        if not isinstance(path, str) or not os.path.isfile(path):
            return None
        try:
            with open(path, "rb") as f:
                head = f.read(28)
        except OSError:
            return None
        # magic text; write version 1 (rollback journal; 2: WAL) at 18; counter at 24
        if len(head) < 28 or not head.startswith(b"SQLite format 3\0") or head[18] != 1:
            return None
        return int.from_bytes(head[24:28], "big")

    def database_missing(self, connection):
        """Whether the server says the database of ``connection`` does not
        exist (a missing SQLite file is found before: ``require_store``)."""
        return False

    def begin_write(self, cursor):
        """Take the database's write lock now, before reading.

        A deferred SQLite transaction that reads and then writes fails at
        once with "database is locked" when another process got the write
        lock in between (SQLite cannot wait there without risking a deadlock).
        Writing first makes it wait its turn (the busy timeout) instead.
        """
        cursor.execute("UPDATE django_store_tag SET name = name WHERE 0 = 1")

    def write_column(self, cursor, table, column, items):
        """``UPDATE table SET column`` for ``items``, ``[(db_id, value)]``
        (SQLite runs in-process: a prepared statement per row is cheap)."""
        cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE db_id = %s",
                           [(v, i) for i, v in items])

    def id_set(self, ids):
        """A subquery yielding the integers ``ids``, one parameter (no limit)."""
        return self.value_set(list(ids), "integer")

    def params_columns(self):
        """The record columns a parameter condition reads (content, type)."""
        return ["parameters__content", "parameters__type"]

    def params_condition(self, expr, columns, table):
        """The SQL of ``expr`` (parameters only) over the joined parameter set."""
        return SQLiteChain(columns[0]).condition(expr, columns[1])

    def tag_condition(self, column, params, names, tests_max):
        """SQL (text, params): the tags column ``column`` carries one of ``names``."""
        wrapped = f"(',' || {column} || ',')"
        if len(names) <= tests_max:
            # the bare name first: cheap, and false for most rows
            tests = [f"(instr({column}, %s) > 0 AND instr({wrapped}, %s) > 0)" for _ in names]
            return "(" + " OR ".join(tests) + ")", [
                p for n in names for p in (*params, n, *params, f",{n},")]
        return (f"EXISTS (SELECT 1 FROM json_each(%s) AS smtq_tag "
                f"WHERE instr({wrapped}, ',' || smtq_tag.value || ',') > 0)",
                [json.dumps(names), *params])

    def value_set(self, values, kind):
        """A subquery yielding ``values``, passed as one parameter."""
        from django.db.models.expressions import RawSQL
        return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))

    def text_order(self, lhs):
        """``lhs`` compared in code-point order (SQLite's BINARY collation already is)."""
        return lhs

    def order_guard(self, column, op):
        """An extra condition for ``column op number`` (None: none needed)."""
        return None

    def regex_q(self, column, pattern):
        """Q: ``column`` matches the Python regular expression (Django's REGEXP is re.search)."""
        from django.db.models import Q
        return Q(**{f"{column}__regex": pattern})

    def glob_sql(self, sql, params, pattern, connection):
        """SQL (text, params): the column ``sql`` matches the glob ``pattern``."""
        connection.ensure_connection()
        connection.connection.create_function("smtq_glob", 2, glob_match, deterministic=True)
        return f"smtq_glob({sql}, %s)", [*params, pattern]

    def accepts(self, q, ctx):
        """Whether SQLite can prepare a query filtered by ``q``: its parser has
        a fixed stack, which nested conditions on long keys can overflow.
        Prepared with EXPLAIN, never run, nested a few levels deeper than
        here: the queries that use it nest it in a subquery or two."""
        from django.core.exceptions import EmptyResultSet, FullResultSet
        from django.db import DatabaseError, connections
        from django.db.models import Q
        for n in range(_MARGIN):   # alternate: Django flattens nodes of one kind
            q = (q & Q(pk__gte=-n)) if n % 2 else (q | Q(pk__lt=-n))
        query = ctx.models.Record.objects.using(ctx.alias).filter(q).values("pk").query
        try:
            sql, params = query.get_compiler(ctx.alias).as_sql()
        except (EmptyResultSet, FullResultSet):
            return True
        try:
            with connections[ctx.alias].cursor() as cursor:
                cursor.execute("EXPLAIN " + sql, params)
        except DatabaseError as exc:
            if self.too_large(exc):
                return False
            raise
        return True

    @staticmethod
    def too_large(exc):
        """Whether ``exc`` is SQLite refusing a query as too large or too deep."""
        return any(s in str(exc) for s in _TOO_LARGE)

    @staticmethod
    def unreadable(exc):
        """Whether ``exc`` is SQLite refusing a stored parameter set (not JSON,
        or JSON with NaN; a dotted key with '"' in an override)."""
        return "malformed JSON" in str(exc)
