"""Comparing parameter sets: :func:`values_equal`, :func:`flatten`,
:func:`dfdiff` and :class:`ParameterComparison` (part of :mod:`smt_query.params`;
pandas is imported only to build DataFrames)."""
import sys
from collections.abc import Mapping
from fnmatch import fnmatchcase

from .access import (_ABSENT, _fold, _is_record, _lookup, as_params, fold_task_inputs,
                     record_parameters)

#: Shown in DataFrames where a parameter set lacks a key the others have.
MISSING = "<missing>"
#: Shown by `ParameterComparison.dataframe` where a subtree differs below the depth shown.
FOLDED = "<+>"
#: Column names of `dfdiff` when the inputs are not both records.
DFDIFF_COLUMNS = ("pset 1", "pset 2")


# --------------------------------------------------------------------------
# Comparison

_KINDS = {type(None): "none", bool: "bool", int: "int", float: "float", complex: "complex",
          str: "str", bytes: "bytes", list: "seq", tuple: "seq", dict: "map"}
_SIMPLE = frozenset((type(None), bool, int, str, bytes))


def _kind(x):
    kind = _KINDS.get(type(x))
    if kind is not None:
        return kind
    np = sys.modules.get("numpy")  # numpy objects exist only if numpy was imported
    if np is not None:
        if isinstance(x, np.ndarray):
            return "array"
        for np_type, kind in ((np.bool_, "bool"), (np.integer, "int"), (np.floating, "float")):
            if isinstance(x, np_type):
                return kind
    for py_type, kind in _KINDS.items():  # subclasses; bool is tried before int
        if isinstance(x, py_type):
            return kind
    return "map" if isinstance(x, Mapping) else type(x)


def values_equal(a, b):
    """Compare two parameter values by type and value.

    * ``1``, ``1.0``, ``"1"`` and ``True`` are all different; numpy scalars
      compare like the Python number of the same kind.
    * NaN equals NaN.
    * Lists and tuples compare element-wise by the same rule, and a list
      equals a tuple with equal elements (JSON and YAML have no tuples, so
      the same parameter may be either, depending on the file format).
    * Numpy arrays compare like the nested lists they convert to
      (``.tolist()``): same shape, element-wise by the same rule.
    * Dicts compare key sets, then values recursively.
    """
    if a is b:
        return True
    ta = type(a)
    if ta is type(b) and ta in _SIMPLE:
        return a == b
    ka, kb = _kind(a), _kind(b)
    if ka == "array":
        a = a.tolist()
        ka = _kind(a)
    if kb == "array":
        b = b.tolist()
        kb = _kind(b)
    if ka != kb:
        return False
    if ka == "float":
        return bool(a == b or (a != a and b != b))
    if ka == "seq":
        return len(a) == len(b) and all(map(values_equal, a, b))
    if ka == "map":
        return a.keys() == b.keys() and all(values_equal(v, b[k]) for k, v in a.items())
    try:
        return bool(a == b)
    except Exception:  # e.g. objects whose == returns something without a truth value
        return False


def flatten(params, prefix=(), out=None):
    """``{path tuple: leaf}`` of a nested dict; non-dicts and empty dicts are leaves."""
    if out is None:
        out = {}
    for key, value in params.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            flatten(value, path, out)
        else:
            out[path] = value
    return out


def dotted_key(path):
    """``('a', 'b')`` -> ``'a.b'``."""
    return ".".join(map(str, path))


