from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.health import healthz

admin.site.site_header = "Clausewatch administration"
admin.site.site_title = "Clausewatch admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("alerts/", include("alerts.urls")),
    path("api/v1/", include("timeline.api_urls")),
    path("", include("timeline.urls")),
]
