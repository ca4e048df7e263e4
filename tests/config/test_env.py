from __future__ import annotations

import pytest

from config.env import EnvError, env_bool, env_int, mailer_from_url


def test_it_parses_booleans_strictly(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", default=True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(EnvError, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_it_rejects_a_non_integer(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(EnvError, match="not an integer"):
        env_int("N", 1)


def test_it_turns_an_email_url_into_a_mailer():
    mailer = mailer_from_url("smtp://user:p%40ss@mail.example:2525?tls=1")
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert mailer["OPTIONS"] == {
        "host": "mail.example",
        "port": 2525,
        "username": "user",
        "password": "p@ss",
        "use_ssl": False,
        "use_tls": True,
        "timeout": 10.0,
    }
    assert mailer_from_url("console://")["BACKEND"].endswith("console.EmailBackend")
    with pytest.raises(EnvError, match="not supported"):
        mailer_from_url("gopher://x")
