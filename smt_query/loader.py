"""Building Sumatra ``Record`` objects from stored rows, in bulk, without side effects.

:class:`Loader` reads a queryset of records and their related rows in a fixed
number of queries and builds the objects ``Record.to_sumatra()`` would build.

Stored rows are data from whoever can write the store, so nothing a row holds
is run, called, opened or created. ``to_sumatra()`` does all four: Sumatra's
``Executable()`` runs ``"<path> --version"`` through a shell when the stored
version is empty, the stored launch-mode type is looked up in
``sumatra.launch`` and called whatever it names, file-system data stores
create their root directory, repositories open the repository, and JSON,
YAML and ConfigParser parameter sets open ``content`` as a file when one
exists at that path. Here every object is built the way unpickling builds
it, ``object.__new__`` plus the stored state, and only for the types of a
whitelist (Sumatra's executables, launch modes, file-system data stores,
repositories, dependency kinds and parameter sets). A row of another type
loads as a :class:`StoredComponent` holding its stored values, with an
:class:`~smt_query.errors.UnknownStoredType` warning; parameters that cannot
be read (see :mod:`smt_query.params` for the bounds) load as a
:class:`~smt_query.params.UnreadableText`. Loading never stops at a bad row.
"""
import ast
import copy
import json
import os
import warnings

from .errors import UnknownStoredType, shown


class StoredComponent:
    """A stored row of a type smt-query does not build: a plain value.

    ``kind`` says what it stands for (``"launch mode"``, ``"data store"``,
    ``"repository"``, ``"dependency"``), ``type_name`` is the stored type,
    and the stored values are ``values`` (also readable as attributes, e.g.
    ``.url``; ``__getstate__()`` returns them, as Sumatra's components do).
    """

    def __init__(self, kind, type_name, values):
        self.kind, self.type_name, self.values = kind, type_name, dict(values)

    def __getattr__(self, name):
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __getstate__(self):
        return dict(self.values)

    def __reduce__(self):
        return type(self), (self.kind, self.type_name, self.values)

    def copy(self):
        return type(self)(self.kind, self.type_name, self.values)

    def __eq__(self, other):
        return (type(other) is type(self) and other.kind == self.kind
                and other.type_name == self.type_name and other.values == self.values)

    __hash__ = None

    def __str__(self):
        return f"{shown(self.type_name)} (unknown {self.kind})"

    def __repr__(self):
        return f"<StoredComponent {self.kind} {self.type_name!r} {self.values!r}>"


def _unknown(kind, type_name, values, why="is not one smt-query builds"):
    """A :class:`StoredComponent`, announced by an ``UnknownStoredType`` warning."""
    warnings.warn(UnknownStoredType(
        f"the record store holds a {kind} of type '{shown(type_name)}' that {why}: "
        "read as its stored values"))
    return StoredComponent(kind, type_name, values)


def _stored_values(text):
    """Stored parameters as a dict for a :class:`StoredComponent`."""
    values = _literal(text)
    return values if isinstance(values, dict) else {"parameters": text}


def _new(cls, **state):
    """An instance of ``cls`` with ``state``, its constructor not called."""
    obj = object.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _copy(obj):
    """A copy of a data store, built as :func:`_new` builds (Sumatra's
    ``DataStore.copy()`` calls the constructor, which creates the root)."""
    if isinstance(obj, StoredComponent):
        return obj.copy()
    return _new(type(obj), **{k: (dict(v) if isinstance(v, dict) else v)
                              for k, v in vars(obj).items()})


def _literal(text):
    """A Python literal (how Sumatra stores launch mode and data store
    parameters), read without eval; None if it is not one."""
    try:
        return ast.literal_eval(text) if isinstance(text, str) and len(text) < 100_000 else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _arguments(text, allowed):
    """The stored keyword arguments ``text`` if it is a dict of some of
    ``allowed`` (a dict of their defaults), completed by those defaults; else None."""
    values = _literal(text)
    if not isinstance(values, dict) or not set(values) <= set(allowed):
        return None
    return {**{k: (list(v) if isinstance(v, list) else v) for k, v in allowed.items()}, **values}


# -- the whitelist ------------------------------------------------------------------

