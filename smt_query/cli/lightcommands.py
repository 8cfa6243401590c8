"""``smt query`` and ``smt compare`` as data, for shell completion.

A TAB runs a fresh ``smt``; importing the real commands would import the
filter registry (:mod:`smt_query.filters`, the ``--where`` language, the
row and table formatting) only to learn the commands' options. So the
options are kept here as data, :data:`COMMANDS` in the generated module
:mod:`smt_query.cli.commands_table`: :func:`describe` reads them from the
real click commands (whose filter options come from the registry), and
:func:`build` makes a click command from them that completes exactly as the
real one does (names, help, choices, the store's values) and runs nothing.
``tests/test_complete.py`` checks that the table equals the commands;
after changing an option, regenerate it::

    python -m smt_query.cli.lightcommands
"""
import os

import click

from .complete import complete_with

#: The commands kept as data: name and the real command (``module:attr``).
TARGETS = {"query": "smt_query.cli.query:query", "compare": "smt_query.cli.compare:compare"}
TABLE_FILE = os.path.join(os.path.dirname(__file__), "commands_table.py")


def _type(param):
    """What completion needs of a parameter's type."""
    t = param.type
    if isinstance(t, click.Choice):
        return ["choice", list(t.choices), t.case_sensitive]
    if isinstance(t, click.Path):
        return ["path", t.file_okay, t.dir_okay]
    if isinstance(t, click.File):
        return ["file"]
    if type(t).shell_complete is not click.ParamType.shell_complete:
        raise TypeError(f"{param.name}: cannot keep a {type(t).__name__} as data")
    return ["bool"] if isinstance(t, click.types.BoolParamType) else ["text"]


def _param(p):
    custom = p._custom_shell_complete
    kind = getattr(custom, "kind", None)
    if custom is not None and kind is None:
        raise TypeError(f"{p.name}: its completion is not complete_with(KIND)")
    d = {"name": p.name, "opts": list(p.opts), "secondary_opts": list(p.secondary_opts),
         "nargs": p.nargs, "multiple": p.multiple, "metavar": p.metavar,
         "type": _type(p), "complete": kind}
    if isinstance(p, click.Option):
        d.update(option=True, is_flag=p.is_flag, count=p.count, hidden=p.hidden, help=p.help)
    else:
        d.update(option=False)
    return d


def describe(command):
    """The click ``command`` as data: what completion reads of it once its
    name is typed (not its help)."""
    return {"add_help_option": command.add_help_option,
            "context_settings": {k: v for k, v in command.context_settings.items()
                                 if k != "max_content_width"},
            "params": [_param(p) for p in command.params]}


def _build_param(d):
    kwargs = {"nargs": d["nargs"], "multiple": d["multiple"], "metavar": d["metavar"]}
    kind, *args = d["type"]
    kwargs["type"] = {"choice": lambda: click.Choice(args[0], case_sensitive=args[1]),
                      "path": lambda: click.Path(file_okay=args[0], dir_okay=args[1]),
                      "file": lambda: click.File(),
                      "bool": lambda: click.BOOL, "text": lambda: click.STRING}[kind]()
    if d["complete"]:
        kwargs["shell_complete"] = complete_with(d["complete"])
    decls = d["opts"] + [d["name"]]
    if not d["option"]:
        del kwargs["multiple"]
        return click.Argument([d["name"]], **kwargs)
    if d["secondary_opts"]:     # --fold/--no-fold
        decls = ["/".join(d["opts"]) + "/" + "/".join(d["secondary_opts"]), d["name"]]
    if d["is_flag"]:
        kwargs.pop("nargs")
        if kind == "bool":
            kwargs.pop("type")
    return click.Option(decls, is_flag=d["is_flag"], count=d["count"],
                        hidden=d["hidden"], help=d["help"], **kwargs)


def build(name, table=None):
    """A click command completing as ``smt <name>`` does, from the table."""
    if table is None:
        from .commands_table import COMMANDS as table
    d = table[name]
    return click.Command(name, params=[_build_param(p) for p in d["params"]],
                         add_help_option=d["add_help_option"],
                         context_settings=d["context_settings"])


def complete(instruction):
    """Answer the completion ``instruction`` (``bash_complete``, ``zsh_source``,
    ...; the shell's words in ``COMP_WORDS``/``COMP_CWORD``) for ``smt``:
    the exit code, or None when it needs the other commands (the start-up
    hook, :mod:`smt_query._hook`, then asks them all)."""
    from click.shell_completion import get_completion_class, shell_complete
    shell, _, what = instruction.partition("_")
    cls = get_completion_class(shell)
    if cls is None or what not in ("source", "complete"):
        return None
    if what == "complete":
        try:
            args = cls(None, {}, "smt", "_SMT_COMPLETE").get_completion_args()[0]
        except (KeyError, ValueError):
            return None
        if not args or args[0] not in TARGETS:
            return None
        commands = [build(args[0])]
    else:
        commands = []        # the shell's script names no command
    return shell_complete(click.Group("smt", commands=commands), {}, "smt", "_SMT_COMPLETE",
                          instruction)


def current():
    """:data:`COMMANDS` as the real commands give it now (imports them)."""
    import importlib
    commands = {}
    for name, target in TARGETS.items():
        module, _, attr = target.partition(":")
        commands[name] = describe(getattr(importlib.import_module(module), attr))
    return commands


def write(path=TABLE_FILE):
    """Regenerate the table module from the real commands."""
    lines = ['"""Generated by ``python -m smt_query.cli.lightcommands`` from the click',
             'commands (see :mod:`smt_query.cli.lightcommands`); do not edit."""', "",
             "COMMANDS = {"]
    for name, command in current().items():   # one parameter a line
        head = {k: v for k, v in command.items() if k != "params"}
        lines.append(f"    {name!r}: {{**{head!r}, 'params': [")
        lines.extend(f"        {param!r}," for param in command["params"])
        lines.append("    ]},")
    lines.append("}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    write()
