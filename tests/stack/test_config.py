from pathlib import Path

import pytest
import yaml

from fraudstack import config as config_module
from fraudstack.config import ConfigError, load_config


@pytest.fixture()
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    defaults = {
        "home": ".fraudstack",
        "host": "127.0.0.1",
        "services": {"kafka": {"port": 9092}, "cassandra": {"port": 9042, "host": "10.0.0.9"}},
        "cassandra": {"keyspace": "fraudstack"},
    }
    (tmp_path / "defaults.yaml").write_text(yaml.safe_dump(defaults))
    monkeypatch.setattr(config_module, "CONFIG_DIR", tmp_path)
    monkeypatch.delenv("FRAUDSTACK_HOME", raising=False)
    monkeypatch.delenv("FRAUDSTACK_ENV", raising=False)
    return tmp_path


def test_defaults_fill_in_the_global_host(config_dir: Path) -> None:
    config = load_config()
    assert config.address("kafka") == "127.0.0.1:9092"
    assert config.host("cassandra") == "10.0.0.9"
    assert config.home == config_module.REPO_ROOT / ".fraudstack"


def test_local_overrides_win_and_merge_deeply(config_dir: Path) -> None:
    (config_dir / "local.yaml").write_text("services:\n  kafka:\n    port: 19092\n")
    config = load_config()
    assert config.port("kafka") == 19092
    assert config.port("cassandra") == 9042


def test_environment_overlay_and_home(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (config_dir / "compose.yaml").write_text("services:\n  kafka:\n    host: kafka\n")
    monkeypatch.setenv("FRAUDSTACK_ENV", "compose")
    monkeypatch.setenv("FRAUDSTACK_HOME", "/var/tmp/fs")
    config = load_config()
    assert config.env == "compose"
    assert config.kafka_bootstrap == "kafka:9092"
    assert config.home == Path("/var/tmp/fs")


def test_unknown_environment_and_service_are_clear_errors(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUDSTACK_ENV", "staging")
    with pytest.raises(ConfigError, match="staging"):
        load_config()
    monkeypatch.delenv("FRAUDSTACK_ENV")
    with pytest.raises(ConfigError, match="no service named 'hbase'"):
        load_config().service("hbase")


def test_committed_defaults_declare_every_stack_service() -> None:
    from fraudstack.stack.services import stack_services

    config = load_config("local")
    ports = [port for s in stack_services(config).values() for port in s.ports.values()]
    assert len(ports) == len(set(ports)), "two services share a port"
    assert all(config.host(name) == "127.0.0.1" for name in stack_services(config))
