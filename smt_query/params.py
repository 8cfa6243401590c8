"""Parameters of Sumatra records: parsing, lookup, folding and comparison.

Everything here works on plain nested dicts; `as_params` turns records and
parameter sets of every Sumatra flavour into one.  Nothing here imports
Django, and pandas is imported only by the functions that build DataFrames.
"""
import ast
import math
import sys
import warnings
from collections.abc import Mapping
from fnmatch import fnmatchcase
from functools import cache

from .errors import QueryError, UnreadableParameters

__all__ = [
    "MISSING", "FOLDED", "NO_VALUE", "MAX_DEPTH", "MAX_VALUES", "MAX_TEXT",
    "ParameterParseError", "parse_parameters", "UnreadableText", "record_parameters",
    "stored_parameters", "unreadable", "as_params", "apply_overrides", "split_key",
    "get_task_param", "is_task_desc", "fold_task_inputs", "flatten", "dotted_key",
    "values_equal", "dfdiff", "ParameterComparison", "ParameterSet",
]

#: Shown in DataFrames where a parameter set lacks a key the others have.
MISSING = "<missing>"
#: Shown by `ParameterComparison.dataframe` where a subtree differs below the depth shown.
FOLDED = "<+>"
#: Column names of `dfdiff` when the inputs are not both records.
DFDIFF_COLUMNS = ("pset 1", "pset 2")
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


class ParameterParseError(QueryError):
    """Stored parameter text cannot be turned into a dict."""


#: Bound on the nesting depth of a stored parameter set. This bound and the two
#: below apply with YAML aliases, ConfigParser interpolation and dotted override
#: keys expanded: a set past one is unreadable, so that parsing, flattening,
#: folding and printing a set cost time and memory in proportion to these
#: numbers, never to what a few hundred bytes of aliases can name. Parameter
#: files are far smaller (the demo's: 7 levels, ~80 values, ~1,500 characters).
MAX_DEPTH = 100
#: Bound on the number of values (every mapping, list and scalar counts one,
#: keys included).
MAX_VALUES = 1_000_000
#: Bound on the number of characters, of the stored text and of all its
#: strings once expanded.
MAX_TEXT = 10_000_000


def _past(what, bound):
    """The error for a parameter set past ``bound`` (``"MAX_DEPTH"``, ...)."""
    return ParameterParseError(f"more {what} than smt_query.params.{bound} "
                               f"({globals()[bound]:,})")


