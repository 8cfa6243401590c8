"""The project and record store the admin shows (from ``SMT_QUERY_ADMIN``)."""
import os
import threading

from ..errors import QueryError
from ..recordstore import QueryDjangoRecordStore
from .routers import conf

_lock = threading.Lock()
_sources = {}


class Source:
    """One Sumatra project, its query store and the views over it."""

    def __init__(self, project, store):
        self.project = project
        self.store = store
        self.name = project.name

    def view(self):
        """A :class:`~smt_query.view.RecordStoreView` of every record of the project."""
        from ..view import RecordStoreView
        return RecordStoreView(project=self.project, progress=False)

    def queryset(self):
        """Sumatra ``Record`` rows of the project, newest first."""
        return self.store.queryset(self.name)


def get_source():
    """The :class:`Source` named by the settings (loaded once per process)."""
    settings = conf()
    path = settings.get("PROJECT")
    if not path:
        raise QueryError("SMT_QUERY_ADMIN['PROJECT'] is not set: name the Sumatra project "
                         "directory the admin should show")
    key = (os.path.abspath(path), settings.get("DATABASE"))
    with _lock:
        if key not in _sources:
            _sources[key] = _load(*key)
        return _sources[key]


def _load(path, alias):
    from sumatra.recordstore import DjangoRecordStore
    from ..view import RecordStoreView
    project = RecordStoreView(project=path).project   # also once Django runs
    store = project.record_store
    if not isinstance(store, DjangoRecordStore):
        raise QueryError(f"the admin needs a Django record store (SQLite or PostgreSQL); "
                         f"project {project.name!r} uses {store}")
    if alias is None:
        store = QueryDjangoRecordStore.from_store(store)
    else:   # the database your own Django settings name
        store = QueryDjangoRecordStore.for_alias(alias)
    store.models   # a missing or broken store is an error now, not on the first page
    project.record_store = store  # so views of the project use this very store
    return Source(project, store)
