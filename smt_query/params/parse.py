"""Parsing the parameter text Sumatra stores, within bounds (no ``eval``):
:func:`parse_parameters` and the limits :data:`MAX_DEPTH`, :data:`MAX_VALUES`
and :data:`MAX_TEXT` (part of :mod:`smt_query.params`)."""
import ast
import math
from functools import cache

from ..errors import QueryError


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


def _check_bounds(params, content, depth_bound=None):
    """Raise :exc:`ParameterParseError` if ``params``, parsed from ``content``,
    is past a bound, counting the levels a dotted override key adds (see
    `apply_overrides`).

    Without YAML aliases (measured on the nodes, before construction) or
    interpolation (measured as it runs) a set has no more values and
    characters than ``content`` has characters, so those are measured only
    for a long ``content``; the depth unless ``depth_bound`` (an upper bound
    on it read from the text, see :data:`_DEPTH_BOUNDS`) is within
    :data:`MAX_DEPTH`.
    """
    if len(content) > MAX_VALUES:
        _measure(params, _value_children, _value_text)
    elif (depth_bound is None or depth_bound > MAX_DEPTH) and _depth(params) > MAX_DEPTH:
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


def _json_depth_bound(content):
    # Each mapping or list json.loads builds is one '{' or '[' of the text (a
    # fresh object: nothing shared), so a chain of them, plus its scalar, is
    # at most one level more than the text has brackets (counted in strings too).
    return content.count("{") + content.count("[") + 1


#: type name -> an upper bound on the nesting depth (as `_depth` counts it) of
#: what its parser builds from a text, read from the text alone; with the
#: bound within MAX_DEPTH the tree is not walked (counting brackets in C is
#: ~15x cheaper than the walk).
_DEPTH_BOUNDS = {"JSONParameterSet": _json_depth_bound}

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
            bound = _DEPTH_BOUNDS.get(type_name)
            _check_bounds(result, content, bound(content) if bound else None)
    except ParameterParseError as exc:
        raise ParameterParseError(f"cannot parse {type_name} parameters: {exc}") from None
    except (ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise ParameterParseError(f"cannot parse {type_name} parameters: {exc}") from None
    if not isinstance(result, dict):
        raise ParameterParseError(f"cannot parse {type_name} parameters: "
                                  f"content is a {type(result).__name__}, not a mapping")
    return result
