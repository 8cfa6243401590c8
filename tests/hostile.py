"""Hostile and damaged record stores, written by hand with SQL, for tests.

Whoever can write a shared store can put anything in Sumatra's tables. The
functions here do that to a real project (``demo_project_rw`` or a
``make_project`` project of conftest.py, on SQLite or PostgreSQL): each
inserts rows straight into Sumatra's tables and points records at them, and
returns what a test needs to check that nothing ran, nothing was created and
nothing leaked. The ``plant_*`` functions pick records of 2020-11-10, a day of
the demo; :func:`plant_parameters`, :func:`new_row` and :func:`point` work on
any project. Fixtures wrapping them for ``demo_project_rw`` are at the end
(import them into a test module: ``from hostile import hostile_commands``).

* :func:`plant_commands` -- rows that make Sumatra's own loading run shell
  commands, call a class a row names and create directories, plus rows of
  unknown types;
* :func:`plant_secrets` -- parameter sets whose content is the path of a
  secret file (Sumatra's classes open it);
* :func:`plant_bomb` -- a YAML alias bomb (610 bytes, 10**10 strings) and a
  YAML merge-key bomb;
* :func:`plant_parameters` -- any parameter set on a record, e.g. one that
  cannot be read (:data:`UNREADABLE`).
"""
import collections
import os

import pytest

#: Parameter sets that cannot be read, by kind: (type, content).
UNREADABLE = {
    "yaml-list": ("YAMLParameterSet", "- a"),
    "json-malformed": ("JSONParameterSet", '{"nsteps": '),
    "nt-call": ("NTParameterSet", "{'nsteps': __import__('os').getpid()}"),
    "json-deep": ("JSONParameterSet", "[" * 100_000 + "]" * 100_000),   # past PostgreSQL's stack
}


def _bomb(levels=10, width=10):
    """The classic billion laughs: ``width ** levels`` strings from a few hundred bytes."""
    lines = ['l0: &l0 [' + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


#: A YAML alias bomb: 610 bytes naming 10**10 strings.
YAML_BOMB = _bomb()
#: A YAML merge-key bomb: each level merges the one below twice (2**40 key copies).
MERGE_BOMB = "m0: &m0 {k: v}\n" + "".join(
    f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: v}}\n" for i in range(1, 41))

Planted = collections.namedtuple("Planted", "labels markers texts names")
Planted.__doc__ = """What a plant_* function put in a store: ``labels`` of the records
changed, ``markers`` (paths that must not exist afterwards), ``texts`` (strings that
must appear in no output), ``names`` (stored type names a warning must name)."""


def run_sql(project, sql, params=()):
    """Run one statement on the project's store in a connection of its own
    (``%s`` placeholders on both backends); return the rows it gives, if any."""
    uri = project.store_uri
    if uri.startswith(("postgres://", "postgresql://")):
        import psycopg2
        conn = psycopg2.connect(uri)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()
    import sqlite3
    conn = sqlite3.connect(uri)
    try:
        with conn:
            cur = conn.execute(sql.replace("%s", "?"), params)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def new_row(project, table, **values):
    """Insert a row into Sumatra's table ``django_store_<table>``; return its id."""
    columns = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    [(row_id,)] = run_sql(project, f"INSERT INTO django_store_{table} ({columns}) "
                                   f"VALUES ({marks}) RETURNING id", tuple(values.values()))
    return row_id


def point(project, label, column, row_id):
    """Make the record ``label`` use row ``row_id`` for its foreign key ``column``."""
    run_sql(project, f"UPDATE django_store_record SET {column}_id = %s WHERE label = %s",
            (row_id, label))


def plant_parameters(project, label, type_name, content):
    """Give the record ``label`` a new parameter set row (``type``, ``content``)."""
    point(project, label, "parameters",
          new_row(project, "parameterset", type=type_name, content=content))


def labels_on(project, day):
    """The labels of the project's records on ``day`` (e.g. 20201110), newest first."""
    from smt_query import RecordStoreView
    return RecordStoreView(project=project.path).filter.on(day).labels()


