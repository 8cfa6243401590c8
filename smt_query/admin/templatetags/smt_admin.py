"""Template tags of the admin: a date hierarchy in one query."""
import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

register = template.Library()


def record_days(queryset, field):
    """The sorted distinct UTC days (``date``) of ``field`` in ``queryset`` (one
    query, no per-row function), or None where that shortcut does not hold."""
    from django.db import connections
    from django.db.models import CharField
    from django.db.models.functions import Cast, Substr
    from ...where.dialect import dialect_for
    connection = connections[queryset.db]
    if (dialect_for(connection.vendor) is None   # timestamps as ISO text: ours
            or timezone.get_current_timezone_name() != "UTC"
            or connection.timezone_name != "UTC"):
        return None
    texts = (queryset.order_by().annotate(smt_day=Substr(Cast(field, CharField()), 1, 10))
             .values_list("smt_day", flat=True).distinct())
    return sorted(filter(None, map(_day, texts)))


def _day(text):
    """The date of a timestamp's text; None for one without a calendar day
    (PostgreSQL's ``infinity``, written by hand)."""
    try:
        return datetime.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


@register.inclusion_tag("admin/date_hierarchy.html")
def smt_date_hierarchy(cl):
    """Django's date hierarchy (same links, same template), from one query of
    distinct days instead of a minimum, a maximum and a per-row truncation."""
    field = cl.date_hierarchy
    year_field, month_field, day_field = (f"{field}__{part}" for part in ("year", "month", "day"))
    year, month, day = (cl.params.get(f) for f in (year_field, month_field, day_field))
    if year is not None and not _is_date(year, month, day):   # the page says why
        year = month = day = None
        cl.params = {k: v for k, v in cl.params.items() if not k.startswith(f"{field}__")}
    days = record_days(cl.queryset, field)
    if days is None:
        return date_hierarchy(cl)

    def link(filters):
        return cl.get_query_string(filters, [f"{field}__"])

    if not (year or month or day) and days:
        if days[0].year == days[-1].year:
            year = days[0].year
            if days[0].month == days[-1].month:
                month = days[0].month
    if year and month and day:
        shown = datetime.date(int(year), int(month), int(day))
        return {"show": True,
                "back": {"link": link({year_field: year, month_field: month}),
                         "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT"))},
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}]}
    if year and month:
        return {"show": True, "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [{"link": link({year_field: year, month_field: month,
                                           day_field: d.day}),
                             "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT"))}
                            for d in days]}
    if year:
        months = sorted({d.replace(day=1) for d in days})
        return {"show": True, "back": {"link": link({}), "title": _("All dates")},
                "choices": [{"link": link({year_field: year, month_field: m.month}),
                             "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT"))}
                            for m in months]}
    return {"show": True, "back": None,
            "choices": [{"link": link({year_field: str(y)}), "title": str(y)}
                        for y in sorted({d.year for d in days})]}


def _is_date(year, month, day):
    try:
        datetime.date(int(year), int(month or 1), int(day or 1))
    except (TypeError, ValueError, OverflowError):
        return False
    return True
