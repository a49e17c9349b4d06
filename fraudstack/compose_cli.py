"""``fraudstack compose ...``: the docker-compose deployment's commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fraudstack import compose
from fraudstack.config import load_config

compose_app = typer.Typer(help="The docker-compose deployment: secrets and container entry points.")
console = Console(soft_wrap=True)


@compose_app.command("init")
def init(
    force: Annotated[
        bool, typer.Option(help="Replace an existing .env (its secrets are lost).")
    ] = False,
    path: Annotated[
        Path | None, typer.Option(help="Where to write (default: .env in the repository).")
    ] = None,
) -> None:
    """Write .env with a random value for every secret docker-compose.yml needs (mode 600)."""
    target = path or compose.default_env_path()
    try:
        compose.init_env(target, force=force)
    except compose.ComposeError as exc:
        console.print(f"[red]compose init refused:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    console.print(
        f"wrote {target} (mode 600); set ALERT_WEBHOOK_URL in it, then `docker compose up -d`"
    )


@compose_app.command("bootstrap")
def bootstrap() -> None:
    """In a container: create topics, keyspace, tables and HDFS folders (idempotent)."""
    for service, changes in compose.bootstrap(load_config()).items():
        console.print(f"{service}: {'; '.join(changes) or 'already current'}")


@compose_app.command("exec")
def exec_(
    name: Annotated[str, typer.Argument(help="thriftserver, speed-layer or speed-layer-realtime")],
) -> None:
    """In a container: become the service's process (the command the local stack runs)."""
    try:
        compose.exec_service(load_config(), name)
    except compose.ComposeError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from exc
