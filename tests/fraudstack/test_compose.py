"""`fraudstack compose`: the .env it writes and the commands containers run."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraudstack import compose
from fraudstack.cli import app
from fraudstack.config import REPO_ROOT, Config, load_config


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_init_writes_every_secret_owner_only(tmp_path: Path) -> None:
    path = compose.init_env(tmp_path / ".env")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = _read_env(path)
    assert set(values) == {s.name for s in compose.SETTINGS}
    secrets = [v for k, v in values.items() if k != "ALERT_WEBHOOK_URL"]
    assert all(len(v) >= 22 for v in secrets)
    assert len(set(secrets)) == len(secrets)  # no value reused
    assert len(values["KAFKA_CLUSTER_ID"]) == 22


def test_init_makes_new_secrets_each_time(tmp_path: Path) -> None:
    first = _read_env(compose.init_env(tmp_path / "a.env"))
    second = _read_env(compose.init_env(tmp_path / "b.env"))
    assert first["METASTORE_DB_PASSWORD"] != second["METASTORE_DB_PASSWORD"]


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("METASTORE_DB_PASSWORD=keep\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["compose", "init", "--path", str(path)])
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert path.read_text() == "METASTORE_DB_PASSWORD=keep\n"
    forced = runner.invoke(app, ["compose", "init", "--path", str(path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert _read_env(path)["METASTORE_DB_PASSWORD"] != "keep"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.fixture
def compose_config(monkeypatch: pytest.MonkeyPatch) -> Config:
    """The compose configuration, with this checkout's jars standing in for the image's."""
    monkeypatch.setenv("FRAUDSTACK_HOME", str(load_config("local").home))
    monkeypatch.delenv("FRAUDSTACK_CONFIG", raising=False)
    return load_config("compose")


def _conf(argv: list[str]) -> dict[str, str]:
    pairs = (argv[i + 1].split("=", 1) for i, arg in enumerate(argv) if arg == "--conf")
    return dict(pairs)


def test_speed_layer_container_submits_the_streaming_job(compose_config: Config) -> None:
    argv, _ = compose.service_command(compose_config, "speed-layer")
    assert Path(argv[0]).name == "spark-submit"
    assert argv[-1] == str(REPO_ROOT / "streaming" / "job.py")
    conf = _conf(argv)
    assert conf["spark.master"] == "spark://spark-master:7077"
    assert conf["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"
    assert conf["spark.hadoop.fs.defaultFS"] == "hdfs://namenode:9000"
    # executors in other containers connect back to this container by its name
    assert conf["spark.driver.host"] == socket.gethostname()
    assert conf["spark.driver.bindAddress"] == "0.0.0.0"
    assert not any(key.startswith("spark.hadoop.javax.jdo") for key in conf)


def test_thriftserver_container_runs_the_local_stacks_command(compose_config: Config) -> None:
    argv, _ = compose.service_command(compose_config, "thriftserver")
    assert "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2" in argv
    assert "hive.server2.thrift.bind.host=thriftserver" in argv
    assert _conf(argv)["spark.hadoop.hive.metastore.uris"] == "thrift://metastore:9083"


def test_unknown_service_is_refused(compose_config: Config) -> None:
    with pytest.raises(compose.ComposeError, match="thriftserver"):
        compose.service_command(compose_config, "kafka")


def test_local_mode_keeps_the_shared_derby_metastore() -> None:
    from fraudstack.spark import metastore_conf

    conf = metastore_conf(load_config("local"))
    assert conf["spark.hadoop.javax.jdo.option.ConnectionURL"].startswith("jdbc:derby://")
    assert "spark.hadoop.hive.metastore.uris" not in conf


def test_init_runs_on_a_host_with_only_python(tmp_path: Path) -> None:
    # -S: no site-packages, so no typer, rich or yaml; a Docker host needs only python3
    path = tmp_path / ".env"
    argv = [sys.executable, "-S", "-m", "fraudstack.compose", "init", "--path", str(path)]
    result = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert set(_read_env(path)) == {s.name for s in compose.SETTINGS}


def test_deployment_spark_settings_reach_spark_submit(
    compose_config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    overlay = tmp_path / "k8s.yaml"
    overlay.write_text(
        "spark:\n"
        "  master: k8s://https://kubernetes.default.svc:443\n"
        "  conf: {spark.kubernetes.container.image: 'fraudstack/app:0.1.0'}\n"
    )
    monkeypatch.setenv("FRAUDSTACK_CONFIG", str(overlay))
    argv, _ = compose.service_command(load_config("compose"), "speed-layer")
    conf = _conf(argv)
    assert conf["spark.master"] == "k8s://https://kubernetes.default.svc:443"
    assert conf["spark.kubernetes.container.image"] == "fraudstack/app:0.1.0"
