"""RecordStoreViewSummary: a view's records, displayed as a table.

It is not a DataFrame: ``dataframe()`` returns one.

Built from column values (``RecordStoreView.rows``), never from full records
when the view runs in SQL. In a notebook it displays as its DataFrame.
"""
import re

from .asyncguard import sync_entry_class
from .dates import format_duration
from .rows import DEFAULT_MERGE_PATTERN, group_view, merge_key, read_rows

DEFAULT_FIELDS = ("reason", "outcome", "tags", "main_file", "duration")
#: Fields cut from the left when too long (paths: the end matters).
LEFT_TRUNCATED = ("main_file",)


@sync_entry_class
class RecordStoreViewSummary:
    """Summary of a :class:`~smt_query.view.RecordStoreView`.

    ``merged`` combines records whose labels share the same
    ``merge_pattern`` match (by default the timestamp part of the label,
    ``YYYYMMDD-HHMMSS``), showing their count and average duration;
    ``unmerged`` undoes it. ``head(n)``/``tail(n)`` keep the first/last
    ``n`` rows. ``dataframe(...)`` returns the DataFrame, with options for
    the columns and their truncation. Display uses ``max_chars=50`` and
    ``max_lines=1``.
    """

    def __init__(self, view, *, merge=False, merge_pattern=DEFAULT_MERGE_PATTERN,
                 rows=None, max_chars=50, max_lines=1):
        self.view = view
        self.merge = merge
        self.merge_pattern = merge_pattern
        self.max_chars, self.max_lines = max_chars, max_lines
        self._rows = rows  # slice(...) applied to the rows, or None

    def _copy(self, **changes):
        state = dict(merge=self.merge, merge_pattern=self.merge_pattern, rows=self._rows,
                     max_chars=self.max_chars, max_lines=self.max_lines)
        state.update(changes)
        return type(self)(self.view, **state)

    @property
    def merged(self):
        """Rows merged by label prefix (see ``merge_pattern``)."""
        return self._copy(merge=True)

    @property
    def unmerged(self):
        """One row per record."""
        return self._copy(merge=False)

    def head(self, nrows=5):
        """Only the first ``nrows`` rows."""
        return self._copy(rows=slice(None, nrows))

    def tail(self, nrows=5):
        """Only the last ``nrows`` rows."""
        return self._copy(rows=slice(-nrows, None) if nrows else slice(0, 0))

    def dataframe(self, fields=DEFAULT_FIELDS, parameters=(), max_chars=None, max_lines=None):
        """The DataFrame of the summary.

        ``fields``: record fields to show (reason, outcome, tags, main_file,
        duration, timestamp, version, user, ...). ``parameters``: parameter
        keys to add as columns (dotted; task ``inputs`` levels may be
        omitted). ``max_chars``/``max_lines``: truncate text cells.
        """
        import pandas as pd
        if isinstance(parameters, str):
            parameters = (parameters,)
        fields = tuple(fields)
        rows = read_rows(self.view, fields, parameters)
        index = [row["label"] if "label" in fields else row.pop("label") for row in rows]
        frame = pd.DataFrame.from_records(rows, columns=list(fields) + list(parameters),
                                          index=index)
        if "tags" in frame:
            frame["tags"] = [", ".join(t) for t in frame["tags"]]
        if self.merge:
            frame = self._merge(frame)
        if self._rows is not None:
            frame = frame.iloc[self._rows]
        return _truncate(frame, max_chars, max_lines)

    def group_by(self, *keys, aggregate=()):
        """A DataFrame with one row per combination of the ``keys`` values,
        indexed by them: ``count``, and the mean, min and max of ``duration``
        and of each ``aggregate`` key (``mean_KEY``, ``min_KEY``, ``max_KEY``).

        A key is a record field, a parameter key (dotted; in backticks for one
        named like a field or bucket) or a time bucket of the timestamp
        (``day``, ``week``, ``month``, ``year``, ``hour``, or
        ``timestamp:day``; UTC). A parameter key that no record has is named
        by a ``smt_query.errors.QueryHint`` warning. Most records first
        (``head``/``tail`` apply)::

            view.summary.group_by("optimizer.name", "week", aggregate=["optimizer.lr"])
        """
        import pandas as pd
        rows, columns = group_view(self.view, list(keys), aggregate)
        frame = pd.DataFrame.from_records(rows, columns=columns)
        names = columns[:columns.index("count")]
        frame = frame.set_index(names)
        if self._rows is not None:
            frame = frame.iloc[self._rows]
        return frame

    def plot(self, x, y, color=None, ax=None):
        """Scatter of ``y`` against ``x`` over every record of the view (a line
        when ``x`` is ``timestamp``), coloured by ``color``: record fields or parameter keys, as
        ``smt query --plot``. Draws on ``ax`` (default: a new pyplot figure) and
        returns the matplotlib axes. Records lacking ``x`` or ``y`` are left out."""
        from .plot import _pyplot, draw, plot_data
        _pyplot()
        if ax is None:
            import matplotlib.pyplot as plt
            ax = plt.figure(figsize=(8, 5), layout="constrained").add_subplot()
        return draw(ax, plot_data(self.view, x, y, color))

    def _merge(self, frame):
        pattern = re.compile(self.merge_pattern)
        keys = [merge_key(label, pattern) for label in frame.index]
        groups = frame.groupby(keys, sort=False)
        merged = groups.first()
        if "duration" in frame:
            merged["duration"] = groups["duration"].mean()
            merged = merged.rename(columns={"duration": "avg . duration"})
        merged.insert(0, "# records", groups.size())
        return merged

    def _display_frame(self):
        frame = self.dataframe(max_chars=self.max_chars, max_lines=self.max_lines)
        for col in ("duration", "avg . duration"):
            if col in frame:
                frame[col] = [format_duration(d) for d in frame[col]]
        return frame

    def __repr__(self):
        return repr(self._display_frame())

    def _repr_html_(self):
        return self._display_frame()._repr_html_()

    def __len__(self):
        return len(self.dataframe(fields=("duration",)))


def _truncate(frame, max_chars, max_lines):
    """Cut text cells to ``max_lines`` lines and ``max_chars`` characters."""
    if not max_chars and not max_lines:
        return frame
    frame = frame.copy()
    for col in frame.columns:
        left = col in LEFT_TRUNCATED
        frame[col] = [_cut(v, max_chars, max_lines, left) if isinstance(v, str) else v
                      for v in frame[col]]
    return frame


def _cut(text, max_chars, max_lines, left):
    if max_lines:
        lines = text.splitlines()
        text = "\n".join(lines[:max_lines])
    if max_chars and len(text) > max_chars:
        text = "…" + text[-(max_chars - 1):] if left else text[:max_chars - 1] + "…"
    return text
