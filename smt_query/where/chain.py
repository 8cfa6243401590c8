"""The SQL of a ``where`` condition on parameters, common to both databases.

A key resolves as params.get_task_param() does, on the parameters with
params.apply_overrides() applied.

Fast path (:meth:`Chain.tree`), for rows without a relevant override: a
CASE over the few concrete paths the key may resolve to (each ``inputs``
level taken or not) reads the stored JSON directly.

Replay (:meth:`Chain.replayed`), for rows that may hold one: a scalar
subquery whose recursive common table expression "w" is apply_overrides()
on the row's document, one row per step: the top-level dotted keys in stored
order ("dk"), each walked one part at a time from the root -- a part
present in the current dict, else in the ``inputs`` of a task description,
else created -- and written with json_set / jsonb_set. Layers (common table
expressions, kept from being flattened) then walk the key through the
result as get_task_param() does.

A relevant override is a top-level key with a dot that starts with the
key's first part, ``inputs``, ``taskname`` or ``module`` (or, for a key
``inputs.x...``, with ``x``): any other one writes below a top-level key
the lookup does not read, or below an ``inputs`` entry other than the one it
reads, and leaves the task descriptions on its way as they are.

:class:`Chain` holds what both databases share; each dialect module
subclasses it with that database's JSON functions. Nodes are read by their
``op`` (``and``, ``or``, ``not``, ``exists``, ``missing`` or a comparison),
``children``, ``key``, ``value`` and ``holds()``.
"""
from .sqltext import balanced, fill, join, raw
from .values import NO_VALUE, ORDER, is_number

# The fast SQL path doubles in size with each part of a key (~90 kB at 8).
MAX_TREE_DEPTH = 8


def param_leaves(expr):
    """The leaves (conditions on one key) of an And/Or/Not tree."""
    if expr.op in ("and", "or", "not"):
        for child in expr.children:
            yield from param_leaves(child)
    else:
        yield expr


