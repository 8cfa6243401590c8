"""The Django admin over a Sumatra record store (``smt admin``).

A Django app (``smt_query.admin``) whose admin site lists, filters, tags,
compares and exports the records of one Sumatra project. Every query comes
from the library: sidebar filters, the search box and the ``--where`` box are
:mod:`smt_query.filters` filters (pushed into SQL when they can be, run in
Python otherwise), comparison is :func:`smt_query.compare.compare_view`,
tagging is :meth:`~smt_query.recordstore.QueryDjangoRecordStore.add_tag`.

* ``smt admin`` serves it for the project of the current directory
  (:mod:`smt_query.cli.admin`, settings from :func:`.settings.prepare`);
* a Django project of your own can mount it too: see ``docs/admin.rst`` and
  :func:`.settings.store_database`.

Nothing here is imported at ``smt`` start-up; Django is configured first.
"""
