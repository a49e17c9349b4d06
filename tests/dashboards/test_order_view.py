"""What the order-tracking and stock-alert pages show (no browser, no services)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.alerts import order_view

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def change(minutes_ago: float, status: str, previous: str | None = None, **extra) -> dict:
    return {
        "order_id": extra.pop("order_id", "o-1"), "status": status,
        "event_time": NOW - dt.timedelta(minutes=minutes_ago), "previous_status": previous,
        "is_valid_transition": True, "transition_problem": None, **extra,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (-3, "0 s"), (45, "45 s"), (480, "8 min"), (3600, "1 h"),
     (23 * 3600 + 50 * 60, "23 h 50 min"), (86400, "1 d"), (3 * 86400 + 2 * 3600, "3 d 2 h")],
)  # fmt: skip
def test_durations_read_like_a_person_says_them(seconds, text):
    assert order_view.format_duration(seconds) == text


def test_runs_out_in_says_out_of_stock_and_is_blank_when_nothing_sells():
    assert order_view.runs_out_in(None) == ""
    assert order_view.runs_out_in(0) == "out of stock"
    assert order_view.runs_out_in(5.2) == "5 h 12 min"


def test_history_gives_each_status_its_stay_and_marks_the_invalid_one():
    changes = [
        change(120, "created"),
        change(110, "confirmed", "created", seconds_in_previous_status=600.0),
        change(100, "paid", "confirmed"),  # no stay recorded: measured from the times
        change(30, "delivered", "paid", is_valid_transition=False,
               transition_problem="delivered after paid"),
    ]  # fmt: skip
    table = order_view.history_table(changes, NOW)
    assert list(table["status"]) == ["created", "confirmed", "paid", "delivered"]
    assert list(table["time_in_status"]) == ["10 min", "10 min", "1 h 10 min", "30 min so far"]
    assert list(table["valid"]) == ["yes", "yes", "yes", "NO"]
    assert table["transition_problem"].iloc[3] == "delivered after paid"


def test_an_ended_order_has_no_stay_that_still_counts():
    table = order_view.history_table(
        [change(125, "created"), change(5, "cancelled", "created")], NOW
    )
    assert list(table["time_in_status"]) == ["2 h", "final"]


def test_a_customers_orders_take_their_newest_status_and_count_invalid_changes():
    newest_first = [
        change(1, "shipped", "paid", order_id="o-2"),
        change(2, "delivered", "created", order_id="o-1", is_valid_transition=False),
        change(3, "paid", "created", order_id="o-2"),
        change(9, "created", order_id="o-2"),
        change(10, "created", order_id="o-1"),
    ]  # fmt: skip
    orders = order_view.customer_orders(newest_first)
    assert list(orders["order_id"]) == ["o-2", "o-1"]
    assert list(orders["status"]) == ["shipped", "delivered"]
    assert list(orders["changes"]) == [3, 2]
    assert list(orders["invalid_transitions"]) == [0, 1]
    assert order_view.customer_orders([]).empty


def stock(product: str, level: int, warning: int = 20, critical: int = 5, **extra) -> dict:
    return {
        "product_id": product, "stock_level": level, "warning_threshold": warning,
        "critical_threshold": critical, "event_time": NOW, **extra,
    }  # fmt: skip


def test_below_threshold_lists_out_of_stock_first_then_the_lowest_against_its_threshold():
    levels = [
        stock("p-ok", 21), stock("p-warn", 15), stock("p-out", 0), stock("p-crit", 4),
        stock("p-big-threshold", 30, warning=100), stock("p-unknown", None),
    ]  # fmt: skip
    low = order_view.below_threshold(levels)
    assert [v["product_id"] for v in low] == ["p-out", "p-crit", "p-big-threshold", "p-warn"]
    assert [order_view.level_severity(v) for v in low] == ["critical", "critical", "warning",
                                                           "warning"]  # fmt: skip
    assert order_view.level_severity(stock("p-ok", 21)) == "ok"


def test_stock_filters_keep_only_the_chosen_severities_and_kinds():
    alerts = [
        {"alert_id": "a", "severity": "warning", "kind": "threshold"},
        {"alert_id": "b", "severity": "critical", "kind": "threshold"},
        {"alert_id": "c", "severity": "warning", "kind": "demand"},
    ]
    assert order_view.filter_stock_alerts(alerts, order_view.StockFilter()) == alerts
    critical = order_view.StockFilter(severities=("critical",))
    assert [a["alert_id"] for a in order_view.filter_stock_alerts(alerts, critical)] == ["b"]
    demand = order_view.StockFilter(kinds=("demand",))
    assert [a["alert_id"] for a in order_view.filter_stock_alerts(alerts, demand)] == ["c"]
    assert order_view.filter_stock_alerts(alerts, order_view.StockFilter((), ())) == []


def test_alert_and_level_tables_say_when_a_product_runs_out():
    alert = {**stock("p-1", 8), "severity": "warning", "kind": "demand", "hours_to_stockout": 2.5,
             "sales_per_hour": 3.2, "message": "runs out in 2 hours"}  # fmt: skip
    table = order_view.stock_alert_table([alert])
    assert list(table.columns) == list(order_view.STOCK_ALERT_COLUMNS)
    assert table["runs_out_in"].iloc[0] == "2 h 30 min"
    levels = order_view.level_table([stock("p-2", 0, hours_to_stockout=0.0), stock("p-3", 10)])
    assert list(levels["severity"]) == ["critical", "warning"]
    assert list(levels["runs_out_in"]) == ["out of stock", ""]