def _executable(row):
    """``Executable(path, version, options)`` as ``to_sumatra()`` calls it, with
    the stored path and version taken as they are (Sumatra would search
    ``PATH`` for a path that does not exist and run ``<path> --version`` for
    an empty version)."""
    from sumatra import programs
    from sumatra.core import get_registered_components
    cls = get_registered_components(programs.Executable).get(row.name, programs.Executable)
    return _new(cls, path=row.path, name=row.name, version=row.version, options=row.options)


#: Sumatra's launch modes: constructor arguments with their defaults, and the
#: state the constructor adds. (``mpirun`` is kept as stored: Sumatra's
#: constructor would search for it and run ``<mpirun> --version``.)
_SERIAL = {"working_directory": None, "options": None}
LAUNCH_MODES = {
    "SerialLaunchMode": (_SERIAL, {}),
    "SerialTqdmLaunchMode": (_SERIAL, {}),
    "DistributedLaunchMode": ({"n": 1, "mpirun": "mpiexec", "hosts": [], "options": None,
                               "pfi_path": "/usr/local/bin/pfi.py", "working_directory": None},
                              {"mpi_info": {}}),
    "SlurmMPILaunchMode": ({"n": 1, "mpirun": "mpiexec", "working_directory": None,
                            "options": None}, {}),
}


def _launch_mode(row):
    from sumatra import launch
    known = LAUNCH_MODES.get(row.type)
    if known is None:
        return _unknown("launch mode", row.type, _stored_values(row.parameters),
                        "is not one of Sumatra's launch modes")
    state = _arguments(row.parameters, known[0])
    if state is None:
        return _unknown("launch mode", row.type, _stored_values(row.parameters),
                        "has parameters its constructor does not take")
    wd = state["working_directory"]   # as LaunchMode.__init__ sets it
    state["working_directory"] = os.path.expanduser(wd) if wd else os.getcwd()
    return _new(getattr(launch, row.type), **state, **copy.deepcopy(known[1]))


#: Sumatra's file-system data stores: constructor arguments -> attributes.
DATA_STORES = {
    "FileSystemDataStore": {"root": None},
    "ArchivingFileSystemDataStore": {"root": None, "archive": ".smt/archive"},
    "MirroredFileSystemDataStore": {"root": None, "mirror_base_url": None},
}
_DATA_STORE_ATTRIBUTES = {"archive": "archive_store"}


def _datastore(row):
    """The data store, without creating its root directory (Sumatra's
    ``FileSystemDataStore`` creates it when the root is set)."""
    from sumatra import datastore
    known = DATA_STORES.get(row.type)
    if known is None:
        return _unknown("data store", row.type, _stored_values(row.parameters),
                        "is not one of Sumatra's file-system data stores")
    state = _arguments(row.parameters, known)
    if state is None or None in state.values() and row.type == "MirroredFileSystemDataStore":
        return _unknown("data store", row.type, _stored_values(row.parameters),
                        "has parameters its constructor does not take")
    root = state.pop("root")
    state = {_DATA_STORE_ATTRIBUTES.get(k, k): v for k, v in state.items()}
    return _new(getattr(datastore, row.type),   # FileSystemDataStore.__init__, root setter
                _root=os.path.abspath(os.path.expanduser(root) if root else "./Data"), **state)


def _repository_handles():
    """Sumatra's repository classes (those whose version control module
    loaded), each with the state its constructor gives besides ``url`` and
    ``upstream`` -- nothing opened (Git and Bazaar open the repository when
    first asked; Sumatra's constructors ask at once, for the upstream)."""
    from sumatra import versioncontrol
    handles = {
        "GitRepository": lambda url: {"_GitRepository__repository": None},
        "BazaarRepository": lambda url: {"_BazaarRepository__repository": None},
        # hgapi.Repo only keeps the path; pysvn.Client reads nothing from the row
        "MercurialRepository": lambda url: {"_repository": __import__("hgapi").Repo(
            url[7:] if url.startswith("file://") else url)},
        "SubversionRepository": lambda url: {"_client": __import__("pysvn").Client()},
    }
    out = {}
    for module in versioncontrol.vcs_list:
        for name, handle in handles.items():
            if isinstance(getattr(module, name, None), type):
                out[name] = getattr(module, name), handle
    return out


