"""The Superset assets as declared in ``dashboards/superset/*.yaml``, checked on load."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(__file__).resolve().parent
DASHBOARD_FILES = ("sales.yaml", "fraud.yaml", "quality.yaml", "orders.yaml")
CHART_TYPES = ("big_number", "line", "bar", "table", "pivot")
NAMESPACE = uuid.UUID("5b0f6a1e-2f55-4d1f-9a8e-6c0f1c2d3e4f")


class SpecError(ValueError):
    """A YAML file declares something inconsistent; the message names file and key."""


def stable_uuid(kind: str, key: str) -> str:
    """The same UUID for the same asset on every run: what makes a re-import an update."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class Chart:
    """One chart: what it shows, from which dataset, and its place in a row."""

    id: str
    title: str
    type: str
    dataset: str
    metrics: list[str] = field(default_factory=list)
    groupby: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # a raw table's columns
    across: list[str] = field(default_factory=list)  # a pivot table's column headers
    x: str | None = None
    where: str | None = None
    order_by: str | None = None
    sort_by_x: bool = False
    width: int = 6
    height: int = 50


@dataclass(frozen=True)
class Dashboard:
    title: str
    slug: str
    intro: str
    rows: list[list[Chart]]
    colors: dict[str, str] = field(default_factory=dict)  # series name -> colour, every chart

    @property
    def charts(self) -> list[Chart]:
        return [chart for row in self.rows for chart in row]


@dataclass(frozen=True)
class Spec:
    """Everything to provision: the database name, datasets and dashboards."""

    database: str
    datasets: dict[str, dict[str, Any]]
    dashboards: list[Dashboard]


def _chart(raw: dict[str, Any], where: str) -> Chart:
    if "metric" in raw:  # a big number shows one metric
        metric = raw.pop("metric")
        raw = {**raw, "metrics": [metric]}
    try:
        chart = Chart(**raw)
    except TypeError as exc:
        raise SpecError(f"{where}: {exc}") from exc
    if chart.type not in CHART_TYPES:
        raise SpecError(f"{where}: chart type {chart.type!r} is not one of {CHART_TYPES}")
    return chart


def _check(spec: Spec) -> None:
    seen: set[str] = set()
    for dashboard in spec.dashboards:
        for row in dashboard.rows:
            if sum(chart.width for chart in row) > 12:
                raise SpecError(f"{dashboard.slug}: a row is wider than 12 columns: {row}")
        for chart in dashboard.charts:
            where = f"{dashboard.slug}/{chart.id}"
            if chart.id in seen:
                raise SpecError(f"{where}: chart id used twice")
            seen.add(chart.id)
            dataset = spec.datasets.get(chart.dataset)
            if dataset is None:
                raise SpecError(f"{where}: no dataset {chart.dataset!r} in datasets.yaml")
            names = {*dataset["columns"], *dataset.get("computed", {})}
            unknown_metrics = set(chart.metrics) - set(dataset["metrics"])
            unknown_columns = {
                *chart.groupby,
                *chart.columns,
                *chart.across,
                *filter(None, [chart.x]),
            }
            unknown_columns -= names
            if unknown_metrics or unknown_columns:
                raise SpecError(
                    f"{where}: {chart.dataset} has no metric(s) {sorted(unknown_metrics)} "
                    f"/ column(s) {sorted(unknown_columns)}"
                )


def load(folder: Path = SPEC_DIR) -> Spec:
    """Read ``datasets.yaml`` and the dashboard files.

    Raises:
        SpecError: a chart names an unknown dataset, metric or column, or a row is too wide.
    """
    base = yaml.safe_load((folder / "datasets.yaml").read_text())
    dashboards = []
    for name in DASHBOARD_FILES:
        raw = yaml.safe_load((folder / name).read_text())
        rows = [
            [_chart(dict(chart), f"{name}: {chart.get('id')}") for chart in row]
            for row in raw["rows"]
        ]
        dashboards.append(
            Dashboard(raw["title"], raw["slug"], raw["intro"].strip(), rows, raw.get("colors", {}))
        )
    spec = Spec(base["database"]["name"], base["datasets"], dashboards)
    _check(spec)
    return spec
