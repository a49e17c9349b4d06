"""The order-tracking page: an order's whole status history, a customer's orders and the
invalid status transitions of the last days, from the speed layer's Cassandra tables.

Links may open it on an order or a customer: ``/orders?order=<id>``,
``/orders?customer=<id>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from dashboards.alerts import order_view, resources
from storage.order_store import OrderStore

HISTORY_COLUMNS: dict[str, Any] = {
    "entered_at": resources.utc_time("entered at (UTC)"),
    "time_in_status": "time in status", "previous_status": "previous status",
    "transition_problem": "why the transition is invalid",
}  # fmt: skip
CUSTOMER_COLUMNS: dict[str, Any] = {
    "last_change": resources.utc_time("last change (UTC)"),
    "status": "current status", "invalid_transitions": "invalid transitions",
}  # fmt: skip
INVALID_COLUMNS: dict[str, Any] = {
    "event_time": resources.utc_time("at (UTC)"),
    "previous_status": "previous status", "transition_problem": "why it is invalid",
}  # fmt: skip
INVALID_ROW = "background-color: #fde2e1"  # the same red as critical stock
INVALID_WINDOWS = {"last 24 hours": 1, "last 7 days": 7, "last 30 days": 30}
HISTORY_LIMIT = 200  # status changes of one order (a handful in practice)
CUSTOMER_LIMIT = 500  # newest status changes of a customer
INVALID_LIMIT = 200  # newest invalid transitions listed


def prefill(key: str, param: str) -> None:
    """Start a lookup box with the link's ``?param=`` value."""
    linked = st.query_params.get(param)
    if linked and key not in st.session_state:
        st.session_state[key] = linked


def show_order(store: OrderStore, order_id: str) -> None:
    changes = store.order_history(order_id, HISTORY_LIMIT)
    if not changes:
        st.warning(f"No status changes of order `{order_id}` (orders are kept 90 days).")
        return
    now = dt.datetime.now(dt.UTC)
    current, first = changes[-1], changes[0]
    facts = st.columns(4)
    facts[0].metric("Current status", current["status"])
    facts[1].metric(
        "Since", order_view.format_duration((now - current["event_time"]).total_seconds())
    )
    facts[2].metric("Amount", f"{first.get('amount') or 0:,.2f} {first.get('currency') or ''}")
    facts[3].metric("Status changes", len(changes))
    st.caption(
        f"customer `{first.get('customer_id')}` · merchant `{first.get('merchant_id')}` · "
        f"product `{first.get('product_id')}` · payment `{first.get('transaction_id')}`"
    )
    invalid = [c for c in changes if c.get("is_valid_transition") is False]
    if invalid:
        st.error(
            f"{len(invalid)} invalid transition(s): "
            + "; ".join(
                f"{c['transition_problem']} at {c['event_time']:%Y-%m-%d %H:%M:%S}" for c in invalid
            ),
            icon=":material/report:",
        )
    table = order_view.history_table(changes, now)
    marked = table.style.apply(
        lambda row: [INVALID_ROW if row["valid"] == "NO" else ""] * len(row), axis=1
    )
    st.dataframe(
        marked,
        hide_index=True, width="stretch", column_config=HISTORY_COLUMNS, key="order_history",
    )  # fmt: skip


def show_customer(store: OrderStore, customer_id: str) -> None:
    orders = order_view.customer_orders(store.customer_changes(customer_id, CUSTOMER_LIMIT))
    if orders.empty:
        st.warning(f"No orders of customer `{customer_id}` in the last 90 days.")
        return
    st.caption(f"{len(orders)} order(s), newest first. Select a row to open its history above.")

    def open_selected() -> None:
        rows = st.session_state["customer_orders"].selection.rows
        if rows:
            st.session_state["order_id"] = orders.iloc[rows[0]]["order_id"]

    st.dataframe(
        orders, hide_index=True, width="stretch", column_config=CUSTOMER_COLUMNS,
        key="customer_orders", on_select=open_selected, selection_mode="single-row",
    )  # fmt: skip


def show_invalid(store: OrderStore) -> None:
    window = st.selectbox("Flagged in the", list(INVALID_WINDOWS), index=1, key="invalid_window")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # clocks drift a little
    since = until - dt.timedelta(days=INVALID_WINDOWS[window])
    rows = store.invalid_transitions(since, until, INVALID_LIMIT)
    if not rows:
        st.info("No invalid status transitions in this time range.", icon=":material/check_circle:")
        return
    st.caption(f"Newest first, at most {INVALID_LIMIT}.")
    st.dataframe(
        order_view.invalid_table(rows), hide_index=True, width="stretch",
        column_config=INVALID_COLUMNS, key="invalid_transitions",
    )  # fmt: skip


def page() -> None:
    """The order-tracking page."""
    st.title(":material/local_shipping: Order tracking")
    prefill("order_id", "order")
    prefill("customer_id", "customer")
    try:
        store = resources.order_store()
        st.subheader("Order")
        order_id = st.text_input("Order id", key="order_id", placeholder="o-…").strip()
        if order_id:
            show_order(store, order_id)
        st.subheader("Customer's orders")
        customer_id = st.text_input("Customer id", key="customer_id", placeholder="c-…").strip()
        if customer_id:
            show_customer(store, customer_id)
        st.subheader("Invalid status transitions")
        show_invalid(store)
    except resources.UNREACHABLE as error:
        resources.stack_down(error)
