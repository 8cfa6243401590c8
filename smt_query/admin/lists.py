"""The list page of the records: sidebar filters, the change list, and how
a list whose conditions cannot run is shown (part of :mod:`smt_query.admin.records`).

Every condition comes from :mod:`smt_query.filters`: a sidebar choice, the
search box or the parameter box builds a library filter, and the store
narrows the changelist queryset by it
(:meth:`~smt_query.recordstore.QueryDjangoRecordStore.narrow`).
"""
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db import DatabaseError

from ..errors import QueryError
from ..fields import is_status_tag
from ..filters import spec_options
from .display import short_value

#: Columns read for the list (the big text columns are left in the database).
LIST_COLUMNS = ("db_id", "label", "timestamp", "reason", "outcome", "duration",
                "main_file", "version")


def is_status(tag):
    """Whether ``tag`` is a Sumatra status tag (``_finished_``; the one rule of
    :mod:`smt_query.fields`)."""
    return is_status_tag(tag)


def user_tags(tags):
    """Tags that are not Sumatra status tags, sorted."""
    return sorted(t for t in tags if not is_status(t))


def parse_tags(text):
    """Comma-separated tags typed by a person, without blanks or repeats."""
    out = []
    for tag in (t.strip() for t in (text or "").split(",")):
        if tag and tag not in out:
            out.append(tag)
    return out


# -- sidebar filters: generated from the filter registry ----------------------

