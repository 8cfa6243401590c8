"""Record filters: small objects kept in one registry.

A filter is built with its arguments (validated at once, so a bad date fails
where it is written) and offers

* :meth:`Filter.test` -- a Python predicate over a Sumatra ``Record``; this is
  the reference semantics, used for stores without SQL and in tests;
* :meth:`Filter.to_q` -- the same condition as a Django ``Q`` over Sumatra's
  ``Record`` model, or ``None`` when it cannot be said exactly in SQL.

``view.filter.<name>(...)`` looks filters up in :data:`FILTERS`. A filter
offered on the command line and in query specs also carries its
:class:`Option` declarations (flag, metavar, help, value check, completion,
spec key; the way django-filter's filters carry their form field):
``smt query``'s options (:mod:`smt_query.cli.options`), the query specs
(:mod:`smt_query.query`) and the filter reference in the docs are all
generated from them (:func:`spec_options`), in the order the filters are
registered. Adding such a filter is one class in the module of its kind,
its tests and a line in ``CHANGES.rst``.

Register your own with :func:`register_filter`::

    @register_filter
    def long_runs(hours=10):
        "Keep records that ran longer than `hours`."
        return lambda record: (record.duration or 0) > hours * 3600

A registered function takes the filter's arguments and returns the predicate
(the smttask convention); such filters run in Python, after the SQL ones.

The modules, in the order their filters are registered:

==============  ===============================================================
``registry``    :data:`FILTERS`, :class:`Filter`, :class:`Option`, the spec
                :data:`MODIFIERS`, :func:`register_filter`; ``generic_filter``
``sidebar``     :class:`Sidebar`: how the admin's record list offers a filter
``names``       ``labels``, tags and status
``dates``       ``after``, ``before``, ``on``
``text``        one text field each, substring or glob, smart case
``columns``     ``version``, ``platform``, ``duration``, ``output``
``parameters``  ``where``, ``params``, ``match``
==============  ===============================================================
"""
from ..fields import STATUSES
from ..where.globs import glob_match, glob_regex
from .registry import (FILTERS, MODIFIERS, Filter, FunctionFilter, GenericFilter, Option,
                       UnknownFilter, get_filter, modifier_kwargs, register_filter,
                       spec_modifiers, spec_options, sql_form_of)
from .sidebar import Sidebar, exact_field, most_used
from .names import (AllTags, AnyTag, LabelsFilter, NotTag, StatusFilter, TagsFilter,
                    literal_glob, literal_tag)
from .dates import After, Before, DateFilter, On
from .text import TextFilter, has_upper
from .columns import DurationFilter, OutputFilter, PlatformFilter, VersionFilter
from .parameters import MatchFilter, ParamsFilter, WhereFilter

__all__ = ["FILTERS", "MODIFIERS", "STATUSES",
           "Filter", "FunctionFilter", "Option", "Sidebar", "UnknownFilter",
           "exact_field", "get_filter", "glob_match", "glob_regex", "has_upper", "literal_glob",
           "literal_tag", "modifier_kwargs", "most_used", "register_filter", "spec_modifiers",
           "spec_options", "sql_form_of",
           "GenericFilter", "LabelsFilter", "TagsFilter", "AllTags", "AnyTag", "NotTag",
           "StatusFilter", "DateFilter", "After", "Before", "On", "TextFilter", "VersionFilter",
           "PlatformFilter", "DurationFilter", "OutputFilter", "WhereFilter", "ParamsFilter",
           "MatchFilter"]
