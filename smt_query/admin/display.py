"""HTML for values shown by the admin (all text escaped by ``format_html``)."""
import json

from django.utils.html import format_html, format_html_join

#: Keys of a task description, shown before its other keys.
TASK_KEYS = ("taskname", "module")
#: Characters of a code version shown in the list (the whole one on hover).
VERSION_CHARS = 10


def short_value(column, value):
    """How a column value is shown in a list: versions cut to their start."""
    if column == "version" and value and len(value) > VERSION_CHARS:
        return value[:VERSION_CHARS]
    return value


def _leaf(value):
    """One value as compact text: JSON for numbers, lists, booleans and None."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _is_flat(value):
    return isinstance(value, (list, tuple)) and not any(
        isinstance(v, (dict, list, tuple)) for v in value)


def parameters_tree(params):
    """A parameter set (nested dicts and lists) as nested lists, every level
    open; task descriptions show their task name next to the key."""
    if not isinstance(params, dict):
        return format_html('<code>{}</code>', _leaf(params))
    return format_html('<div class="smt-tree">{}</div>', _children(params))


def _children(node):
    if isinstance(node, dict):
        first = [k for k in TASK_KEYS if k in node] if "taskname" in node else []
        items = [(k, node[k]) for k in first] + [(k, v) for k, v in node.items()
                                                  if k not in first]
    else:
        items = enumerate(node)
    return format_html("<ul>{}</ul>", format_html_join("", "{}", (
        (_item(key, value),) for key, value in items)))


def _item(key, value):
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and not _is_flat(value)):
        note = ""
        if isinstance(value, dict) and "taskname" in value:
            note = format_html(' <span class="smt-task">{}</span>', value["taskname"])
        elif isinstance(value, (list, tuple)):
            note = format_html(' <span class="smt-task">[{} items]</span>', len(value))
        return format_html('<li><details open><summary><span class="smt-key">{}</span>{}'
                           '</summary>{}</details></li>', key, note, _children(value))
    return format_html('<li><span class="smt-key">{}</span>: <code>{}</code></li>',
                       key, _leaf(value))

