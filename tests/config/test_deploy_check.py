from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    # The deploy check is about settings; it must not depend on a database being there.
    drop = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deploy_check_in_production_settings():
    result = _check(
        {
            "DEBUG": "0",
            "SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
            "ALLOWED_HOSTS": "clausewatch.example",
            "SITE_URL": "https://clausewatch.example",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_fails_the_deploy_check_with_debug_on():
    result = _check({"DEBUG": "1", "SECRET_KEY": "short"})
    assert result.returncode != 0


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _check({"DEBUG": "0", "ALLOWED_HOSTS": "clausewatch.example"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_reads_the_secret_key_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a-long-random-production-secret-from-a-file-" + "y" * 40)
    result = _check(
        {
            "DEBUG": "0",
            "SECRET_KEY_FILE": str(secret),
            "ALLOWED_HOSTS": "clausewatch.example",
            "SITE_URL": "https://clausewatch.example",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
