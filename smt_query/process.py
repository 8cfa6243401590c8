"""Process-wide settings that smt-query changes only in its own commands.

Importing or using the library changes no global setting of Sumatra or
Django: a notebook, ``smtweb`` or any other program keeps the settings Sumatra
gives Django (``DEBUG`` on). Our command-line processes (``smt query``,
``smt compare``, ``smt querystore``, ``smt admin``) call :func:`own_command` as
they start a command; there Django runs with ``DEBUG`` off, so it does not
keep the text of every SQL statement. ``smt admin`` also has settings of its
own (:mod:`smt_query.admin.settings`). Nothing here imports Django until
:func:`setup_django` is called.
"""
import sys

_state = {"debug_off": False}


def own_command():
    """Mark this process as one of our commands: Django's ``DEBUG`` goes off,
    now if Sumatra or Django is loaded, else when Django gets configured."""
    _state["debug_off"] = True
    apply()


def apply():
    """Apply the settings :func:`own_command` asked for (nothing otherwise)."""
    if not _state["debug_off"]:
        return
    sumatra = sys.modules.get("sumatra.recordstore.django_store")
    if sumatra is not None:
        sumatra.db_config.update_settings(DEBUG=False)
    conf = sys.modules.get("django.conf")
    if conf is not None and conf.settings.configured:
        conf.settings.DEBUG = False


def setup_django():
    """``django.setup()`` for Django configured with Sumatra's settings.

    In our own commands, without what no command of ours uses: the URL
    resolver (``django.urls``: 0.1-0.2 s of imports) and Django's logging
    configuration, whose handlers show nothing there (``DEBUG`` is off, no
    ``ADMINS``): a null handler on the ``django`` logger keeps its records
    off the terminal alike. Elsewhere (a notebook, ``smtweb``) exactly
    ``django.setup(set_prefix=False)``.
    """
    if not _state["debug_off"]:
        import django
        django.setup(set_prefix=False)   # URLs are per request
        return
    import logging
    from django.apps import apps
    from django.conf import settings
    logging.getLogger("django").addHandler(logging.NullHandler())
    apps.populate(settings.INSTALLED_APPS)
