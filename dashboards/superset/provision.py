"""Provision Superset from the spec: one call, safe to repeat (updates, never duplicates)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dashboards.superset import bundle, spec
from dashboards.superset.client import Superset
from fraudstack.config import Config
from fraudstack.stack.services.superset import login


@dataclass(frozen=True)
class Provisioned:
    """What Superset holds after provisioning (counted through its API)."""

    database: str
    datasets: int
    charts: int
    dashboards: dict[str, str]  # title -> URL


def warehouse_uri(config: Config) -> str:
    """The Thrift Server as Superset's SQLAlchemy URI, on the batch layer's database."""
    database = config.raw["batch"]["database"]
    return f"hive://{config.address('thriftserver')}/{database}?auth=NOSASL"


def provision(config: Config, session: Superset | None = None) -> Provisioned:
    """Import the database connection, datasets, charts and dashboards of the spec.

    Args:
        config: the stack's configuration (Superset's address, the Thrift Server's).
        session: a logged-in session (default: log in as the stack's admin).

    Returns:
        What exists afterwards, counted by UUID through the API.

    Raises:
        dashboards.superset.client.SupersetError: an import was refused.
        spec.SpecError: the YAML files are inconsistent.
    """
    session = session or Superset(login(config))
    declared = spec.load()
    assets = bundle.files(declared, warehouse_uri(config), config.raw["batch"]["database"])
    for kind in bundle.KINDS:
        session.post(
            bundle.IMPORT_PATHS[kind],
            files={
                "formData": ("fraudstack.zip", bundle.zip_bundle(assets, kind), "application/zip")
            },
            data={"overwrite": "true", "passwords": json.dumps({})},
        )
    return inventory(session, declared)


def inventory(session: Superset, declared: spec.Spec) -> Provisioned:
    """Count the spec's assets in Superset by UUID (a duplicate would have another UUID
    but the same name, so names are counted too)."""

    def named(resource: str, name_key: str, names: set[str]) -> list[dict[str, Any]]:
        rows = session.every(resource, ["id", "uuid", name_key])
        return [row for row in rows if row[name_key] in names]

    database = named("database", "database_name", {declared.database})
    datasets = named("dataset", "table_name", set(declared.datasets))
    titles = {chart.title for d in declared.dashboards for chart in d.charts}
    charts = named("chart", "slice_name", titles)
    dashboards = named("dashboard", "dashboard_title", {d.title for d in declared.dashboards})
    return Provisioned(
        database=database[0]["database_name"] if len(database) == 1 else f"{len(database)} found",
        datasets=len(datasets),
        charts=len(charts),
        dashboards={
            row["dashboard_title"]: f"{session.url}/superset/dashboard/{slug}/"
            for row in dashboards
            for slug in [
                next(d.slug for d in declared.dashboards if d.title == row["dashboard_title"])
            ]
        },
    )