def dfdiff(pset1, pset2, labels=None):
    """The entries that differ between two hierarchical parameter sets.

    Parameters
    ----------
    pset1, pset2 : Record | ParameterSet | dict
        Anything `as_params` accepts.
    labels : (str, str), optional
        Column names.  Default: the two record labels when both inputs are
        records, else ``('pset 1', 'pset 2')``.

    Returns
    -------
    pandas.DataFrame
        One row per differing leaf (lists are leaves, compared with
        `values_equal`), indexed by a MultiIndex of the key's levels, padded
        with ``'–'`` (en dash) for shorter keys.  A key present on one side
        only shows `MISSING` (``'<missing>'``) on the other.  Identical sets
        give an empty DataFrame with the two columns.

    Examples
    --------
    >>> dfdiff(p1, p2).sort_index().loc[('inputs', 'optimizer', 'model')]  # doctest: +SKIP
    """
    import pandas as pd

    if labels is None:
        labels = ((pset1.label, pset2.label) if _is_record(pset1) and _is_record(pset2)
                  else DFDIFF_COLUMNS)
    flat1, flat2 = flatten(as_params(pset1)), flatten(as_params(pset2))
    keys = list(flat1) + [k for k in flat2 if k not in flat1]
    rows, index = [], []
    for key in keys:
        v1, v2 = flat1.get(key, _ABSENT), flat2.get(key, _ABSENT)
        if v1 is _ABSENT or v2 is _ABSENT or not values_equal(v1, v2):
            rows.append([MISSING if v is _ABSENT else v for v in (v1, v2)])
            index.append(key)
    if not rows:
        return pd.DataFrame(columns=list(labels), dtype=object)
    depth = max(map(len, index))
    index = pd.MultiIndex.from_tuples([k + ("–",) * (depth - len(k)) for k in index])
    return pd.DataFrame(rows, index=index, columns=list(labels), dtype=object)


#: :meth:`ParameterComparison.plot` names the records in a legend up to this many.
LEGEND_MAX = 12


