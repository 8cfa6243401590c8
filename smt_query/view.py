"""RecordStoreView: an immutable, lazy, filterable view of a record store.

Each ``view.filter.<name>(...)`` returns a new view; nothing runs until
results are asked for. Filters combine with AND, so the order is irrelevant:
every filter with an SQL form is pushed into one query wherever it stands in
the chain, and only the others run in Python over records loaded in bulk.
"""
import functools
import sys
import warnings

from .asyncguard import sync_entry_class
from .errors import QueryError, QueryHint, UnknownLabel
from .fields import RELATED_FIELDS, executable_text
from .filters import FILTERS, get_filter

#: Records loaded per batch when Python filters must look at full records.
CHUNK = 2000


def _falls_back(method):
    """Run the view ``method`` through its store's
    :meth:`~smt_query.recordstore.QueryDjangoRecordStore.fall_back`: a stored
    parameter set the database refuses moves parameters to Python; a query
    it refuses as too large or too deeply nested runs every filter of this
    view in Python instead."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        store = self._store
        if store is None or (not store.params_in_sql and self._sql_refused):
            return method(self, *args, **kwargs)

        def too_large():
            refused, self._sql_refused = self._sql_refused, True
            return not refused
        return store.fall_back(lambda: method(self, *args, **kwargs), too_large=too_large,
                               again=lambda: self._cache.clear())
    return run


class FilterAccessor:
    """``view.filter``: call it with a function, or use ``.<filter name>(...)``."""

    def __init__(self, view):
        self._view = view

    def __call__(self, fn):
        return self._view._with(FILTERS["generic_filter"](fn))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        cls = get_filter(name)

        def make(*args, **kwargs):
            return self._view._with(cls(*args, **kwargs))
        make.__name__ = name
        make.__doc__ = cls.__doc__
        return make

    def __dir__(self):
        return sorted(FILTERS)

    @property
    def registered_filters(self):
        """``{name: filter class}`` of every registered filter."""
        return dict(FILTERS)


@sync_entry_class
class RecordStoreView:
    """A view of the records of a Sumatra project.

    ``RecordStoreView()`` views the project of the current directory;
    ``project`` may be a path or a :class:`sumatra.projects.Project`, and
    ``records`` an iterable of Sumatra records to view instead of a store.
    For a project with a Django store (SQLite or PostgreSQL), the view reads
    ``.smt/project`` itself; Sumatra loads the project only when
    :attr:`project` is asked for.
    With ``pushdown=False`` every filter runs in Python over every record
    (slow; the reference behaviour). ``progress`` shows a bar on stderr
    while Python filters read records (``None``, the default: by the rule of
    ``smt_query.progress``, on a terminal or in a notebook for 1,000
    records or more; ``False`` never). When the view's answer is empty, each
    filter naming something no record has (a misspelled tag or parameter key,
    a label or text found nowhere) is named in a
    :class:`~smt_query.errors.QueryHint` warning, with the close matches that
    exist (``hints=False``: never).
    """

    _sql_refused = False   # the database found this view's query too large

    def __init__(self, records=None, project=None, *, pushdown=True, progress=None,
                 hints=True):
        self._filters = ()
        self.progress = progress
        self.hints_on = hints
        self._cache = {}
        self._source = None
        if records is not None:
            if project is not None:
                raise QueryError("give either records or a project, not both")
            self._project, self._project_path, self._project_name = None, None, None
            self._store = None
            self._source = list(records)
            return
        (self._project, self._project_path, self._project_name,
         self._store) = _open_project(project, pushdown)

    @property
    def project(self):
        """The :class:`sumatra.projects.Project` of the view (None for a view of
        records), loaded by Sumatra the first time it is asked for."""
        if self._project is None and self._project_path is not None:
            self._project = _load_project(self._project_path)
        return self._project

    @project.setter
    def project(self, project):
        self._project = project

    @property
    def record_store(self):
        """The project's record store, as Sumatra loads it (None for a view of records)."""
        project = self.project
        return None if project is None else project.record_store

    # -- building ----------------------------------------------------------
    def _with(self, fltr):
        view = self.copy()
        view._filters = self._filters + (fltr,)
        return view

    def copy(self):
        """A new view with the same source and filters (and no cached results)."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._cache = {}
        return view

    @property
    def filter(self):
        """The filters, as in ``view.filter.tags('finished')``, ``view.filter(fn)``, ..."""
        return FilterAccessor(self)

    @property
    def filters(self):
        """The filters of this view, in the order they were applied."""
        return self._filters

    # -- planning ----------------------------------------------------------
    def _plan(self):
        """``(queryset or None, python filters)``; cached per view."""
        if "plan" not in self._cache:
            if self._store is None:
                self._cache["plan"] = None, list(self._filters)
            else:
                names = _metric_names(self._filters)
                if names:   # their stored values current before SQL reads them
                    from .metrics import prepare_view
                    prepare_view(self, names)
                ctx = self._store.context()
                qs, post = self._store.queryset(self._project_name), []
                for fltr in self._filters:
                    q = None if self._sql_refused else fltr.to_q(ctx)
                    if q is None:
                        post.append(fltr)
                    else:
                        qs = qs.filter(q)
                self._cache["plan"] = qs, post
        return self._cache["plan"]

    @property
    def pushed_down(self):
        """True when the whole view runs in SQL."""
        qs, post = self._plan()
        return qs is not None and not post

    def _sql(self):
        """The exact queryset if the view runs wholly in SQL (and no records
        are cached, which would answer faster); else None."""
        if "records" in self._cache:
            return None
        qs, post = self._plan()
        return qs if qs is not None and not post else None

    def explain(self):
        """Which filters run in SQL and which in Python (a short text)."""
        qs, post = self._plan()
        sql = [f for f in self._filters if f not in post] if qs is not None else []
        return (f"SQL: {', '.join(map(repr, sql)) or '-'}\n"
                f"Python: {', '.join(map(repr, post)) or '-'}")

    @_falls_back
    def _records(self):
        """The records of the view, newest first (cached)."""
        if "records" not in self._cache:
            qs, post = self._plan()
            if qs is None:
                records = self._all_python_records()
            elif not post:
                records = self._store.load(qs)
            else:
                from .progress import bar
                records = []
                ids = list(qs.values_list("db_id", flat=True))
                with self._metric_scope(post), bar(total=len(ids), desc="Filtering", unit="rec",
                                                   progress=self.progress) as shown:
                    for start in range(0, len(ids), CHUNK):
                        chunk = self._store.load(qs.filter(db_id__in=ids[start:start + CHUNK]))
                        records.extend(r for r in chunk if all(f.test(r) for f in post))
                        shown.update(len(ids[start:start + CHUNK]))
            self._cache["records"] = records
            self._hint_if_empty(len(records))
        return self._cache["records"]

    def _all_python_records(self):
        if self._source is not None:
            records = list(self._source)
        else:   # a Django store through our loader: Sumatra's runs what rows name
            records = (_query_store(self.record_store) or self.record_store).list(
                self._project_name)
        with self._metric_scope(self._filters):
            records = [r for r in records if all(f.test(r) for f in self._filters)]
        records.sort(key=lambda r: (timestamp_order(r.timestamp), r.label), reverse=True)
        return records

    def _metric_scope(self, filters):
        """A context in which the ``metric.NAME`` of ``filters`` are computed
        from each record (Python's reference semantics)."""
        import contextlib
        if not (_metric_names(filters) or any(
                isinstance(f, FILTERS["generic_filter"]) for f in filters)):
            return contextlib.nullcontext()     # a function may test a where filter (admin)
        from .metrics import python_source
        from .where.metrics import metric_source
        return metric_source(python_source(self))

    # -- results -----------------------------------------------------------
    @property
    def list(self):
        """Load and cache the records; returns the view itself (as in smttask)."""
        self._records()
        return self

    def aslist(self):
        """The records as a list, newest first."""
        return list(self._records())

    def __iter__(self):
        return iter(self._records())

    @_falls_back
    def __len__(self):
        qs = self._sql()
        if qs is None:
            return len(self._records())
        n = qs.count()
        self._hint_if_empty(n)
        return n

    @_falls_back
    def labels(self):
        """The labels of the records, newest first (cached)."""
        if "labels" not in self._cache:
            qs = self._sql()
            self._cache["labels"] = (list(qs.values_list("label", flat=True)) if qs is not None
                                     else [r.label for r in self._records()])
            self._hint_if_empty(len(self._cache["labels"]))
        return self._cache["labels"]

    @_falls_back
    def rows(self, fields, tags=True, parameters=False, errors=None):
        """Plain dicts of ``fields`` per record, newest first.

        Read from the columns alone when the view runs in SQL. With
        ``parameters``, each row also gets ``"parameters"``: a plain dict, or
        if ``parameters`` is a list of keys a
        :class:`~smt_query.params.KeyValues` of just their values (each set
        dropped once read: 100,000 sets kept alive cost the garbage collector
        more than parsing them). A record whose parameters cannot be read gets
        ``{}`` and is named by :func:`smt_query.params.unreadable`: in
        ``errors[label]`` if ``errors`` is a dict, else by a warning.
        """
        fields = list(fields)
        if "label" not in fields:
            fields.insert(0, "label")
        related = [f for f in fields if f in RELATED_FIELDS]
        qs = self._sql()
        if qs is not None:
            extra = ("parameters_id", "parameters_type", "parameters_content") if parameters else ()
            rows = self._store.values(qs, tuple(f for f in fields if f not in related) + extra,
                                      tags=tags)
            if related:
                _attach_related(self._store, qs, rows, related)
            for row in rows:
                row.pop("db_id")
            self._hint_if_empty(len(rows))
            return _attach_parameters(rows, errors, _keys(parameters)) if parameters else rows
        out = []
        for rec in self._records():
            row = {f: getattr(rec, f, None) for f in fields if f not in related}
            row.update(_related_of(rec, related))
            if tags:
                row["tags"] = sorted(rec.tags)
            if parameters:
                from .params import KeyValues, record_parameters
                params = record_parameters(rec, errors) or {}
                row["parameters"] = params if _keys(parameters) is None else \
                    KeyValues(parameters, params)
            out.append(row)
        return out

    @_falls_back
    def tag_names(self):
        """The sorted tag names carried by records of this view (in SQL: one
        query over the distinct values of the ``tags`` column)."""
        from .fields import split_tags
        names = set()
        qs = self._sql()
        if qs is not None:
            for column in qs.order_by().values_list("tags", flat=True).distinct():
                names |= split_tags(column)
            return sorted(names)
        for rec in self._records():
            names.update(rec.tags)
        return sorted(names)

    def compared_metrics(self, names=None):
        """``label -> {"metric.NAME": value}`` of metrics ``names`` (None: all
        the project declares), for comparing records
        (``smt_query.metrics.compared_metrics``)."""
        from .metrics import compared_metrics
        return compared_metrics(self, names)

    @_falls_back
    def parameter_keys(self, sample=200, prefixes=False):
        """Dotted parameter keys (task ``inputs`` levels folded away) of the
        ``sample`` most recent records (those whose parameters cannot be read
        have none, without a warning: this serves shell completion and
        hints); with ``prefixes``, the keys of the levels above them too
        (``optimizer`` for ``optimizer.lr``)."""
        from .params import dotted_key, flatten, fold_task_inputs
        qs = self._sql()
        if qs is not None:   # read only the sample
            rows = self._store.values(qs[:sample], ("label", "parameters_id", "parameters_type",
                                                    "parameters_content"), tags=False)
            rows = _attach_parameters(rows, {})
        else:
            rows = self.rows(["label"], tags=False, parameters=True, errors={})[:sample]
        keys = set()
        seen = set()
        for row in rows:
            if id(row["parameters"]) not in seen:
                seen.add(id(row["parameters"]))
                for path in flatten(fold_task_inputs(row["parameters"])):
                    keys.update(dotted_key(path[:n]) for n in (
                        range(1, len(path) + 1) if prefixes else [len(path)]))
        return sorted(keys)

    # -- hints ---------------------------------------------------------------
    def _hint_if_empty(self, found):
        """Warn the :meth:`hints` of a view whose answer is empty (once per view)."""
        if found or not self._filters or not self.hints_on or "hinted" in self._cache:
            return
        self._cache["hinted"] = True
        try:
            messages = self.hints()
        except Exception:   # a hint never turns an answer into an error
            return
        for message in messages:
            warnings.warn(QueryHint(message), stacklevel=_caller_level())

    def hints(self):
        """Why this view may be empty: one message per filter that names
        something no record of the project has (a tag, a parameter key, a
        label, a text), with the close matches that exist. Reads the store
        (a few queries); ``view.hints()`` works on any view, empty or not."""
        project = self.unfiltered()
        return [message for fltr in self._filters
                for message in [fltr.hint(project)] if message]

    def unfiltered(self):
        """This view without its filters (the whole project), hints off."""
        view = self.copy()
        view._filters = ()
        view.hints_on = False
        return view

    def any_match(self, fltr):
        """Whether any record of this view passes the filter ``fltr`` (one
        query when it runs in SQL; no hints)."""
        view = self._with(fltr)
        view.hints_on = False
        return view._any()

    @_falls_back
    def _any(self):
        qs = self._sql()
        return qs.exists() if qs is not None else bool(self._records())

    def has_parameter(self, key):
        """Whether any record of this view has the parameter ``key`` (dotted,
        task ``inputs`` levels may be left out, as ``--where`` reads it)."""
        from .where import Exists
        return self.any_match(FILTERS["where"](Exists(key)))

    def labels_near(self, text, n=2):
        """Up to ``n`` labels on each side of ``text`` in label order (the
        labels a mistyped label or label prefix was probably meant as)."""
        qs = self._sql()
        if qs is None:
            labels = sorted(self.labels())
            import bisect
            i = bisect.bisect_left(labels, text)
            return labels[max(0, i - n):i + n]
        base = qs.order_by()
        before = list(base.filter(label__lt=text).order_by("-label")
                      .values_list("label", flat=True)[:n])
        after = list(base.filter(label__gte=text).order_by("label")
                     .values_list("label", flat=True)[:n])
        return before[::-1] + after

    @_falls_back
    def _one(self, reverse):
        qs = self._sql()
        if qs is not None:
            from .where.qfields import timestamp_order as sql_order
            found = self._store.load(qs.order_by(*sql_order(descending=not reverse))[:1])
        else:   # newest first, unreadable timestamps last (dates.timestamp_order)
            records = self._records()
            if reverse:
                records = [r for r in records if r.timestamp is not None] or records
            found = records[-1:] if reverse else records[:1]
        if not found:
            raise QueryError("no record in this view" + self._describe())
        return found[0]

    @property
    def latest(self):
        """The most recent record."""
        return self._one(reverse=False)

    @property
    def earliest(self):
        """The earliest record."""
        return self._one(reverse=True)

    def most_recent(self):
        """The label of the most recent record."""
        return self.latest.label

    def get(self, label):
        """The record with ``label`` (or a list of records for a list of labels)."""
        if not isinstance(label, str):
            labels = list(label)
            by_label = {r.label: r for r in self._get_many(labels)}
            return [by_label[lbl] for lbl in labels]
        return self._get_many([label])[0]

    @_falls_back
    def _get_many(self, labels):
        qs = self._sql()
        if qs is not None:
            found = self._store.load(qs.filter(label__in=labels))
        else:
            wanted = set(labels)
            found = [r for r in self._records() if r.label in wanted]
        missing = [lbl for lbl in labels if lbl not in {r.label for r in found}]
        if missing:
            raise UnknownLabel(self._missing_message(missing))
        return found

    def _missing_message(self, missing):
        label = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        if self._filters and self._label_in_store(label):
            return f"record {label!r}{more} exists but is not in this view{self._describe()}"
        where = f" in project {self._project_name!r}" if self._project_name else ""
        return f"no record labelled {label!r}{more}{where}"

    def _label_in_store(self, label):
        if self._store is not None:
            return bool(self._store.label_exists(self._project_name, [label]))
        if self._source is not None:
            return any(r.label == label for r in self._source)
        return label in self.record_store.labels(self._project_name)

    def _describe(self):
        return f" (filters: {', '.join(map(repr, self._filters))})" if self._filters else ""

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.get(key)
        if isinstance(key, (int, slice)):
            return self._records()[key]
        raise TypeError(f"index a RecordStoreView by label (str) or position (int), not {key!r}")

    def __contains__(self, label):
        return label in self.labels()

    # -- export ------------------------------------------------------------
    def export(self, indent=2):
        """JSON text of the records of the view (Sumatra's export format)."""
        return self.export_records(self._records(), indent=indent)

    @staticmethod
    def export_records(records, indent=2):
        """JSON text of the given records (Sumatra's export format)."""
        from sumatra.recordstore import serialization
        return "[%s]" % ",\n".join(serialization.encode_record(r, indent=indent)
                                   for r in records)

    # -- tagging -----------------------------------------------------------
    def add_tag(self, tag):
        """Add ``tag`` to every record of the view (atomically); return the count changed."""
        return self._retag(tag, add=True)

    def remove_tag(self, tag):
        """Remove ``tag`` from every record of the view (atomically); return the count changed."""
        return self._retag(tag, add=False)

    def tag_changes(self, tag, add=True):
        """Labels of the records that ``add_tag(tag)`` (or ``remove_tag``) would change."""
        from .fields import check_tag
        check_tag(tag, adding=add)
        return [row["label"] for row in self.rows(["label"], tags=True)
                if (tag in row["tags"]) != add]

    @_falls_back
    def _retag(self, tag, add):
        from .fields import check_tag
        check_tag(tag, adding=add)
        if self._store is not None:
            qs, post = self._plan()
            target = qs if not post else [self._store_id(r) for r in self._records()]
            changed = (self._store.add_tag if add else self._store.remove_tag)(target, tag)
        elif self.project is not None:   # Sumatra saves one record at a time: slow
            from .progress import bar
            changed = 0
            for rec in bar(self._records(), desc="Tagging", unit="rec", progress=self.progress,
                           min_items=100):
                if (tag in rec.tags) != add:
                    (self.project.add_tag if add else self.project.remove_tag)(rec.label, tag)
                    changed += 1
        else:
            raise QueryError("this view has no record store to tag (it was made from records)")
        self._cache.clear()
        return changed

    @_falls_back
    def _store_id(self, record):
        return self._cache.setdefault("ids", dict(
            self._plan()[0].values_list("label", "db_id")))[record.label]

    # -- display -----------------------------------------------------------
    @property
    def summary(self):
        """A :class:`~smt_query.summary.RecordStoreViewSummary` of the view."""
        from .summary import RecordStoreViewSummary
        return RecordStoreViewSummary(self)

    def __repr__(self):
        where = f"project {self._project_name!r}" if self._project_name else "records"
        return f"<RecordStoreView of {where}{self._describe()}>"


def _metric_names(filters):
    """The metric names read by the ``where`` expressions of ``filters``."""
    from .where.metrics import metric_names
    names = set()
    for fltr in filters:
        expr = getattr(fltr, "expr", None)
        if expr is not None:
            names |= metric_names(expr)
    return names


def _attach_related(store, qs, rows, fields):
    """Add the :data:`~smt_query.fields.RELATED_FIELDS` ``fields`` to ``rows``
    (read with ``db_id``) of the queryset ``qs``: one query per field."""
    models, alias = store.models, store.db_alias
    source = store._id_source(qs, [row["db_id"] for row in rows])
    for field in fields:
        found = {}
        if field == "output_data":
            pairs = (models.DataKey.objects.using(alias).filter(output_from_record__in=source)
                     .order_by("path").values_list("output_from_record_id", "path"))
        elif field == "input_data":
            pairs = (models.Record.input_data.through.objects.using(alias)
                     .filter(record_id__in=source).order_by("datakey__path")
                     .values_list("record_id", "datakey__path"))
        else:
            pairs = ((db_id, executable_text(name, version, path)) for db_id, name, version, path
                     in models.Record.objects.using(alias).filter(db_id__in=source).values_list(
                         "db_id", "executable__name", "executable__version", "executable__path"))
        for db_id, value in pairs:
            if field == "executable":
                found[db_id] = value
            else:
                found.setdefault(db_id, []).append(value)
        for row in rows:
            row[field] = found.get(row["db_id"], None if field == "executable" else [])
    return rows


def _related_of(record, fields):
    """The :data:`~smt_query.fields.RELATED_FIELDS` ``fields`` of a Sumatra record."""
    out = {}
    for field in fields:
        if field == "executable":
            exe = getattr(record, "executable", None)
            out[field] = None if exe is None else executable_text(
                getattr(exe, "name", None), getattr(exe, "version", None),
                getattr(exe, "path", None))
        else:
            out[field] = sorted(getattr(key, "path", str(key))
                                for key in getattr(record, field, None) or ())
    return out


def _caller_level():
    """The ``stacklevel`` of the first caller outside this package (a
    warning then names the user's line)."""
    import os
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def timestamp_order(ts):
    """Python's order of timestamps (``smt_query.dates.timestamp_order``)."""
    from .dates import timestamp_order
    return timestamp_order(ts)


def _keys(parameters):
    """The keys of a ``parameters`` argument of :meth:`RecordStoreView.rows`
    given as a list, else None (the whole set)."""
    return parameters if isinstance(parameters, (list, tuple)) else None


def _attach_parameters(rows, errors, keys=None):
    """Parse each distinct parameter set once; attach ``row["parameters"]``
    (``{}`` for one that cannot be read: each of its records is named), or
    with ``keys`` the :class:`~smt_query.params.KeyValues` of those keys."""
    from .params import KeyValues, stored_parameters, unreadable
    parsed, failed = {}, {}
    for row in rows:
        key = row.pop("parameters_id")
        type_, content = row.pop("parameters_type"), row.pop("parameters_content")
        if key in failed:
            unreadable(row["label"], failed[key], errors)
        elif key not in parsed:
            reason = {}
            params = stored_parameters(row["label"], type_, content, reason) or {}
            parsed[key] = params if keys is None else KeyValues(keys, params)
            if reason:
                failed[key] = reason[row["label"]]
                unreadable(row["label"], failed[key], errors)
        row["parameters"] = parsed[key]
    return rows


def _open_project(project, pushdown):
    """``(Sumatra project or None, project path, project name, query store or
    None)`` for ``project`` (a path, None for the current directory, or a
    :class:`sumatra.projects.Project`).

    The light way: a project whose file names a Django store, and nothing
    more for it than its ``db_file``, is read from ``.smt/project`` alone
    (its Sumatra project loads when asked for); any other is loaded by Sumatra
    at once, as it names classes only Sumatra builds.
    """
    projects = sys.modules.get("sumatra.projects")   # a Project exists only once imported
    if projects is not None and isinstance(project, projects.Project):
        return project, None, project.name, _query_store(project.record_store) if pushdown else None
    from .project import QUERY_STORE, SUMATRA_STORE, project_dir, read_project_file
    path = project_dir(project)
    data = read_project_file(path)
    entry = data["record_store"]
    if (pushdown and entry.get("type") in (SUMATRA_STORE, QUERY_STORE)
            and set(entry) == {"type", "db_file"} and isinstance(entry["db_file"], str)):
        from .readstore import ReadStore   # the mirror models: no Sumatra import
        from .storesetup import require_store
        require_store(entry["db_file"])
        return None, path, data["name"], ReadStore(entry["db_file"])
    loaded = _load_project(path)
    return loaded, path, loaded.name, _query_store(loaded.record_store) if pushdown else None


def _load_project(path):
    """The Sumatra project at ``path``, its store registered first."""
    from .project import load_project
    _register_store_of(path)    # reads (and checks) .smt/project first
    return load_project(path)


def _register_store_of(path):
    """Let Sumatra open the project's Django store even if Django is configured.

    Sumatra's ``DjangoRecordStore`` refuses a new database once Django is set
    up (e.g. a second project in a notebook); registering it first avoids that.
    A missing SQLite store raises :class:`~smt_query.recordstore.StoreMissing`
    (a view never creates one).
    """
    from .project import store_entry
    store = store_entry(path)
    if isinstance(store, dict) and str(store.get("type", "")).endswith("DjangoRecordStore"):
        from .recordstore import _register_database, require_store
        require_store(store["db_file"])
        _register_database(store["db_file"])


def _query_store(store):
    """A :class:`QueryDjangoRecordStore` over a Django store, else None
    (:class:`~smt_query.recordstore.StoreMissing` if its SQLite file is missing)."""
    from sumatra.recordstore import DjangoRecordStore
    if isinstance(store, DjangoRecordStore):
        from .recordstore import QueryDjangoRecordStore, require_store
        require_store(store._db_file)
        return QueryDjangoRecordStore.from_store(store)
    return None
