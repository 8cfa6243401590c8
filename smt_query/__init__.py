"""smt-query: fast, exact record queries for Sumatra projects.

Public names are imported lazily, so that ``import smt_query`` (done at
start-up by the ``smt`` hook) costs nothing.
"""
__version__ = "0.1.0"

_EXPORTS = {
    "RecordStoreView": "smt_query.view",
    "RecordStoreViewSummary": "smt_query.summary",
    "register_filter": "smt_query.filters",
    "Filter": "smt_query.filters",
    "QueryError": "smt_query.errors",
    "get_task_param": "smt_query.params",
    "fold_task_inputs": "smt_query.params",
    "dfdiff": "smt_query.params",
    "ParameterComparison": "smt_query.params",
    "ParameterSet": "smt_query.params",
    "print_api": "smt_query.utils",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        import importlib
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'smt_query' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