def plant_commands(project, where):
    """Rows Sumatra's loading runs, calls or creates, on two records of 2020-11-10.

    * an executable whose path is a shell command and whose version is empty
      (``Executable()`` runs ``"<path> --version"`` through a shell);
    * a launch mode of type ``Executable`` (looked up in ``sumatra.launch``
      and called: it runs its ``path``);
    * a data store and an input data store whose roots do not exist
      (``FileSystemDataStore`` creates them);
    * a repository and a dependency of unknown types (Sumatra raises on them);
    * an honest YAML parameter set on a third record, so a ``where`` on
      parameters falls back to Python over full records.

    ``where`` is a directory for the markers the commands would create.
    """
    os.makedirs(where, exist_ok=True)
    first, second, third = labels_on(project, 20201110)[:3]
    ran_exe, ran_launch = os.path.join(where, "ran-executable"), os.path.join(where, "ran-launch")
    made_root = os.path.join(where, "made-by-datastore", "Data")
    made_input = os.path.join(where, "made-by-input-datastore")
    point(project, first, "executable", new_row(
        project, "executable", path=f"touch {ran_exe}; true", name="Python", version="",
        options=""))
    point(project, second, "launch_mode", new_row(
        project, "launchmode", type="Executable",
        parameters=repr({"path": f"touch {ran_launch}; true"})))
    point(project, first, "datastore", new_row(
        project, "datastore", type="FileSystemDataStore", parameters=repr({"root": made_root})))
    point(project, first, "input_datastore", new_row(
        project, "datastore", type="ArchivingFileSystemDataStore",
        parameters=repr({"root": made_input})))
    point(project, second, "repository", new_row(
        project, "repository", type="EvilRepository", url="file:///", upstream=None))
    dep = new_row(project, "dependency", name="evil", path="/", version="1", diff="",
                  source=None, module="core")
    [(record_id,)] = run_sql(project, "SELECT db_id FROM django_store_record WHERE label = %s",
                             (first,))
    run_sql(project, "INSERT INTO django_store_record_dependencies (record_id, dependency_id) "
                     "VALUES (%s, %s)", (record_id, dep))
    plant_parameters(project, third, "YAMLParameterSet", "nsteps: 25000\n")
    return Planted((first, second), (ran_exe, ran_launch, made_root, made_input),
                   (), ("Executable", "EvilRepository", "core"))


def plant_secrets(project, where):
    """Parameter sets whose content is the path of a secret file, of each
    type whose Sumatra class opens such a path (JSON, YAML, ConfigParser,
    simple, NT), on the records of 2020-11-10."""
    os.makedirs(where, exist_ok=True)
    files = {
        "JSONParameterSet": ("secret.json", '{"token": "%s"}'),
        "YAMLParameterSet": ("secret.yaml", "token: %s\n"),
        "ConfigParserParameterSet": ("secret.cfg", "[aws]\ntoken = %s\n"),
        "SimpleParameterSet": ("secret.param", 'token = "%s"\n'),
        "NTParameterSet": ("secret.nt", "{'token': '%s'}"),
    }
    labels = labels_on(project, 20201110)
    assert len(labels) >= len(files) + 1
    texts = []
    for label, (type_name, (name, template)) in zip(labels, files.items()):
        secret = f"SECRET-{type_name}-c0ffee"
        path = os.path.join(where, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(template % secret)
        plant_parameters(project, label, type_name, path)
        texts.append(secret)
    return Planted(tuple(labels[:len(files)]), (), tuple(texts), ())


def plant_bomb(project):
    """The alias bomb and the merge-key bomb on two records of 2020-11-10."""
    first, second = labels_on(project, 20201110)[:2]
    plant_parameters(project, first, "YAMLParameterSet", YAML_BOMB)
    plant_parameters(project, second, "YAMLParameterSet", MERGE_BOMB)
    return Planted((first, second), (), (), ())


@pytest.fixture
def hostile_commands(demo_project_rw, tmp_path):
    """``(project, Planted)``: the demo with :func:`plant_commands` rows."""
    return demo_project_rw, plant_commands(demo_project_rw, str(tmp_path / "markers"))


@pytest.fixture
def hostile_secrets(demo_project_rw, tmp_path):
    """``(project, Planted)``: the demo with :func:`plant_secrets` rows."""
    return demo_project_rw, plant_secrets(demo_project_rw, str(tmp_path / "secrets"))


@pytest.fixture
def hostile_bomb(demo_project_rw):
    """``(project, Planted)``: the demo with :func:`plant_bomb` rows."""
    return demo_project_rw, plant_bomb(demo_project_rw)
