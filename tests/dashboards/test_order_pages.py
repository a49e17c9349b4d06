"""The order-tracking and stock-alerts pages with Streamlit's AppTest, over the real Cassandra.

Rows are written into the speed layer's tables the way its sinks write them, with ids no
other test uses; each page is then driven like a user would, opened by a link's query
parameter or by typing an id.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from fraudstack.config import Config
from storage.order_store import OrderStore

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:8]
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def order_tracking_page() -> None:
    from dashboards.alerts import order_tracking

    order_tracking.page()


def stock_alerts_page() -> None:
    from dashboards.alerts import stock_alerts

    stock_alerts.page()


@pytest.fixture(scope="module")
def store(stack: Config) -> Iterator[OrderStore]:
    from storage.cassandra_client import connected

    with connected(stack.host("cassandra"), stack.port("cassandra")) as session:
        yield OrderStore(session, stack.keyspace)


def insert(store: OrderStore, table: str, row: dict[str, Any]) -> None:
    columns, marks = ", ".join(row), ", ".join("?" * len(row))
    statement = store.session.prepare(
        f"INSERT INTO {store.keyspace}.{table} ({columns}) VALUES ({marks})"
    )
    store.session.execute(statement, list(row.values()))


def put_change(store: OrderStore, order_id: str, customer_id: str, minutes_ago: int, status: str,
               previous: str | None, problem: str | None = None) -> None:  # fmt: skip
    at = NOW - dt.timedelta(minutes=minutes_ago)
    common = {
        "event_time": at, "order_id": order_id, "event_id": f"e-{order_id}-{status}",
        "status": status, "previous_status": previous, "is_valid_transition": problem is None,
        "transition_problem": problem,
    }  # fmt: skip
    insert(store, "order_status_by_order", {
        **common, "customer_id": customer_id, "transaction_id": f"tx-{order_id}",
        "merchant_id": "m-00003", "product_id": "p-00003-1", "amount": 129.5, "currency": "EUR",
    })  # fmt: skip
    insert(store, "order_status_by_customer", {**common, "customer_id": customer_id})
    if problem:
        flagged = {k: v for k, v in common.items() if k != "is_valid_transition"}
        insert(store, "invalid_order_transitions_by_day",
               {**flagged, "day": at.date(), "customer_id": customer_id})  # fmt: skip


@pytest.fixture(scope="module")
def orders(store: OrderStore) -> dict[str, str]:
    """A customer with a delivered order (shipped skipped: flagged) and an open one."""
    customer, broken, open_ = f"c-ot-{RUN}", f"o-ot-{RUN}-1", f"o-ot-{RUN}-2"
    put_change(store, broken, customer, 50, "created", None)
    put_change(store, broken, customer, 40, "confirmed", "created")
    put_change(store, broken, customer, 30, "paid", "confirmed")
    put_change(store, broken, customer, 20, "delivered", "paid",
               "delivered after paid (allowed: shipped, cancelled, refunded)")  # fmt: skip
    put_change(store, open_, customer, 10, "created", None)
    return {"customer": customer, "broken": broken, "open": open_}


def shown(at: AppTest) -> str:
    assert not at.exception, at.exception
    parts = [m.value for m in at.markdown] + [e.value for e in at.error]
    parts += [c.value for c in at.caption] + [str(m.value) for m in at.metric]
    return " ".join(parts)


def test_a_link_opens_an_orders_history_in_order_with_the_invalid_transition_flagged(
    orders: dict[str, str],
):
    at = AppTest.from_function(order_tracking_page, default_timeout=30)
    at.query_params["order"] = orders["broken"]
    at.run()
    page = shown(at)
    assert at.text_input(key="order_id").value == orders["broken"]
    history = at.dataframe[0].value
    assert list(history["status"]) == ["created", "confirmed", "paid", "delivered"]
    assert list(history["valid"]) == ["yes", "yes", "yes", "NO"]
    assert list(history["time_in_status"][:3]) == ["10 min", "10 min", "10 min"]
    assert at.metric[0].value == "delivered" and at.metric[3].value == "4"
    assert "1 invalid transition(s): delivered after paid" in page
    assert orders["customer"] in page


def test_a_customers_orders_and_the_invalid_transitions_are_listed(orders: dict[str, str]):
    at = AppTest.from_function(order_tracking_page, default_timeout=30).run()
    at.text_input(key="customer_id").set_value(orders["customer"]).run()
    assert not at.exception, at.exception
    tables = [df.value for df in at.dataframe]
    customer = next(t for t in tables if "changes" in t.columns)
    assert list(customer["order_id"]) == [orders["open"], orders["broken"]]  # newest first
    assert list(customer["status"]) == ["created", "delivered"]
    assert list(customer["invalid_transitions"]) == [0, 1]
    invalid = next(t for t in tables if "transition_problem" in t.columns
                   and "customer_id" in t.columns)  # fmt: skip
    assert orders["broken"] in list(invalid["order_id"])


def test_an_unknown_order_is_a_warning_not_an_empty_table(orders: dict[str, str]):
    at = AppTest.from_function(order_tracking_page, default_timeout=30)
    at.query_params["order"] = f"o-missing-{RUN}"
    at.run()
    assert not at.exception, at.exception
    assert "No status changes of order" in at.warning[0].value


def put_stock(store: OrderStore, product: str, level: int, alerts: list[tuple[str, str, int]]):
    """A product's level now and its alerts: (kind, severity, minutes ago)."""
    insert(store, "stock_levels", {
        "product_id": product, "event_time": NOW, "stock_level": level, "warning_threshold": 20,
        "critical_threshold": 5, "sales_per_hour": 4.0, "hours_to_stockout": level / 4.0,
        "severity": "critical" if level <= 5 else "warning" if level <= 20 else "none",
    })  # fmt: skip
    for n, (kind, severity, minutes_ago) in enumerate(alerts):
        at = NOW - dt.timedelta(minutes=minutes_ago)
        row = {
            "event_time": at, "alert_id": f"sa-{product}-{n}", "product_id": product,
            "kind": kind, "severity": severity, "stock_level": level, "warning_threshold": 20,
            "critical_threshold": 5, "sales_per_hour": 4.0, "hours_to_stockout": level / 4.0,
            "message": f"{product} {kind} {severity}",
        }  # fmt: skip
        insert(store, "stock_alerts_by_day", {**row, "day": at.date()})
        insert(store, "stock_alerts_by_product", row)


