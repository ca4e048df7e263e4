from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from platforms.selectors import platform_list_with_documents, registry_counts


@require_GET
def home(request):
    context = {"platforms": platform_list_with_documents(), "counts": registry_counts()}
    return render(request, "timeline/home.html", context)


@require_GET
def platform_detail(request, slug: str):
    platform = get_object_or_404(platform_list_with_documents(), slug=slug)
    statements = platform.statements.order_by("-date")
    return render(
        request, "timeline/platform.html", {"platform": platform, "statements": statements}
    )