def _repository(row):
    known = _repository_handles().get(row.type)
    if known is None or not isinstance(row.url, str):
        return _unknown("repository", row.type, {"url": row.url, "upstream": row.upstream},
                        "is not one of Sumatra's (loaded) repository types")
    cls, handle = known
    # Sumatra's constructor: the stored upstream, or else the origin the repository
    # names -- read from the repository, which is not opened here
    return _new(cls, url=row.url, upstream=row.upstream or None, **handle(row.url))


DEPENDENCY_MODULES = ("python", "neuron", "genesis", "matlab", "r")


def _dependency(row):
    """The dependency; its constructors only store (and normalise) their arguments."""
    from sumatra import dependency_finder
    values = {"name": row.name, "path": row.path, "version": row.version, "diff": row.diff,
              "source": row.source, "module": row.module}
    if row.module not in DEPENDENCY_MODULES:
        return _unknown("dependency", row.module, values,
                        "is not one of Sumatra's dependency kinds")
    return getattr(dependency_finder, row.module).Dependency(
        row.name, row.path, row.version, row.diff, row.source)


def _platform(row):
    from sumatra import launch
    return launch.PlatformInformation(**{f: getattr(row, f) for f in row.field_names()})


def _datakey(row, label):
    from sumatra import datastore
    try:
        metadata = json.loads(row.metadata)
    except (ValueError, RecursionError):
        metadata = _literal(row.metadata)  # records of old Sumatra versions
    if not (isinstance(metadata, dict) and all(isinstance(k, str) for k in metadata)):
        warnings.warn(UnknownStoredType(
            f"record {shown(label)}: data key '{shown(row.path)}' has unreadable metadata "
            "(left empty)"))
        metadata = {}
    return datastore.DataKey(row.path, row.digest, row.creation, **metadata)


def _parameter_set(row, label):
    """The Sumatra parameter set of a row, built from its stored text only.

    Sumatra's classes would open ``content`` as a file if one exists at that
    path (JSON, YAML, ConfigParser) and ``eval`` it (NT, simple sets); here
    it is parsed by :func:`smt_query.params.parse_parameters` (bounded, no
    eval) and the object gets the parsed values. Text that cannot be read
    gives a :class:`~smt_query.params.UnreadableText`.
    """
    from sumatra import parameters
    from .params import ParameterParseError, UnreadableText, parse_parameters
    if row.type not in PARAMETER_SETS:
        if row.content in ("None", "{}"):   # how Sumatra stores None and {}
            return {"None": None, "{}": {}}[row.content]
        if row.type != "dict":     # a dict's str() is what Sumatra stores for a dict
            warnings.warn(UnknownStoredType(
                f"the record store holds a parameter set of type '{shown(row.type)}' that "
                "is not one of Sumatra's: read as its stored text"))
        return UnreadableText(row.content, row.type, f"'{shown(row.type)}' is not a "
                              "parameter set type Sumatra reads", label)
    try:
        values = parse_parameters(row.type, row.content)
        if values is None:
            return None
        cls = getattr(parameters, row.type)
        if row.type in ("JSONParameterSet", "YAMLParameterSet"):
            return _new(cls, _values=values)
        if row.type == "ConfigParserParameterSet":
            from configparser import ConfigParser
            ps = object.__new__(cls)
            ConfigParser.__init__(ps)
            ps.read_string(row.content)   # what was parsed and bounded above
            return ps
        ps = cls(values)   # NT and simple sets: their constructors store a dict
        if row.type == "SimpleParameterSet":
            ps.comments = _simple_comments(row.content)
        return ps
    except ParameterParseError as err:
        return UnreadableText(row.content, row.type, str(err), label)
    except Exception as err:   # e.g. a key NTParameterSet refuses ('names')
        return UnreadableText(row.content, row.type,
                              f"cannot build {row.type}: {err}", label)


def _simple_comments(content):
    """The ``comments`` SimpleParameterSet keeps: ``name = value #comment``."""
    comments = {}
    for line in content.split("\n"):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line and "#" in line:
            comments[line.split("=")[0].strip()] = "#".join(line.split("#")[1:])
    return comments