def test_stock_alerts_are_listed_filtered_and_a_product_link_opens_its_history(
    store: OrderStore,
):
    low, fine = f"p-sa-{RUN}-low", f"p-sa-{RUN}-fine"
    put_stock(store, low, 3, [("threshold", "warning", 3), ("demand", "warning", 2),
                              ("threshold", "critical", 1)])  # fmt: skip
    put_stock(store, fine, 80, [])
    at = AppTest.from_function(stock_alerts_page, default_timeout=30)
    at.query_params["product"] = low
    at.run()
    assert not at.exception, at.exception
    alerts = at.dataframe[0].value
    ours = alerts[alerts["product_id"] == low]
    assert list(ours["severity"]) == ["critical", "warning", "warning"]  # newest first
    assert list(ours["kind"]) == ["threshold", "demand", "threshold"]
    assert list(ours["runs_out_in"]) == ["45 min"] * 3
    below = at.dataframe[1].value
    assert low in list(below["product_id"]) and fine not in list(below["product_id"])
    history = at.dataframe[2].value
    assert list(history["severity"]) == ["critical", "warning", "warning"]
    assert list(history["message"]) == [f"{low} {k}" for k in ("threshold critical",
                                         "demand warning", "threshold warning")]  # fmt: skip
    assert at.text_input(key="product_id").value == low

    at.multiselect(key="severities").set_value(["critical"]).run()
    assert not at.exception, at.exception
    filtered = at.dataframe[0].value
    assert set(filtered["severity"]) == {"critical"}
    assert list(filtered[filtered["product_id"] == low]["kind"]) == ["threshold"]
    at.multiselect(key="severities").set_value(["critical", "warning"]).run()
    at.multiselect(key="kinds").set_value(["demand"]).run()
    assert not at.exception, at.exception
    demand = at.dataframe[0].value
    assert set(demand["kind"]) == {"demand"}
    assert list(demand[demand["product_id"] == low]["severity"]) == ["warning"]
