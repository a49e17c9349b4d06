"""Superset import bundles (ZIP of YAML files) built from the spec, with stable UUIDs.

Superset's importers only overwrite the kind of asset they are named after (the
dashboard importer keeps existing charts and datasets as they are), so provisioning
imports the same files four times, as a ``Database``, ``SqlaTable``, ``Slice`` and
``Dashboard`` bundle: every asset is then updated in place, found by its UUID.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import yaml

from dashboards.superset import charts
from dashboards.superset.spec import Chart, Dashboard, Spec, stable_uuid

KINDS = ("Database", "SqlaTable", "Slice", "Dashboard")
IMPORT_PATHS = {
    "Database": "/api/v1/database/import/",
    "SqlaTable": "/api/v1/dataset/import/",
    "Slice": "/api/v1/chart/import/",
    "Dashboard": "/api/v1/dashboard/import/",
}
VERSION = "1.0.0"
ROOT = "fraudstack_superset"


def database_yaml(spec: Spec, sqlalchemy_uri: str) -> dict[str, Any]:
    return {
        "database_name": spec.database,
        "sqlalchemy_uri": sqlalchemy_uri,
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True, "metadata_params": {}},
        "uuid": stable_uuid("database", "warehouse"),
        "version": VERSION,
    }


def _column(
    name: str, kind: str, expression: str | None = None, label: str | None = None
) -> dict[str, Any]:
    return {
        "column_name": name,
        "verbose_name": label,
        "is_dttm": kind in ("DATE", "TIMESTAMP"),
        "is_active": True,
        "type": kind,
        "groupby": True,
        "filterable": True,
        "expression": expression,
        "description": None,
        "python_date_format": None,
        "extra": None,
    }


def dataset_yaml(name: str, dataset: dict[str, Any], schema: str) -> dict[str, Any]:
    labels = dataset.get("labels", {})
    columns = [
        _column(column, kind, label=labels.get(column))
        for column, kind in dataset["columns"].items()
    ]
    computed = dataset.get("computed", {})
    columns += [_column(name, c["type"], c["sql"]) for name, c in computed.items()]
    time_columns = [name for name, c in computed.items() if c["type"] == "DATE"]
    return {
        "table_name": name,
        "main_dttm_col": dataset.get("main_time_column") or next(iter(time_columns), None),
        "description": dataset["description"],
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "schema": schema,
        "sql": dataset.get("sql"),  # a query over a table: a virtual dataset
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": stable_uuid("dataset", name),
        "metrics": [
            {
                "metric_name": metric,
                "verbose_name": declared["label"],
                "metric_type": None,
                "expression": declared["sql"],
                "description": None,
                "d3format": declared.get("format"),
                "extra": None,
                "warning_text": None,
            }
            for metric, declared in dataset["metrics"].items()
        ],
        "columns": columns,
        "version": VERSION,
        "database_uuid": stable_uuid("database", "warehouse"),
    }


def chart_yaml(chart: Chart, dataset: dict[str, Any]) -> dict[str, Any]:
    formats = {name: m.get("format", "SMART_NUMBER") for name, m in dataset["metrics"].items()}
    params = charts.form_data(chart, formats)
    return {
        "slice_name": chart.title,
        "description": None,
        "certified_by": None,
        "certification_details": None,
        "viz_type": params["viz_type"],
        "params": params,
        # the importer swaps in the dataset's real id
        "query_context": charts.query_context(chart, 0, params),
        "cache_timeout": None,
        "uuid": stable_uuid("chart", chart.id),
        "version": VERSION,
        "dataset_uuid": stable_uuid("dataset", chart.dataset),
    }


def position(dashboard: Dashboard) -> dict[str, Any]:
    """The dashboard's grid: an intro, then one ROW per row of the spec."""
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dashboard.title}},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
    }
    intro = {"type": "MARKDOWN", "meta": {"width": 12, "height": 10, "code": dashboard.intro}}
    rows: list[list[tuple[str, dict[str, Any]]]] = [[("MARKDOWN-intro", intro)]]
    for row in dashboard.rows:
        rows.append(
            [
                (
                    f"CHART-{chart.id}",
                    {
                        "type": "CHART",
                        "meta": {
                            "width": chart.width,
                            "height": 26 if chart.type == "big_number" else chart.height,
                            "chartId": 0,
                            "uuid": stable_uuid("chart", chart.id),
                            "sliceName": chart.title,
                        },
                    },
                )
                for chart in row
            ]
        )
    for number, row_items in enumerate(rows, 1):
        row_id = f"ROW-{number}"
        layout["GRID_ID"]["children"].append(row_id)
        layout[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [item_id for item_id, _ in row_items],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for item_id, item in row_items:
            layout[item_id] = {
                **item,
                "id": item_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
            }
    return layout


def dashboard_yaml(dashboard: Dashboard) -> dict[str, Any]:
    return {
        "dashboard_title": dashboard.title,
        "description": None,
        "css": "",
        "slug": dashboard.slug,
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": stable_uuid("dashboard", dashboard.slug),
        "position": position(dashboard),
        "metadata": {
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            "label_colors": dashboard.colors,
            "shared_label_colors": [],
            "color_scheme_domain": [],
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "native_filter_configuration": [],
        },
        "version": VERSION,
    }


def files(spec: Spec, sqlalchemy_uri: str, schema: str) -> dict[str, dict[str, Any]]:
    """Every asset file of the bundle, by its path inside the ZIP (without the root)."""
    out = {"databases/warehouse.yaml": database_yaml(spec, sqlalchemy_uri)}
    for name, dataset in spec.datasets.items():
        out[f"datasets/warehouse/{name}.yaml"] = dataset_yaml(name, dataset, schema)
    for dashboard in spec.dashboards:
        out[f"dashboards/{dashboard.slug}.yaml"] = dashboard_yaml(dashboard)
        for chart in dashboard.charts:
            out[f"charts/{chart.id}.yaml"] = chart_yaml(chart, spec.datasets[chart.dataset])
    return out


def zip_bundle(assets: dict[str, dict[str, Any]], kind: str) -> bytes:
    """One import bundle holding every asset, typed for the importer of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown bundle kind {kind!r}; one of {KINDS}")
    metadata = {"version": VERSION, "type": kind, "timestamp": dt.datetime.now(dt.UTC).isoformat()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{ROOT}/metadata.yaml", yaml.safe_dump(metadata))
        for path, asset in assets.items():
            archive.writestr(f"{ROOT}/{path}", yaml.safe_dump(asset, sort_keys=False))
    return buffer.getvalue()
