"""Parameters of Sumatra records: parsing (:mod:`.parse`), plain dicts, lookup and
folding (:mod:`.access`), comparison (:mod:`.compare`).

Everything here works on plain nested dicts; `as_params` turns records and
parameter sets of every Sumatra flavour into one.  Nothing here imports
Django, and pandas is imported only by the functions that build DataFrames.
"""
from collections.abc import Mapping

from .access import (NO_VALUE, TASK_DESC_KEYS, KeyValues, UnreadableText,  # noqa: F401
                     apply_overrides, as_params, fold_task_inputs, get_task_param,
                     is_task_desc, record_parameters, split_key, stored_parameters, unreadable)
from .compare import (DFDIFF_COLUMNS, FOLDED, MISSING, ParameterComparison,  # noqa: F401
                      dfdiff, dotted_key, flatten, values_equal)
from .parse import (MAX_DEPTH, MAX_TEXT, MAX_VALUES, ParameterParseError,  # noqa: F401
                    parse_parameters)

__all__ = [
    "MISSING", "FOLDED", "NO_VALUE", "MAX_DEPTH", "MAX_VALUES", "MAX_TEXT",
    "ParameterParseError", "parse_parameters", "UnreadableText", "record_parameters",
    "stored_parameters", "unreadable", "as_params", "apply_overrides", "split_key",
    "get_task_param", "KeyValues", "is_task_desc", "fold_task_inputs", "flatten", "dotted_key",
    "values_equal", "dfdiff", "ParameterComparison", "ParameterSet",
]


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


for _cls in (ParameterParseError, UnreadableText, ParameterComparison):
    _cls.__module__ = __name__   # their public home, as before the split
del _cls
