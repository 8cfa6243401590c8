"""A warning raised while a call runs in the notebook guard's worker thread
(``smt_query.asyncguard``: a thread with a running event loop, as a Jupyter
cell) points at the caller's line, not at threading.py."""
import asyncio
import threading
import warnings

from smt_query import RecordStoreView
from smt_query.asyncguard import in_event_loop
from smt_query.errors import QueryHint


def test_hint_from_the_worker_points_at_the_cell(demo_project):
    view = RecordStoreView(project=demo_project.path)
    seen = {}

    async def cell():
        assert in_event_loop()
        seen["thread"] = threading.current_thread()
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            line = cell.__code__.co_firstlineno + 6
            labels = view.filter.tags("no-such-tag-anywhere").labels()
        return labels, got, line

    labels, got, line = asyncio.run(cell())
    hints = [w for w in got if issubclass(w.category, QueryHint)]
    assert labels == [] and len(hints) == 1, [str(w.message) for w in got]
    assert "no-such-tag-anywhere" in str(hints[0].message)
    assert (hints[0].filename, hints[0].lineno) == (__file__, line)
    assert seen["thread"] is threading.main_thread()     # the call went to the worker
