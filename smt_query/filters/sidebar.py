"""How the admin offers a filter in its record list (:class:`Sidebar`) and
the choices and makers it is declared with."""
from .registry import get_filter


class Sidebar:
    """How the admin offers a filter in its record list, the way django-filter's
    filters carry their form field: :mod:`smt_query.admin.lists` generates a
    list filter from each option that has one (query-string key: the option's).

    ``title`` heads it; ``choices(records, ctx)`` gives the values listed (a
    queryset of the project's records and the store's ``SQLContext``; None:
    no sidebar entry, the value comes from a box above the list); ``make``
    builds the library filter of a chosen value (default: the option's filter
    with that value); with ``several``, choosing values keeps the records
    matching all of them (the query string lists them comma-separated and
    ``make`` gets the list).
    """

    def __init__(self, title, choices=None, make=None, several=False):
        self.title, self.choices, self.make, self.several = title, choices, make, several

    def filter_for(self, option, value):
        """The library filter of the chosen ``value`` (a list if ``several``)."""
        if self.make is not None:
            return self.make(value)
        return get_filter(option.filter)(value)


def most_used(column, limit=30):
    """Sidebar choices: the ``limit`` most used values of a record column, or of
    a related model's column (``"platforms__network_name"``), blanks left out."""
    def choices(records, ctx):
        from django.db.models import Count
        rows = (records.order_by().exclude(**{f"{column}__isnull": True})
                .values_list(column).annotate(n=Count("pk")).order_by("-n", column)[:limit])
        return [value for value, _ in rows if value]
    return choices


def exact_field(column):
    """Sidebar ``make``: the records whose ``column`` is exactly the chosen value."""
    def make(value):
        from .. import where
        return get_filter("where")(where.Compare(where.Field(column), "==", value))
    return make
