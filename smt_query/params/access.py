"""Parameters as plain dicts: from records and parameter sets (overrides
applied; unreadable sets named), looked up through task descriptions, folded
(part of :mod:`smt_query.params`)."""
import warnings
from collections.abc import Mapping

from ..errors import UnreadableParameters
from .parse import ParameterParseError, parse_parameters

#: Keys which make a dict a task description (an smttask serialised task).
TASK_DESC_KEYS = frozenset(("taskname", "module", "inputs"))


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return self._name


#: A `get_task_param` default that no stored value can be confused with
#: (``None`` is a valid parameter value): ``get_task_param(r, k, NO_VALUE) is NO_VALUE``.
NO_VALUE = _Sentinel("NO_VALUE")
_ABSENT = _Sentinel("<absent>")  # internal: key not there / no default given


# --------------------------------------------------------------------------
# Records whose parameters cannot be read

class UnreadableText(str):
    """What a record's ``parameters`` hold when its stored parameter set
    cannot be read: the stored text (a plain value), with ``type_name``,
    ``reason`` and the record's ``label``."""

    def __new__(cls, content, type_name, reason, label=None):
        self = super().__new__(cls, content)
        self.type_name, self.reason, self.label = type_name, reason, label
        return self

    def __reduce__(self):
        return type(self), (str(self), self.type_name, self.reason, self.label)


def unreadable(label, reason, errors=None):
    """The one rule for a record whose parameters cannot be read: it counts
    as having none. Say so -- ``errors[label] = reason`` if ``errors`` is a
    dict, else an :class:`~smt_query.errors.UnreadableParameters` warning
    naming the record (shown once per record and reason) -- and return None.
    """
    reason = str(reason)
    if errors is not None:
        errors[label] = reason
    else:
        warnings.warn(UnreadableParameters(label, reason))   # one place: shown once each
    return None


def stored_parameters(label, type_name, content, errors=None):
    """The parameters of record ``label`` from its stored ``type`` and
    ``content`` (overrides applied; ``{}`` for none), or None if they cannot
    be read (then :func:`unreadable` says so)."""
    try:
        return apply_overrides(parse_parameters(type_name, content) or {})
    except ParameterParseError as err:
        return unreadable(label, err, errors)


def record_parameters(record, errors=None):
    """The parameters of a Sumatra ``record`` as a plain dict (overrides
    applied; ``{}`` for none), or None if they cannot be read (then
    :func:`unreadable` says so): for example an :class:`UnreadableText`, the
    plain text Sumatra loads for an unknown type, or a set whose ``as_dict()``
    fails."""
    import configparser
    ps = record.parameters
    if isinstance(ps, UnreadableText):
        return unreadable(record.label, ps.reason, errors)
    if isinstance(ps, str):
        return unreadable(record.label, "the stored parameters are plain text, "
                                        "not a parameter set Sumatra reads", errors)
    try:
        return as_params(ps)
    except (ValueError, TypeError, LookupError, RecursionError, configparser.Error) as err:
        return unreadable(record.label, err, errors)


# --------------------------------------------------------------------------
# Plain dicts from records and parameter sets

def apply_overrides(params):
    """Move literal dotted top-level keys to the nested path they name.

    ``smt run default.yaml model.lr=0.2`` stores ``{'model': {'lr': 0.1},
    'model.lr': 0.2}``; this returns ``{'model': {'lr': 0.2}}``.  The keys are
    applied in stored order, each walking its parts from the root as
    `get_task_param` resolves them:

    * a part present in the current dict is used (an intermediate one
      holding a non-dict becomes ``{}``);
    * else, if the current dict is a task description and the part is in
      its ``inputs``, that one (``optimizer.lr`` sets
      ``inputs.optimizer.inputs.lr`` of a task description);
    * else the part is created in the current dict (intermediate ones as
      ``{}``).

    So the override wins wherever `get_task_param` looks for its key.  The
    input is not modified, and is returned as is when it has no dotted key.

    >>> apply_overrides({'model': {'lr': 0.1, 'n': 3}, 'model.lr': 0.2})
    {'model': {'lr': 0.2, 'n': 3}}
    >>> apply_overrides({'taskname': 'Fit', 'module': 'm', 'inputs': {'opt': {'lr': 0.1}},
    ...                  'opt.lr': 0.2})
    {'taskname': 'Fit', 'module': 'm', 'inputs': {'opt': {'lr': 0.2}}}
    """
    dotted = [k for k in params if isinstance(k, str) and "." in k]
    if not dotted:
        return params
    result = {k: v for k, v in params.items() if not (isinstance(k, str) and "." in k)}
    for key in dotted:
        *head, last = key.split(".")
        node = result
        for part in head:
            node = _holder(node, part)
            child = node.get(part)
            node[part] = dict(child) if isinstance(child, dict) else {}
            node = node[part]
        _holder(node, last)[last] = params[key]
    return result


def _holder(node, part):
    """The dict in which an override sets `part` of `node` (a copy we own):
    `node` itself, or a fresh copy of its ``inputs`` if `node` is a task
    description with `part` there and not directly."""
    if part not in node and is_task_desc(node) and part in node["inputs"]:
        node["inputs"] = dict(node["inputs"])
        return node["inputs"]
    return node


