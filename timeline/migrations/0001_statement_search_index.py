# The timeline's full-text search over statements (timeline/selectors.py, filter_statements):
# a GIN index on exactly the expression that query uses, PostgreSQL only. It lives here, with
# the query that needs it, because Statement's model belongs to the platforms app.

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(
    SearchVector("title", "summary", "quote", "outlet", config="english"),
    name="statement_search_idx",
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("platforms", "Statement"), INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("platforms", "Statement"), INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("platforms", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
