from __future__ import annotations

from datetime import date

import factory

from platforms.models import Document, Platform, Statement


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Platform

    name = factory.Sequence(lambda n: f"Platform {n}")
    slug = factory.Sequence(lambda n: f"platform-{n}")
    homepage = factory.Sequence(lambda n: f"https://platform{n}.example/")
    description = "A platform where people publish their work."


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    platform = factory.SubFactory(PlatformFactory)
    kind = "terms_of_service"
    title = factory.Sequence(lambda n: f"Terms {n}")
    url = factory.Sequence(lambda n: f"https://docs.example/terms/{n}")


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Statement

    platform = factory.SubFactory(PlatformFactory)
    date = date(2024, 5, 14)
    title = factory.Sequence(lambda n: f"Statement {n}")
    summary = "The company said something about AI training."
    source_url = factory.Sequence(lambda n: f"https://news.example/{n}")
    outlet = "Example News"
