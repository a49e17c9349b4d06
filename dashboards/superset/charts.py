"""Superset's form data and query context for each chart type of the spec.

Form data (a chart's ``params``) is what the dashboard's frontend renders from; the
query context is what ``GET /api/v1/chart/<id>/data/`` (and reports) run. Both are
built from the same :class:`~dashboards.superset.spec.Chart`, so they ask the same thing.
"""

from __future__ import annotations

import json
from typing import Any

from dashboards.superset.spec import Chart

VIZ_TYPES = {
    "big_number": "big_number_total",
    "line": "echarts_timeseries_line",
    "bar": "echarts_timeseries_bar",
    "table": "table",
    "pivot": "pivot_table_v2",
}
ROW_LIMIT = 10_000


def _filters(chart: Chart) -> list[dict[str, Any]]:
    if not chart.where:
        return []
    return [
        {
            "expressionType": "SQL",
            "sqlExpression": chart.where,
            "clause": "WHERE",
            "subject": None,
            "operator": None,
            "comparator": None,
            "filterOptionName": f"filter_{chart.id}",
            "isExtra": False,
            "isNew": False,
        }
    ]


def _series(chart: Chart, number_format: str) -> dict[str, Any]:
    """Line and bar charts (ECharts, generic x-axis)."""
    params: dict[str, Any] = {
        "x_axis": chart.x,
        "metrics": chart.metrics,
        "groupby": chart.groupby,
        "row_limit": ROW_LIMIT,
        "truncate_metric": True,
        "show_legend": bool(chart.groupby) or len(chart.metrics) > 1,  # else the title says it
        "legendType": "scroll",
        "legendOrientation": "top",
        "rich_tooltip": True,
        "tooltipTimeFormat": "%Y-%m-%d",
        "x_axis_time_format": "%b %d",  # short: six-column charts have room for a few
        "y_axis_format": number_format,
        "zoomable": False,
        "order_desc": True,
        "comparison_type": "values",
        "annotation_layers": [],
    }
    if chart.type == "line":
        params.update({"seriesType": "line", "markerEnabled": True, "markerSize": 4})
    else:
        params.update({"orientation": "vertical", "show_value": False, "stack": None})
        if chart.x != "day" and not chart.groupby:  # a category axis: biggest first, or in order
            params["x_axis_sort"] = chart.x if chart.sort_by_x else chart.metrics[0]
            params["x_axis_sort_asc"] = chart.sort_by_x
        if chart.x != "day" and not chart.sort_by_x:  # names, not numbers: all of them, slanted
            params["xAxisLabelRotation"] = 30
    return params


def form_data(chart: Chart, metric_formats: dict[str, str]) -> dict[str, Any]:
    """The chart's ``params`` (the importer fills in the dataset's id)."""
    number_format = metric_formats.get(chart.metrics[0], "SMART_NUMBER") if chart.metrics else ""
    params: dict[str, Any] = {
        "viz_type": VIZ_TYPES[chart.type],
        "adhoc_filters": _filters(chart),
        "time_range": "No filter",
        "extra_form_data": {},
        "dashboards": [],
    }
    if chart.type == "big_number":
        params.update(
            {
                "metric": chart.metrics[0],
                "y_axis_format": number_format,
                "header_font_size": 0.3,
                "subheader_font_size": 0.15,
                "subheader": "",
            }
        )
    elif chart.type in ("line", "bar"):
        params.update(_series(chart, number_format))
    elif chart.type == "pivot":
        params.update(
            {
                "groupbyRows": chart.groupby,
                "groupbyColumns": chart.across,
                "metrics": chart.metrics,
                "metricsLayout": "COLUMNS",
                "aggregateFunction": "Maximum",
                "valueFormat": number_format,
                "rowOrder": "key_a_to_z",
                "colOrder": "key_a_to_z",
                "row_limit": 1000,
                "combineMetric": False,
                "transposePivot": False,
            }
        )
    else:
        raw = bool(chart.columns)
        params.update(
            {
                "query_mode": "raw" if raw else "aggregate",
                "groupby": chart.groupby,
                "metrics": chart.metrics,
                "all_columns": chart.columns,
                "percent_metrics": [],
                "order_by_cols": [json.dumps([chart.order_by, False])] if raw else [],
                "timeseries_limit_metric": None if raw else chart.order_by,
                "order_desc": True,
                "row_limit": 1000,
                "server_page_length": 10,
                "table_timestamp_format": "%Y-%m-%d %H:%M",
                "show_cell_bars": True,
                "color_pn": False,
                "include_search": False,
            }
        )
    return params


def query_context(chart: Chart, dataset_id: int, params: dict[str, Any]) -> str:
    """The saved query behind the chart data API, for the imported dataset's id."""
    columns = chart.columns or [*filter(None, [chart.x]), *chart.groupby, *chart.across]
    order = chart.order_by or (chart.metrics[0] if chart.metrics else None)
    query: dict[str, Any] = {
        "columns": columns,
        "metrics": chart.metrics,
        "filters": [],
        "extras": {"where": f"({chart.where})" if chart.where else "", "having": ""},
        "orderby": [[order, False]] if order else [],
        "row_limit": params.get("row_limit", ROW_LIMIT),
        "time_range": "No filter",
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    datasource = {"id": dataset_id, "type": "table"}
    form = {**params, "datasource": f"{dataset_id}__table", "slice_id": None}
    return json.dumps(
        {
            "datasource": datasource,
            "force": False,
            "queries": [query],
            "form_data": form,
            "result_format": "json",
            "result_type": "full",
        }
    )
