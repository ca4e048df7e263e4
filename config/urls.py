from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from config.admin_login import admin_login
from config.health import healthz
from config.metrics import metrics

admin.site.site_header = "Clausewatch administration"
admin.site.site_title = "Clausewatch admin"

urlpatterns = [
    # Before admin.site.urls: the admin's login view, with a rate limit in front of it.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("alerts/", include("alerts.urls")),
    path("api/v1/", include("timeline.api_urls")),
    path("", include("timeline.urls")),
]
