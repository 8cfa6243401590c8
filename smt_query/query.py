"""Queries as plain option dictionaries: what ``smt query`` and ``smt compare``
run, usable from Python too.

A *query spec* maps option names (as on the command line, with underscores)
to values, e.g. ``{"tag": ["finished"], "after": "20200912", "where":
["lr > 0.01"]}``. :func:`apply_spec` turns it into filters on a view;
:func:`save_query`/:func:`load_query` keep named specs in the project's
``.smt/`` folder; :func:`smt_query.rows.select_rows` sorts, limits and groups result rows
(its functions stay importable from here).
"""
import json

from .errors import QueryError, did_you_mean, shown
from .filters import modifier_kwargs, spec_modifiers, spec_options
# The project lookup lives in smt_query.project; these names stay importable here.
from .project import (SAVED_FILE, load_project, project_dir,  # noqa: F401
                      project_store_entry, read_project_file)
from .project import saved_queries, update_settings  # noqa: F401
from .project import saved_queries_path as _saved_path
from .rows import (group_columns, group_rows, json_fields, merge_rows,  # noqa: F401
                   query_rows, sort_rows)

#: Spec option -> (filter name, how the value becomes arguments), generated
#: from the filter registry (``smt_query.filters.Option``): "each" one
#: filter per value; "all" one filter with all values; "one" one filter with
#: the value; "flag" a filter when true; "keyword" a keyword argument.
SPEC_FILTERS = {key: (opt.filter, opt.how) for key, opt in spec_options().items()}

def apply_spec(view, spec):
    """Return ``view`` narrowed by every filter of ``spec`` (unset values
    skipped); a :class:`QueryError` for anything that is not a valid spec."""
    if not isinstance(spec, dict):
        raise QueryError(f"a query is a dict of options, not {spec!r}")
    options = spec_options()
    unknown = set(spec) - set(options)
    if unknown:
        raise QueryError(f"unknown query option {sorted(unknown, key=str)[0]!r}")
    keywords = {}     # filter name -> its keyword arguments (e.g. duration's min, max)
    modifiers = spec_modifiers(spec)     # e.g. --ignore-case: case_sensitive=False
    for key, opt in options.items():
        name, how, value = opt.filter, opt.how, spec.get(key)
        if how == "modifier":
            continue
        more = modifier_kwargs(name, modifiers)
        if how == "keyword":
            if value is not None:
                keywords.setdefault(name, {})[opt.arg] = value
            continue
        if value is None or (isinstance(value, (list, tuple, str, bool)) and not value):
            continue
        if how == "flag" and value is not True:
            raise QueryError(f"{opt.flag} is a flag: true or false, not {value!r}")
        if how in ("one", "flag") or isinstance(value, str):
            values = [value]
        elif isinstance(value, (list, tuple)):
            values = list(value)
        else:
            raise QueryError(f"{opt.flag} takes text or a list of texts, not {value!r}")
        if how == "all":
            view = getattr(view.filter, name)(*values, **more)
        elif how == "flag":
            view = getattr(view.filter, name)(**more)
        else:
            for v in values:
                view = getattr(view.filter, name)(v, **more)
    for name, kwargs in keywords.items():
        view = getattr(view.filter, name)(**kwargs)
    return view


def check_spec(spec):
    """``spec`` if every filter it names can be built (dates, expressions,
    patterns, durations), else a :class:`QueryError` saying what is wrong.
    Nothing is read from a store."""
    from .view import RecordStoreView
    apply_spec(RecordStoreView(records=()), spec)
    return spec


