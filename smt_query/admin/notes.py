"""Warnings about stored data, shown as messages on the admin page they concern.

The library names what it could not read in the store -- a parameter set that
cannot be parsed, a row of an unknown type -- with a
``smt_query.errors.StoredDataWarning`` and carries on; the CLI prints each
once on stderr. The admin shows each once as a message on the page being
served. ``warnings.catch_warnings`` swaps process-wide state and so cannot
tell the requests of a threaded server apart: instead one hook, installed
once, hands each such warning to the page of the current thread (a context
variable), and passes every other warning on unchanged.
"""
import contextlib
import contextvars
import threading
import warnings

_page = contextvars.ContextVar("smt_admin_page_notes", default=None)
_lock = threading.Lock()


@contextlib.contextmanager
def page_notes(request):
    """Show the warnings about stored data raised inside the block as
    messages on ``request``'s page (each text once). Enter it before the
    page is rendered: messages added while rendering would show on the next
    page only."""
    from ..errors import StoredDataWarning
    _install(StoredDataWarning)
    notes = []
    token = _page.set(notes)
    try:
        yield
    finally:
        _page.reset(token)
        from django.contrib import messages
        for text in dict.fromkeys(notes):
            messages.warning(request, text)


def _install(category):
    """Route ``category`` warnings to the current page, if any (idempotent;
    again if something, such as a test runner, replaced the hook)."""
    item = ("always", None, category, None, 0)
    with _lock:
        if not warnings.filters or warnings.filters[0] != item:
            # every occurrence (not once per code location), never an error
            warnings.filterwarnings("always", category=category)
        if getattr(warnings.showwarning, "smt_admin_notes", False):
            return
        previous = warnings.showwarning

        def show(message, cat, filename, lineno, file=None, line=None):
            notes = _page.get()
            if notes is not None and issubclass(cat, category):
                notes.append(" ".join(str(message).split()))
            else:
                previous(message, cat, filename, lineno, file, line)
        show.smt_admin_notes = True
        warnings.showwarning = show
