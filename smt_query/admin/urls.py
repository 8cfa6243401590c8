"""URLs of ``smt admin``: the admin site at the root."""
from django.urls import path

from .sites import site

urlpatterns = [path("", site.urls)]
