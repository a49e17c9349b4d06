"""What a service of the local stack is, and the helpers the service definitions share."""

from __future__ import annotations

import os
import shutil
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fraudstack.config import Config

CONF_TEMPLATES = Path(__file__).resolve().parents[3] / "stack" / "conf"


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack.

    Attributes:
        name: short name used on the command line and for log and pid files.
        host: the address it binds.
        ports: every port the service binds, by role; checked free before start.
        depends_on: services that must be healthy before this one starts.
        command: builds argv and extra environment (after ``prepare``).
        health: raises ``health.Unhealthy`` unless the service is usable.
        prepare: first-start work (formatting storage, rendering config); idempotent.
        bootstrap: declarative setup applied once the service answers (topics,
            schema, directories); idempotent, retried until it succeeds.
        start_timeout: seconds ``up`` waits for the service to become healthy.
    """

    name: str
    host: str
    ports: dict[str, int]
    command: Callable[[], tuple[list[str], dict[str, str]]]
    health: Callable[[], str]
    depends_on: tuple[str, ...] = ()
    prepare: Callable[[], None] = lambda: None
    bootstrap: Callable[[], list[str]] = field(default=lambda: [])
    start_timeout: float = 180.0


def java() -> str:
    """The java executable: $JAVA_HOME/bin/java if set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home else "java"


def installed(program: str) -> str:
    """Absolute path of a program from the Debian packages that setup installs."""
    path = shutil.which(program)
    if path is None:
        raise FileNotFoundError(f"{program} is not installed: run `make setup` first")
    return path


def jvm_flags(name: str, heap: str) -> list[str]:
    """Flags every JVM service gets: fixed heap, G1, die on OOM, loopback IPv4."""
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dfraudstack.service={name}",
    ]


def render(source: Path, target: Path, variables: dict[str, object]) -> Path:
    """Render every file under ``source`` into ``target``, filling ``${name}`` placeholders.

    Raises:
        KeyError: a template names a variable that was not given.
    """
    target.mkdir(parents=True, exist_ok=True)
    for template in sorted(source.iterdir()):
        if template.is_file():
            text = string.Template(template.read_text()).substitute(
                {key: str(value) for key, value in variables.items()}
            )
            (target / template.name).write_text(text)
    return target


def jmx_agent(config: Config, service: str) -> str:
    agent = next((config.jars_dir / "agents").glob("jmx_prometheus_javaagent-*.jar"))
    exporter_conf = config.conf_dir / service / "jmx-exporter.yaml"
    return f"-javaagent:{agent}={config.address(service, 'metrics_port')}:{exporter_conf}"


def classpath(config: Config, *modules: str | Path) -> str:
    return ":".join(
        str(module) if isinstance(module, Path) else f"{config.jars_dir / module}/*"
        for module in modules
    )


def run_checked(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise RuntimeError(f"could not {what} (exit {result.returncode}):\n{output}")
