"""Charts drawn as SVG text, without a plotting library: the ``.html`` output of
``smt query --plot`` and the admin's charts (works with JavaScript off).

Every text drawn (keys, labels, values) is stored text: it is escaped here,
and characters XML cannot carry are dropped. Standard library only.
"""
import html
import math
import re
from datetime import datetime, timezone

#: Colours of categories (matplotlib's ``tab10``), the last one for "other".
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")
#: Stops of the colour scale of numbers (matplotlib's ``viridis``).
SCALE = ((0x44, 0x01, 0x54), (0x3b, 0x52, 0x8b), (0x21, 0x91, 0x8c), (0x5e, 0xc9, 0x62),
         (0xfd, 0xe7, 0x25))
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def text(value, limit=60):
    """``value`` as escaped SVG/HTML text, cut to ``limit`` characters."""
    value = _NOT_XML.sub("", str(value))
    if len(value) > limit:
        value = value[:limit - 1] + "…"
    return html.escape(value, quote=True)


def scale_colour(f):
    """The colour of ``f`` in [0, 1] on :data:`SCALE` (``#rrggbb``)."""
    f = min(max(f, 0.0), 1.0) * (len(SCALE) - 1)
    i = min(int(f), len(SCALE) - 2)
    a, b, t = SCALE[i], SCALE[i + 1], f - i
    return "#%02x%02x%02x" % tuple(round(p + (q - p) * t) for p, q in zip(a, b))


def tick_text(value, kind, span=None):
    """A tick's label: a number, a date (``kind == "date"``, epoch seconds) or as is."""
    if kind == "date":
        when = datetime.fromtimestamp(value, timezone.utc)
        return when.strftime("%Y-%m-%d" if (span or 0) > 3 * 86400 else "%m-%d %H:%M")
    if kind == "number":
        return f"{value:.4g}"
    return str(value)


