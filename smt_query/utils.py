"""Helpers at the places smttask's guide imports them from.

``import smt_query as smttask; import smt_query.utils`` makes the guide's
``smttask.utils.get_task_param(...)`` and ``smttask.utils.fold_task_inputs(...)``
work unchanged; ``from smt_query.utils import print_api`` replaces
``from mackelab_toolbox.utils import print_api``.
"""
import inspect
import sys
import textwrap

from .params import fold_task_inputs, get_task_param

__all__ = ["print_api", "fold_task_inputs", "get_task_param"]


def print_api(obj, file=None):
    """Print how to call ``obj``: ``name(signature)``, then its docstring indented.

    ``obj`` is a filter (an entry of ``rsview.filter.registered_filters``), a
    function, a class or a method; ``print_api(rsview.filter)`` prints every
    registered filter. Each entry ends with a blank line.
    """
    out = sys.stdout if file is None else file
    registered = getattr(obj, "registered_filters", None)
    if isinstance(registered, dict):          # view.filter: all of them
        for fltr in registered.values():
            print_api(fltr, file=out)
        return
    name = getattr(obj, "name", None)
    if not isinstance(name, str):             # a filter class has its registered name
        name = getattr(obj, "__name__", None) or type(obj).__name__
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        signature = "(...)" if callable(obj) else ""
    doc = inspect.getdoc(obj) or ""
    print(name + signature, file=out)
    if doc:
        print(textwrap.indent(doc, "    "), file=out)
    print(file=out)
