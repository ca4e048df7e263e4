"""bin/backup and bin/restore (README "Backups"), run for real: dump the test database with
pg_dump, restore it into a new database, and compare every table and sequence."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from snapshots.storage import snapshot_store
from tests.alerts.helpers import make_change
from tests.factories import (
    DocumentFactory,
    PlatformFactory,
    StatementFactory,
    SubscriberFactory,
)

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("backups are PostgreSQL dumps (set DATABASE_URL)")
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}{password}@{host}:{port}", db["NAME"]


def _fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and an md5 of every row's text; per sequence: its last value."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        result = {}
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"  # noqa: S608 (names from pg_tables)
            ).fetchone()
            result[table] = (count, digest)
        for name, last in conn.execute(
            "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences"
            " WHERE schemaname = 'public'"
        ):
            result[f"sequence {name}"] = (last, "")
    return result


def _run(*command: str, url: str) -> str:
    env = os.environ | {"DATABASE_URL": url}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_backup_restores_into_a_new_database_with_every_row(postgres, tmp_path):
    server, name = postgres
    platform = PlatformFactory(name="SoundCloud", slug="soundcloud")
    doc = DocumentFactory(platform=platform)
    StatementFactory(platform=platform)
    body = snapshot_store(
        body=b"<html>\x00binary \xff body</html>",
        content_type="text/html",
        encoding="utf-8",
        final_url=doc.url,
        http_status=200,
    )
    first = make_change(document=doc)
    make_change(document=doc, new_text="# Terms\n\nWe license your uploads to AI companies.\n")
    first.new_version.snapshot = body
    first.new_version.save(update_fields=["snapshot"])
    SubscriberFactory.create_batch(3)
    SubscriberFactory(platforms=[platform], email="fan@example.org")

    source = _fingerprint(f"{server}/{name}")
    assert source["snapshots_change"][0] == 2
    assert source["snapshots_version"][0] == 3
    assert source["alerts_subscription"][0] == 1

    dump = tmp_path / "clausewatch.dump"
    assert _run("bin/backup", str(dump), url=f"{server}/{name}").strip() == str(dump)
    assert dump.stat().st_size > 0

    restored = f"{name}_restored"
    _run("createdb", "--maintenance-db", f"{server}/postgres", restored, url="")
    try:
        _run("bin/restore", str(dump), url=f"{server}/{restored}")
        assert _fingerprint(f"{server}/{restored}") == source
        # Restoring again over the restored copy (what a rollback to a backup does) works too.
        _run("bin/restore", str(dump), url=f"{server}/{restored}")
        assert _fingerprint(f"{server}/{restored}") == source
    finally:
        _run("dropdb", "--maintenance-db", f"{server}/postgres", "--if-exists", restored, url="")


def test_backup_refuses_to_run_without_a_database_url(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        ["bin/backup", str(tmp_path / "x.dump")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "DATABASE_URL" in done.stderr
    assert not (tmp_path / "x.dump").exists()
