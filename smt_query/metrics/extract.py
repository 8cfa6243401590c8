"""A metric's value for one record: from its outcome text, or from an output
file in its data store -- the one rule, used by the table's refresh and by
the Python evaluation alike.

Stored text is data: the outcome is cut to :data:`MAX_OUTCOME` characters
before the (user's, compiled once) regular expression sees it; an output
file's path (from a row) is resolved only inside its data store's root (no
absolute path, no ``..``, no symbolic link out of it), at most
:data:`MAX_FILE` bytes are read, YAML is loaded safely and within the
bounds of parameter sets, NumPy files never unpickle, nothing is executed.
"""
import csv
import fnmatch
import io
import json
import math
import os
import warnings

from ..errors import QueryError, StoredDataWarning, shown

#: Characters of an outcome a regular expression reads (bounds its cost).
MAX_OUTCOME = 65536
#: Bytes of an output file read at most.
MAX_FILE = 16 * 1024 * 1024


class UnreadableOutput(StoredDataWarning):
    """An output file a metric names could not be read (the record has no value)."""


def number(value):
    """``value`` as a float (text such as ``-5.2e4``, ``nan``, ``inf`` too), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "dtype") and getattr(value, "size", 0) >= 1:   # NumPy
        value = value.reshape(-1)[-1].item() if value.size > 1 else value.item()
        return number(value)
    if isinstance(value, (str, bytes)):
        try:
            return float(value.strip()[:100])
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def from_outcome(regex, outcome):
    """The first group (else the whole) of the first match of ``regex`` in
    ``outcome`` as a number, or None."""
    if not outcome:
        return None
    match = regex.search(outcome[:MAX_OUTCOME])
    if match is None:
        return None
    text = match.group(1) if regex.groups else match.group(0)
    return None if text is None else number(text)


def value_of(metric, record, warned=None):
    """The value of ``metric`` for a Sumatra ``record`` (a float, NaN
    included), or None. ``warned``: a set of files already named."""
    if metric.regex is not None:
        return from_outcome(metric.regex, record.outcome)
    return from_output(metric, record, warned)


def from_output(metric, record, warned=None):
    """The value at ``metric.key`` of the first output file of ``record``
    whose path matches ``metric.glob`` (or whose name does, for a glob
    without ``/``), or None. A file that cannot be read is named once (a
    :class:`UnreadableOutput` warning) and has no value."""
    datastore = getattr(record, "datastore", None)
    root = getattr(datastore, "root", None)
    for key in getattr(record, "output_data", None) or ():
        path = getattr(key, "path", None)
        if not isinstance(path, str) or not _matches(metric.glob, path):
            continue
        try:
            data = read_output(root, path)
            return number(lookup(parse_output(path, data), metric.key))
        except (OSError, ValueError, QueryError, RecursionError, csv.Error) as err:
            if warned is None or (root, path) not in warned:
                if warned is not None:
                    warned.add((root, path))
                warnings.warn(UnreadableOutput(
                    f"record {shown(record.label)}: cannot read output file "
                    f"'{shown(path)}' for metric {metric.name}: {shown(err, 120)}"))
            return None
    return None


def _matches(glob, path):
    path = path.replace(os.sep, "/")
    return fnmatch.fnmatchcase(path, glob) or (
        "/" not in glob and fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], glob))


def read_output(root, path):
    """The bytes of the output file ``path`` of a data store at ``root``; an
    OSError or ValueError if it is not a regular file inside the root, or is
    larger than :data:`MAX_FILE`."""
    if not isinstance(root, str) or not root:
        raise ValueError("the record has no file-system data store")
    parts = path.replace("\\", "/").split("/")
    if os.path.isabs(path) or path.startswith(("/", "\\")) or ".." in parts or "\0" in path:
        raise ValueError("the path leaves the data store")
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, path))
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise ValueError("the path leaves the data store (symbolic link)")
    fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        import stat
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError("not a regular file")
        data = f.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ValueError(f"larger than {MAX_FILE} bytes")
    return data


def parse_output(path, data):
    """An output file's content by its kind (from its name): JSON, YAML,
    CSV (its last row, as a dict) or NumPy ``.npz`` (its arrays)."""
    name = path.lower()
    if name.endswith(".npz"):
        import numpy
        try:
            with numpy.load(io.BytesIO(data), allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except Exception as err:  # noqa: BLE001 (NumPy raises many kinds for a bad file)
            raise ValueError(f"not a NumPy .npz file ({type(err).__name__})") from None
    text = data.decode("utf-8", errors="strict") if data else ""
    if name.endswith(".json"):
        return json.loads(text)
    if name.endswith((".yaml", ".yml")):
        from ..params.parse import parse_parameters
        return parse_parameters("YAMLParameterSet", text)
    if name.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text))
        last = None
        for last in reader:
            pass
        if last is None:
            raise ValueError("a CSV file without rows")
        return last
    raise ValueError("not a JSON, YAML, CSV or .npz file")


def lookup(content, key):
    """The value at the dotted ``key`` of ``content`` (a whole key first, then
    its parts; a part that is an integer indexes a list); None if missing."""
    if isinstance(content, dict) and key in content:
        return content[key]
    value = content
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def is_nan(value):
    return isinstance(value, float) and math.isnan(value)
