"""The stock-alerts page: the speed layer's stock alerts newest first, the products at or
below their threshold now, and one product's alert history.

The alert list and the low-stock list refresh themselves in a fragment. A link may open
the page on a product: ``/stock?product=<id>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboards.alerts import order_view, resources, view
from storage.order_store import OrderStore

ALERT_COLUMNS: dict[str, Any] = {
    "event_time": resources.utc_time("at (UTC)"),
    "product_id": "product", "stock_level": st.column_config.NumberColumn("stock"),
    "warning_threshold": st.column_config.NumberColumn("warning at"),
    "critical_threshold": st.column_config.NumberColumn("critical at"),
    "sales_per_hour": st.column_config.NumberColumn("sold an hour", format="%.1f"),
    "runs_out_in": "runs out in",
}  # fmt: skip
LEVEL_COLUMNS: dict[str, Any] = {
    **ALERT_COLUMNS,
    "event_time": resources.utc_time("level since (UTC)"),
    "severity": "now",
}  # fmt: skip
SEVERITY_COLOURS = {"critical": "background-color: #fde2e1", "warning": "background-color: #fff3cd"}
ALERT_LIMIT = 500  # newest alerts fetched per refresh: the filters apply to these
HISTORY_LIMIT = 200  # one product's newest alerts
REFRESH_SECONDS = 10


def coloured(table: pd.DataFrame) -> Any:
    """The table with each severity cell in its colour."""
    return table.style.map(lambda value: SEVERITY_COLOURS.get(value, ""), subset=["severity"])


def sidebar() -> tuple[dt.timedelta, order_view.StockFilter]:
    with st.sidebar:
        st.header("Filters")
        window = st.selectbox("Time range", list(view.WINDOWS), index=3, key="stock_window")
        severities = st.multiselect(
            "Severity", order_view.SEVERITIES, default=order_view.SEVERITIES, key="severities"
        )
        kinds = st.multiselect(
            "Kind", order_view.KINDS, default=order_view.KINDS, key="kinds",
            help="threshold: the level reached a threshold; demand: it runs out within hours "
            "at the current sales rate",
        )  # fmt: skip
    return view.WINDOWS[window], order_view.StockFilter(tuple(severities), tuple(kinds))


def show_alerts(window: dt.timedelta, wanted: order_view.StockFilter) -> None:
    """The refreshing part: counters, the alert list and the products low on stock."""
    try:
        store = resources.order_store()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # clocks drift a little
        fetched = store.stock_alerts(until - window - dt.timedelta(minutes=1), until, ALERT_LIMIT)
        low = order_view.below_threshold(store.stock_levels())
    except resources.UNREACHABLE as error:
        resources.stack_down(error)
        return
    alerts = order_view.filter_stock_alerts(fetched, wanted)
    cells = st.columns(4)
    cells[0].metric("Alerts shown", len(alerts))
    cells[1].metric("Critical shown", sum(a["severity"] == "critical" for a in alerts))
    cells[2].metric("Demand shown", sum(a["kind"] == "demand" for a in alerts))
    cells[3].metric("Products at or below threshold", len(low))
    st.subheader("Stock alerts")
    if not fetched:
        st.info(
            "No stock alerts in this time range. The speed layer raises one when a product's "
            "stock reaches its warning or critical threshold, or will run out within hours: "
            "`fraudstack stream start`, then send traffic, e.g. "
            "`fraudstack generate --rate 50 --duration 60`.",
            icon=":material/hourglass_empty:",
        )
    elif not alerts:
        st.warning(f"None of the {len(fetched)} newest stock alerts pass the filters.")
    else:
        st.caption(f"Newest first; filters apply to the {len(fetched)} newest alerts in range.")
        st.dataframe(
            coloured(order_view.stock_alert_table(alerts)), hide_index=True, width="stretch",
            height=min(36 + 35 * len(alerts), 360), column_config=ALERT_COLUMNS, key="stock_alerts",
        )  # fmt: skip
    st.subheader("At or below threshold now")
    if not low:
        st.success("Every product is above its warning threshold.", icon=":material/check_circle:")
        return
    st.caption("Out of stock first, then the lowest against its threshold.")
    st.dataframe(
        coloured(order_view.level_table(low)), hide_index=True, width="stretch",
        height=min(36 + 35 * len(low), 360), column_config=LEVEL_COLUMNS, key="low_stock",
    )  # fmt: skip


def show_product(store: OrderStore, product_id: str) -> None:
    level = store.stock_level(product_id)
    history = store.product_alerts(product_id, HISTORY_LIMIT)
    if level is None and not history:
        st.warning(f"No stock level or alert of product `{product_id}`.")
        return
    if level is not None:
        facts = st.columns(4)
        facts[0].metric(
            "Stock", level["stock_level"], help=f"at {level['event_time']:%Y-%m-%d %H:%M:%S} UTC"
        )
        facts[1].metric("Now", order_view.level_severity(level))
        thresholds = f"{level['warning_threshold']} / {level['critical_threshold']}"
        facts[2].metric("Thresholds (warning / critical)", thresholds)
        runs_out = order_view.runs_out_in(level.get("hours_to_stockout")) or "—"
        selling = f"selling {level.get('sales_per_hour') or 0:.1f} an hour"
        facts[3].metric("Runs out in", runs_out, help=selling)
    if not history:
        st.info("No alerts of this product yet.")
        return
    st.caption(f"{len(history)} alert(s), newest first.")
    st.dataframe(
        coloured(order_view.stock_alert_table(history)), hide_index=True, width="stretch",
        column_config=ALERT_COLUMNS, key="product_alerts",
    )  # fmt: skip


def page() -> None:
    """The stock-alerts page."""
    st.title(":material/inventory_2: Stock alerts")
    window, wanted = sidebar()
    st.fragment(run_every=REFRESH_SECONDS)(show_alerts)(window, wanted)
    st.subheader("Product")
    linked = st.query_params.get("product")
    if linked and "product_id" not in st.session_state:
        st.session_state["product_id"] = linked
    product_id = st.text_input("Product id", key="product_id", placeholder="p-…").strip()
    if product_id:
        try:
            show_product(resources.order_store(), product_id)
        except resources.UNREACHABLE as error:
            resources.stack_down(error)
