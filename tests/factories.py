from __future__ import annotations

from datetime import date

import factory
from django.utils import timezone

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


def text_sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


class VersionFactory(factory.django.DjangoModelFactory):
    """A published version; chain them with previous=..."""

    class Meta:
        model = "snapshots.Version"

    document = factory.SubFactory(DocumentFactory)
    text = factory.Sequence(lambda n: f"# Terms\n\nVersion {n} of the terms.\n")
    sha256 = factory.LazyAttribute(lambda o: text_sha256(o.text))
    word_count = factory.LazyAttribute(lambda o: len(o.text.split()))
    observed_at = factory.LazyFunction(timezone.now)


class ChangeFactory(factory.django.DjangoModelFactory):
    """A published change between two versions of one document, analysed for real."""

    class Meta:
        model = "snapshots.Change"
        skip_postgeneration_save = True  # analyse() saves what it sets

    document = factory.SubFactory(DocumentFactory)
    old_version = factory.LazyAttribute(
        lambda o: VersionFactory(document=o.document, text="# Terms\n\nWe host your uploads.\n")
    )
    new_version = factory.LazyAttribute(
        lambda o: VersionFactory(
            document=o.document,
            previous=o.old_version,
            text="# Terms\n\nWe host your uploads.\n\nWe may use your uploads to train AI models.\n",
        )
    )
    observed_at = factory.LazyAttribute(lambda o: o.new_version.observed_at)
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def analyse(obj, create, extracted, **kwargs):
        # Real diff and AI analysis, as the pipeline stores them.
        from snapshots.analysis import analyze_change_texts

        facts = analyze_change_texts(obj.old_version.text, obj.new_version.text)
        for field, value in vars(facts).items():
            setattr(obj, field, value)
        obj.analyzed_at = timezone.now()
        if create:
            obj.save()


# --- alerts -------------------------------------------------------------------------------


class SubscriberFactory(factory.django.DjangoModelFactory):
    """A confirmed subscriber to every platform; pass platforms=[...] to follow only those."""

    class Meta:
        model = "alerts.Subscriber"
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"creator{n}@example.org")
    status = "active"
    frequency = "instant"
    ai_only = False
    all_platforms = True
    confirmed_at = factory.LazyFunction(timezone.now)
    digest_since = factory.LazyAttribute(lambda o: o.confirmed_at)

    @factory.post_generation
    def platforms(obj, create, extracted, **kwargs):
        if not extracted:
            return
        from alerts.models import Subscription

        obj.all_platforms = False
        if create:
            obj.save(update_fields=["all_platforms"])
            for platform in extracted:
                Subscription.objects.create(subscriber=obj, platform=platform)


class PendingSubscriberFactory(SubscriberFactory):
    status = "pending"
    confirmed_at = None
    digest_since = None
    confirm_nonce = factory.Sequence(lambda n: f"nonce{n}")
