"""Metric definitions: kept in the project's own configuration file
(``.smt/smt_query.json``, beside the saved queries: one file, read and
written by :func:`smt_query.project.read_settings` /
:func:`~smt_query.project.update_settings`), never in the records.

``{"metrics": {"logL": {"from_outcome": "log L = (\\\\S+)"},
"loss": {"from_output": "*.json:train.loss"}}}``
"""
import functools
import hashlib
import json
import re

from ..errors import QueryError
from ..project import read_settings, update_settings

#: A metric name: what ``metric.NAME`` can say without backticks.
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Longest metric name (the table's column) and regular expression.
MAX_NAME, MAX_REGEX = 100, 1000


class Metric:
    """One metric: ``name`` and where its value comes from: ``regex`` (the
    first group of its first match in the outcome) or ``glob`` and ``key`` (a
    value of the first output file matching ``glob``, by dotted ``key``)."""

    def __init__(self, name, from_outcome=None, from_output=None):
        check_name(name)
        if (from_outcome is None) == (from_output is None):
            raise QueryError(f"metric {name!r}: give either --from-outcome REGEX or "
                             "--from-output GLOB:KEY")
        self.name = name
        self.regex = self.glob = self.key = None
        if from_outcome is not None:
            if not isinstance(from_outcome, str) or len(from_outcome) > MAX_REGEX:
                raise QueryError(f"metric {name!r}: a regular expression of at most "
                                 f"{MAX_REGEX} characters, not {from_outcome!r:.60}")
            try:
                self.regex = re.compile(from_outcome)     # compiled once
            except re.error as err:
                raise QueryError(f"metric {name!r}: bad regular expression "
                                 f"{from_outcome!r}: {err}") from None
        else:
            glob, sep, key = from_output.rpartition(":") if isinstance(from_output, str) else ""
            if not (sep and glob and key):
                raise QueryError(f"metric {name!r}: --from-output takes GLOB:KEY, e.g. "
                                 f"'*.json:train.loss', not {from_output!r}")
            self.glob, self.key = glob, key

    @property
    def kind(self):
        return "outcome" if self.regex is not None else "output"

    def spec(self):
        """The definition as stored."""
        if self.regex is not None:
            return {"from_outcome": self.regex.pattern}
        return {"from_output": f"{self.glob}:{self.key}"}

    def describe(self):
        return (f"from outcome /{self.regex.pattern}/" if self.regex is not None
                else f"from output {self.glob} key {self.key}")

    @functools.cached_property
    def digest(self):
        """What identifies the definition (values computed by another are stale)."""
        text = json.dumps(self.spec(), sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def __repr__(self):
        return f"<Metric {self.name} {self.describe()}>"


def check_name(name):
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise QueryError(f"bad metric name {name!r}: use letters, digits and _ "
                         "(not starting with a digit)")
    return name


def metric_definitions(start=None):
    """``{name: Metric}`` of the project at or above ``start`` (default: cwd)."""
    settings = read_settings(start)
    stored = settings.get("metrics", {})
    if not isinstance(stored, dict):
        raise QueryError("cannot read the metrics of the project's .smt/smt_query.json: "
                         'expected {"metrics": {NAME: {"from_outcome": REGEX}, ...}}')
    out = {}
    for name, spec in stored.items():
        if not isinstance(spec, dict) or not set(spec) <= {"from_outcome", "from_output"}:
            raise QueryError(f"metric {name!r} in .smt/smt_query.json: expected "
                             '{"from_outcome": REGEX} or {"from_output": "GLOB:KEY"}')
        out[name] = Metric(name, spec.get("from_outcome"), spec.get("from_output"))
    return out


def add_metric(name, from_outcome=None, from_output=None, start=None):
    """Define (or redefine) metric ``name``; returns the :class:`Metric`."""
    metric = Metric(name, from_outcome, from_output)

    def change(settings):
        metrics = settings.setdefault("metrics", {})
        if not isinstance(metrics, dict):
            raise QueryError("the project's .smt/smt_query.json has no valid metrics")
        metrics[name] = metric.spec()
    update_settings(change, start)
    return metric


def remove_metric(name, start=None):
    """Forget metric ``name`` (a :class:`QueryError` if it is not defined)."""
    known = metric_definitions(start)
    if name not in known:
        raise QueryError(f"no metric {name!r} (defined: {', '.join(sorted(known)) or 'none'})")
    update_settings(lambda settings: settings["metrics"].pop(name), start)


def require(definitions, names):
    """The definitions of ``names``; a :class:`QueryError` for an unknown one."""
    for name in names:
        if name not in definitions:
            known = ", ".join(sorted(definitions)) or "none defined"
            raise QueryError(f"unknown metric {name!r} (known: {known}); define it with "
                             f"smt querystore metric add {name} --from-outcome REGEX")
    return [definitions[n] for n in names]
