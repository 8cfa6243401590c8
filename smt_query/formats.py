"""Result rows as a table, CSV, JSON, Markdown or bare labels (no click:
the CLI, the admin's export and Python callers write through :func:`write`).

Stored text is data from whoever can write the store: tables and Markdown
show control characters (terminal escape sequences start with one) and the
Unicode controls that reorder text as escapes such as ``\\x1b`` and
``\\u202e``, and a cell is one line. CSV keeps text as it is, except that a
cell a spreadsheet would run as a formula gets a ``'`` in front (see
:func:`csv_cell`).
"""
import csv
import datetime
import json
import math
import re
import shutil
import sys

from .dates import Seconds, format_duration
from .fields import is_status_tag

DURATION_COLUMNS = ("duration", "mean_duration", "min_duration", "max_duration",
                    "avg . duration")
#: Columns holding lists of text, shown joined by ", " (JSON: a list).
LIST_COLUMNS = ("tags", "output_data", "input_data")
#: Columns that give up width first when a table is wider than the terminal.
SHRINKABLE = ("reason", "outcome", "main_file", "tags", "version", "user", "script_arguments",
              "output_data", "input_data", "executable")


def _plain(value, strict=False):
    """A JSON-ready value: ISO timestamps, lists for sets; with ``strict``,
    ``None`` (``null``) for NaN and infinities (see :func:`json_text`)."""
    if isinstance(value, float):
        return value if not strict or math.isfinite(value) else None
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if isinstance(value, dict):
        return {k: _plain(v, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, strict) for v in value]
    return value


def json_text(obj, indent=2, default=None):
    """``obj`` as strict JSON text (RFC 8259): NaN, ``inf`` and ``-inf`` --
    a metric or parameter value -- become ``null``, so that ``jq`` and every
    other strict parser reads the output. The one rule of every JSON that
    ``smt query`` and ``smt compare`` write."""
    return json.dumps(_plain(obj, strict=True), indent=indent, ensure_ascii=False, allow_nan=False,
                      default=default)


# C0 and C1 controls and DEL (escape sequences begin with ESC or CSI), the
# bidirectional marks, embeddings, overrides and isolates, and the Unicode
# line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                     "\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def clean_line(text):
    """``text`` safe to show on a terminal, on one line: control characters
    and the Unicode controls that reorder text become escapes (``\\n``,
    ``\\x1b``, ``\\u202e``). Other text, backslashes included, is kept."""
    return _UNSAFE.sub(_escape, text)


def _escape(match):
    c = match.group()
    return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def _cell(column, value, one_line):
    """Text of one table/CSV/Markdown cell (``one_line``: for a table or
    Markdown, escaped and cut to its first line)."""
    if value is None:
        return ""
    if (column in DURATION_COLUMNS or isinstance(value, Seconds)) and isinstance(value, (int, float)):
        return format_duration(value) if one_line else repr(float(value))
    if isinstance(value, datetime.datetime):
        return (value.strftime("%Y-%m-%d %H:%M:%S") if one_line else value.isoformat())
    if isinstance(value, (list, tuple, set)) and column in LIST_COLUMNS:
        return ", ".join(map(clean_line, value)) if one_line else ", ".join(value)
    if isinstance(value, (dict, list, tuple, bool)):
        text = json.dumps(_plain(value), ensure_ascii=False)
    else:
        text = str(value)
    if one_line:
        lines = text.splitlines()
        if len(lines) > 1 and any(line.startswith(TRACEBACK) for line in lines):
            last = [line for line in lines if line.strip()][-1]
            return clean_line("… " + last.strip())   # the error, not "Traceback (...)"
        text = clean_line(lines[0] + (" …" if len(lines) > 1 else "") if lines else "")
    return text


#: The first line of a Python traceback: a cell holding one shows its last line.
TRACEBACK = "Traceback (most recent call last):"


