"""Database routing: accounts in their own database, Sumatra's tables untouched.

Django's ``auth``, ``admin`` and ``sessions`` tables live in the *accounts*
database (``SMT_QUERY_ADMIN["ACCOUNTS_DATABASE"]``, default ``"default"``);
``smt admin`` uses ``.smt/admin.sqlite3``. Sumatra's models
(app ``django_store``) go to ``SMT_QUERY_ADMIN["DATABASE"]`` when it is set
(a Django project of your own), else wherever Sumatra put them. No table is
ever created in a record store: only ``django_store`` and ``contenttypes``
may be migrated there, as Sumatra itself does.
"""
from django.conf import settings

#: Apps whose tables belong to the accounts database.
ACCOUNT_APPS = frozenset(("auth", "admin", "sessions"))
#: Apps allowed in a record store.
STORE_APPS = frozenset(("django_store", "contenttypes"))


def conf():
    """The ``SMT_QUERY_ADMIN`` settings dict (empty if unset)."""
    return getattr(settings, "SMT_QUERY_ADMIN", None) or {}


def accounts_alias():
    return conf().get("ACCOUNTS_DATABASE", "default")


class SumatraRouter:
    """Route accounts to their database, Sumatra's models to the store."""

    def _db_for(self, model, hints):
        label = model._meta.app_label
        if label in ACCOUNT_APPS:
            return accounts_alias()
        if label == "django_store":
            instance = hints.get("instance")
            if instance is not None and instance._state.db:
                return instance._state.db
            return conf().get("DATABASE")
        return None

    def db_for_read(self, model, **hints):
        return self._db_for(model, hints)

    def db_for_write(self, model, **hints):
        return self._db_for(model, hints)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        accounts = accounts_alias()
        if app_label in ACCOUNT_APPS:
            return db == accounts
        if app_label == "django_store":
            return db != accounts or db == conf().get("DATABASE")
        store = conf().get("DATABASE")
        if store is not None and db == store and db != accounts:
            return app_label in STORE_APPS
        return None


def create_contenttypes_routed(app_config, using="default", **kwargs):
    """Django's ``create_contenttypes``, skipped where our router keeps the app out.

    Without it, migrating a record store (which Sumatra does whenever it opens
    one) would add content-type rows for ``auth``, ``admin`` and ``sessions``
    to the store.
    """
    from django.contrib.contenttypes.management import create_contenttypes
    if SumatraRouter().allow_migrate(using, app_config.label) is False:
        return
    create_contenttypes(app_config, using=using, **kwargs)
