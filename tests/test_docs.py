"""The tutorial's ``>>>`` examples run on a real demo project."""
import os
import re


DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs")


def examples(name):
    """The tutorial's ``>>>``/``...`` statements, with their expected output if any."""
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith(">>> "):
            source = [line[4:]]
            skip = "doctest: +SKIP" in line
            i += 1
            while i < len(lines) and lines[i].strip().startswith("..."):
                source.append(lines[i].strip()[4:])
                i += 1
            expected = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(">>>"):
                expected.append(lines[i].strip())
                i += 1
            if not skip:
                blocks.append(("\n".join(source), expected))
        else:
            i += 1
    return blocks


def test_tutorial_runs(demo_project_rw, monkeypatch):
    from smt_query.filters import FILTERS
    monkeypatch.chdir(demo_project_rw.path)
    namespace = {}
    blocks = examples("tutorial.rst")
    assert len(blocks) > 20
    try:
        for source, expected in blocks:
            try:
                code = compile(source, "<tutorial>", "eval")
            except SyntaxError:
                exec(compile(source, "<tutorial>", "exec"), namespace)
                continue
            value = eval(code, namespace)
            if expected:
                assert re.fullmatch(re.escape("\n".join(expected)), repr(value)), source
    finally:
        FILTERS.pop("long_runs", None)
