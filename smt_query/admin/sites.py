"""The admin site: Sumatra records of one project, behind a login."""
from django.contrib import admin
from django.shortcuts import redirect
from django.urls import reverse


class SumatraAdminSite(admin.AdminSite):
    """An admin site whose home is the list of records."""

    site_title = "Sumatra records"
    site_header = "Sumatra records"
    index_title = "Records"
    enable_nav_sidebar = False
    site_url = None  # no "view site" link: this is the site

    def each_context(self, request):
        context = super().each_context(request)
        try:
            from .source import get_source
            context["site_header"] = f"Sumatra records · project {get_source().name}"
        except Exception:  # the login page must show even if the project does not load
            pass
        return context

    def records_url(self):
        return reverse(f"{self.name}:django_store_record_changelist", current_app=self.name)

    def index(self, request, extra_context=None):
        return redirect(self.records_url())

    def app_index(self, request, app_label, extra_context=None):
        return redirect(self.records_url())


def _build():
    from sumatra.recordstore.django_store.models import Record
    from .records import RecordAdmin
    site = SumatraAdminSite(name="smt_admin")
    site.disable_action("delete_selected")
    site.register(Record, RecordAdmin)
    return site


#: The site; mount it with ``path("records/", site.urls)``.
site = _build()