def display_rows(rows, columns):
    """``rows`` as a table, CSV or Markdown shows them: with a ``status``
    column, the ``tags`` column leaves out the status tags (``_finished_``)
    it would repeat. JSON keeps the raw tags."""
    if not ("status" in columns and "tags" in columns):
        return rows
    return [dict(row, tags=[t for t in row["tags"] if not is_status_tag(t)])
            if isinstance(row.get("tags"), (list, tuple, set, frozenset)) else row
            for row in rows]


def footer(shown, total=None, unit="records"):
    """The line under a table: how many rows it has, and how many more a
    ``--limit`` cut off (``total``: the rows before the cut)."""
    if total is None or total <= shown:
        return f"{shown:,} {unit if shown != 1 else unit.rstrip('s')}"
    return (f"{shown:,} of {total:,} {unit} ({total - shown:,} more; "
            f"use --limit {total} to see them all)")


#: First characters that make a spreadsheet read a cell as a formula
#: (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text, value=None):
    """``text`` as written to CSV: with a ``'`` in front if it starts like a
    formula (``=``, ``+``, ``-``, ``@``, tab, carriage return), so that a
    spreadsheet shows it instead of running it. A number (``value`` an int or
    float, e.g. ``-1.5``) is left as it is: it stays a number."""
    if text.startswith(FORMULA_STARTS) and not (
            isinstance(value, (int, float)) and not isinstance(value, bool)):
        return "'" + text
    return text


def write(rows, columns, fmt, out=None, csv_raw=False):
    """Write ``rows`` (dicts) with ``columns`` in format ``fmt`` to ``out``.
    CSV cells are guarded against formulas (:func:`csv_cell`) unless ``csv_raw``."""
    out = out or sys.stdout
    if fmt in ("csv", "markdown", "table"):
        rows = display_rows(rows, columns)
    if fmt == "labels":
        for row in rows:
            out.write(f"{row['label']}\n")
    elif fmt == "json":
        out.write(json_text([{k: row.get(k) for k in columns} for row in rows]) + "\n")
    elif fmt == "csv":
        guard = (lambda text, value=None: text) if csv_raw else csv_cell
        writer = csv.writer(_RowsEndingInNewline(out), lineterminator="\r\n")
        writer.writerow([guard(str(c)) for c in columns])
        for row in rows:
            writer.writerow([guard(_cell(c, row.get(c), one_line=False), row.get(c))
                             for c in columns])
    elif fmt == "markdown":
        def esc(text):
            return text.replace("|", r"\|")
        out.write("| " + " | ".join(esc(clean_line(str(c))) for c in columns) + " |\n")
        out.write("|" + "|".join("---" for _ in columns) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(esc(_cell(c, row.get(c), one_line=True))
                                        for c in columns) + " |\n")
    else:
        width = shutil.get_terminal_size().columns if out.isatty() else None
        for line in table_lines(rows, columns, width):
            out.write(line + "\n")


class _RowsEndingInNewline:
    """A file for csv.writer: rows end in "\\n". The writer is told "\\r\\n",
    so that it quotes every cell holding a carriage return too (with "\\n"
    it would leave a lone "\\r" bare, and readers would split the row)."""

    def __init__(self, out):
        self.out = out

    def write(self, row):       # csv.writer writes one row per call
        return self.out.write(row[:-2] + "\n")


def table_lines(rows, columns, width=None):
    """Aligned text lines; with ``width``, long columns are cut to fit it."""
    cells = [[_cell(c, row.get(c), one_line=True) for c in columns] for row in rows]
    columns = [clean_line(str(c)) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if width:
        widths = _fit(columns, widths, width)
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(_clip(text, w).ljust(w) for text, w in zip(row, widths)).rstrip())
    return lines


