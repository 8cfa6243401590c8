"""Calling Django from a thread that runs an asyncio event loop (Jupyter, IPython).

A Jupyter kernel (ipykernel 6 and later) runs each cell in a thread where an
asyncio event loop is running; so does IPython for a cell with a top-level
``await``, and ``%run`` inside a kernel. Django refuses every database call in
such a thread (``SynchronousOnlyOperation: You cannot call this from an async
context``), rightly so for real async code, where a blocking call stalls the loop.

Our public calls therefore enter Django through :func:`sync_entry`: in a thread
with a running event loop, the call runs in one dedicated, long-lived worker
thread and the caller waits for it (as a synchronous call does anyway); anywhere
else it runs directly, so plain Python, the ``smt`` commands, the admin's
server threads and the test suite see no difference. Django's guard stays on for
everything else (``DJANGO_ALLOW_ASYNC_UNSAFE`` is never set).

* One thread, not a pool: Django keeps database connections per thread, so
  every call finds the connections (and transactions) of the previous ones.
* Re-entrant: a call made from the worker thread (a public method calling
  another) runs directly; it never waits for itself.
* Exceptions propagate with the worker's traceback; results that would read
  the database later (generators, querysets) are evaluated in the worker.
* Thread-safe: calls from several threads queue for the worker. After
  ``os.fork`` the child starts its own worker.
* Interrupting (Ctrl-C, the kernel's stop button) returns at once; the worker
  finishes the database call it is in, and the next call waits for that.

This is what asgiref's ``sync_to_async(thread_sensitive=True)`` does for async
code (one shared thread for all synchronous Django work), but that has to be
awaited and so cannot serve a plain synchronous call in a notebook cell, and
``async_to_sync`` refuses to run in a thread with a running loop.
"""
import functools
import inspect
import os
import queue
import sys
import threading
import types

__all__ = ["sync_entry", "sync_entry_class", "run_sync", "in_event_loop"]

#: Special methods that a class guard wraps besides the public names.
SPECIAL = ("__init__", "__iter__", "__len__", "__getitem__", "__contains__",
           "__repr__", "__str__", "_repr_html_", "__setstate__")

_lock = threading.Lock()
_worker = None          # the running _Worker, started on first need


class _Call:
    __slots__ = ("fn", "args", "kwargs", "done", "result", "error", "warnings")

    def __init__(self, fn, args, kwargs):
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.done = threading.Event()
        self.result = self.error = None
        self.warnings = []

    def run(self):
        import warnings
        try:   # warnings go to the caller's thread, pointing at its code (_reissue)
            with warnings.catch_warnings(record=True) as self.warnings:
                warnings.simplefilter("always")
                self.result = _evaluated(self.fn(*self.args, **self.kwargs))
        except BaseException as err:      # noqa: B902 -- handed to the caller as is
            self.error = err
        finally:
            self.fn = self.args = self.kwargs = None
            self.done.set()


class _Worker:
    """The dedicated thread; runs queued :class:`_Call` objects one at a time."""

    def __init__(self):
        self.calls = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name="smt_query-django", daemon=True)
        self.thread.start()

    def _loop(self):
        while True:
            self.calls.get().run()


def _get_worker():
    global _worker
    with _lock:
        if _worker is None:
            _worker = _Worker()
        return _worker


def _forget_worker():
    """In a forked child the worker thread does not exist: start a new one on need."""
    global _worker, _lock
    _worker, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def in_event_loop():
    """True if an asyncio event loop runs in the calling thread (as in a Jupyter cell)."""
    asyncio = sys.modules.get("asyncio")     # no loop runs before asyncio is imported
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _on_worker():
    worker = _worker
    return worker is not None and threading.current_thread() is worker.thread


def run_sync(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, in the worker thread if an event loop runs here.

    For your own Django code in a notebook, e.g.
    ``run_sync(lambda: store.queryset("demo").filter(...).count())``.
    """
    if _on_worker() or not in_event_loop():
        return fn(*args, **kwargs)
    call = _Call(fn, args, kwargs)
    _get_worker().calls.put(call)
    call.done.wait()
    _reissue(call.warnings)
    if call.error is not None:
        error, call.error = call.error, None
        raise error
    return call.result


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _reissue(caught):
    """Warn ``caught`` (raised in the worker) again here, each pointing at the
    first frame outside smt_query: the user's line, as without the worker."""
    if not caught:
        return
    import warnings
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=level)


def _evaluated(result):
    """``result`` with nothing left to read from the database later."""
    if isinstance(result, types.GeneratorType):
        return iter(list(result))
    query = sys.modules.get("django.db.models.query")
    if query is not None and isinstance(result, (query.QuerySet, query.RawQuerySet)):
        result._fetch_all()       # fills the result cache: iterating it reads no more
    return result


def sync_entry(fn):
    """Decorator: run ``fn`` through :func:`run_sync` (see the module docstring)."""
    if inspect.iscoroutinefunction(fn) or getattr(fn, "__wrapped_sync_entry__", False):
        return fn

    @functools.wraps(fn)
    def entry(*args, **kwargs):
        return run_sync(fn, *args, **kwargs)
    entry.__wrapped_sync_entry__ = True
    return entry


def sync_entry_class(cls):
    """Class decorator: guard every public method and property of ``cls`` --
    inherited ones too -- and the special methods in :data:`SPECIAL` with
    :func:`sync_entry`. Static and class methods are guarded alike."""
    for name in dir(cls):
        if name.startswith("_") and name not in SPECIAL:
            continue
        for owner in cls.__mro__:
            if name in owner.__dict__:
                attr = owner.__dict__[name]
                break
        else:
            continue
        if owner is object:
            continue
        guarded = _guard_attribute(attr)
        if guarded is not None:
            setattr(cls, name, guarded)
    return cls


def _guard_attribute(attr):
    if isinstance(attr, property):
        return property(sync_entry(attr.fget) if attr.fget else None,
                        sync_entry(attr.fset) if attr.fset else None,
                        sync_entry(attr.fdel) if attr.fdel else None, attr.__doc__)
    if isinstance(attr, staticmethod):
        return staticmethod(sync_entry(attr.__func__))
    if isinstance(attr, classmethod):
        return classmethod(sync_entry(attr.__func__))
    if inspect.isfunction(attr):
        return sync_entry(attr)
    return None
