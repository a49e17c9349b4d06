"""Apache Superset, the business analysts' dashboards, in a virtualenv of its own.

``make setup`` installs it into ``<home>/superset-venv`` (its pins clash with ours). The
config file is rendered from ``stack/conf/superset``; the secret key and the admin's
password come from the environment or are generated once into ``<home>/secrets/``.
The metadata database (SQLite) is migrated and the admin created on the first start
only (a stamp in ``<home>/data/superset``). It serves through gunicorn with one worker
process and a few threads: one Python process of Superset holds about 300 MB, and its
requests mostly wait on the Thrift Server, which threads overlap as well as processes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fraudstack.config import Config
from fraudstack.credentials import secret
from fraudstack.stack.services.base import CONF_TEMPLATES, Service, render, run_checked

SUPERSET_VERSION = "6.1.0"
ENV_SECRET_KEY = "SUPERSET_SECRET_KEY"
ENV_ADMIN_PASSWORD = "SUPERSET_ADMIN_PASSWORD"
PASSWORD_FILE = "superset-admin-password"
# the password travels in the environment, not on a command line others can read in `ps`
CREATE_ADMIN = """
import os
from superset.app import create_app
with create_app().app_context():
    from superset import security_manager as sm
    name = os.environ["FRAUDSTACK_SUPERSET_USER"]
    if sm.find_user(username=name) is None and not sm.add_user(
        name, "fraudstack", "admin", f"{name}@localhost", sm.find_role("Admin"),
        password=os.environ["SUPERSET_ADMIN_PASSWORD"],
    ):
        raise SystemExit(f"Superset could not create the user {name}")
"""


@dataclass(frozen=True)
class Login:
    """How to reach and log in to the stack's Superset."""

    url: str
    username: str
    password: str


def login(config: Config) -> Login:
    """The URL and admin credentials (the password is generated on first use)."""
    settings = config.service("superset")
    password = secret(config.home, PASSWORD_FILE, ENV_ADMIN_PASSWORD, 18)
    return Login(f"http://{config.address('superset')}", settings["admin_user"], password)


def venv(config: Config) -> Path:
    return config.home / "superset-venv"


def environment(config: Config) -> dict[str, str]:
    """What every Superset process needs: its config file and the secret key."""
    return {
        "SUPERSET_CONFIG_PATH": str(config.conf_dir / "superset" / "superset_config.py"),
        ENV_SECRET_KEY: secret(config.home, "superset-secret-key", ENV_SECRET_KEY, 42),
        "FLASK_APP": "superset",
        "SUPERSET_HOME": str(config.data_dir / "superset"),
        "PATH": f"{venv(config) / 'bin'}:{os.environ['PATH']}",
    }


def superset(config: Config) -> Service:
    settings = config.service("superset")
    data = config.data_dir / "superset"
    stamp = data / ".initialized"
    bin_dir = venv(config) / "bin"

    def run(argv: list[str], what: str, **env: str) -> None:
        run_checked(argv, what, env={**os.environ, **environment(config), **env})

    def prepare() -> None:
        if not (bin_dir / "gunicorn").exists():
            raise FileNotFoundError(
                f"Superset is not installed in {venv(config)}: run `make setup`"
            )
        render(
            CONF_TEMPLATES / "superset",
            config.conf_dir / "superset",
            {"metadata_db": data / "superset.db", "data_dir": data},
        )
        if stamp.exists() and stamp.read_text().strip() == SUPERSET_VERSION:
            return
        data.mkdir(parents=True, exist_ok=True)
        superset_cli = str(bin_dir / "superset")
        run([superset_cli, "db", "upgrade"], "migrate Superset's metadata database")
        run([superset_cli, "init"], "set up Superset's roles and permissions")
        credentials = login(config)
        run(
            [str(bin_dir / "python"), "-c", CREATE_ADMIN],
            "create Superset's admin user",
            FRAUDSTACK_SUPERSET_USER=credentials.username,
            SUPERSET_ADMIN_PASSWORD=credentials.password,
        )
        stamp.write_text(SUPERSET_VERSION + "\n")

    def command() -> tuple[list[str], dict[str, str]]:
        return [
            str(bin_dir / "gunicorn"),
            "--bind", config.address("superset"),
            "--workers", str(settings["workers"]),
            "--worker-class", "gthread",
            "--threads", str(settings["threads"]),
            "--timeout", "300",
            "--limit-request-line", "0",
            "--limit-request-field_size", "0",
            "superset.app:create_app()",
        ], environment(config)  # fmt: skip

    def health() -> str:
        from dashboards.superset.client import health as superset_health

        return superset_health(login(config))

    return Service(
        name="superset",
        host=config.host("superset"),
        ports={"port": settings["port"]},
        command=command,
        health=health,
        prepare=prepare,
        start_timeout=180,
    )
