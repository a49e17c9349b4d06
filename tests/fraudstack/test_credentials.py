"""Generated secrets: created once, private, overridable from the environment."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from fraudstack.credentials import secret, secret_path


def test_a_secret_is_generated_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SECRET", raising=False)
    first = secret(tmp_path, "thing", "TEST_SECRET")
    assert len(first) >= 32
    assert secret(tmp_path, "thing", "TEST_SECRET") == first
    path = secret_path(tmp_path, "thing")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert secret(tmp_path, "other", "TEST_SECRET") != first


def test_the_environment_wins_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SECRET", " from-env \n")
    assert secret(tmp_path, "thing", "TEST_SECRET") == "from-env"
    assert not secret_path(tmp_path, "thing").exists()
