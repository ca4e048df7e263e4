"""Secrets come from the environment or from files (NAME_FILE, Docker secrets), never the repo.
Production refusing to start without SECRET_KEY, and SECRET_KEY_FILE, are in
tests/config/test_deploy_check.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import EnvError, env_bool, env_int, env_list, env_str

REPO = Path(__file__).resolve().parents[2]
SECRET_NAMES = ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "METRICS_TOKEN"]


def test_it_reads_any_setting_from_the_file_its_file_variable_names(monkeypatch, tmp_path):
    values = {"SECRET_KEY": "s3cret-from-a-file", "DEBUG": "0", "FETCH_RETRIES": "4"}
    values |= {"ALLOWED_HOSTS": "a.example,b.example"}
    for name, value in values.items():
        monkeypatch.delenv(name, raising=False)
        (tmp_path / name).write_text(value + "\n")  # as `echo value > file` writes it
        monkeypatch.setenv(f"{name}_FILE", str(tmp_path / name))
    assert env_str("SECRET_KEY") == "s3cret-from-a-file"
    assert env_bool("DEBUG", default=True) is False
    assert env_int("FETCH_RETRIES", 2) == 4
    assert env_list("ALLOWED_HOSTS") == ["a.example", "b.example"]
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")  # the variable itself wins
    assert env_str("SECRET_KEY") == "from-the-environment"


def test_it_names_a_secret_file_it_cannot_read(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(EnvError, match=r"SECRET_KEY_FILE=.*missing.* cannot be read"):
        env_str("SECRET_KEY")


def _manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    drop = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env |= {"ALLOWED_HOSTS": "clausewatch.example", "SITE_URL": "https://clausewatch.example"}
    env |= env_overrides
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_to_start_in_production_with_an_empty_secret_file(tmp_path):
    empty = tmp_path / "secret_key"
    empty.write_text("\n")
    result = _manage({"DEBUG": "0", "SECRET_KEY_FILE": str(empty)}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_fails_the_deploy_check_with_a_guessable_secret_key():
    result = _manage(
        {"DEBUG": "0", "SECRET_KEY": "changeme"}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


# What a committed secret looks like. The development key (used only while DEBUG is on) and
# the docker-compose network's own database password (not published outside it) are known.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s:@'\"${}]+)@"),
    "hard-coded secret": re.compile(
        r"(?i)\b(secret_key|password|api_key|token)\b\s*[:=]\s*['\"]([^'\"\s{}$]{8,})['\"]"
    ),
}
PLACEHOLDERS = {"pass", "password", "secret", "PASSWORD"}  # examples in docs: user:pass@host
KNOWN = {
    ("config/settings.py", "insecure-development-key-only-for-DEBUG-never-deploy-this"),
    ("docker-compose.yml", "clausewatch"),
}


def _repository_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [f for f in listed if not f.startswith(("tests/", "bench/")) and (REPO / f).is_file()]


def test_it_keeps_secrets_out_of_the_repository():
    files = _repository_files()
    assert "config/settings.py" in files
    found = []
    for name in files:
        try:
            text = (REPO / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for what, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                value = match.group(match.lastindex or 0)
                if (name, value) not in KNOWN and value not in PLACEHOLDERS:
                    found.append(f"{name}: {what}: {match.group(0)[:60]}")
    assert found == []


def test_it_finds_a_committed_secret_when_there_is_one():
    # The scanner itself works: each pattern catches its example.
    examples = {
        "private key": "-----BEGIN RSA PRIVATE KEY-----",
        "AWS key": "aws = AKIAABCDEFGHIJKLMNOP",
        "password in a URL": "DATABASE_URL = 'postgres://app:hunter22@db/app'",
        "hard-coded secret": "SECRET_KEY = 'django-insecure-abcdefgh12345'",
    }
    for what, example in examples.items():
        assert SECRET_PATTERNS[what].search(example), what


def test_it_reads_settings_only_through_config_env():
    for path in [REPO / "config" / "settings.py"]:
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text and "getenv" not in text, path
    assert set(SECRET_NAMES) <= set(re.findall(r'env_str\(\s*"([A-Z_]+)"', _settings_text()))


def _settings_text() -> str:
    return (REPO / "config" / "settings.py").read_text(encoding="utf-8")
