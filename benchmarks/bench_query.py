"""Query speed at 1k/10k/100k records: now part of ``benchmarks/run_suite.py``.

Runs the suite's filter cases (tag, date range, label then tag, tag then label,
where) and the summary's peak memory; any ``run_suite.py`` option works::

    python benchmarks/bench_query.py                          # SQLite and PostgreSQL
    python benchmarks/bench_query.py --sizes 10000 --backends sqlite
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run_suite import main  # noqa: E402

if __name__ == "__main__":
    main(["--cases", "tag", "date range", "label then tag", "tag then label", "where",
          "summary RSS", *sys.argv[1:]])
