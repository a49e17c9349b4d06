"""Cassandra logins: from the environment when set (compose), none on the local node."""

from __future__ import annotations

import secrets

import pytest

from storage.cassandra_client import ENV_PASSWORD, ENV_USERNAME, cluster


def test_credentials_from_the_environment_log_in(monkeypatch: pytest.MonkeyPatch) -> None:
    password = secrets.token_urlsafe(16)
    monkeypatch.setenv(ENV_USERNAME, "fraudstack")
    monkeypatch.setenv(ENV_PASSWORD, password)
    provider = cluster("127.0.0.1", 9042).auth_provider
    assert provider is not None
    assert (provider.username, provider.password) == ("fraudstack", password)


def test_explicit_credentials_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_USERNAME, "fraudstack")
    monkeypatch.setenv(ENV_PASSWORD, secrets.token_urlsafe(16))
    other = ("admin_role", secrets.token_urlsafe(16))
    provider = cluster("127.0.0.1", 9042, credentials=other).auth_provider
    assert (provider.username, provider.password) == other


def test_no_credentials_no_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_USERNAME, raising=False)
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    assert cluster("127.0.0.1", 9042).auth_provider is None


def test_half_a_login_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_USERNAME, "fraudstack")
    monkeypatch.delenv(ENV_PASSWORD, raising=False)
    with pytest.raises(ValueError, match=ENV_PASSWORD):
        cluster("127.0.0.1", 9042)
