"""Plots of a view's records: ``smt query --plot X:Y``, ``summary.plot``.

:func:`plot_data` reads the points through the row pipeline
(:func:`smt_query.rows.read_rows`: a key is a record field, else whatever a
parameter column accepts), so every key ``smt query --param`` takes can be
plotted. The points are then drawn by matplotlib (:func:`draw`, PNG/SVG
files; the optional extra ``smt-query[plot]``), as SVG text
(:mod:`smt_query.svg`, the ``.html`` page and the admin) or as text for a
terminal (:func:`text_plot`; a plotting library costs more to import than
this takes to draw).
"""
import math
import os
from datetime import datetime, timezone

from .errors import QueryError
from .fields import FIELDS
from .params.compare import plain_text as mpl_text
from .rows import read_rows
from .svg import PALETTE, scale_colour, tick_text

#: The suffixes ``--out`` writes.
OUT_FORMATS = (".png", ".svg", ".html")
#: Categories of ``color`` with a colour of their own; the rest are "other".
MAX_COLOURS = len(PALETTE) - 1
#: Marks of the text plot, by category (or by fifth of the range of a number).
TEXT_MARKS = "●○▲△■□◆◇+×"
SCALE_MARKS = "·∘○◍●"


class Axis:
    """What a key's values are on a chart: ``number``, ``date`` (epoch seconds)
    or ``category`` (positions 0, 1, ... of the sorted ``categories``)."""

    def __init__(self, key, values):
        self.key = key
        self.categories = []
        if all(isinstance(v, datetime) for v in values):
            self.kind = "date"
        elif all(_is_number(v) for v in values):
            self.kind = "number"
        else:
            self.kind = "category"
            self.categories = sorted({_category(v) for v in values})
            self._index = {c: i for i, c in enumerate(self.categories)}

    def position(self, value):
        if self.kind == "date":
            return _epoch(value)
        if self.kind == "number":
            return float(value)
        return float(self._index[_category(value)])


class PlotData:
    """The points of a plot: ``xs``, ``ys`` (positions on :class:`Axis` ``xaxis``,
    ``yaxis``), ``labels`` (one record each), their colours (``colours``: one
    ``#rrggbb`` each, with a ``legend`` of categories or the ``scale`` (lo, hi)
    of a number; ``colour_values`` the numbers), ``line`` (x is the timestamp),
    ``selected`` records and ``skipped`` ones lacking a value."""

    def __init__(self, x, y, color, rows):
        self.x, self.y, self.color = x, y, color
        self.selected = len(rows)
        keys = [x, y] + ([color] if color else [])
        kept = [r for r in rows if all(_present(r.get(k)) for k in (x, y))]
        self.skipped = self.selected - len(kept)
        self.line = x == "timestamp"
        if self.line:
            kept.sort(key=lambda r: r[x])
        self.labels = [r["label"] for r in kept]
        self.xaxis = Axis(x, [r[x] for r in kept])
        self.yaxis = Axis(y, [r[y] for r in kept])
        self.xs = [self.xaxis.position(r[x]) for r in kept]
        self.ys = [self.yaxis.position(r[y]) for r in kept]
        self.colours = self.legend = self.scale = self.coloraxis = self.colour_values = None
        if color:
            self._colour([r.get(color) for r in kept])
        self.keys = keys

    def _colour(self, values):
        present = [v for v in values if _present(v)]
        self.coloraxis = Axis(self.color, present)
        if self.coloraxis.kind != "category" and present:
            nums = [self.coloraxis.position(v) if _present(v) else None for v in values]
            lo, hi = min(n for n in nums if n is not None), max(n for n in nums if n is not None)
            self.scale = (lo, hi)
            self.colour_values = [math.nan if n is None else n for n in nums]
            self.colours = ["#cccccc" if n is None else scale_colour((n - lo) / (hi - lo) if hi > lo else 0.5)
                            for n in nums]
            return
        counts = {}
        for v in values:
            c = _category(v) if _present(v) else "(none)"
            counts[c] = counts.get(c, 0) + 1
        ranked = sorted(counts, key=lambda c: (-counts[c], c))
        own = ranked if len(ranked) <= MAX_COLOURS + 1 else ranked[:MAX_COLOURS]
        colour_of = {c: PALETTE[i] for i, c in enumerate(sorted(own))}
        self.colour_values = [_category(v) if _present(v) else "(none)" for v in values]
        self.colours = [colour_of.get(c, PALETTE[-1]) for c in self.colour_values]
        self.legend = [(colour_of[c], c) for c in sorted(own)]
        if len(own) < len(ranked):
            self.legend.append((PALETTE[-1], f"other ({len(ranked) - len(own)})"))

    def __len__(self):
        return len(self.xs)