def _fit(columns, widths, total):
    """Shrink shrinkable columns (widest first) until the table fits ``total``."""
    widths = list(widths)
    need = sum(widths) + 2 * (len(widths) - 1) - total
    order = sorted((i for i, c in enumerate(columns) if c in SHRINKABLE),
                   key=lambda i: -widths[i])
    while need > 0 and order:
        i = max(order, key=lambda j: widths[j])
        floor = max(8, len(columns[i]))
        if widths[i] <= floor:
            order.remove(i)
            continue
        cut = min(need, widths[i] - floor, max(1, widths[i] // 4))
        widths[i] -= cut
        need -= cut
    return widths


def _clip(text, width):
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"



# -- comparison tables ----------------------------------------------------------

#: The narrowest a column of a comparison table is cut to before it wraps.
COMPARE_MIN_WIDTH = 12


def table_width(out):
    """The width a table written to ``out`` must fit: ``COLUMNS`` if set, else
    the terminal's width on a terminal; None (no limit) for a pipe or a file."""
    import os
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    isatty = getattr(out, "isatty", None)
    return shutil.get_terminal_size().columns if isatty and isatty() else None


def compare_table_lines(rows, columns, width=None):
    """Text lines of a comparison table (the first column names the rows:
    ``key`` or ``label``) no wider than ``width`` (None: no limit). A table
    of one row per record that is too wide is transposed when it has more
    keys than records (one row per key, as for two records); then the
    widest columns are cut (down to their header or :data:`COMPARE_MIN_WIDTH`,
    ending in ``…``; the first column is cut from the left, since the end of
    a key tells it apart); what is still too wide wraps: the columns are
    shown in blocks, each repeating the first column, separated by a blank
    line."""
    if width is None or not rows or _table_width(rows, columns) <= width:
        return table_lines(rows, columns)
    if columns[0] == "label" and len(rows) < len(columns) - 1:
        rows, columns = _transpose(rows, columns)   # the fewer columns go across
    cells = [[_cell(c, row.get(c), one_line=True) for c in columns] for row in rows]
    names = [clean_line(str(c)) for c in columns]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    widths[0] = min(widths[0], max(COMPARE_MIN_WIDTH, width // 3))
    room = max(width - widths[0] - 2, 1)
    floors = [min(max(COMPARE_MIN_WIDTH, len(n)), room) for n in names]
    widths = [widths[0]] + [min(w, room) for w in widths[1:]]
    need = sum(widths) + 2 * (len(widths) - 1) - width
    while need > 0:
        shrinkable = [j for j in range(1, len(widths)) if widths[j] > floors[j]]
        if not shrinkable:
            break
        i = max(shrinkable, key=lambda j: widths[j])
        cut = min(need, widths[i] - floors[i], max(1, widths[i] // 4))
        widths[i] -= cut
        need -= cut
    blocks, block, used = [], [], widths[0]
    for i in range(1, len(widths)):
        if block and used + 2 + widths[i] > width:
            blocks.append(block)
            block, used = [], widths[0]
        block.append(i)
        used += 2 + widths[i]
    blocks.append(block)
    lines = []
    for block in blocks:
        shown = [0] + block
        if lines:
            lines.append("")
        lines.append("  ".join(_clip(names[i], widths[i]).ljust(widths[i])
                               for i in shown).rstrip())
        lines.append("  ".join("-" * widths[i] for i in shown))
        for row in cells:
            lines.append("  ".join([_clip_left(row[0], widths[0]).ljust(widths[0])]
                                   + [_clip(row[i], widths[i]).ljust(widths[i])
                                      for i in block]).rstrip())
    return lines


def _clip_left(text, width):
    """A key or label cut from the left: its end tells keys apart."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1:]


def _table_width(rows, columns):
    widths = [max([len(clean_line(str(c)))] + [len(_cell(c, r.get(c), one_line=True))
                                                for r in rows]) for c in columns]
    return sum(widths) + 2 * (len(widths) - 1)


def _transpose(rows, columns):
    """One row per key, one column per record (labels in row order)."""
    labels = [str(r["label"]) for r in rows]
    out = [{"key": c, **{lbl: r.get(c) for lbl, r in zip(labels, rows)}} for c in columns[1:]]
    return out, ["key"] + labels
