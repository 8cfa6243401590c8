"""The ``smtq-filters`` directive: the filter reference, made from the registry.

``.. smtq-filters::`` writes one table row per filter registered in
:data:`smt_query.filters.FILTERS` (in registration order): its call
signature, the first paragraph of its docstring, its ``smt query`` options
(:class:`smt_query.filters.Option`) and whether it runs in SQL. So the docs
cannot disagree with the code.
"""
import inspect

from docutils import nodes
from docutils.parsers.rst import Directive

HEADERS = ("filter", "keeps records ...", "smt query", "SQL")
WIDTHS = (22, 52, 18, 8)


def _summary(cls):
    """The first paragraph of the filter's docstring, on one line."""
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _options(cls):
    out = []
    for opt in cls.options:
        if opt.positional:
            out.append(f"[{opt.key.upper()}]...")
        elif opt.how in ("flag", "modifier"):
            out.append(opt.flag)
        else:
            value = opt.metavar or opt.type_name or ("|".join(opt.choices) if opt.choices else "")
            out.append(f"{opt.flag} {value}".strip())
    return out


def _entry(*children):
    entry = nodes.entry()
    entry += children or [nodes.paragraph()]
    return entry


def _literals(texts):
    para = nodes.paragraph()
    for i, text in enumerate(texts):
        if i:
            para += nodes.Text(", ")
        para += nodes.literal(text, text)
    return para


class FiltersDirective(Directive):
    """Insert the table of registered filters."""

    has_content = False

    def run(self):
        from smt_query.filters import FILTERS, sql_form_of
        table = nodes.table()
        group = nodes.tgroup(cols=len(HEADERS))
        table += group
        group += [nodes.colspec(colwidth=w) for w in WIDTHS]
        head = nodes.thead()
        row = nodes.row()
        row += [_entry(nodes.paragraph(text=h)) for h in HEADERS]
        head += row
        group += head
        body = nodes.tbody()
        for name, cls in FILTERS.items():
            row = nodes.row()
            row += _entry(_literals([f"{name}{inspect.signature(cls)}"]))
            row += _entry(nodes.paragraph(text=_summary(cls)))
            row += _entry(_literals(_options(cls)))
            row += _entry(nodes.paragraph(text=sql_form_of(cls)))
            body += row
        group += body
        return [table]


def setup(app):
    app.add_directive("smtq-filters", FiltersDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
