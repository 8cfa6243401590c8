"""Comparing records of a view: what ``smt compare`` runs.

:func:`compare_view` compares the parameters (and chosen fields) of every
record of a view; with ``env=True`` it compares their environment instead
(code version and diff, main file, executable, dependencies, platform,
launch mode), like daskperiment's environment-change report. A record whose
stored parameters cannot be read is left out and named (by
:func:`smt_query.params.unreadable`); the others are still compared.
Records named by label come in the order they were named.

:meth:`Comparison.summary` says what varies (each differing key's distinct
values and how many records have each); :meth:`Comparison.commits` gives,
for an environment comparison, each differing commit's subject line and
``git diff --stat`` from the project's own repository (:func:`commit_details`).
"""
import re

from .dates import Seconds
from .errors import QueryError, shown
from .params import MISSING, ParameterComparison, fold_task_inputs, unreadable

#: A commit id as Sumatra stores it (git or Mercurial): hex digits only.
COMMIT_ID = re.compile(r"[0-9a-fA-F]{4,64}")


class Comparison:
    """The outcome of :func:`compare_view`.

    ``comparison`` is a :class:`~smt_query.params.ParameterComparison` (or
    None if fewer than two records could be compared); ``skipped`` maps the
    labels of records left out, their parameters unreadable, to why.
    """

    def __init__(self, comparison, skipped, repository=None, fields=()):
        self.comparison = comparison
        self.skipped = skipped
        self.repository = repository   # the project's directory (for --env), or None
        self.fields = tuple(fields)

    @property
    def labels(self):
        return list(self.comparison.labels) if self.comparison else []

    def table(self, depth=None):
        """``(rows, columns)`` of the differences, keys cut to ``depth`` levels
        (see :meth:`~smt_query.params.ParameterComparison.dataframe`): for two
        records one row per key (``key`` and the two labels), else one row per
        record (``label``, then one column per key); none if nothing differs."""
        if self.comparison is None:
            return [], []
        frame = self.comparison.dataframe(depth=depth)
        if len(frame.columns) == 0:
            return [], []
        if len(frame.index) == 2:
            labels = [str(lbl) for lbl in frame.index]
            rows = [dict(zip(["key"] + labels, [key, *map(self._shown(key), frame[key])]))
                    for key in frame.columns]
            return rows, ["key"] + labels
        rows = [{"label": label, **dict(zip(frame.columns, values))}
                for label, values in zip(frame.index, frame.itertuples(index=False))]
        return rows, ["label"] + list(frame.columns)

    def _shown(self, key):
        """How the values of ``key`` go into a row: the record's duration
        (asked for in ``fields``) as ``dates.Seconds``, shown
        like every duration in tables; other values as they are."""
        if key == "duration" and "duration" in self.fields:
            return lambda v: Seconds(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        return lambda v: v

    def summary(self):
        """``(rows, columns)``: what varies. One row per distinct value of each
        differing key (full depth): ``key``, ``value`` (``<missing>`` for the
        records lacking the key), ``count``, most common first
        (:meth:`~smt_query.params.ParameterComparison.value_counts`)."""
        if self.comparison is None:
            return [], []
        rows = [{"key": key, "value": value, "count": count}
                for key, counts in self.comparison.value_counts().items()
                for value, count in counts]
        return rows, (["key", "value", "count"] if rows else [])

    def commits(self):
        """For an environment comparison whose code versions differ: one dict
        per distinct version, in record order: ``version``, ``labels``,
        ``subject`` (its first line) and ``diff_stat`` (``git diff --stat``
        from the first version; None for the first), read from the git
        repository of :attr:`repository` (the project's directory, never a
        path a record names); ``note`` says why they are None (no repository,
        not a commit id, not in the repository). ``[]`` if versions agree."""
        if self.comparison is None or "version" not in self.comparison.differences:
            return []
        versions = {}
        for label, version in self.comparison.differences["version"].items():
            versions.setdefault(version, []).append(label)
        details = commit_details(self.repository, list(versions))
        return [{"version": version, "labels": labels, **details[version]}
                for version, labels in versions.items()]

    def dependencies(self):
        """``{dependency: {label: version}}`` of the dependencies whose versions
        differ (an environment comparison; a record without it is absent)."""
        prefix = "dependencies."
        diffs = self.comparison.differences if self.comparison else {}
        return {key[len(prefix):]: values for key, values in diffs.items()
                if key.startswith(prefix)}

    def dependency_table(self):
        """``(rows, columns)`` of :meth:`dependencies`: ``dependency``, then one
        column per record (``<missing>`` where a record lacks it)."""
        deps = self.dependencies()
        if not deps:
            return [], []
        rows = [{"dependency": name, **{lbl: versions.get(lbl, MISSING) for lbl in self.labels}}
                for name, versions in deps.items()]
        return rows, ["dependency"] + self.labels

    def as_json(self, summary=False, env=False):
        """``{"records": [...], "differences": {key: {label: value}}}`` (full
        depth); with ``summary`` also ``"summary": {key: [{"value": v, "count":
        n}, ...]}``; with ``env`` also ``"commits"`` (:meth:`commits`) and
        ``"dependencies"`` (:meth:`dependencies`)."""
        out = {"records": self.labels,
               "differences": self.comparison.differences if self.comparison else {}}
        if summary:
            out["summary"] = {}
            for row in self.summary()[0]:
                out["summary"].setdefault(row["key"], []).append(
                    {"value": row["value"], "count": row["count"]})
        if env:
            out["commits"] = self.commits()
            out["dependencies"] = self.dependencies()
        return out


def compare_view(view, *, fields=(), fold=True, ignore=(), env=False, named=(), metrics=()):
    """Compare the records of ``view``; see :class:`Comparison`. ``metrics``:
    names of metrics compared too (as keys ``metric.NAME``:
    :func:`smt_query.metrics.compared_metrics`).

    Raises :class:`QueryError` if fewer than two records match, or if a
    record whose parameters cannot be read is one of the labels ``named``
    (those the user asked for by name); other such records are left out,
    each named by an :class:`~smt_query.errors.UnreadableParameters` warning.
    """
    from .fields import ROW_FIELDS
    bad = [f for f in fields if f not in ROW_FIELDS]
    if bad:
        raise QueryError(f"unknown field {bad[0]!r}; known fields: {', '.join(ROW_FIELDS)}")
    n = len(view)
    if n < 2:
        raise QueryError(f"need at least two records to compare, {n} matched")
    skipped = {}
    labels, sets = [], []
    if env:
        for record in view:
            labels.append(record.label)
            sets.append(environment(record))
    else:
        fields = tuple(fields)
        metric_keys = None
        if metrics:
            from .metrics import compared_metrics
            metric_keys = compared_metrics(view, metrics)
        for row in view.rows(fields, tags=False, parameters=True, errors=skipped):
            if row["label"] in skipped:
                continue
            params = row.pop("parameters")
            params = fold_task_inputs(params) if fold else params
            sets.append({**params, **{f: row[f] for f in fields}, **(metric_keys(row["label"]) if metric_keys else {})})
            labels.append(row["label"])
        for label in named:
            if label in skipped:
                raise QueryError(f"cannot compare record {shown(label)}: its parameters cannot "
                                 f"be read: {shown(skipped[label], 200)}")
        for label, reason in skipped.items():
            unreadable(label, reason)
    if named:   # in the order they were named, then the others (newest first)
        place = {label: i for i, label in enumerate(named)}
        order = sorted(range(len(labels)), key=lambda i: place.get(labels[i], len(place)))
        labels, sets = [labels[i] for i in order], [sets[i] for i in order]
    repository = getattr(view, "_project_path", None)
    if len(sets) < 2:
        return Comparison(None, skipped, repository, fields)
    return Comparison(ParameterComparison(params=sets, labels=labels, ignore=ignore), skipped,
                      repository, fields)


def commit_details(directory, versions):
    """``{version: {"subject", "diff_stat", "note"}}`` for the commit ids
    ``versions`` (stored text: only hex ids are handed to git) in the git
    repository holding ``directory``; ``diff_stat`` is ``git diff --stat``
    from the first version. Fails soft: what cannot be read is None, and
    ``note`` says why."""
    out = {v: {"subject": None, "diff_stat": None, "note": None} for v in versions}
    repo = _repository(directory)
    if repo is None:
        for v in versions:
            out[v]["note"] = "no git repository at hand"
        return out
    import git
    commits = {}
    for v in versions:
        if not (isinstance(v, str) and COMMIT_ID.fullmatch(v)):
            out[v]["note"] = "not a commit id"
            continue
        try:
            commits[v] = repo.commit(v)
        except (ValueError, git.exc.BadName, git.exc.GitCommandError):
            out[v]["note"] = "not in this repository"
            continue
        out[v]["subject"] = commits[v].summary
    base = commits.get(versions[0]) if versions else None
    for v, commit in commits.items():
        if base is not None and v != versions[0]:
            try:
                out[v]["diff_stat"] = repo.git.diff("--stat", base.hexsha, commit.hexsha)
            except git.exc.GitCommandError:
                out[v]["note"] = "git diff failed"
    return out


def _repository(directory):
    """The git repository holding ``directory`` (GitPython), or None."""
    if not directory:
        return None
    try:
        import git
    except ImportError:     # GitPython comes with sumatra[git]
        return None
    try:
        return git.Repo(directory, search_parent_directories=True)
    except (git.exc.InvalidGitRepositoryError, git.exc.NoSuchPathError):
        return None


def environment(record):
    """What a record ran with, as a nested dict (for comparison)."""
    launch = record.launch_mode
    return {
        "version": record.version,
        "diff": record.diff or "",
        "main_file": record.main_file,
        "executable": {"name": getattr(record.executable, "name", None),
                       "path": getattr(record.executable, "path", None),
                       "version": getattr(record.executable, "version", None)},
        "dependencies": {d.name: d.version for d in record.dependencies},
        "platform": {k: v for i, p in enumerate(record.platforms)
                     for k, v in _platform(p, i, len(record.platforms)).items()},
        "launch_mode": {"type": _type_name(launch), **(launch.__getstate__() or {})},
    }


def _type_name(obj):
    """The class name of a Sumatra component; the stored type of a
    :class:`~smt_query.loader.StoredComponent`."""
    return getattr(obj, "type_name", None) or type(obj).__name__


def _platform(info, index, count):
    prefix = f"{index}." if count > 1 else ""
    return {prefix + k: v for k, v in sorted(vars(info).items())}
