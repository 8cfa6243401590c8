"""PostgreSQL: ``jsonb`` for parameters, ``strpos`` and arrays for tags and
sets, regular expressions (a DFA: linear time) for globs.

Everything PostgreSQL-specific of the ``where`` package and the filters
lives here (see :mod:`smt_query.where.dialect` for the interface).
"""
import decimal
import functools

from .chain import Chain, param_leaves
from .globs import glob_regex
from .sqltext import SAFE_INT, fill, join, raw

# SQLSTATEs of a query too large or too deep: program_limit_exceeded,
# statement_too_complex (stack depth), too_many_columns, too_many_arguments.
_TOO_LARGE = ("54000", "54001", "54011", "54023")
# Of a parameter set PostgreSQL reads differently from Python:
# invalid_text_representation, untranslatable_character, statement_too_complex.
_UNREADABLE = ("22P02", "22P05", "54001")


def _sqlstate(exc):
    cause = exc.__cause__
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def pg_array(items):
    """A PostgreSQL array literal of ``items`` (texts that need no quotes)."""
    return "{" + ",".join(items) + "}"


def pg_text_array(strings):
    """A PostgreSQL array literal of any ``strings`` (without NUL)."""
    return pg_array('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"' for s in strings)


class PostgresChain(Chain):
    """PostgreSQL: the content is cast to jsonb once per row; lookups walk
    jsonb values. Dotted keys are ordered from the text (``json_each`` keeps
    the document order; jsonb does not)."""

    vendor = "postgresql"
    NO_FLATTEN = " OFFSET 0"
    TRUE, FALSE = raw("TRUE"), raw("FALSE")
    KIND = {"number": "= 'number'", "string": "= 'string'", "true": "= 'boolean'",
            "false": "= 'boolean'", "null": "= 'null'", "array": "= 'array'",
            "object": "= 'object'"}

    @staticmethod
    def pushable(node):
        return node.op != "matches"  # POSIX regular expressions differ from Python's

    def param(self, k):
        return fill("CAST({} AS text)", k)

    @staticmethod
    def is_desc(v):
        # (?& would look at the items of an array, but then inputs is no object)
        return raw(f"({v} ?& ARRAY['taskname', 'module'] AND "
                   f"jsonb_typeof({v} -> 'inputs') = 'object')")

    def replay(self, doc):
        node = "(w.d #> w.p)"
        path = fill(f"w.p || CASE WHEN {node} -> w.rest[1] IS NULL AND {{}} AND {node} -> 'inputs' "
                    "-> w.rest[1] IS NOT NULL THEN ARRAY['inputs', w.rest[1]] ELSE "
                    "ARRAY[w.rest[1]] END", self.is_desc(node))
        mid = "cardinality(w.rest) > 1"
        # keys: the dotted keys left, the first being replayed. No subquery in
        # the recursive step: it would raise the cost estimates, and so JIT.
        self.layers.append(fill(
            "w(keys, rest, p, d, np) AS (SELECT x.a, string_to_array(x.a[1], '.'), "
            "CAST(ARRAY[] AS text[]), {}, CAST(NULL AS text[]) FROM (SELECT ARRAY(SELECT o.key "
            "FROM json_each(CASE WHEN jsonb_typeof({}) = 'object' THEN CAST({} AS json) END) "
            "WITH ORDINALITY AS o(key, value, n) WHERE strpos(o.key, '.') > 0 ORDER BY o.n) AS a "
            f"OFFSET 0) AS x UNION ALL SELECT CASE WHEN w.np IS NULL OR {mid} THEN w.keys ELSE "
            f"w.keys[2:] END, CASE WHEN w.np IS NULL THEN w.rest WHEN {mid} THEN w.rest[2:] "
            f"ELSE string_to_array(w.keys[2], '.') END, CASE WHEN w.np IS NULL THEN w.p WHEN "
            f"{mid} THEN w.np ELSE CAST(ARRAY[] AS text[]) END, CASE WHEN w.np IS NULL THEN w.d "
            f"WHEN NOT {mid} THEN jsonb_set(w.d, w.np, {{}} -> w.keys[1]) WHEN "
            "jsonb_typeof(w.d #> w.np) = 'object' THEN w.d ELSE jsonb_set(w.d, w.np, "
            "jsonb_build_object()) END, CASE WHEN w.np IS NULL THEN {} END FROM w WHERE "
            "w.rest IS NOT NULL)", doc, doc, self.c, doc, path))
        self.layers += [
            raw("l0 AS (SELECT d AS v FROM w WHERE rest IS NULL)")]
        return "l0"

    def step(self, k, direct):
        k = self.param(k)
        found = fill("CASE WHEN {} THEN s.v -> 'inputs' -> {} END", self.is_desc("s.v"), k)
        return {"v": fill("COALESCE(s.v -> {}, {})", k, found) if direct else found}

    def leaf(self):
        return raw("s.v IS NULL"), raw("s.v")

    def condition(self, expr, table):
        """``IN (...)``: the ids of the parameter sets satisfying ``expr``.

        One pass over ``table``, in parallel where PostgreSQL plans so: each
        set is cast to jsonb once (a set that is not JSON raises, as does
        JSON with NaN or \\u0000, which PostgreSQL refuses), every leaf read
        by its fast path. Sets with an override that may matter (rare) keep
        their text and are replayed above, in the leader.
        """
        leaves = list(param_leaves(expr))
        index = {id(node): i for i, node in enumerate(leaves)}
        prefixes = [self.prefixes(node) for node in leaves]
        maybe = (self.TRUE if None in prefixes
                 else self.overridden(sorted(set().union(*prefixes)), raw("s.d")))
        trees = join(", ", (fill(f"{{}} AS t{i}", self.FALSE if p is None else self.tree(node))
                            for i, (node, p) in enumerate(zip(leaves, prefixes))))
        inner = fill(f"SELECT p.id, CASE WHEN {{}} THEN p.content END AS c, {{}} FROM {table} AS p "
                     "CROSS JOIN LATERAL unnest(ARRAY[CASE WHEN p.type = 'JSONParameterSet' THEN "
                     "CAST(p.content AS jsonb) ELSE CAST('{' || p.type AS jsonb) END]) AS s(d) "
                     "OFFSET 0", maybe, trees)

        def fast(node):
            return raw(f"px.t{index[id(node)]}")
        replay = PostgresChain(raw("px.c"))
        return fill("IN (SELECT px.id FROM ({}) AS px CROSS JOIN LATERAL unnest(ARRAY[CAST(px.c AS "
                    "jsonb)]) AS q(d) WHERE CASE WHEN px.c IS NULL THEN {} ELSE {} END)",
                    inner, self.boolean(expr, fast),
                    replay.boolean(expr, lambda node: replay.slow(node, raw("q.d"), fast)))

    def overridden(self, prefixes, doc):
        """Whether the jsonb ``doc`` is an object with a top-level key
        starting with one of ``prefixes`` (a plain function call: parallel safe)."""
        test = " || ".join(f"@ starts with $p{i}" for i in range(len(prefixes)))
        names = join(", ", (fill(f"'p{i}', {{}}", self.param(p)) for i, p in enumerate(prefixes)))
        return fill("CASE WHEN jsonb_typeof({}) = 'object' THEN jsonb_path_exists({}, "
                    f"'strict $.keyvalue().key ? ({test})', jsonb_build_object({{}})) ELSE FALSE END",
                    doc, doc, names)

    def ref(self, path):
        return fill("(s.d" + " -> {}" * len(path) + ")", *(self.param(k) for k in path))

    def present(self, path):
        return fill("{} IS NOT NULL", self.ref(path))

    def is_type(self, ref, kind):
        test = fill("jsonb_typeof({}) " + self.KIND[kind], ref)
        if kind in ("true", "false"):
            return fill("({} AND {} = CAST({} AS jsonb))", test, ref, kind)
        return test

    def item(self, ref, i):
        return fill("({} -> {})", ref, raw(str(i)))

    def array_length(self, ref):
        return fill("jsonb_array_length({})", ref)

    def elements_exist(self, ref, cond):
        a = self.alias()
        return fill("EXISTS (SELECT 1 FROM jsonb_array_elements({}) AS " + a + "(v) WHERE {})",
                    ref, cond(raw(f"{a}.v")))

    def num_cmp(self, ref, op, x):
        return number_condition(fill("CAST({} AS numeric)", ref), "=" if op == "==" else op, x)

    def num_in(self, ref, numbers):
        return number_condition(fill("CAST({} AS numeric)", ref), "=", numbers)

    def text_in(self, ref, strings):
        return fill("({} #>> {}) = ANY(CAST({} AS text[]))", ref, raw("'{}'"),
                    pg_text_array(strings))

    def text_cmp(self, ref, op, x):
        text = fill("({} #>> {})", ref, raw("'{}'"))
        if op == "==":
            return fill("{} = CAST({} AS text)", text, x)
        return fill('{} COLLATE "C" ' + op + ' CAST({} AS text) COLLATE "C"', text, x)

    def substring(self, ref, x):
        text = fill("({} #>> {})", ref, raw("'{}'"))
        return fill("strpos({}, CAST({} AS text)) > 0", text, x)