def clean_spec(spec):
    """The spec without unset values (what is worth saving or showing)."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()
            if v not in (None, (), [], False, "")}


def describe_spec(spec):
    """A spec as the command-line options that make it."""
    parts = []
    spec = clean_spec(spec)
    options = spec_options()
    order = sorted(options, key=lambda k: not options[k].positional)   # arguments first
    for key in sorted(spec, key=lambda k: order.index(k) if k in order else len(order)):
        value = spec[key]
        if key in options and options[key].positional:
            parts.extend(value)
            continue
        flag = "--" + key.replace("_", "-")
        for v in (value if isinstance(value, list) else [value]):
            parts.append(flag if v is True else f"{flag} {json.dumps(v, ensure_ascii=False)}"
                         if isinstance(v, str) and (" " in v or not v) else f"{flag} {v}")
    return " ".join(parts) or "(all records)"


def merge_specs(base, extra):
    """``base`` narrowed by ``extra``: list options add up, single ones must agree."""
    out = dict(base)
    for key, value in clean_spec(extra).items():
        if key not in out:
            out[key] = value
        elif isinstance(value, list):
            out[key] = list(out[key]) + [v for v in value if v not in out[key]]
        elif out[key] != value:  # e.g. two different --after: refuse, never drop one
            raise QueryError(f"the saved query already sets --{key.replace('_', '-')} "
                             f"{out[key]!r}; cannot also use {value!r}")
    return out


# -- saved queries ----------------------------------------------------------

class SavedQueryExists(QueryError):
    """:func:`save_query` would replace a different saved query of that name
    (``name``, ``spec`` the stored one): pass ``replace=True``."""

    def __init__(self, name, spec):
        super().__init__(f"a saved query {name!r} exists ({describe_spec(spec)}); "
                         "pass replace=True to replace it")
        self.name, self.spec = name, spec


def check_query_name(name):
    """``name`` if it can name a saved query (letters, digits, ``-`` and ``_``),
    else a :class:`QueryError`; a leading ``@`` (as typed on the command line)
    is not part of the name."""
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise QueryError(f"bad query name {name!r}: use letters, digits, - and _")
    return name


def _write_queries(queries, start):
    # the file holds the metrics too (smt_query.metrics): keep them
    update_settings(lambda settings: settings.__setitem__("queries", queries), start)


def save_query(name, spec, start=None, replace=False):
    """Store ``spec`` under ``name`` in ``.smt/smt_query.json``. The name and
    spec are checked first, and nothing is written if they, or the file, are
    not valid. A different query of that name is replaced only with
    ``replace`` (else :class:`SavedQueryExists`)."""
    check_query_name(name)
    check_spec(spec)
    queries = saved_queries(start)
    spec = clean_spec(spec)
    if name in queries and queries[name] != spec and not replace:
        raise SavedQueryExists(name, queries[name])
    queries[name] = spec
    _write_queries(queries, start)


def _unknown(name, queries):
    """The error for a saved query ``name`` that does not exist."""
    hint = did_you_mean(name, queries)
    known = "" if hint else "; saved: " + (", ".join(map(repr, sorted(queries))) or "none yet")
    return QueryError(f"no saved query {shown(name)!r}{hint}{known}")


def delete_query(name, start=None):
    """Remove the saved query ``name``; return its spec (a
    :class:`QueryError` if there is none)."""
    queries = saved_queries(start)
    if name not in queries:
        raise _unknown(name, queries)
    spec = queries.pop(name)
    _write_queries(queries, start)
    return spec


def load_query(name, start=None):
    """The saved spec ``name`` (checked), or a :class:`QueryError` with the
    close names."""
    queries = saved_queries(start)
    if name not in queries:
        raise _unknown(name, queries)
    try:
        return check_spec(queries[name])
    except QueryError as err:
        raise QueryError(f"saved query {name!r} is not valid ({_saved_path(start)}): "
                         f"{str(err).splitlines()[0]}") from None


def apply_saved(view, name):
    """``view`` narrowed by the saved query ``name`` of the view's project
    (``"@name"`` works too): the Python form of ``smt query @name``."""
    start = getattr(view, "_project_path", None)
    return apply_spec(view, load_query(name[1:] if name.startswith("@") else name, start))


def spec_with_saved(labels, spec, start=None):
    """``spec`` with ``labels`` as given on the command line: ``@NAME`` ones are
    saved queries (``spec`` narrows them, :func:`merge_specs`), the others
    labels."""
    spec = dict(spec, labels=[lbl for lbl in labels if not lbl.startswith("@")])
    for name in (lbl[1:] for lbl in labels if lbl.startswith("@")):
        spec = merge_specs(load_query(name, start), spec)
    return spec


def saved_rows(start=None):
    """One row per saved query, by name: ``name``, ``query`` (as command-line
    options, or why it is not valid) and ``spec`` (as stored)."""
    rows = []
    for name, spec in sorted(saved_queries(start).items()):
        try:
            shown_ = describe_spec(load_query(name, start))
        except QueryError as err:
            shown_ = f"(not valid: {str(err).split(': ', 1)[-1]})"
        rows.append({"name": name, "query": shown_, "spec": spec})
    return rows
