"""``fraudstack superset ...``: provision the dashboards, show how to log in."""

from __future__ import annotations

import requests
import typer
from rich.console import Console

from fraudstack.config import load_config

superset_app = typer.Typer(help="Superset: the business dashboards over the Hive tables.")
console = Console(soft_wrap=True)


@superset_app.command("provision")
def provision_command() -> None:
    """Import the warehouse connection, datasets, charts and dashboards (safe to repeat)."""
    from dashboards.superset.client import SupersetError
    from dashboards.superset.provision import provision, warehouse_uri
    from dashboards.superset.spec import SpecError

    config = load_config()
    with console.status("Importing dashboards/superset into Superset…"):
        try:
            done = provision(config)
        except requests.ConnectionError as exc:
            console.print(
                f"[red]Superset does not answer at {config.address('superset')}[/red]: "
                "start it with `fraudstack up superset`"
            )
            raise typer.Exit(1) from exc
        except (SupersetError, SpecError) as exc:
            console.print("[red]provisioning failed[/red]: ", end="")
            console.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(1) from exc
    console.print(f"database [bold]{done.database}[/bold] → {warehouse_uri(config)}")
    console.print(
        f"{done.datasets} datasets, {done.charts} charts, {len(done.dashboards)} dashboards:"
    )
    for title, url in done.dashboards.items():
        console.print(f"  {title:<22} {url}")


@superset_app.command("password")
def password_command() -> None:
    """Print Superset's URL, the admin user and its password (generated on first start)."""
    from fraudstack.credentials import secret_path
    from fraudstack.stack.services.superset import ENV_ADMIN_PASSWORD, PASSWORD_FILE, login

    config = load_config()
    credentials = login(config)
    console.print(f"url       {credentials.url}")
    console.print(f"user      {credentials.username}")
    console.print(f"password  {credentials.password}", markup=False, highlight=False)
    console.print(
        f"[dim](kept in {secret_path(config.home, PASSWORD_FILE)}; set {ENV_ADMIN_PASSWORD} "
        "before Superset's first start to choose your own)[/dim]"
    )
