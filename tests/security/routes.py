"""Every named route of the URLconf with a concrete path, so new views are covered unasked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# A value for each URL parameter name the project uses; objects that do not exist give 404s,
# which is fine: what the tests check (CSRF, login) is decided before the view looks.
SAMPLES = {
    "app_label": "platforms",
    "slug": "evil",
    "token": "not-a-token",
    "url": "x",
}


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    callback: Callable

    @property
    def is_admin(self) -> bool:
        return self.name.startswith("admin:")


def routes() -> list[Route]:
    return sorted(_walk(get_resolver(), ""), key=lambda r: r.name)


def _walk(resolver: URLResolver, namespace: str) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}{entry.name}"
            yield Route(name, reverse(name, kwargs=_kwargs(entry)), entry.callback)


def _kwargs(entry: URLPattern) -> dict[str, object]:
    pattern = entry.pattern
    names = getattr(pattern, "converters", None) or pattern.regex.groupindex
    return {name: SAMPLES.get(name, 1) for name in names}