@functools.cache
def _tiny():
    """2**-1075 exactly: decimal texts at or below it become 0.0 as doubles."""
    return decimal.Decimal(5 ** 1075).scaleb(-1075)


def number_condition(n, op, x):
    """``n op x`` for a jsonb number ``n`` (numeric, exact) as Python compares
    json.loads(text) with ``x``: jsonb keeps the exact decimal, Python rounds
    a non-integer to a double. Integers and numbers beyond 2**53 compare
    exactly (|x| < 2**53 cannot tie with them); tiny numbers round to 0 or
    keep their sign (x is 0 or |x| >= 1e-300); the rest compare as doubles.
    """
    def exact(v):
        return v if isinstance(v, int) else decimal.Decimal(v)
    if isinstance(x, list):   # n is one of x (op "="): each number as the one below
        exact_x = fill("ANY(CAST({} AS numeric[]))", pg_array(str(exact(v)) for v in x))
        double_x = fill("ANY(CAST({} AS double precision[]))", pg_array(repr(float(v)) for v in x))
    else:
        exact_x = fill("CAST({} AS numeric)", exact(x))
        double_x = fill("CAST({} AS double precision)", float(x))
    return fill(f"CASE WHEN abs({{}}) >= {SAFE_INT} OR {{}} = trunc({{}}) "
                f"THEN {{}} {op} {{}} "
                f"WHEN abs({{}}) < 1e-307 THEN (CASE WHEN abs({{}}) <= CAST({{}} AS numeric) "
                f"THEN 0 ELSE {{}} END) {op} {{}} "
                f"ELSE CAST({{}} AS double precision) {op} {{}} END",
                n, n, n, n, exact_x, n, n, _tiny(), n, exact_x, n, double_x)




