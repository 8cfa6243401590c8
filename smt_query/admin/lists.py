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
from ..fields import STATUSES, is_status_tag, status_tag
from ..filters import get_filter, literal_tag
from .display import short_value

#: Columns read for the list (the big text columns are left in the database).
LIST_COLUMNS = ("db_id", "label", "timestamp", "reason", "outcome", "duration",
                "main_file", "version")
#: Most choices listed under "main file" and "version" (the most used ones).
MAX_CHOICES = 30


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


# -- sidebar filters -----------------------------------------------------------

class LibraryListFilter(admin.SimpleListFilter):
    """A sidebar filter whose choice becomes a library filter."""

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def make_filter(self, value):
        raise NotImplementedError

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


class TagListFilter(LibraryListFilter):
    """Exact tags; choosing several keeps the records carrying all of them."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = model_admin.context(request).tag_names()
        return [(name, name) for name in sorted(names) if not is_status(name)]

    def selected(self):
        return parse_tags(self.value())

    def make_filter(self, value):   # the choices are tag names: match them literally
        return get_filter("tags")(*map(literal_tag, parse_tags(value)))

    def choices(self, changelist):
        chosen = self.selected()
        yield {"selected": not chosen, "display": "All",
               "query_string": changelist.get_query_string(remove=[self.parameter_name])}
        for name, title in self.lookup_choices:
            others = [t for t in chosen if t != name] if name in chosen else chosen + [name]
            yield {"selected": name in chosen, "display": title,
                   "query_string": changelist.get_query_string(
                       {self.parameter_name: ",".join(others) or None})}


class StatusListFilter(LibraryListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        names = set(model_admin.context(request).tag_names())
        return [(word, word) for word in STATUSES if status_tag(word) in names]

    def make_filter(self, value):
        return get_filter("status")(value)


class ColumnListFilter(LibraryListFilter):
    """Exact values of one column (the most used ones are listed)."""

    column = None

    def lookups(self, request, model_admin):
        from django.db.models import Count
        rows = (model_admin.source().queryset().order_by().values_list(self.column)
                .annotate(n=Count("pk")).order_by("-n", self.column)[:MAX_CHOICES])
        return [(value, short_value(self.column, value)) for value, _ in rows if value]

    def make_filter(self, value):
        from ..where import Compare, Field
        return get_filter("where")(Compare(Field(self.column), "==", value))


class MainFileListFilter(ColumnListFilter):
    title = "main file"
    parameter_name = "main_file"
    column = "main_file"


class VersionListFilter(ColumnListFilter):
    title = "version"
    parameter_name = "version"
    column = "version"


class WhereListFilter(LibraryListFilter):
    """The parameter box above the list (``smt query --where`` language)."""

    title = "parameters"
    parameter_name = "where"
    template = "smt_query_admin/no_sidebar_entry.html"

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True  # so that ChangeList applies it; it shows above the list

    def make_filter(self, value):
        return get_filter("where")(value)


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
        return (*specs, lookups, duplicates, active)

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


def _first_line(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


#: Errors of a list page shown as a message (see ``RecordAdmin.changelist_view``).
LIST_ERRORS = (QueryError, DatabaseError, OverflowError)
#: The query-string parameters of the list's conditions, as the page names them.
CONDITIONS = {"where": "parameters", "q": "search", "tag": "tag", "status": "status",
              "main_file": "main file", "version": "version", "timestamp__year": "year",
              "timestamp__month": "month", "timestamp__day": "day"}


def failed(request):
    """Whether the list of ``request`` is shown again without its conditions."""
    return getattr(request, "smt_failed", False)


def list_error(request, err):
    """The one-line message for a list whose conditions could not run."""
    if isinstance(err, QueryError):
        return _first_line(err)
    shown = ", ".join(f"{CONDITIONS[k]} {_cut(v)!r}" for k, v in request.GET.items()
                      if k in CONDITIONS and v)
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