def _measure(obj, children, text_of):
    """``(values, characters, depth)`` of the tree ``obj`` spells, each shared
    part counted wherever it appears (so YAML aliases are expanded), in time
    linear in the distinct parts; raise :exc:`ParameterParseError` past a
    bound or on a part that contains itself."""
    memo, started = {}, set()
    stack = [(obj, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            started.discard(key)
            kids = children(node)
            values = 1 + sum(memo[id(c)][0] for c in kids)
            text = text_of(node) + sum(memo[id(c)][1] for c in kids)
            depth = 1 + max((memo[id(c)][2] for c in kids), default=0)
            if values > MAX_VALUES:
                raise _past("values", "MAX_VALUES")
            if text > MAX_TEXT:
                raise _past("characters of text", "MAX_TEXT")
            if depth > MAX_DEPTH:
                raise _past("levels of nesting", "MAX_DEPTH")
            memo[key] = values, text, depth
        elif key not in memo:
            if key in started:
                raise ParameterParseError("a value that contains itself (a recursive alias)")
            started.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children(node) if id(c) not in memo)
    return memo[id(obj)]


def _value_children(obj):
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return list(obj)
    return ()


def _value_text(obj):
    return len(obj) if isinstance(obj, (str, bytes)) else 0


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _depth(obj):
    """Levels of nesting of ``obj`` (a scalar is one), counted up to
    ``MAX_DEPTH + 1``; time linear in its containers."""
    deepest, stack = 1, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return depth
        deepest = max(deepest, depth)
        if isinstance(node, dict):
            kids = ([*node, *node.values()] if any(isinstance(k, _CONTAINERS) for k in node)
                    else node.values())
        elif isinstance(node, _CONTAINERS):
            kids = node
        else:
            continue
        for kid in kids:
            if isinstance(kid, _CONTAINERS):
                stack.append((kid, depth + 1))
            elif depth == deepest:
                deepest = depth + 1
    return deepest


def _check_bounds(params, content):
    """Raise :exc:`ParameterParseError` if ``params``, parsed from ``content``,
    is past a bound, counting the levels a dotted override key adds (see
    `apply_overrides`).

    Without YAML aliases (measured on the nodes, before construction) or
    interpolation (measured as it runs) a set has no more values and
    characters than ``content`` has characters, so those are measured only
    for a long ``content``; the depth always.
    """
    if len(content) > MAX_VALUES:
        _measure(params, _value_children, _value_text)
    elif _depth(params) > MAX_DEPTH:
        raise _past("levels of nesting", "MAX_DEPTH")
    for key, value in params.items():
        if isinstance(key, str) and "." in key and key.count(".") + 1 + _depth(value) > MAX_DEPTH:
            raise _past("levels of nesting", "MAX_DEPTH")


# --------------------------------------------------------------------------
# Parsing the text Sumatra stores (ParameterSet.type, ParameterSet.content)

_NT_NAMES = {"true": True, "false": False, "nan": math.nan, "inf": math.inf, "pi": math.pi}


def _literal(text, names):
    """Evaluate a Python literal like `ast.literal_eval`, plus bare `names`."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"invalid syntax ({exc.msg}, line {exc.lineno})") from None
    return _literal_node(tree.body, names)


def _literal_node(node, names):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal_node(k, names): _literal_node(v, names)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal_node(elt, names) for elt in node.elts]
        return items if isinstance(node, ast.List) else (
            tuple(items) if isinstance(node, ast.Tuple) else set(items))
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        operand = _literal_node(node.operand, names)
        if isinstance(operand, (int, float, complex)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):  # 1+2j
        left, right = _literal_node(node.left, names), _literal_node(node.right, names)
        if (isinstance(left, (int, float)) and not isinstance(left, bool)
                and isinstance(right, complex)):
            return left + right if isinstance(node.op, ast.Add) else left - right
    raise ValueError(f"not a literal: {ast.unparse(node)[:80]!r}")


def _is_quoted(text):
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""


def _parse_simple(content):
    # Mirrors SimpleParameterSet.__init__ with literals instead of eval():
    # '#' lines are comments, a trailing '# ...' is a comment, and a value
    # that is not a literal is kept verbatim as a string (Sumatra's NameError
    # branch, which keeps the leading space too).
    values = {}
    for line in content.split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f"line without '=': {line[:80]!r}")
        name, raw = line.split("=", 1)
        quoted = _is_quoted(raw.strip())
        try:
            value = _literal(raw, {})
        except ValueError:
            # pretty() writes strings as "%s" without escaping: take them back verbatim
            value = raw.strip()[1:-1] if quoted else raw
        else:
            if quoted:
                value = str(value)
        values[name.strip()] = value
    return values


@cache
def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loading, plus the tuples `yaml.dump` writes for `x=(1,2)` overrides;
        ``aliased`` says whether the document used an alias."""

        aliased = False

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self.aliased = True
            return super().compose_node(parent, index)

    Loader.add_constructor("tag:yaml.org,2002:python/tuple",
                           lambda loader, node: tuple(loader.construct_sequence(node, deep=True)))
    return Loader


def _yaml_children(node):
    value = node.value
    if isinstance(value, str):   # a scalar
        return ()
    if value and isinstance(value[0], tuple):   # a mapping: (key, value) pairs
        return [n for pair in value for n in pair]
    return value


def _yaml_text(node):
    return len(node.value) if isinstance(node.value, str) else 0


def _parse_yaml(content):
    # yaml.load(), with the composed node graph measured before anything is
    # built from it: aliases (and merge keys, which copy what they name) are
    # shared nodes there, so a bomb is found in time linear in its text.
    import yaml
    loader = _yaml_loader()(content)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if loader.aliased:
            _measure(node, _yaml_children, _yaml_text)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None
    finally:
        loader.dispose()


def _parse_json(content):
    import json
    return json.loads(content)


def _parse_config(content):
    # What ConfigParserParameterSet.as_dict() gives (ConfigParser's default
    # interpolation), with the characters interpolation writes counted.
    import configparser

    class Counted(list):
        def append(self, text):
            budget[0] -= len(text)
            if budget[0] < 0:
                raise _past("characters of interpolated text", "MAX_TEXT")
            super().append(text)

    class Interpolation(configparser.BasicInterpolation):
        def before_get(self, parser, section, option, value, defaults):
            out = Counted()
            self._interpolate_some(parser, option, out, value, section, defaults, 1)
            return "".join(out)

    budget = [MAX_TEXT]
    parser = configparser.ConfigParser(interpolation=Interpolation())
    try:
        parser.read_string(content)
        sections = parser.sections()
        if len(sections) * (len(parser.defaults()) + 1) > MAX_VALUES:  # DEFAULT goes into each
            raise _past("values (DEFAULT options in every section)", "MAX_VALUES")
        return {section: dict(parser.items(section)) for section in sections}
    except configparser.Error as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None


_PARSERS = {
    "JSONParameterSet": _parse_json,
    "YAMLParameterSet": _parse_yaml,
    "NTParameterSet": lambda content: _literal(content, _NT_NAMES),
    "SimpleParameterSet": _parse_simple,
    "ConfigParserParameterSet": _parse_config,
}


def parse_parameters(type_name, content):
    """Parse the text Sumatra stores for a parameter set, without ``eval()``.

    Parameters
    ----------
    type_name : str
        The ``ParameterSet.type`` column: ``JSONParameterSet``,
        ``YAMLParameterSet``, ``NTParameterSet``, ``SimpleParameterSet`` or
        ``ConfigParserParameterSet``.
    content : str
        The ``ParameterSet.content`` column (``str()`` of the parameter set).
        Only this text is read: unlike Sumatra's parameter set classes, a
        content that names a file is not opened.

    Returns
    -------
    dict | None
        ``None`` for content ``'None'`` (a record without parameters),
        otherwise the parameters as a nested dict (like ``ps.as_dict()``).
        NT sets may contain ``nan``/``inf``/``true``/``false``; YAML may
        contain the ``!!python/tuple`` that command-line tuples produce.

    Raises
    ------
    ParameterParseError
        Unknown type, text that is not a valid parameter set of that type, or
        a set past :data:`MAX_DEPTH`, :data:`MAX_VALUES` or :data:`MAX_TEXT`
        (YAML aliases, interpolation and dotted override keys expanded).
    """
    if content == "None":
        return None
    if content == "{}":
        return {}
    parser = _PARSERS.get(type_name)
    if parser is None:
        raise ParameterParseError(
            f"cannot parse parameters of type {type_name!r}: unknown parameter set type")
    if not isinstance(content, str):
        raise ParameterParseError(f"cannot parse {type_name} parameters: not text")
    if len(content) > MAX_TEXT:
        raise ParameterParseError(f"cannot parse {type_name} parameters: "
                                  f"{_past('characters of text', 'MAX_TEXT')}")
    if not content.strip():
        return {}
    try:
        result = parser(content)
        if isinstance(result, dict):
            _check_bounds(result, content)
    except ParameterParseError as exc:
        raise ParameterParseError(f"cannot parse {type_name} parameters: {exc}") from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ParameterParseError(f"cannot parse {type_name} parameters: {exc}") from None
    if not isinstance(result, dict):
        raise ParameterParseError(f"cannot parse {type_name} parameters: "
                                  f"content is a {type(result).__name__}, not a mapping")
    return result


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
        Show a tqdm bar on stderr.  Default: when stderr is a terminal and
        there are more than 1000 records.
    fold : bool
        Apply `fold_task_inputs` to each parameter set first.
    ignore : iterable of str
        Dotted keys or fnmatch globs over dotted keys to leave out; a key
        matching a prefix of a leaf's key leaves out the whole subtree.

    Examples
    --------
    >>> cmp = ParameterComparison(rsview.filter.on(20201110))  # doctest: +SKIP
    >>> cmp.dataframe(depth=2).drop(columns=['reason'])  # doctest: +SKIP
    """

    def __init__(self, records=None, *, params=None, labels=None, fields=("reason",),
                 progress=None, fold=False, ignore=()):
        if (records is None) == (params is None):
            raise TypeError("give either records or params=[...]")
        if isinstance(ignore, str):
            ignore = (ignore,)
        items = records if records is not None else params
        total = len(items) if hasattr(items, "__len__") else None
        if progress is None:
            progress = total is not None and total > 1000 and sys.stderr.isatty()
        if progress:
            from tqdm import tqdm
            items = tqdm(items, total=total, file=sys.stderr, desc="Comparing")

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


# --------------------------------------------------------------------------
# A ParameterSet for notebooks

def __getattr__(name):
    # ParameterSet subclasses parameters.ParameterSet, whose import costs
    # 0.2 s (numpy): build the class on first use.
    if name == "ParameterSet":
        cls = globals()["ParameterSet"] = _parameter_set_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _parameter_set_class():
    from parameters import ParameterSet as Base

    class ParameterSet(Base):
        """A ``parameters.ParameterSet`` made from anything that holds parameters.

        ``ParameterSet(obj)`` accepts a Sumatra record (its parameters; the
        record's label becomes ``.label``), any Sumatra parameter set, a
        ``parameters.ParameterSet``, a task description or any mapping, or
        None (empty); command-line overrides are applied as in `as_params`.
        Nested dicts become ParameterSets, so values are reached by dotted key
        (``ps['inputs.optimizer.inputs.lr']``), by a tuple of parts (for keys
        that contain dots), by attribute (``ps.inputs.optimizer``) or level by
        level (``ps['inputs']['optimizer']``). `get_task_param` looks through
        task descriptions instead (``inputs`` levels may be left out).

        Unlike ``parameters.ParameterSet``, text is refused: this class never
        opens a file or URL, nor evaluates text (stored text is data). Parse
        text with `parse_parameters`, or load a file with Sumatra's
        ``build_parameters``, and pass the result.
        """

        def __init__(self, initialiser=None, label=None):
            if isinstance(initialiser, (str, bytes)) or hasattr(initialiser, "__fspath__"):
                raise TypeError("ParameterSet needs parameters (a record, a parameter set "
                                "or a mapping), not text or a path: it never opens or "
                                "evaluates text; parse it with parse_parameters first")
            if label is None:
                label = getattr(initialiser, "label", None)
            self._fill(as_params(initialiser), label)

        def _fill(self, params, label):
            self._url, self.label = None, label
            self.names, self.parameters = self.keys, self.items
            for key, value in params.items():
                if isinstance(value, Mapping):
                    child = ParameterSet.__new__(type(self))
                    child._fill(value, key)
                    value = child
                dict.__setitem__(self, key, value)

        def __getitem__(self, name):
            """The value at ``name``: a key, a dotted key or a tuple of parts."""
            if isinstance(name, str) and dict.__contains__(self, name):
                return dict.__getitem__(self, name)
            parts = split_key(name)
            node = self
            for part in parts:
                if not isinstance(node, dict) or not dict.__contains__(node, part):
                    raise KeyError(name)
                node = dict.__getitem__(node, part)
            return node

        def __contains__(self, name):
            try:
                self[name]
            except (KeyError, TypeError):
                return False
            return True

        def __reduce__(self):
            return type(self), (self.as_dict(), self.label)

    ParameterSet.__module__, ParameterSet.__qualname__ = __name__, "ParameterSet"
    return ParameterSet
