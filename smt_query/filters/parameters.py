"""Filters on parameters: ``where`` expressions, ``params`` and ``match``."""
from .. import where
from ..errors import did_you_mean, QueryError, shown
from ..fields import FIELD_KINDS
from ..params import NO_VALUE, get_task_param
from ..where.values import keys_of
from .registry import Filter, Option, register_filter
from .sidebar import Sidebar


@register_filter(name="where")
class WhereFilter(Filter):
    """Keep records satisfying an expression over parameters and fields, e.g.
    "optimizer.lr >= 1e-3 and model.activation == 'relu'" (see the docs for
    the language). Task-description `inputs` levels may be omitted in keys."""

    options = [Option("where", "Condition on parameters and fields, e.g. \"optimizer.lr >= 1e-3 "
                      "and model.activation == 'relu'\" (repeatable; see the docs).",
                      metavar="EXPR", complete="keys", sidebar=Sidebar("parameters"))]
    reads_parameters = True

    def __init__(self, expression):
        super().__init__(expression)
        self.expr = (where.parse(expression) if isinstance(expression, str)
                     else where.check_tree(expression))

    def test(self, record):
        return self.expr.test(record)

    def to_q(self, ctx):
        return self.expr.to_q(ctx)

    def hint(self, project):
        return _key_hints(project, _keys_of(self.expr))


_PARAM_OPS = {"eq": "==", "ge": ">=", "le": "<=", "gt": ">", "lt": "<"}


@register_filter(name="params")
class ParamsFilter(Filter):
    """Keep records for which specific parameters satisfy the given conditions.
    Conditions are dictionaries; keys for nested parameters are written with
    dots, and the `inputs` level of task descriptions may be omitted
    ('optimizer.model.params.μtilde'). Keywords: `eq` (=), `ge` (≥), `le` (≤),
    `gt` (>), `lt` (<), `isclose` (≈, as numpy.isclose). A record lacking a
    key is left out. Example: params(eq={'a': 1}, isclose={'φ': 1.57079})."""

    reads_parameters = True

    def __init__(self, eq=None, *, ge=None, le=None, gt=None, lt=None, isclose=None):
        conds = dict(eq=eq, ge=ge, le=le, gt=gt, lt=lt, isclose=isclose)
        super().__init__(**{k: v for k, v in conds.items() if v is not None})
        for kw, cond in conds.items():
            if cond is not None and not isinstance(cond, dict):
                raise QueryError(f"params({kw}=...) needs a dict of key: value, not {cond!r}")
        terms = [where.Compare(where.Key.parse(k), _PARAM_OPS[kw], v)
                 for kw, cond in conds.items() if kw != "isclose" and cond
                 for k, v in cond.items()]
        self.expr = where.And(terms)
        self.isclose = {where.Key.parse(k): v for k, v in (isclose or {}).items()}

    def test(self, record):
        if not self.expr.test(record):
            return False
        if not self.isclose:
            return True
        for key, target in self.isclose.items():
            value = get_task_param(record, key.parts, NO_VALUE)
            if value is NO_VALUE or not _isclose(value, target):
                return False
        return True

    def to_q(self, ctx):
        return None if self.isclose else self.expr.to_q(ctx)

    def hint(self, project):
        return _key_hints(project, [*_keys_of(self.expr), *self.isclose])


def _keys_of(expr):
    """The parameter keys (:class:`where.Key`) an expression names, in order."""
    return [key for key in keys_of(expr) if isinstance(key, where.Key)]


def _key_hints(project, keys):
    """Hints for the parameter ``keys`` no record of ``project`` has, with the
    close matches among the keys and the record fields that exist."""
    out, candidates = [], None
    for key in keys:
        if project.has_parameter(key):
            continue
        if candidates is None:
            candidates = project.parameter_keys(prefixes=True) + list(FIELD_KINDS)
        text = ".".join(key.parts)
        out.append(f"no record has the parameter {shown(text)!r}{did_you_mean(text, candidates)}")
    return "; ".join(out) or None


def _isclose(a, b, rtol=1e-05, atol=1e-08):
    """numpy.isclose semantics, all elements, without importing numpy."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        a = a if isinstance(a, (list, tuple)) else [a] * len(b)
        b = b if isinstance(b, (list, tuple)) else [b] * len(a)
        return len(a) == len(b) and all(_isclose(x, y, rtol, atol) for x, y in zip(a, b))
    try:
        return abs(a - b) <= atol + rtol * abs(b)
    except TypeError:
        return False


@register_filter(name="match")
class MatchFilter(ParamsFilter):
    """Like `params`, but the values come from a reference record (or
    parameter set): keys are given as lists, e.g. match(rec, eq=['a.b']).
    With include_reference=False the reference record itself is left out."""

    def __init__(self, ref, eq=None, *, ge=None, le=None, gt=None, lt=None,
                 isclose=None, include_reference=True):
        missing = []

        def values(keys):
            if keys is None:
                return None
            out = {}
            for k in keys:
                key = where.Key.parse(k)   # read as the comparison will be
                out[key] = get_task_param(ref, key.parts, NO_VALUE)
                if out[key] is NO_VALUE:
                    missing.append(k)
            return out
        conds = dict(eq=values(eq), ge=values(ge), le=values(le), gt=values(gt),
                     lt=values(lt), isclose=values(isclose))
        if missing:
            raise QueryError(f"the reference has no parameter {', '.join(map(repr, missing))}")
        super().__init__(**conds)
        label = getattr(ref, "label", None)
        self.exclude_label = None if include_reference else label
        self.args, self.kwargs = (ref,), {k: v for k, v in dict(
            eq=eq, ge=ge, le=le, gt=gt, lt=lt, isclose=isclose).items() if v is not None}

    def test(self, record):
        if self.exclude_label is not None and record.label == self.exclude_label:
            return False
        return super().test(record)

    def to_q(self, ctx):
        q = super().to_q(ctx)
        if q is not None and self.exclude_label is not None:
            from django.db.models import Q
            q &= ~Q(label=self.exclude_label)
        return q
