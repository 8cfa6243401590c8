"""Models of our own over Sumatra's tables, for the read path.

Sumatra's Django models module imports nearly all of Sumatra (records,
dependency finders, version control, its ``parameters`` package and NumPy):
a read-only query (count, labels, table, ``--where`` in SQL) runs instead on
these unmanaged "mirror" models: the same tables (``db_table``), the same
model and field names (so every ``Q`` of :mod:`smt_query.where` and
:mod:`smt_query.filters` means the same on both model sets), only the
columns and relations the read path uses, ``managed = False`` (never
migrated or written).

They live in a registry of their own (``Meta.apps``, as Django's migrations
keep their historical models), not in ``INSTALLED_APPS``: they work in any
process where Django is set up (ours, the admin's, your own Django project)
and coexist with Sumatra's models, which load only when asked for (full
records, tagging, the admin: :mod:`smt_query.recordstore`).
"""
import functools
import types

#: The app label of the mirror models (in their own registry).
APP_LABEL = "smt_query_mirror"


@functools.cache
def mirror_models():
    """A namespace of the mirror models (``Record``, ``ParameterSet``,
    ``PlatformInformation``, ``DataKey``, ``Project``), defined on first use;
    Django must be set up."""
    from django.apps import AppConfig
    from django.apps.registry import Apps
    from django.db import models

    class MirrorApp(AppConfig):
        """The app of the mirror models in their registry (no module of its
        own, as the app stubs of Django's migration states)."""

        def __init__(self):
            self.name = self.label = APP_LABEL
            self.verbose_name = "Sumatra's tables, read only"
            self.module = self.models_module = self.apps = None
            self.models = {}

        def import_models(self):
            self.models = self.apps.all_models[self.label]

    # an app config, so that reverse relations (record.platforms <-> platform.record) resolve
    registry = Apps(installed_apps=[MirrorApp()])
    keep = models.DO_NOTHING   # read only: nothing is deleted through these

    def meta(table):
        return type("Meta", (), {"apps": registry, "app_label": APP_LABEL, "db_table": table,
                                 "managed": False})

    class Project(models.Model):
        id = models.CharField(max_length=50, primary_key=True)
        Meta = meta("django_store_project")

    class ParameterSet(models.Model):
        type = models.CharField(max_length=100)
        content = models.TextField()
        Meta = meta("django_store_parameterset")

    class PlatformInformation(models.Model):
        machine = models.CharField(max_length=20)
        network_name = models.CharField(max_length=100)
        processor = models.CharField(max_length=100)
        system_name = models.CharField(max_length=20)
        Meta = meta("django_store_platforminformation")

    class Record(models.Model):
        db_id = models.AutoField(primary_key=True)
        label = models.CharField(max_length=100)
        reason = models.TextField()
        duration = models.FloatField(null=True)
        main_file = models.CharField(max_length=100)
        version = models.CharField(max_length=50)
        parameters = models.ForeignKey(ParameterSet, on_delete=keep)
        outcome = models.TextField()
        timestamp = models.DateTimeField()
        tags = models.CharField(max_length=255)
        platforms = models.ManyToManyField(PlatformInformation,
                                           db_table="django_store_record_platforms")
        diff = models.TextField()
        user = models.CharField(max_length=100)
        project = models.ForeignKey(Project, null=True, on_delete=keep)
        script_arguments = models.TextField()
        stdout_stderr = models.TextField()
        repeats = models.CharField(max_length=100, null=True)
        Meta = meta("django_store_record")

    class DataKey(models.Model):
        path = models.CharField(max_length=200)
        output_from_record = models.ForeignKey(Record, related_name="output_data", null=True,
                                               on_delete=keep)
        Meta = meta("django_store_datakey")

    return types.SimpleNamespace(Project=Project, ParameterSet=ParameterSet,
                                 PlatformInformation=PlatformInformation, Record=Record,
                                 DataKey=DataKey, registry=registry)
