"""Start-up hook that plugs commands into Sumatra's ``smt``.

``smt_query.pth`` (installed into site-packages) calls :func:`install` at
interpreter start-up. That only puts a small finder on ``sys.meta_path``; the
work happens when ``sumatra.commands`` is imported:

* every command declared under the ``sumatra.commands`` entry-point group
  (``name = module:function``, by this or any other package) becomes an
  attribute of ``sumatra.commands`` and is appended to its ``modes``, so
  ``smt <name>`` dispatches to it and ``smt help`` lists it;
* when the running program *is* ``smt`` and its first argument names such a
  command, the command runs at once, before ``sumatra.commands`` (which
  imports Django, NumPy and most of Sumatra) is loaded. ``smt query --help``
  therefore costs milliseconds;
* when ``smt`` runs with ``_SMT_COMPLETE`` set, it answers click's shell
  completion protocol (``eval "$(_SMT_COMPLETE=bash_source smt)"``; also
  ``zsh_source``/``fish_source``): Sumatra's command names, and the options
  and values of the declared click commands (``smt query`` and ``smt
  compare`` from their table, :mod:`smt_query.cli.lightcommands`).

A declared command is either a :class:`click.Command` or a function taking
the argument list, like Sumatra's own commands. Sumatra's own command names
are never replaced.
"""
import os
import sys

GROUP = "sumatra.commands"
TARGET = "sumatra.commands"
_state = {"dispatching": False}


def declared_commands():
    """Return ``{name: "module:attr"}`` for every declared ``smt`` command."""
    from importlib.metadata import entry_points
    return {ep.name: ep.value for ep in entry_points(group=GROUP)}


def load_command(name, target):
    """Return a function ``f(argv)`` running the command ``target``."""
    def command(argv):
        import importlib
        module, _, attr = target.partition(":")
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        main = getattr(obj, "main", None)
        if main is not None and hasattr(obj, "params"):   # a click command
            return main(args=list(argv), prog_name=f"smt {name}")
        return obj(list(argv))
    command.__name__ = name
    command.__doc__ = f"{name} (from {target})"
    return command


def register(commands):
    """Add the declared commands to the module ``sumatra.commands``."""
    for name, target in declared_commands().items():
        if hasattr(commands, name):
            continue  # never shadow Sumatra's own commands
        setattr(commands, name, load_command(name, target))
        commands.modes = tuple(commands.modes) + (name,)


def _is_smt(program):
    return os.path.basename(program) in ("smt", "smt.exe", "smt-script.py")


def _running_smt():
    return len(sys.argv) > 1 and not _state["dispatching"] and _is_smt(sys.argv[0])


#: Completion from the commands' table (``module:attr``, loaded by name as the
#: commands are): ``f(instruction)``, None when the table does not answer.
LIGHT_COMPLETION = "smt_query.cli.lightcommands:complete"


def _complete():
    """Answer click's completion protocol for ``smt``; return the exit code.

    Once ``smt query`` or ``smt compare`` is typed, the command comes from its
    table (:mod:`smt_query.cli.lightcommands`): neither the entry points nor
    the filter registry are read.
    """
    import importlib
    instruction = os.environ["_SMT_COMPLETE"]
    module, _, attr = LIGHT_COMPLETION.partition(":")
    code = getattr(importlib.import_module(module), attr)(instruction)
    return _complete_all(instruction) if code is None else code


def _complete_all(instruction):
    """Completion from every command, Sumatra's and the declared ones."""
    import click
    from click.shell_completion import shell_complete

    group = click.Group("smt")
    for name in sorted(_SUMATRA_COMMANDS):
        group.add_command(click.Command(name, help=f"Sumatra's {name} command.",
                                        context_settings={"ignore_unknown_options": True}))
    for name, target in declared_commands().items():
        if name not in _SUMATRA_COMMANDS:
            module, _, attr = target.partition(":")
            import importlib
            obj = getattr(importlib.import_module(module), attr)
            if isinstance(obj, click.Command):
                group.add_command(obj, name)
    return shell_complete(group, {}, "smt", "_SMT_COMPLETE", instruction)


def _early_command():
    """``f(argv)`` for ``smt <our command>``, or None for Sumatra's own."""
    commands = declared_commands()
    name = sys.argv[1]
    if name not in commands or name in _SUMATRA_COMMANDS:
        return None
    return load_command(name, commands[name])


class _RunInstead:
    """Loader that runs an action instead of executing ``sumatra.commands``.

    It acts in ``exec_module``, outside the global import lock that Python
    holds while finders search, so threads started by the action (a web
    server's, say) can still import modules.
    """

    def __init__(self, action):
        self.action = action

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        _state["dispatching"] = True
        code = self.action()
        sys.exit(code if isinstance(code, int) else 0)


# Sumatra 0.8's own commands (``sumatra.commands.modes``); a declared command
# of the same name is ignored, so the fast path must not take it either.
_SUMATRA_COMMANDS = frozenset((
    "init", "configure", "info", "run", "list", "delete", "comment", "tag",
    "repeat", "diff", "help", "export", "upgrade", "sync", "migrate",
    "version", "view"))


class ThenCall:
    """Wraps a module's real loader: once the module has run, ``then(module)``
    (see :class:`WatchImport`)."""

    def __init__(self, loader, then):
        self._loader, self._then = loader, then

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._then(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class WatchImport:
    """Meta-path finder that only reacts to the module ``name``: once it has
    run, ``then(module)`` (:class:`ThenCall`). ``instead(name)``, if given,
    may return a spec to load in its place (None: the module itself). Used
    here for ``sumatra.commands`` and by ``smt_query.storesetup``."""

    def __init__(self, name, then, instead=None):
        self.name, self.then, self.instead = name, then, instead

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        spec = self.instead(fullname) if self.instead is not None else None
        if spec is not None:
            return spec
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = ThenCall(spec.loader, self.then)
        return spec

    def invalidate_caches(self):
        pass


def _instead(fullname):
    """What runs in place of ``sumatra.commands``: ``smt``'s shell completion,
    or a declared command when ``smt`` runs one (else None)."""
    from importlib.machinery import ModuleSpec
    if os.environ.get("_SMT_COMPLETE") and _is_smt(sys.argv[0]):
        return ModuleSpec(fullname, _RunInstead(_complete))
    command = _early_command() if _running_smt() else None
    if command is not None:
        return ModuleSpec(fullname, _RunInstead(lambda: command(sys.argv[2:])))
    return None


def install():
    """Put the finder on ``sys.meta_path`` (idempotent, import-free)."""
    if not any(isinstance(f, WatchImport) and f.name == TARGET for f in sys.meta_path):
        sys.meta_path.insert(0, WatchImport(TARGET, register, _instead))
    if TARGET in sys.modules:
        register(sys.modules[TARGET])
