"""Django app configuration of ``smt_query.admin``."""
from django.apps import AppConfig


class SmtQueryAdminConfig(AppConfig):
    name = "smt_query.admin"
    label = "smt_query_admin"
    verbose_name = "Sumatra records"

    def ready(self):
        # Content types are created on every migrated database for every app;
        # keep the ones of the accounts apps (auth, admin, sessions) out of
        # Sumatra's record stores, whose tables we never write to on migrate.
        from django.contrib.contenttypes.management import create_contenttypes
        from django.db.models.signals import post_migrate
        from .routers import create_contenttypes_routed
        if post_migrate.disconnect(create_contenttypes):
            post_migrate.connect(create_contenttypes_routed,
                                 dispatch_uid="smt_query_admin.create_contenttypes")