def _is_record(obj):
    # not a dict: a `parameters.ParameterSet` has `parameters` and `label` attributes too
    return not isinstance(obj, dict) and hasattr(obj, "parameters") and hasattr(obj, "label")


def as_params(obj):
    """Parameters of `obj` as a plain nested dict, command-line overrides applied.

    Parameters
    ----------
    obj : Record | ParameterSet | dict | None
        A Sumatra record (its ``.parameters`` are used), any Sumatra
        parameter set, a ``parameters.ParameterSet``, a mapping, or None
        (gives ``{}``). A record whose parameters cannot be read gives ``{}``
        and an :class:`~smt_query.errors.UnreadableParameters` warning (see
        :func:`record_parameters`).

    Returns
    -------
    dict
        May share sub-dicts with `obj`: treat it as read-only.
    """
    if obj is None:
        return {}
    if type(obj) is not dict:
        if isinstance(obj, UnreadableText):
            return unreadable(obj.label, obj.reason) or {}
        if hasattr(obj, "as_dict"):  # Sumatra and `parameters` parameter sets
            obj = obj.as_dict()
        elif isinstance(obj, Mapping):
            obj = dict(obj)
        elif _is_record(obj):
            params = record_parameters(obj)
            return {} if params is None else params
        else:
            raise TypeError(f"cannot get parameters from a {type(obj).__name__}")
        if not isinstance(obj, dict):   # e.g. a JSON set holding a list
            raise TypeError(f"parameters are a {type(obj).__name__}, not a mapping")
    return apply_overrides(obj)


# --------------------------------------------------------------------------
# Task descriptions and lookup

def split_key(name):
    """Split a dotted key into its parts; a tuple of parts is returned as is.

    >>> split_key('optimizer.model.lr')
    ('optimizer', 'model', 'lr')
    """
    if isinstance(name, str):
        return tuple(name.split("."))
    if isinstance(name, tuple):
        return name
    raise TypeError(f"a parameter key is a dotted string or a tuple of parts, "
                    f"not a {type(name).__name__}")


def _key_str(parts):
    return ".".join(repr(p) if not isinstance(p, str) or "." in p else p for p in parts)


def is_task_desc(obj):
    """Whether `obj` is a task description: a dict with taskname, module and inputs."""
    return isinstance(obj, dict) and TASK_DESC_KEYS <= obj.keys() and isinstance(obj["inputs"], dict)


def _lookup(node, parts):
    for part in parts:
        if not isinstance(node, dict):
            return _ABSENT
        if part in node:
            node = node[part]
        elif is_task_desc(node) and part in node["inputs"]:
            node = node["inputs"][part]
        else:
            return _ABSENT
    return node


def get_task_param(obj, name, default=_ABSENT):
    """Value of a (nested) parameter, looking through task descriptions.

    Parameters
    ----------
    obj : Record | ParameterSet | dict | task description
        Anything `as_params` accepts; command-line overrides apply.
    name : str | tuple | list
        A dotted key (``'optimizer.model.params.μtilde'``) or a tuple of its
        parts (for parts that contain dots).  At each level, a key present in
        the current dict is used; otherwise, if that dict is a task
        description, the key is looked up in its ``inputs``.  A *list* gives
        alternative keys, tried in order.
    default : optional
        Returned when the key is missing (pass `NO_VALUE` to tell a missing
        key from a stored ``None``); without it, KeyError is raised.

    Examples
    --------
    >>> desc = {'taskname': 'Fit', 'module': 'tasks',
    ...         'inputs': {'optimizer': {'lr': 0.1}}}
    >>> get_task_param(desc, 'optimizer.lr')
    0.1
    """
    params = as_params(obj)
    keys = [split_key(n) for n in name] if isinstance(name, list) else [split_key(name)]
    for parts in keys:
        value = _lookup(params, parts)
        if value is not _ABSENT:
            return value
    if default is not _ABSENT:
        return default
    raise KeyError(" | ".join(_key_str(parts) for parts in keys))


class KeyValues(dict):
    """The values of some parameter ``keys`` in ``params`` (a plain dict), each
    as ``get_task_param(params, key, None)`` reads it: what a row carries
    instead of a whole parameter set when only these keys are asked for
    (the set itself can then be dropped at once)."""

    def __init__(self, keys, params):
        super().__init__((key, get_task_param(params, key, None)) for key in keys)


def _fold(value):
    if isinstance(value, dict):
        if is_task_desc(value):
            return _fold(value["inputs"])
        return {k: _fold(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_fold(v) for v in value)
    return value


def fold_task_inputs(params):
    """Replace every task description by (the folded contents of) its ``inputs``.

    Accepts anything `as_params` accepts; returns a new nested dict.

    >>> fold_task_inputs({'taskname': 'T', 'module': 'm',
    ...                   'inputs': {'a': {'taskname': 'U', 'module': 'm', 'inputs': {'b': 1}}}})
    {'a': {'b': 1}}
    """
    return _fold(as_params(params))