class ParameterComparison:
    """Which parameters differ across many records or parameter sets.

    Runs in O(records × keys) time and memory: each key's values are
    compared with the first record's, never record against record.

    Parameters
    ----------
    records : iterable of Record, optional
        E.g. a RecordStoreView (it is iterated once). A record whose
        parameters cannot be read is left out, named by an
        :class:`~smt_query.errors.UnreadableParameters` warning.
    params : iterable, optional
        Instead of records: anything `as_params` accepts.
    labels : sequence, optional
        One unique label per record or parameter set.  Default: the record
        labels, or ``0 .. n-1`` with `params`.
    fields : tuple of str
        Record attributes compared as extra top-level keys (default
        ``('reason',)``; e.g. ``outcome``, ``version``, ``main_file``,
        ``user``, ``duration``).  They take precedence over a parameter of
        the same name.  Ignored with `params`.
    progress : bool, optional
        Show a tqdm bar on stderr.  Default: by the rule of
        ``smt_query.progress`` (a terminal or a notebook, 1,000 records
        or more).
    fold : bool
        Apply `fold_task_inputs` to each parameter set first.
    ignore : iterable of str
        Dotted keys or fnmatch globs over dotted keys to leave out; a key
        matching a prefix of a leaf's key leaves out the whole subtree.
    metrics : iterable of str or bool, optional
        Metrics compared too, as keys ``metric.NAME`` (as ``smt compare
        --metric``: ``RecordStoreView.compared_metrics``); ``True``:
        every metric the project declares. `records` must then be a
        RecordStoreView. A record without a value lacks the key.

    Examples
    --------
    >>> cmp = ParameterComparison(rsview.filter.on(20201110))  # doctest: +SKIP
    >>> cmp.dataframe(depth=2).drop(columns=['reason'])  # doctest: +SKIP
    >>> ParameterComparison(rsview.filter.tag('sweep'), metrics=['logL']).plot()  # doctest: +SKIP
    """

    def __init__(self, records=None, *, params=None, labels=None, fields=("reason",),
                 progress=None, fold=False, ignore=(), metrics=None):
        if (records is None) == (params is None):
            raise TypeError("give either records or params=[...]")
        if isinstance(ignore, str):
            ignore = (ignore,)
        metric_keys = None
        if metrics:
            if records is None:
                raise TypeError("metrics=... compares records (a RecordStoreView), not params")
            if not callable(getattr(records, "compared_metrics", None)):
                from ..errors import QueryError
                raise QueryError("metrics are compared over a RecordStoreView of a project "
                                 f"(its metric definitions), not {type(records).__name__}")
            metric_keys = records.compared_metrics(
                None if metrics is True else [metrics] if isinstance(metrics, str) else metrics)
        items = records if records is not None else params
        from ..progress import bar
        items = bar(items, desc="Comparing", unit="rec", progress=progress)

        record_labels, self._params, values, kept, seen = [], [], {}, [], 0
        for j, item in enumerate(items):
            seen += 1
            p = as_params(item) if records is None else record_parameters(item)
            if p is None:    # unreadable: named by a warning, left out
                continue
            i = len(kept)
            kept.append(j)
            if fold:
                p = _fold(p)
            if records is not None:
                record_labels.append(item.label)
                p = dict(p)
                for field in fields:
                    value = getattr(item, field, _ABSENT)
                    if value is not _ABSENT:
                        p[field] = value
                if metric_keys is not None:
                    p.update(metric_keys(item.label))
            self._params.append(p)
            for path, value in flatten(p).items():
                by_record = values.get(path)
                if by_record is None:
                    values[path] = {i: value}
                else:
                    by_record[i] = value
        n = len(self._params)

        if labels is None:
            labels = record_labels if records is not None else list(range(n))
        labels = list(labels)
        if len(labels) == seen > n:   # one per record given, some left out
            labels = [labels[j] for j in kept]
        if len(labels) != n:
            raise ValueError(f"{len(labels)} labels for {n} parameter sets")
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be unique")
        self.labels = labels

        ignored = self._ignore_predicate(tuple(ignore))
        self._diff = {}  # path -> {record index: value}, records lacking the key absent
        for path, by_record in values.items():
            if ignored(path):
                continue
            if len(by_record) < n:
                self._diff[path] = by_record
                continue
            others = iter(by_record.values())
            first = next(others)
            if not all(values_equal(first, v) for v in others):
                self._diff[path] = by_record

    @staticmethod
    def _ignore_predicate(patterns):
        if not patterns:
            return lambda path: False

        def ignored(path):
            return any(fnmatchcase(dotted_key(path[:i]), pattern)
                       for i in range(1, len(path) + 1) for pattern in patterns)
        return ignored

    @property
    def differences(self):
        """``{dotted leaf key: {label: value}}`` for every differing leaf.

        A record lacking the key is absent from the inner dict.
        """
        return {dotted_key(path): {self.labels[i]: v for i, v in by_record.items()}
                for path, by_record in self._diff.items()}

    def value_counts(self):
        """What varies: ``{dotted leaf key: [(value, count), ...]}`` for every
        differing leaf, its distinct values (equal as by `values_equal`) with
        how many records have each, most common first (ties: first seen
        first); records lacking the key count under `MISSING`."""
        n = len(self.labels)
        out = {}
        for path, by_record in self._diff.items():
            counts = {}
            for i in range(n):
                if i in by_record:
                    value, ident = by_record[i], _canonical(by_record[i])
                else:
                    value, ident = MISSING, (MISSING,)
                counts.setdefault(ident, [value, 0])[1] += 1
            out[dotted_key(path)] = sorted(map(tuple, counts.values()), key=lambda vc: -vc[1])
        return out

    def dataframe(self, depth=1, max_chars=None):
        """Differing parameters as a DataFrame: one row per record.

        Parameters
        ----------
        depth : int | None
            Keys are cut to their first `depth` levels (column name = dotted
            prefix).  A leaf at or above that depth shows its value, a
            subtree that differs below it shows `FOLDED` (``'<+>'``).
            ``None``: one column per differing leaf (full dotted key).
        max_chars : int, optional
            Cut cell text to this many characters (ending with ``…``).

        Returns
        -------
        pandas.DataFrame
            Index: the labels, in input order.  A record lacking a key shows
            `MISSING` (``'<missing>'``).
        """
        import pandas as pd

        n = len(self.labels)
        columns = {}
        if depth is None:
            for path, by_record in self._diff.items():
                columns[dotted_key(path)] = [by_record.get(i, MISSING) for i in range(n)]
        else:
            if depth < 1:
                raise ValueError("depth must be a positive integer or None")
            groups = {}
            for path in self._diff:
                groups.setdefault(path[:depth], []).append(path)
            for prefix, paths in groups.items():
                exact = self._diff.get(prefix, {})
                below = [self._diff[p] for p in paths if len(p) > depth]
                columns[dotted_key(prefix)] = [
                    exact[i] if i in exact
                    else FOLDED if (any(i in d for d in below)
                                  or _lookup_exact(self._params[i], prefix) is not _ABSENT)
                    else MISSING
                    for i in range(n)]
        if max_chars is not None:
            columns = {name: [_truncate(v, max_chars) for v in cells]
                       for name, cells in columns.items()}
        return pd.DataFrame(columns, index=self.labels, dtype=object)

    def parallel_data(self):
        """Parallel coordinates of the differing numeric leaves (parameters,
        and metrics ``metric.NAME`` when compared): ``{"keys": [...],
        "ranges": [(lo, hi)], "labels": [...], "lines": [[f or None per key]]}``,
        each value ``f`` scaled to [0, 1] on its key's range (None: the record
        lacks it). Booleans, text and non-finite numbers are left out."""
        keys, ranges, columns = [], [], []
        for path, by_record in self._diff.items():
            values = list(by_record.values())
            if not values or not all(_kind(v) in ("int", "float") and _finite(v) for v in values):
                continue
            lo, hi = float(min(values)), float(max(values))
            keys.append(dotted_key(path))
            ranges.append((lo, hi))
            columns.append({i: (float(v) - lo) / (hi - lo) if hi > lo else 0.5
                            for i, v in by_record.items()})
        lines = [[col.get(i) for col in columns] for i in range(len(self.labels))]
        return {"keys": keys, "ranges": ranges, "labels": [str(lbl) for lbl in self.labels],
                "lines": lines}

    def plot(self, ax=None):
        """Parallel coordinates of the differing numeric parameters and
        metrics (:meth:`parallel_data`), one line per record, on the matplotlib axes
        ``ax`` (default: a new pyplot figure); returns the axes. The records'
        labels are a legend up to ``LEGEND_MAX`` (12) records."""
        data = self.parallel_data()
        if not data["keys"]:
            from ..errors import QueryError
            raise QueryError("no numeric parameter or metric differs between these records")
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.figure(figsize=(max(6, 1.6 * len(data["keys"])), 5),
                            layout="constrained").add_subplot()
        xs = range(len(data["keys"]))
        for label, line in zip(data["labels"], data["lines"]):
            ax.plot(xs, [float("nan") if v is None else v for v in line], marker="o",
                    label=plain_text(label))
        for x, (lo, hi) in zip(xs, data["ranges"]):
            ax.axvline(x, color="#888888", linewidth=0.8)
            ax.annotate(f"{hi:.4g}", (x, 1), xytext=(0, 4), textcoords="offset points",
                        ha="center", va="bottom", fontsize="small")
            ax.annotate(f"{lo:.4g}", (x, 0), xytext=(0, -4), textcoords="offset points",
                        ha="center", va="top", fontsize="small")
        ax.set_xticks(list(xs), [plain_text(k) for k in data["keys"]], rotation=20, ha="right")
        ax.set_yticks([])
        ax.set_ylim(-0.08, 1.08)
        if len(data["labels"]) <= LEGEND_MAX:   # more would squeeze the axes away
            ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
        return ax


