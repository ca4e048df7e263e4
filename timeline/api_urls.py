from __future__ import annotations

from django.urls import path

from timeline import api

app_name = "api"
urlpatterns = [
    path("", api.api_root, name="root"),
    path("platforms", api.platforms, name="platforms"),
    path("documents", api.documents, name="documents"),
    path("documents/<int:pk>/versions", api.document_versions, name="versions"),
    path("changes", api.changes, name="changes"),
    path("changes/<int:pk>", api.change_detail, name="change"),
    path("statements", api.statements, name="statements"),
]
