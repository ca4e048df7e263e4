from __future__ import annotations

from django.urls import path
from django.views.decorators.http import require_GET

from timeline import exports, feeds, views
from timeline.caching import public_cache

app_name = "timeline"
urlpatterns = [
    path("", views.timeline_index, name="home"),
    path("changes.csv", exports.changes_csv, name="changes_csv"),
    path("changes/<int:pk>/", views.change_detail, name="change"),
    path("platforms/", views.platform_list, name="platforms"),
    path("platforms/<slug:slug>/", views.platform_detail, name="platform"),
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/<int:pk>/compare/", views.document_compare, name="compare"),
    path("documents/<int:document_id>/versions/<int:pk>/", views.version_detail, name="version"),
    path(
        "documents/<int:document_id>/versions/<int:pk>/snapshot.txt",
        views.version_snapshot,
        name="snapshot",
    ),
    path("ai/", views.ai_explorer, name="ai"),
    path("data/", views.data, name="data"),
    path("feeds/changes.atom", require_GET(public_cache(feeds.ChangesFeed())), name="feed_changes"),
    path("feeds/ai.atom", require_GET(public_cache(feeds.AiFeed())), name="feed_ai"),
    path(
        "feeds/platforms/<slug:slug>.atom",
        require_GET(public_cache(feeds.PlatformFeed())),
        name="feed_platform",
    ),
]