class PostgreSQL:
    """The PostgreSQL dialect (one instance, chosen by vendor name)."""

    vendor = "postgresql"
    float_type = "DOUBLE PRECISION"   # a column of floats (smt_query.metrics)
    #: After an index column whose NULLs come first (read backwards: ``DESC NULLS LAST``: smt_query.storetools).
    index_nulls_first = " NULLS FIRST"
    chain = PostgresChain
    #: Longest glob sent to SQL (its regex compiler slows down with the
    #: pattern's length: 0.02 s at 1,000 characters, 2 s at 10,000); longer
    #: ones run in Python.
    max_glob = 1000

    @staticmethod
    def write_mark(connection):
        """None: PostgreSQL has no O(1) number that every commit to one
        database changes (the metrics' refresh then compares every record's
        fingerprint). The server's next transaction id would do, but it made
        the statements of a page depend on other databases' writes."""
        return None

    def params_columns(self):
        """The record column a parameter condition reads (the set's id)."""
        return ["parameters_id"]

    def params_condition(self, expr, columns, table):
        """``parameters_id IN (...)``: the sets of ``table`` satisfying ``expr``."""
        return fill("{} {}", columns[0], PostgresChain(None).condition(expr, table))

    #: What Django's ENGINE names of this database contain.
    engine = "postgresql"
    #: The scheme of a store URI.
    scheme = "postgres"
    #: Whether writers lock the rows they change (SELECT ... FOR UPDATE).
    locks_rows = True

    @staticmethod
    def is_file(db):
        """Whether the ``DATABASES`` entry ``db`` is a file: never."""
        return False

    def on_connect(self, connection):
        """Turn JIT compilation off on a new connection of one of our stores: on
        ``where`` queries over many parameter sets it costs seconds (once per
        parallel worker) and saves little. Only this session is affected."""
        with connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        self._tolerant_timestamps(connection)

    #: ``OPTIONS`` of our stores' connections (none needed).
    connect_options = {}

    @staticmethod
    def _tolerant_timestamps(connection):
        """This connection reads an infinite timestamp (``infinity``,
        ``-infinity``; psycopg2 would give year 9999 or year 1) as None, named
        once in an ``UnreadableTimestamp`` warning, as :meth:`timestamp_ok` says."""
        import psycopg2.extensions as ext
        from ..dates import report_unreadable
        store = connection.settings_dict.get("NAME")
        for base in (ext.PYDATETIMETZ, ext.PYDATETIME):
            def cast(value, cursor, base=base):
                if value in ("infinity", "-infinity"):
                    report_unreadable(value, store)
                    return None
                return base(value, cursor)
            ext.register_type(ext.new_type(base.values, "SMTQ_" + base.name, cast),
                              connection.connection)

    def timestamp_ok(self, sql, connection):
        """SQL: the timestamp column ``sql`` is readable: finite."""
        return f"isfinite({sql})"

    def database_missing(self, connection):
        """Whether the server says the database of ``connection`` does not
        exist (False when it exists or the server cannot tell)."""
        from django.db import DatabaseError
        name = connection.settings_dict["NAME"]
        probe = type(connection)({**connection.settings_dict, "NAME": "postgres"},
                                 alias="smt_query_probe")
        try:
            with probe.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                return not cursor.fetchone()
        except DatabaseError:
            return False
        finally:
            probe.close()

    def begin_write(self, cursor):
        """Nothing: rows are locked as they are read (``locks_rows``)."""

    def write_column(self, cursor, table, column, items):
        """``UPDATE table SET column`` for ``items``, ``[(db_id, text)]``, in one
        statement."""
        cursor.execute(f"UPDATE {table} SET {column} = v.value FROM unnest("
                       "CAST(%s AS integer[]), CAST(%s AS text[])) AS v(id, value) "
                       "WHERE db_id = v.id", ([i for i, _ in items], [v for _, v in items]))

    def id_set(self, ids):
        """A subquery yielding the integers ``ids``, one parameter (no limit;
        array text: parsed far faster than ARRAY[...] of 100k items)."""
        from django.db.models.expressions import RawSQL
        return RawSQL("SELECT unnest(CAST(%s AS integer[]))", (pg_array(map(str, ids)),))

    def tag_condition(self, column, params, names, tests_max):
        """SQL (text, params): the tags column ``column`` carries one of ``names``."""
        if len(names) <= tests_max:
            # the bare name first: cheap, and false for most rows
            wrapped = f"(',' || {column} || ',')"
            tests = [f"(strpos({column}, %s) > 0 AND strpos({wrapped}, %s) > 0)" for _ in names]
            return "(" + " OR ".join(tests) + ")", [
                p for n in names for p in (*params, n, *params, f",{n},")]
        return (f"string_to_array({column}, ',') && CAST(%s AS text[])", [*params, list(names)])

    def value_set(self, values, kind):
        """A subquery yielding ``values`` (numbers for ``kind="number"``), one parameter."""
        from django.db.models.expressions import RawSQL
        if kind == "number":
            return RawSQL("SELECT unnest(CAST(%s AS double precision[]))",
                          (pg_array(repr(float(v)) for v in values),))
        return RawSQL("SELECT unnest(CAST(%s AS text[]))", (pg_text_array(values),))

    def text_order(self, lhs):
        """``lhs`` compared in code-point order, as Python compares strings."""
        from django.db.models.functions import Collate
        return Collate(lhs, "C")

    def order_guard(self, column, op):
        """PostgreSQL's NaN is above every number: ``>``/``>=`` leave it out."""
        from django.db.models import Q
        return Q(**{f"{column}__lt": float("nan")}) if op in (">", ">=") else None

    def regex_q(self, column, pattern):
        """None: POSIX regular expressions differ from Python's (Python decides)."""
        return None

    def glob_sql(self, sql, params, pattern, connection):
        """SQL (text, params): the column ``sql`` matches the glob ``pattern``."""
        return f"({sql})::text ~ %s", [*params, glob_regex(pattern)]

    def accepts(self, q, ctx):
        """PostgreSQL prepares any condition we build."""
        return True

    @staticmethod
    def too_large(exc):
        """Whether ``exc`` is PostgreSQL refusing a query as too large or too deep."""
        return _sqlstate(exc) in _TOO_LARGE

    @staticmethod
    def unreadable(exc):
        """Whether ``exc`` is PostgreSQL refusing a stored parameter set (not
        JSON; NaN, Infinity, ``\\u0000``, lone surrogates; JSON nested too
        deep for its stack)."""
        return _sqlstate(exc) in _UNREADABLE
