# Timeline (issue 5): full-text search vector on Change and the indexes the public pages need.

from __future__ import annotations

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models

import snapshots.models

SEARCH_INDEX = django.contrib.postgres.indexes.GinIndex(
    fields=["search_vector"], name="change_search_idx"
)


def add_search_index(apps, schema_editor):
    # GIN exists only on PostgreSQL; elsewhere the timeline searches with icontains.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("snapshots", "Change"), SEARCH_INDEX)


def remove_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("snapshots", "Change"), SEARCH_INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="change",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=snapshots.models.ChangeSearchVector(),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                condition=models.Q(("kind", "change"), ("published_at__isnull", False)),
                fields=["-observed_at", "-id"],
                name="change_public_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                condition=models.Q(
                    ("ai_relevant", True), ("kind", "change"), ("published_at__isnull", False)
                ),
                fields=["-observed_at", "-id"],
                name="change_public_ai_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="change",
            index=models.Index(
                condition=models.Q(("kind", "change"), ("published_at__isnull", False)),
                fields=["document", "-observed_at", "-id"],
                name="change_public_doc_idx",
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="change", index=SEARCH_INDEX)],
            database_operations=[migrations.RunPython(add_search_index, remove_search_index)],
        ),
    ]