class LibraryListFilter(admin.SimpleListFilter):
    """A list filter generated from a registered filter's option (``option``,
    with its :class:`~smt_query.filters.Sidebar`): a chosen value becomes a
    library filter, and the store narrows the list by it."""

    option = None

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    @property
    def sidebar(self):
        return self.option.sidebar

    def lookups(self, request, model_admin):
        if self.sidebar.choices is None:
            return ()
        values = self.sidebar.choices(model_admin.source().queryset(),
                                      model_admin.context(request))
        return [(value, short_value(self.parameter_name, value)) for value in values]

    def has_output(self):
        # a box above the list: applied by the ChangeList, no sidebar entry
        return True if self.sidebar.choices is None else super().has_output()

    def selected(self):
        return parse_tags(self.value()) if self.sidebar.several else [self.value()]

    def make_filter(self, value):
        return self.sidebar.filter_for(self.option, parse_tags(value) if self.sidebar.several
                                       else value)

    def queryset(self, request, queryset):
        value = self.value()
        if value in (None, "") or failed(request):
            return None
        try:
            return self.model_admin.narrow(request, queryset, self.make_filter(value))
        except QueryError as err:
            self.model_admin.message_user(request, f"{self.title}: {_first_line(err)}",
                                          messages.ERROR)
            return queryset.none()

    def choices(self, changelist):
        if not self.sidebar.several:
            yield from super().choices(changelist)
            return
        chosen = self.selected()   # each choice toggles its value in the list
        yield {"selected": not chosen, "display": "All",
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for name, title in self.lookup_choices:
            others = [t for t in chosen if t != name] if name in chosen else chosen + [name]
            yield {"selected": name in chosen, "display": title,
                   "query_string": changelist.get_query_string(
                       {self.parameter_name: ",".join(others) or None})}


_generated = {}


def list_filter_for(option):
    """The admin's list filter class of ``option`` (a :class:`~smt_query.filters.Option`
    with a sidebar), made once."""
    cls = _generated.get(option)
    if cls is None:
        attrs = {"option": option, "title": option.sidebar.title,
                 "parameter_name": option.key, "__module__": __name__,
                 "__doc__": f"The list filter of ``{option.flag}`` (generated)."}
        if option.sidebar.choices is None:
            attrs["template"] = "smt_query_admin/no_sidebar_entry.html"
        name = "".join(part.title() for part in option.key.split("_")) + "ListFilter"
        cls = _generated[option] = type(name, (LibraryListFilter,), attrs)
    return cls


def list_filters():
    """The list filters of every registered filter option with a sidebar, in
    registration order, the boxes above the list (``where``) first."""
    options = [opt for opt in spec_options().values() if opt.sidebar is not None]
    options.sort(key=lambda opt: opt.sidebar.choices is not None)
    return tuple(list_filter_for(opt) for opt in options)


# -- metric columns ---------------------------------------------------------------

def declared_metrics(model_admin):
    """The names of the metrics the shown project declares, sorted."""
    from ..metrics import view_definitions
    return sorted(view_definitions(model_admin.source().view()))


_metric_columns = {}


def metric_column(name):
    """The list column of metric ``name`` (made once per name): the record's
    value, blank without one (never 0), sorted in SQL by the metric table
    (:class:`MetricOrder`; records without a value last)."""
    column = _metric_columns.get(name)
    if column is None:
        def column(obj):
            value = getattr(obj, "smt_metrics", {}).get(name)
            return None if value is None else str(value)
        column.__name__ = f"metric_{name}"
        column = _metric_columns[name] = admin.display(
            description=f"metric.{name}", ordering=MetricOrder(name), empty_value="")(column)
        column._smt_metric = name
    return column


class MetricOrder:
    """Builds, for the record table, the SQL value of metric ``name`` (NULL
    without a number) that the list sorts by."""

    def __init__(self, name):
        self.name = name

    def expression(self, model):
        from django.db.models import FloatField
        from django.db.models.expressions import RawSQL

        from ..where.metrics import NUMBER, TABLE
        meta = model._meta
        sql = (f'SELECT m.value FROM {TABLE} m WHERE m.record_id = "{meta.db_table}".'
               f'"{meta.pk.column}" AND m.name = %s AND m.state = {NUMBER}')
        return RawSQL(sql, [self.name], output_field=FloatField())


# -- the change list ------------------------------------------------------------

class RecordChangeList(ChangeList):
    """Reads only the listed columns, and the tags of a page in one query;
    dates of the date hierarchy up to 9999-12-31."""

    def get_filters(self, request):
        # Django bounds a chosen year, month or day by the next one, which
        # does not exist after 9999-12-31: the bounds are made here.
        keys = [f"{self.date_hierarchy}__{part}" for part in ("year", "month", "day")]
        lists = hasattr(self, "filter_params")   # Django >= 5.0: lists of values
        name = "filter_params" if lists else "params"
        params = getattr(self, name)
        setattr(self, name, {k: v for k, v in params.items() if k not in keys})
        try:
            *specs, lookups, duplicates, active = super().get_filters(request)
        finally:
            setattr(self, name, params)
        chosen = [(params[k][-1] if lists else params[k]) if k in params else None
                  for k in keys]
        if chosen[0] is not None and not failed(request):
            bounds = date_bounds(self.date_hierarchy, *chosen)
            lookups.update({k: [v] for k, v in bounds.items()} if lists else bounds)
            self.dated = True
        return (*specs, lookups, duplicates, active)

    def get_queryset(self, request, *args, **kwargs):
        # the metrics shown are made current first, as for any query reading them
        names = [c._smt_metric for c in self.list_display if hasattr(c, "_smt_metric")]
        if names and not failed(request):
            from ..metrics import prepare_view
            prepare_view(self.model_admin.source().view(), names, progress=False)
        qs = super().get_queryset(request, *args, **kwargs)
        if getattr(self, "dated", False):   # an unreadable timestamp is on no date
            from ..where.qfields import timestamp_ok
            qs = qs.filter(timestamp_ok(self.date_hierarchy))
        return qs

    def get_ordering_field(self, field_name):
        order = super().get_ordering_field(field_name)
        return order.expression(self.model) if isinstance(order, MetricOrder) else order

    def get_ordering(self, request, queryset):
        from django.db.models import OrderBy
        from django.db.models.expressions import RawSQL
        ordering = super().get_ordering(request, queryset)
        return [OrderBy(o.expression, descending=o.descending, nulls_last=True)   # no value: last
                if isinstance(o, OrderBy) and isinstance(o.expression, RawSQL) else o
                for o in ordering]

    def get_results(self, request):
        super().get_results(request)
        # Sort the ids of the page alone, then read its rows by id: the
        # database sorts narrow rows, not the listed text columns.
        ids = list(self.result_list.values_list("db_id", flat=True))
        page = self.model_admin.source().queryset().filter(db_id__in=ids)
        rows = page.only(*LIST_COLUMNS).in_bulk()
        tags = self.model_admin.source().store.tags_of(page)
        self.result_list = [rows[i] for i in ids]
        for record in self.result_list:
            record.smt_tags = sorted(tags.get(record.db_id, ()))
        names = [c._smt_metric for c in self.list_display if hasattr(c, "_smt_metric")]
        if names and self.result_list:
            from ..metrics.table import read_values
            source = self.model_admin.source()
            values = read_values(source.store, source.name, names,
                                 [r.label for r in self.result_list])
            for record in self.result_list:
                record.smt_metrics = values.get(record.label, {})


def _first_line(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


#: Errors of a list page shown as a message (see ``RecordAdmin.changelist_view``).
LIST_ERRORS = (QueryError, DatabaseError, OverflowError)
#: The query-string parameters of the list's conditions, as the page names them
#: (besides those of :func:`list_filters`).
CONDITIONS = {"q": "search", "timestamp__year": "year", "timestamp__month": "month",
              "timestamp__day": "day"}


def conditions():
    """``{query-string parameter: its name on the page}`` of every condition."""
    return {**{f.parameter_name: f.title for f in list_filters()}, **CONDITIONS}


def failed(request):
    """Whether the list of ``request`` is shown again without its conditions."""
    return getattr(request, "smt_failed", False)


def list_error(request, err):
    """The one-line message for a list whose conditions could not run."""
    if isinstance(err, QueryError):
        return _first_line(err)
    names = conditions()
    shown = ", ".join(f"{names[k]} {_cut(v)!r}" for k, v in request.GET.items()
                      if k in names and v)
    what = "a date out of range" if isinstance(err, OverflowError) else _first_line(err)
    return f"The database could not run {shown or 'this list'}: {what}."


def _cut(text, limit=60):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def date_bounds(field, year, month=None, day=None):
    """Lookups keeping the values of ``field`` in the chosen year, month or
    day (in the current time zone); no upper bound after 9999-12-31."""
    import datetime
    from django.conf import settings
    from django.utils.timezone import make_aware
    try:
        start = datetime.datetime(int(year), int(month or 1), int(day or 1))
    except (TypeError, ValueError, OverflowError):
        parts = "-".join(str(p) for p in (year, month, day) if p is not None)
        raise QueryError(f"dates: there is no date {_cut(parts, 30)!r}") from None
    try:
        if day:
            end = start + datetime.timedelta(days=1)
        elif month:
            end = (start + datetime.timedelta(days=32)).replace(day=1)
        else:
            end = start.replace(year=start.year + 1)
    except (ValueError, OverflowError):
        end = None
    if settings.USE_TZ:
        start, end = make_aware(start), end and make_aware(end)
    return {f"{field}__gte": start, **({f"{field}__lt": end} if end else {})}