PARAMETER_SETS = ("JSONParameterSet", "YAMLParameterSet", "NTParameterSet",
                  "SimpleParameterSet", "ConfigParserParameterSet")


def _record(**fields):
    """A ``Record`` with the attributes its constructor sets, the constructor
    not called (it copies the data store, creating its root, and refuses
    labels it finds invalid)."""
    from sumatra import records
    state = {"on_changed": "error", "repeats": None, "dependencies": [], "platforms": [],
             "output_data": [], "outcome": "", "duration": None}
    state.update(fields)
    return _new(records.Record, **state)


class Loader:
    """Builds Sumatra records from a queryset in a fixed number of queries."""

    RELATED = ("executable", "repository", "launch_mode", "datastore",
               "input_datastore", "parameters")

    def __init__(self, store, qs):
        self.store, self.qs = store, qs
        self.models = store.models
        self._cache = {}

    def _once(self, kind, key, build):
        """Build each distinct related object once per load."""
        try:
            return self._cache[kind, key]
        except KeyError:
            obj = self._cache[kind, key] = build()
            return obj

    def _group(self, rows, attr):
        out = {}
        for row in rows:
            out.setdefault(getattr(row, attr), []).append(row)
        return out

    def records(self):
        models = self.models
        rows = list(self.qs.select_related(*self.RELATED))
        if not rows:
            return []
        ids = self.store._id_source(self.qs, [row.db_id for row in rows])
        tags = self.store.tags_of(ids)
        outputs = self._group(models.DataKey.objects.using(self.store.db_alias)
                              .filter(output_from_record__in=ids).order_by("path", "pk"),
                              "output_from_record_id")
        inputs = self._through(ids, "input_data", "datakey")
        deps = self._through(ids, "dependencies", "dependency")
        platforms = self._through(ids, "platforms", "platforminformation")
        out = []
        for row in rows:
            label = row.label
            datastore = _copy(self._once("ds", row.datastore_id,   # each record its own,
                                         lambda: _datastore(row.datastore)))  # as Record()
            out.append(_record(
                executable=self._once("exe", row.executable_id,
                                      lambda: _executable(row.executable))
                if row.executable_id else None,
                repository=self._once("repo", row.repository_id,
                                      lambda: _repository(row.repository))
                if row.repository_id else None,
                main_file=row.main_file, version=row.version,
                launch_mode=self._once("launch", row.launch_mode_id,
                                       lambda: _launch_mode(row.launch_mode)),
                datastore=datastore,
                input_datastore=self._once("ds", row.input_datastore_id,
                                           lambda: _datastore(row.input_datastore)),
                parameters=_parameter_set(row.parameters, label),
                input_data=[_datakey(k, label) for k in inputs.get(row.db_id, ())],
                script_arguments=row.script_arguments, label=label, reason=row.reason,
                diff=row.diff, user=row.user, timestamp=row.timestamp,
                stdout_stderr=row.stdout_stderr, duration=row.duration, outcome=row.outcome,
                tags=set(tags.get(row.db_id, ())),
                output_data=[_datakey(k, label) for k in outputs.get(row.db_id, ())],
                dependencies=[self._once("dep", d.pk, lambda: _dependency(d))
                              for d in deps.get(row.db_id, ())],
                platforms=[self._once("pi", p.pk, lambda: _platform(p))
                           for p in platforms.get(row.db_id, ())],
                repeats=row.repeats))
        return out

    def _through(self, ids, field, target):
        """``{record id: [related objects]}`` for a many-to-many field of the
        records ``ids`` (a subquery)."""
        through = getattr(self.models.Record, field).through
        rows = (through.objects.using(self.store.db_alias)
                .filter(record_id__in=ids).select_related(target)
                .order_by(*_M2M_ORDER[target]))
        out = {}
        for row in rows:
            out.setdefault(row.record_id, []).append(getattr(row, target))
        return out


# The orders Sumatra's related managers return (the models' Meta.ordering).
_M2M_ORDER = {"datakey": ("datakey__path", "pk"), "dependency": ("dependency__name", "pk"),
              "platforminformation": ("pk",)}
