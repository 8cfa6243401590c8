"""Building Sumatra ``Record`` objects from stored rows, in bulk.

:class:`Loader` reads a queryset of records and their related rows in a fixed
number of queries and builds the objects ``Record.to_sumatra()`` would build,
without ``eval()`` of stored text.
"""
import ast
import json


class Loader:
    """Builds Sumatra records from a queryset in a fixed number of queries."""

    RELATED = ("executable", "repository", "launch_mode", "datastore",
               "input_datastore", "parameters")

    def __init__(self, store, qs):
        self.store, self.qs = store, qs
        self.models = store.models
        self._cache = {}

    def _once(self, kind, key, build):
        """Build each distinct related object once per load."""
        try:
            return self._cache[kind, key]
        except KeyError:
            obj = self._cache[kind, key] = build()
            return obj

    def _group(self, rows, attr):
        out = {}
        for row in rows:
            out.setdefault(getattr(row, attr), []).append(row)
        return out

    def records(self):
        from sumatra import records
        models = self.models
        rows = list(self.qs.select_related(*self.RELATED))
        if not rows:
            return []
        ids = self.store._id_source(self.qs, [row.db_id for row in rows])
        tags = self.store.tags_of(ids)
        outputs = self._group(models.DataKey.objects.using(self.store.db_alias)
                              .filter(output_from_record__in=ids).order_by("path", "pk"),
                              "output_from_record_id")
        inputs = self._through(ids, "input_data", "datakey")
        deps = self._through(ids, "dependencies", "dependency")
        platforms = self._through(ids, "platforms", "platforminformation")
        out = []
        for row in rows:
            rec = records.Record(
                self._once("exe", row.executable_id, row.executable.to_sumatra)
                if row.executable_id else None,
                self._once("repo", row.repository_id, row.repository.to_sumatra)
                if row.repository_id else None,
                row.main_file, row.version,
                self._once("launch", row.launch_mode_id, lambda: _launch_mode(row.launch_mode)),
                self._once("ds", row.datastore_id, lambda: _datastore(row.datastore)),
                _parameter_set(row.parameters),
                [_datakey(k) for k in inputs.get(row.db_id, ())],
                row.script_arguments, row.label, row.reason, row.diff, row.user,
                input_datastore=self._once("ds", row.input_datastore_id,
                                           lambda: _datastore(row.input_datastore)),
                timestamp=row.timestamp)
            rec.stdout_stderr = row.stdout_stderr
            rec.duration = row.duration
            rec.outcome = row.outcome
            rec.tags = set(tags.get(row.db_id, ()))
            rec.output_data = [_datakey(k) for k in outputs.get(row.db_id, ())]
            rec.dependencies = [self._once("dep", d.pk, d.to_sumatra)
                                for d in deps.get(row.db_id, ())]
            rec.platforms = [self._once("pi", p.pk, p.to_sumatra)
                             for p in platforms.get(row.db_id, ())]
            rec.repeats = row.repeats
            out.append(rec)
        return out

    def _through(self, ids, field, target):
        """``{record id: [related objects]}`` for a many-to-many field of the
        records ``ids`` (a subquery)."""
        through = getattr(self.models.Record, field).through
        rows = (through.objects.using(self.store.db_alias)
                .filter(record_id__in=ids).select_related(target)
                .order_by(*_M2M_ORDER[target]))
        out = {}
        for row in rows:
            out.setdefault(row.record_id, []).append(getattr(row, target))
        return out


# The orders Sumatra's related managers return (the models' Meta.ordering).
_M2M_ORDER = {"datakey": ("datakey__path", "pk"), "dependency": ("dependency__name", "pk"),
              "platforminformation": ("pk",)}


def _literal(text):
    """Python-literal text (how Sumatra stores some dicts), read without eval."""
    return ast.literal_eval(text)


def _launch_mode(row):
    from sumatra import launch
    if not hasattr(launch, row.type):
        raise ValueError("Unknown launch mode '%s' stored in database" % row.type)
    return getattr(launch, row.type)(**_literal(row.parameters))


def _datastore(row):
    from sumatra.datastore import get_data_store
    return get_data_store(row.type, _literal(row.parameters))


def _datakey(row):
    from sumatra import datastore
    try:
        metadata = json.loads(row.metadata)
    except ValueError:
        metadata = _literal(row.metadata)  # records of old Sumatra versions
    return datastore.DataKey(row.path, row.digest, row.creation, **metadata)


def _parameter_set(row):
    """The Sumatra parameter set of a row, as ``to_sumatra()`` builds it.

    Types whose constructors ``eval`` their text (hierarchical ``parameters``
    sets, simple ``name = value`` sets) are built from the safely parsed dict.
    """
    from sumatra import parameters
    cls = getattr(parameters, row.type, None)
    if cls is None:
        return {"None": None, "{}": {}}.get(row.content, row.content)
    if row.type in ("NTParameterSet", "SimpleParameterSet"):
        from .params import parse_parameters
        return cls(parse_parameters(row.type, row.content))
    return cls(row.content)