def plot_data(view, x, y, color=None):
    """The :class:`PlotData` of ``y`` against ``x`` (coloured by ``color``) over
    the records of ``view``; each key a record field or a parameter key (as
    ``smt query --param``). A record lacking ``x`` or ``y`` is left out
    (counted in ``skipped``). Raises :class:`QueryError` if records match but
    none has both values."""
    for key in (x, y, color):
        if key is not None and not (isinstance(key, str) and key.strip()):
            raise QueryError(f"cannot plot {key!r}: give a field or parameter key")
    data = PlotData(x, y, color, read_points(view, [x, y, color]))
    if data.selected and not data.xs:
        missing = [k for k in (x, y) if k not in FIELDS]
        raise QueryError(f"none of the {data.selected} records has both {x!r} and {y!r}"
                         + (f" ({', '.join(map(repr, missing))}: not a field, nor a "
                            f"parameter key of these records)" if missing else ""))
    return data


def read_points(view, keys):
    """Rows of ``view`` with a column per key of ``keys`` (None ignored): a
    record field, else a parameter key (:func:`smt_query.rows.read_rows`)."""
    keys = list(dict.fromkeys(k for k in keys if k))
    return read_rows(view, [k for k in keys if k in FIELDS], [k for k in keys if k not in FIELDS])


# -- matplotlib ----------------------------------------------------------------------

def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise QueryError("plots to files need matplotlib: pip install 'smt-query[plot]'") from None
    return matplotlib


def draw(ax, data):
    """Draw ``data`` (:class:`PlotData`) on the matplotlib axes ``ax``; returns ``ax``."""
    import numpy as np
    xs = np.asarray(data.xs, dtype=float)
    if data.xaxis.kind == "date":
        xs = (xs * 1e6).astype("datetime64[us]")
    ys = np.asarray(data.ys, dtype=float)
    size = 12 if len(ys) < 2000 else 3
    if data.line:
        ax.plot(xs, ys, "-", color="#bbbbbb", linewidth=0.8, zorder=1)
    if data.legend:
        values = np.asarray(data.colour_values, dtype=object)
        owned = {label for _, label in data.legend}
        for colour, label in data.legend:
            mask = (values == label) if label in set(data.colour_values) else \
                np.asarray([v not in owned for v in data.colour_values])
            ax.scatter(xs[mask], ys[mask], s=size, color=colour, label=mpl_text(label, 30), zorder=2)
        ax.legend(title=mpl_text(data.color), fontsize="small")
    elif data.scale:
        marks = ax.scatter(xs, ys, s=size, c=np.asarray(data.colour_values, dtype=float),
                           cmap="viridis", zorder=2)
        ax.figure.colorbar(marks, ax=ax, label=mpl_text(data.color))
    else:
        ax.scatter(xs, ys, s=size, color=PALETTE[0], zorder=2)
    for axis, set_ticks in ((data.xaxis, ax.set_xticks), (data.yaxis, ax.set_yticks)):
        if axis.kind == "category":
            step = max(1, math.ceil(len(axis.categories) / 20))
            set_ticks(range(0, len(axis.categories), step),
                      [mpl_text(c, 20) for c in axis.categories[::step]])
    ax.set_xlabel(mpl_text(data.x, 80))
    ax.set_ylabel(mpl_text(data.y, 60))
    if data.xaxis.kind == "date":
        ax.figure.autofmt_xdate()
    return ax