def nice_ticks(lo, hi, n=5):
    """About ``n`` round tick positions between ``lo`` and ``hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


class _Frame:
    """Plot area of a ``width`` × ``height`` chart and the mapping of data into it."""

    def __init__(self, width, height, left=70, right=20, top=20, bottom=50):
        self.width, self.height = width, height
        self.x0, self.x1 = left, width - right
        self.y0, self.y1 = height - bottom, top   # SVG's y grows downwards

    def map(self, lo, hi, v, a, b):
        return (a + b) / 2 if hi == lo else a + (v - lo) / (hi - lo) * (b - a)


def _open(width, height, label, cls):
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{text(label, 200)}" font-family="sans-serif" font-size="11">',
            f'<rect width="{width}" height="{height}" fill="#fff"/>']


def _axis_ticks(axis, lo, hi):
    """``[(position, label)]`` of an axis (see :class:`smt_query.plot.Axis`)."""
    if axis.kind == "category":
        step = max(1, math.ceil(len(axis.categories) / 12))
        return [(i, c) for i, c in enumerate(axis.categories)][::step]
    return [(t, tick_text(t, axis.kind, hi - lo)) for t in
            (nice_ticks(lo, hi) if axis.kind == "number" else
             [lo + (hi - lo) * i / 4 for i in range(5)] if hi > lo else [lo])]


def _bounds(values):
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.04 or (abs(lo) * 0.1 or 1)
    return lo - pad, hi + pad


def scatter(data, width=720, height=420, marks_title_limit=2000):
    """SVG text of a :class:`smt_query.plot.PlotData`: one ``<circle>`` per point
    (joined by a ``<polyline>`` when x is the timestamp), axes, and a legend."""
    legend_w = 170 if data.legend or data.scale else 0
    f = _Frame(width - legend_w, height, right=40)
    out = _open(width, height, f"{data.y} against {data.x}", "smt-chart")
    if not data.xs:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no points</text>')
        return "\n".join(out + ["</svg>"])
    (xlo, xhi), (ylo, yhi) = _bounds(data.xs), _bounds(data.ys)
    px = [round(f.map(xlo, xhi, v, f.x0, f.x1), 1) for v in data.xs]
    py = [round(f.map(ylo, yhi, v, f.y0, f.y1), 1) for v in data.ys]
    out.append(f'<rect x="{f.x0}" y="{f.y1}" width="{f.x1 - f.x0}" height="{f.y0 - f.y1}" '
               f'fill="none" stroke="#888"/>')
    for pos, label in _axis_ticks(data.xaxis, xlo, xhi):
        x = round(f.map(xlo, xhi, pos, f.x0, f.x1), 1)
        out.append(f'<line x1="{x}" x2="{x}" y1="{f.y0}" y2="{f.y0 + 4}" stroke="#888"/>'
                   f'<text x="{x}" y="{f.y0 + 16}" text-anchor="middle">{text(label, 20)}</text>')
    for pos, label in _axis_ticks(data.yaxis, ylo, yhi):
        y = round(f.map(ylo, yhi, pos, f.y0, f.y1), 1)
        out.append(f'<line x1="{f.x0 - 4}" x2="{f.x0}" y1="{y}" y2="{y}" stroke="#888"/>'
                   f'<text x="{f.x0 - 6}" y="{y + 4}" text-anchor="end">{text(label, 12)}</text>')
    out.append(f'<text class="smt-xlabel" x="{(f.x0 + f.x1) / 2}" y="{height - 12}" '
               f'text-anchor="middle" font-size="12">{text(data.x, 80)}</text>')
    out.append(f'<text class="smt-ylabel" transform="translate(14 {(f.y0 + f.y1) / 2}) '
               f'rotate(-90)" text-anchor="middle" font-size="12">{text(data.y, 60)}</text>')
    if data.line:
        points = " ".join(f"{x},{y}" for x, y in zip(px, py))
        out.append(f'<polyline points="{points}" fill="none" stroke="#bbb" stroke-width="1"/>')
    titled = len(px) <= marks_title_limit
    out.append('<g class="smt-marks" fill-opacity="0.8">')
    for i, (x, y) in enumerate(zip(px, py)):
        colour = data.colours[i] if data.colours else PALETTE[0]
        title = f"<title>{text(data.labels[i], 80)}</title>" if titled else ""
        out.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}">{title}</circle>')
    out.append("</g>")
    lx = width - legend_w + 10
    if data.legend:
        out.append(f'<text x="{lx}" y="28" font-weight="bold">{text(data.color, 24)}</text>')
        for i, (colour, label) in enumerate(data.legend):
            y = 46 + 16 * i
            out.append(f'<circle cx="{lx + 5}" cy="{y - 4}" r="4" fill="{colour}"/>'
                       f'<text x="{lx + 14}" y="{y}">{text(label, 22)}</text>')
    elif data.scale:
        lo, hi = data.scale
        out.append(f'<text x="{lx}" y="28" font-weight="bold">{text(data.color, 24)}</text>')
        for i in range(20):
            out.append(f'<rect x="{lx}" y="{40 + i * 8}" width="14" height="8" '
                       f'fill="{scale_colour(1 - i / 19)}"/>')
        out.append(f'<text x="{lx + 20}" y="48">{text(tick_text(hi, data.coloraxis.kind), 16)}</text>'
                   f'<text x="{lx + 20}" y="200">{text(tick_text(lo, data.coloraxis.kind), 16)}</text>')
    return "\n".join(out + ["</svg>"])


def parallel(data, width=760, height=380):
    """SVG text of parallel coordinates (``ParameterComparison.parallel_data()``):
    one vertical axis per key, one ``<path>`` per record (gaps where it lacks a value)."""
    keys, lines = data["keys"], data["lines"]
    legend_w = 190
    f = _Frame(width - legend_w, height, left=50, right=50, top=30, bottom=60)
    out = _open(width, height, "parallel coordinates of " + ", ".join(keys), "smt-chart smt-parallel")
    n = len(keys)
    xs = [f.map(0, n - 1, i, f.x0, f.x1) if n > 1 else (f.x0 + f.x1) / 2 for i in range(n)]
    for x, key, (lo, hi) in zip(xs, keys, data["ranges"]):
        x = round(x, 1)
        out.append(f'<line x1="{x}" x2="{x}" y1="{f.y0}" y2="{f.y1}" stroke="#888"/>'
                   f'<text x="{x}" y="{f.y1 - 8}" text-anchor="middle">{text(tick_text(hi, "number"), 12)}</text>'
                   f'<text x="{x}" y="{f.y0 + 14}" text-anchor="middle">{text(tick_text(lo, "number"), 12)}</text>'
                   f'<text class="smt-key" x="{x}" y="{f.y0 + 30}" text-anchor="middle" '
                   f'font-size="12">{text(key, 28)}</text>')
    out.append('<g class="smt-marks" fill="none" stroke-width="1.5">')
    for i, (label, values) in enumerate(zip(data["labels"], lines)):
        colour = PALETTE[i % (len(PALETTE) - 1)]
        d, pen = [], "M"
        for x, v in zip(xs, values):
            if v is None:
                pen = "M"
                continue
            d.append(f"{pen}{round(x, 1)},{round(f.map(0, 1, v, f.y0, f.y1), 1)}")
            pen = "L"
        out.append(f'<path d="{" ".join(d)}" stroke="{colour}"><title>{text(label, 80)}</title></path>')
        y = 24 + 15 * i
        if y < height - 10:
            out.append(f'<line x1="{width - legend_w + 10}" x2="{width - legend_w + 26}" y1="{y - 4}" '
                       f'y2="{y - 4}" stroke="{colour}" stroke-width="3"/>'
                       f'<text x="{width - legend_w + 30}" y="{y}" fill="#000" stroke="none">'
                       f'{text(label, 26)}</text>')
    out.append("</g>")
    return "\n".join(out + ["</svg>"])