def _canonical(value):
    """A hashable stand-in for ``value``: equal for values that `values_equal`
    calls equal (``1``, ``1.0`` and ``True`` differ; a list and a tuple with
    equal elements agree; NaN equals NaN)."""
    kind = _kind(value)
    if kind == "array":
        return _canonical(value.tolist())
    if kind == "seq":
        return ("seq", tuple(map(_canonical, value)))
    if kind == "map":
        return ("map", tuple(sorted(((repr(k), _canonical(v)) for k, v in value.items()))))
    if kind == "float":
        return ("float", "nan") if value != value else ("float", float(value))
    if kind in ("bool", "int"):
        return (kind, int(value))
    try:
        hash(value)
    except TypeError:
        return (str(kind), repr(value))
    return (str(kind), value)


def _finite(v):
    try:
        v = float(v)
    except OverflowError:   # an integer too large for a float
        return False
    return v == v and v not in (float("inf"), float("-inf"))


def plain_text(text, limit=40):
    """Stored text as matplotlib draws it literally (no mathtext)."""
    text = str(text).replace("$", r"\$").replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _lookup_exact(node, parts):
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _truncate(value, max_chars):
    if value is MISSING or value is FOLDED:
        return value
    text = str(value)
    return text if len(text) <= max_chars else text[:max_chars - 1] + "…"
