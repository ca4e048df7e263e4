from __future__ import annotations

from django.urls import path

from timeline import views

app_name = "timeline"
urlpatterns = [
    path("", views.home, name="home"),
    path("platforms/<slug:slug>/", views.platform_detail, name="platform"),
]
