"""The Superset service definition: loopback only, its own port, no secret in a file."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fraudstack.config import load_config
from fraudstack.stack.services import stack_services
from fraudstack.stack.services.base import CONF_TEMPLATES, render

service_module = importlib.import_module("fraudstack.stack.services.superset")


def test_superset_binds_loopback_on_its_configured_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDSTACK_HOME", str(tmp_path))
    monkeypatch.delenv("SUPERSET_SECRET_KEY", raising=False)
    config = load_config()
    service = stack_services(config)["superset"]
    argv, env = service.command()
    assert argv[argv.index("--bind") + 1] == f"127.0.0.1:{config.port('superset')}"
    assert service.ports == {"port": config.port("superset")}
    assert int(argv[argv.index("--workers") + 1]) <= 2
    key = env["SUPERSET_SECRET_KEY"]
    assert len(key) >= 40
    assert (tmp_path / "secrets" / "superset-secret-key").read_text().strip() == key


def test_the_rendered_config_holds_no_secret(tmp_path: Path) -> None:
    render(CONF_TEMPLATES / "superset", tmp_path, {"metadata_db": "/x/s.db", "data_dir": "/x"})
    text = (tmp_path / "superset_config.py").read_text()
    assert 'SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]' in text
    assert "sqlite:////x/s.db" in text
    compile(text, "superset_config.py", "exec")


def test_the_admin_password_comes_from_the_environment_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDSTACK_HOME", str(tmp_path))
    monkeypatch.setenv("SUPERSET_ADMIN_PASSWORD", "chosen-by-me")
    credentials = service_module.login(load_config())
    assert (credentials.username, credentials.password) == ("admin", "chosen-by-me")
    assert not (tmp_path / "secrets" / service_module.PASSWORD_FILE).exists()