def write_file(data, path):
    """Write ``data`` to ``path``: ``.png``/``.svg`` by matplotlib, ``.html`` a
    self-contained page with an inline SVG (:func:`html_page`)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in OUT_FORMATS:
        raise QueryError(f"cannot write a plot to {path!r}: give a file ending in "
                         + ", ".join(OUT_FORMATS))
    if suffix == ".html":
        content = html_page(data)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        return
    _pyplot()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    draw(fig.add_subplot(), data)
    fig.savefig(path)


def html_page(data):
    """A self-contained HTML page showing ``data`` as an inline SVG (no scripts)."""
    from .svg import scatter, text
    title = text(f"{data.y} against {data.x}", 200)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{title}</title></head>\n<body>\n<h1 style=\"font: 16px sans-serif\">"
            f"{title}</h1>\n{scatter(data)}\n<p style=\"font: 12px sans-serif\">{len(data)} records"
            f"{f', {data.skipped} without a value left out' if data.skipped else ''}.</p>\n"
            f"</body></html>\n")


# -- text ----------------------------------------------------------------------------

def text_plot(data, width=80, height=20):
    """``data`` drawn with characters for a terminal ``width`` columns wide:
    a grid of marks (one per category or fifth of a number's range, with a
    legend), axes labelled with the ends of the ranges."""
    if not data.xs:
        return "(no points)"
    marks = _text_marks(data)
    margin = 11
    cols, rows = max(20, width - margin - 1), max(5, height)
    xlo, xhi, ylo, yhi = min(data.xs), max(data.xs), min(data.ys), max(data.ys)
    grid = [[" "] * cols for _ in range(rows)]
    for x, y, m in zip(data.xs, data.ys, marks):
        c = 0 if xhi == xlo else round((x - xlo) / (xhi - xlo) * (cols - 1))
        r = rows - 1 - (0 if yhi == ylo else round((y - ylo) / (yhi - ylo) * (rows - 1)))
        grid[r][c] = m
    ylabels = {0: _tick(data.yaxis, yhi, yhi - ylo), rows - 1: _tick(data.yaxis, ylo, yhi - ylo)}
    lines = [f"{data.y}"[:width]]
    for r, row in enumerate(grid):
        lines.append(f"{ylabels.get(r, ''):>{margin - 1}.{margin - 1}} │{''.join(row)}")
    lines.append(" " * margin + "└" + "─" * cols)
    left, right = _tick(data.xaxis, xlo, xhi - xlo), _tick(data.xaxis, xhi, xhi - xlo)
    gap = max(1, cols + 1 - len(left) - len(right))
    lines.append(" " * margin + left + " " * gap + right)
    lines.append(" " * margin + f"{data.x}".center(cols)[:width - margin])
    legend = _text_legend(data)
    if legend:
        lines.append(legend[:width * 3])
    return "\n".join(lines)


def _text_marks(data):
    if data.legend:
        mark_of = {label: TEXT_MARKS[i] for i, (_, label) in enumerate(data.legend)}
        other = TEXT_MARKS[len(data.legend) - 1]
        return [mark_of.get(v, other) for v in data.colour_values]
    if data.scale:
        lo, hi = data.scale
        return ["?" if math.isnan(v) else SCALE_MARKS[
            min(4, int((v - lo) / (hi - lo) * 5)) if hi > lo else 2] for v in data.colour_values]
    return ["•"] * len(data.xs)


def _text_legend(data):
    if data.legend:
        return f"{data.color}: " + "  ".join(f"{TEXT_MARKS[i]} {label}"
                                             for i, (_, label) in enumerate(data.legend))
    if data.scale:
        lo, hi = data.scale
        kind = data.coloraxis.kind
        return (f"{data.color}: " + "  ".join(SCALE_MARKS) + f"  from {tick_text(lo, kind)}"
                f" to {tick_text(hi, kind)}")
    return ""


def _tick(axis, value, span):
    if axis.kind == "category":
        return axis.categories[round(value)]
    return tick_text(value, axis.kind, span)


# -- values --------------------------------------------------------------------------

def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) or _numpy_number(v)


def _numpy_number(v):
    return type(v).__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind in "iuf"


def _present(v):
    """Whether ``v`` is a value to plot (not missing, not NaN or infinite)."""
    if v is None or (isinstance(v, (str, list, tuple)) and not v):
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool) or _numpy_number(v):
        try:
            return math.isfinite(v)
        except OverflowError:   # an integer too large for a float
            return False
    return True


def _category(v):
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v)


def _epoch(when):
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)   # stored times are in the labels' clock
    return when.timestamp()
