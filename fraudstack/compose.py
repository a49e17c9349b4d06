"""The docker-compose deployment's secrets file and its in-container entry points.

``fraudstack compose init`` writes ``.env`` beside ``docker-compose.yml`` with a fresh
random value for every secret the compose file asks for; nothing has a default
password. ``fraudstack compose exec NAME`` replaces the container's process with the
exact command the local stack runs for that service (same argv builder), so the
two deployments cannot drift.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fraudstack.config import Config

# Only the standard library at import: on a Docker host without the project's
# virtualenv, `python3 -m fraudstack.compose init` writes .env all the same.
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One variable of ``.env``: what it is for and how its value is made."""

    name: str
    help: str
    make: Callable[[], str]


def _password() -> str:
    # URL-safe: the values end up in JDBC and SQLAlchemy URIs without quoting
    return secrets.token_urlsafe(24)


def _fernet_key() -> str:
    # Airflow's Fernet key: 32 random bytes, URL-safe base64 (what cryptography expects)
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _fixed(value: str) -> Callable[[], str]:
    return lambda: value


SETTINGS: tuple[Setting, ...] = (
    Setting("METASTORE_DB_PASSWORD", "PostgreSQL password of the Hive metastore", _password),
    Setting("SUPERSET_DB_PASSWORD", "PostgreSQL password of Superset's metadata", _password),
    Setting("SUPERSET_SECRET_KEY", "Superset's session and encryption key", _password),
    Setting("SUPERSET_ADMIN_PASSWORD", "password of Superset's `admin` user", _password),
    Setting("AIRFLOW_DB_PASSWORD", "PostgreSQL password of Airflow's metadata", _password),
    Setting("AIRFLOW_FERNET_KEY", "Airflow's key for connection passwords", _fernet_key),
    Setting("AIRFLOW_JWT_SECRET", "signs Airflow's task-execution API tokens", _password),
    Setting("GRAFANA_ADMIN_PASSWORD", "password of Grafana's `admin` user", _password),
    Setting("CASSANDRA_PASSWORD", "Cassandra password of the application's role", _password),
    Setting("STREAMLIT_PASSWORD", "the analysts' password of the live-alert screen", _password),
    Setting(
        "FRAUDSTACK_PII_KEY",
        "HMAC key that tokenises card numbers, emails and IPs (keep it: tokens depend on it)",
        lambda: secrets.token_hex(32),
    ),
    Setting(
        "KAFKA_CLUSTER_ID",
        "the KRaft cluster id all brokers share (22 characters, URL-safe base64 of a UUID)",
        lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
    ),
    Setting(
        "ALERT_WEBHOOK_URL",
        "where Alertmanager posts operator alerts (not a secret; replace the placeholder)",
        _fixed("http://127.0.0.1:9/alerts-not-configured"),
    ),
)


class ComposeError(RuntimeError):
    """The compose files could not be written or a service is unknown; the message says why."""


def env_text(values: dict[str, str]) -> str:
    """The text of a ``.env`` file: each setting with its comment, in ``SETTINGS`` order."""
    lines = ["# fraudstack docker-compose secrets: written by `fraudstack compose init`.", ""]
    for setting in SETTINGS:
        lines += [f"# {setting.help}", f"{setting.name}={values[setting.name]}", ""]
    return "\n".join(lines)


def init_env(path: Path, force: bool = False) -> Path:
    """Write a ``.env`` with a random value for every secret, readable by its owner only.

    Args:
        path: the file to write (normally ``.env`` beside ``docker-compose.yml``).
        force: replace an existing file (its secrets are lost: databases created with
            the old passwords will refuse the new ones).

    Returns:
        The path written.

    Raises:
        ComposeError: the file exists and ``force`` is not set.
    """
    if path.exists() and not force:
        raise ComposeError(f"{path} exists; pass --force to replace it (its secrets are lost)")
    text = env_text({s.name: s.make() for s in SETTINGS})
    # create with mode 600 from the start: never a moment where others can read it
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)
    return path


def default_env_path() -> Path:
    return REPO_ROOT / ".env"


def main(argv: list[str] | None = None) -> int:
    """``python3 -m fraudstack.compose init [--force] [--path P]``, for hosts without the venv."""
    parser = argparse.ArgumentParser(prog="python3 -m fraudstack.compose")
    parser.add_argument("command", choices=["init"])
    parser.add_argument("--force", action="store_true", help="replace an existing .env")
    parser.add_argument("--path", type=Path, default=None, help="default: .env in the repo")
    args = parser.parse_args(argv)
    try:
        path = init_env(args.path or default_env_path(), force=args.force)
    except ComposeError as exc:
        print(f"compose init refused: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} (mode 600); set ALERT_WEBHOOK_URL in it, then `docker compose up -d`")
    return 0


def service_command(config: Config, name: str) -> tuple[list[str], dict[str, str]]:
    """The argv and environment the local stack uses for a Spark service.

    Args:
        config: the loaded configuration (``FRAUDSTACK_ENV=compose`` in a container).
        name: ``thriftserver``, ``speed-layer`` or ``speed-layer-realtime``.

    Raises:
        ComposeError: the name is not one of those.
    """
    if name == "thriftserver":
        from fraudstack.stack.services.hive import thriftserver

        return thriftserver(config).command()
    if name in ("speed-layer", "speed-layer-realtime"):
        from streaming import control

        job = control.job_spec(config, realtime=name.endswith("realtime"))
        return control.command(config, job=job)
    raise ComposeError(f"no service {name!r}: use thriftserver, speed-layer, speed-layer-realtime")


def bootstrap(config: Config) -> dict[str, list[str]]:
    """Apply the local stack's declarative setup to the compose services.

    The same bootstrap functions ``fraudstack up`` runs: Kafka topics from
    ``storage/kafka/topics.yaml``, the Cassandra keyspace and tables from
    ``storage/cassandra/schema.cql``, the HDFS top-level folders. Idempotent. With
    Cassandra credentials in the environment, first the application's role and no
    default superuser (``storage/cassandra_auth.py``).

    Returns:
        The changes made, per service.
    """
    from fraudstack.stack.services import stack_services
    from storage.cassandra_auth import secure_roles
    from storage.cassandra_client import credentials_from_env

    changes = {}
    login = credentials_from_env()
    if login is not None:  # Cassandra runs with PasswordAuthenticator: roles before schema
        replication = int(config.raw["cassandra"].get("replication_factor", 1))
        changes["cassandra roles"] = secure_roles(
            config.host("cassandra"), config.port("cassandra"), login, replication
        )
    services = stack_services(config)
    changes |= {name: services[name].bootstrap() for name in ("kafka", "cassandra", "namenode")}
    return changes


def exec_service(config: Config, name: str) -> None:
    """Replace this process with a service's command (a container's main process)."""
    argv, env = service_command(config, name)
    os.execve(argv[0], argv, {**os.environ, **env})


if __name__ == "__main__":
    sys.exit(main())