class Chain:
    """Builds the SQL condition of a ``where`` leaf on a parameter."""

    TRUE, FALSE = raw("1"), raw("0")

    def __init__(self, column):
        self.c = column          # the ParameterSet.content column
        self.n_alias = 0
        self.layers = []         # the WITH clause of the replay

    def alias(self):
        self.n_alias += 1
        return f"e{self.n_alias}"

    def layer(self, columns, inner):
        """Add a layer computing ``columns`` from the row of layer ``inner``
        (as ``s``); return its name. Layers are common table expressions:
        nested subqueries would overflow SQLite's parser stack."""
        cols = join(", ", (fill("{} AS " + name, sql) for name, sql in columns.items()))
        name = f"l{len(self.layers)}"
        self.layers.append(fill(f"{name} AS (SELECT {{}} FROM {inner} AS s{self.NO_FLATTEN})", cols))
        return name

    @staticmethod
    def prefixes(node):
        """How the top-level keys of the overrides that may change what the
        leaf ``node`` reads start; None: any (the key is too deep for the
        fast path, every row is replayed)."""
        parts = node.key.parts
        if len(parts) > MAX_TREE_DEPTH:
            return None
        firsts = {parts[0], "inputs", "taskname", "module"}
        if parts[0] == "inputs" and len(parts) > 1:
            firsts.add(parts[1])
        return sorted(k + "." for k in firsts)

    def boolean(self, expr, leaf):
        """``expr`` (And/Or/Not over parameter leaves) in SQL, each leaf
        written by ``leaf(node)`` (never NULL, so two-valued logic holds)."""
        if expr.op == "not":
            return fill("NOT {}", self.boolean(expr.child, leaf))
        if expr.op in ("and", "or"):
            if not expr.children:
                return self.const(expr.EMPTY)
            sep = " AND " if expr.op == "and" else " OR "
            return balanced(sep, [self.boolean(c, leaf) for c in expr.children])
        return leaf(expr)

    def replayed(self, node, doc):
        """``node`` on the parameters ``doc`` with their overrides applied."""
        self.layers = []
        chain = self.replay(doc)
        for i, part in enumerate(node.key.parts):
            # a top-level key with a dot is an override, never found as such
            chain = self.layer(self.step(part, direct=i > 0 or "." not in part), chain)
        missing, ref = self.leaf()
        leaf = fill("CASE WHEN {} THEN {} ELSE {} END", missing,
                    self.const(node.holds(NO_VALUE)), self.compare(node, ref))
        return fill(f"(WITH RECURSIVE {{}} SELECT {{}} FROM {chain} AS s)",
                    join(", ", self.layers), leaf)

    def slow(self, node, doc, fast):
        """Leaf ``node`` on a row that may hold overrides: replayed on ``doc``
        if one may change what it reads, else ``fast(node)``."""
        body = self.replayed(node, doc)
        p = self.prefixes(node)
        if p is None:
            return body
        return fill("CASE WHEN {} THEN {} ELSE {} END", self.overridden(p, doc), body, fast(node))

    def tree(self, node, path=(), i=0):
        """The lookup without overrides, as a CASE over the concrete paths
        (with or without each ``inputs`` level) the key may resolve to."""
        parts = node.key.parts
        if i == len(parts):
            return self.compare(node, self.ref(path))
        part = parts[i]
        below = []
        if path or "." not in part:
            below.append((self.present(path + (part,)), path + (part,)))
        desc = join(" AND ", [self.present(path + ("taskname",)),
                              self.present(path + ("module",)),
                              self.is_type(self.ref(path + ("inputs",)), "object")])
        via = path + ("inputs", part)
        below.append((fill("{} AND {}", desc, self.present(via)), via))
        cases = join(" ", (fill("WHEN {} THEN {}", test, self.tree(node, sub, i + 1))
                           for test, sub in below))
        return fill("CASE {} ELSE {} END", cases, self.const(node.holds(NO_VALUE)))

    def const(self, flag):
        return self.TRUE if flag else self.FALSE

    def case(self, guard, then):
        return fill("CASE WHEN {} THEN {} ELSE {} END", guard, then, self.FALSE)

    def compare(self, node, ref):
        if node.op in ("exists", "missing"):
            return self.const(node.op == "exists")
        op, x = node.op, node.value
        if op == "==":
            return self.eq(ref, x)
        if op == "!=":
            return fill("NOT {}", self.eq(ref, x))
        if op in ORDER:
            if isinstance(x, str):
                return self.case(self.is_type(ref, "string"), self.text_cmp(ref, op, x))
            return self.case(self.is_type(ref, "number"), self.num_cmp(ref, op, x))
        if op in ("in", "not in"):
            any_eq = self.member(ref, x)
            return any_eq if op == "in" else fill("NOT {}", any_eq)
        if op in ("contains", "not contains"):
            found = self.elements_exist(ref, lambda elem: self.eq(elem, x))
            return self.case(self.is_type(ref, "array"),
                             found if op == "contains" else fill("NOT {}", found))
        if op == "~":
            return self.case(self.is_type(ref, "string"), self.substring(ref, x))
        return self.case(self.is_type(ref, "string"), self.regex(ref, x))

    def eq(self, ref, x):
        if x is None:
            return self.case(self.is_type(ref, "null"), self.TRUE)
        if isinstance(x, bool):
            return self.case(self.is_type(ref, "true" if x else "false"), self.TRUE)
        if isinstance(x, str):
            return self.case(self.is_type(ref, "string"), self.text_cmp(ref, "==", x))
        if is_number(x):
            return self.case(self.is_type(ref, "number"), self.num_cmp(ref, "==", x))
        parts = [fill("{} = {}", self.array_length(ref), len(x))]
        parts += [self.eq(self.item(ref, i), item) for i, item in enumerate(x)]
        return self.case(self.is_type(ref, "array"), balanced(" AND ", parts))

    def member(self, ref, items):
        """Whether the value at ``ref`` equals one of ``items`` (as ``in``
        compares): the numbers looked up in one set, the strings in another
        (one parameter each), the other items one by one."""
        numbers = [v for v in items if is_number(v)]
        strings = [v for v in items if isinstance(v, str)]
        parts = [self.eq(ref, v) for v in items if not (is_number(v) or isinstance(v, str))]
        if numbers:
            parts.append(self.case(self.is_type(ref, "number"), self.num_in(ref, numbers)))
        if strings:
            parts.append(self.case(self.is_type(ref, "string"), self.text_in(ref, strings)))
        return balanced(" OR ", parts) if parts else self.FALSE


