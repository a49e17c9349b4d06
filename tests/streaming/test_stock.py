"""Stock alerts: one warning, one critical, no storm until a restock; demand-aware alerts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from streaming.stock import (
    Limits,
    ProductStock,
    alert_records,
    hours_to_stockout,
    monitor,
    stock_alerts,
)

T0 = pd.Timestamp("2026-11-01T10:00:00")
LIMITS = Limits(warning=30, critical=10, horizon_hours=24, window_seconds=3600)


def changes(*steps: tuple[int, str, int, int]) -> pd.DataFrame:
    """(minute, change_type, quantity_change, stock_level) per change."""
    return pd.DataFrame(
        [
            {
                "event_id": f"inv-{minute:04d}-{kind}",
                "event_time": T0 + pd.Timedelta(minutes=minute),
                "change_type": kind,
                "quantity_change": change,
                "stock_level": level,
            }
            for minute, kind, change, level in steps
        ]
    )


def sales(start: int, level: int, count: int, units: int = 5) -> list[tuple[int, str, int, int]]:
    """``count`` sales of ``units``, a minute apart from minute ``start`` down from ``level``."""
    return [(start + k, "sale", -units, max(0, level - units * (k + 1))) for k in range(count)]


def alerts(rows: list[dict]) -> list[tuple[str, str, int]]:
    return [(r["kind"], r["severity"], r["stock_level"]) for r in rows if r["kind"] != "level"]


def test_falling_stock_raises_one_warning_then_one_critical_and_no_storm() -> None:
    stock = ProductStock()
    raised: list[dict] = []
    # one product selling 5 a minute from 100 units to 0, three micro-batches
    steps = sales(0, 100, 20)
    for part in (steps[:8], steps[8:15], steps[15:]):
        rows, stock = monitor("p-1", changes(*part), stock, Limits(30, 10, 0.0, 3600))
        raised += rows
    assert alerts(raised) == [("threshold", "warning", 30), ("threshold", "critical", 10)]
    level_rows = [r for r in raised if r["kind"] == "level"]
    assert [r["stock_level"] for r in level_rows] == [60, 25, 0]
    assert level_rows[-1]["severity"] == "critical"


def test_a_restock_above_the_warning_threshold_arms_the_alerts_again() -> None:
    stock = ProductStock()
    steps = [
        *sales(0, 40, 7),
        (10, "restock", 15, 20),
        *sales(11, 20, 2),
        (20, "restock", 100, 110),
    ]
    rows, stock = monitor("p-1", changes(*steps, *sales(21, 110, 17)), stock, LIMITS)
    threshold = [a for a in alerts(rows) if a[0] == "threshold"]
    # a restock to 20 (still below warning) raises nothing new; the one to 110 re-arms
    assert threshold == [
        ("threshold", "warning", 30),
        ("threshold", "critical", 10),
        ("threshold", "warning", 30),
    ]


def test_a_replayed_change_is_ignored_and_a_late_one_does_not_move_the_level_back() -> None:
    stock = ProductStock()
    _, stock = monitor("p-1", changes(*sales(0, 50, 3)), stock, LIMITS)
    again, stock = monitor("p-1", changes(*sales(0, 50, 3)), stock, LIMITS)
    assert again == [], "every change was seen before"
    late = changes((1, "adjustment", 0, 49)).assign(event_id="inv-late")
    rows, stock = monitor("p-1", late, stock, LIMITS)
    assert stock.level == 35 and rows[-1]["stock_level"] == 35


def test_the_demand_alert_names_the_hours_left_and_comes_before_the_stock_out() -> None:
    stock = ProductStock()
    rows, stock = monitor("p-1", changes(*sales(0, 200, 40)), stock, LIMITS)
    demand = [r for r in rows if r["kind"] == "demand"]
    assert len(demand) == 1, "one demand alert until a restock"
    first = demand[0]
    # after two sales of 5 in the hour: 10 an hour, 190 left: 19 hours (< 24)
    assert first["stock_level"] == 190 and first["hours_to_stockout"] == pytest.approx(19.0)
    assert "runs out in 19.0 hours" in first["message"]
    ordered = [(r["kind"], r["severity"]) for r in rows if r["kind"] != "level"]
    assert ordered.index(("demand", "warning")) < ordered.index(("threshold", "warning"))
    assert first["alert_id"] == f"p-1:demand:warning:{first['event_id']}"


def test_nothing_selling_means_no_demand_alert_and_state_survives_json() -> None:
    stock = ProductStock()
    rows, stock = monitor("p-1", changes((0, "restock", 500, 500)), stock, LIMITS)
    assert alerts(rows) == [] and rows[-1]["hours_to_stockout"] is None
    assert ProductStock.from_json(stock.to_json()) == stock


@pytest.mark.spark
def test_the_stock_query_keeps_state_across_micro_batches(spark, tmp_path: Path) -> None:
    from fraudstack.events import format_time, spark_schema

    source = tmp_path / "in"
    source.mkdir()
    start = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)

    def write(name: str, steps: list[tuple[int, str, int, int]], product: str = "p-9") -> None:
        records = [
            {
                "schema_version": 1,
                "event_id": f"{product}-{minute}",
                "product_id": product,
                "event_time": format_time(start + dt.timedelta(minutes=minute)),
                "change_type": kind,
                "quantity_change": change,
                "stock_level": level,
            }
            for minute, kind, change, level in steps
        ]
        (source / f"{name}.json").write_text("\n".join(json.dumps(r) for r in records))

    inventory_df = spark.readStream.schema(spark_schema("inventory")).json(f"file://{source}")
    products = {"p-9": Limits(warning=30, critical=10, horizon_hours=0.0)}
    query = (
        stock_alerts(inventory_df, LIMITS, products)
        .writeStream.format("memory")
        .queryName("stock_test")
        .outputMode("append")
        .option("checkpointLocation", f"file://{tmp_path / 'checkpoint'}")
        .start()
    )
    try:
        write("a", sales(0, 50, 5))  # 45 … 25: a warning at 30
        query.processAllAvailable()
        write("b", [*sales(5, 25, 4), *sales(5, 25, 4)])  # 20 … 5 (sent twice): a critical at 10
        query.processAllAvailable()
        write("c", [(20, "restock", 95, 100)], "p-8")  # another product, default limits
        query.processAllAvailable()
    finally:
        query.stop()
    out_df = spark.table("stock_test")
    raised = out_df.where("kind != 'level'").orderBy("event_time").collect()
    assert [(r.product_id, r.severity, r.stock_level) for r in raised] == [
        ("p-9", "warning", 30),
        ("p-9", "critical", 10),
    ]
    levels = out_df.where("kind = 'level'").orderBy("event_time").collect()
    assert [(r.product_id, r.stock_level) for r in levels] == [
        ("p-9", 25),
        ("p-9", 5),
        ("p-8", 100),
    ]
    records = [json.loads(r.value) for r in alert_records(out_df).collect()]
    assert {r["alert_id"] for r in records} == {r.alert_id for r in raised}
    assert records[0]["event_time"].endswith("Z")


def test_the_projection_expects_the_busier_of_the_current_rate_and_the_profile() -> None:
    sunday_10 = int(T0.value // 1_000)  # 2026-11-01 is a Sunday: hour of week 6 * 24 + 10
    assert hours_to_stockout(100, 10.0, sunday_10) == pytest.approx(10.0)
    assert hours_to_stockout(100, 10.0, sunday_10, [2.0] * 168) == pytest.approx(10.0)
    assert hours_to_stockout(100, 0.0, sunday_10) is None
    assert hours_to_stockout(100, 0.0, sunday_10, [0.0] * 168) is None
    # quiet now, but Sunday 12:00-14:00 usually sells 40 an hour: out early in the 2nd hour
    busy = [0.0] * 168
    busy[6 * 24 + 12] = busy[6 * 24 + 13] = 40.0
    assert hours_to_stockout(60, 1.0, sunday_10, busy) == pytest.approx(2 + 58 / 40)
    # more than a week of stock: the current rate decides
    assert hours_to_stockout(10_000, 1.0, sunday_10, busy) == pytest.approx(10_000.0)


def test_a_demand_profile_warns_a_quiet_product_before_its_busy_hours() -> None:
    steps = sales(0, 100, 2, units=1)  # 2 an hour now, 98 left: 49 hours, no alert
    rows, _ = monitor("p-1", changes(*steps), ProductStock(), LIMITS)
    assert alerts(rows) == []
    busy = [0.0] * 168
    for hour in range(6 * 24 + 14, 6 * 24 + 18):  # Sunday afternoons sell 30 an hour
        busy[hour] = 30.0
    rows, _ = monitor("p-1", changes(*steps), ProductStock(), LIMITS, busy)
    [demand] = [r for r in rows if r["kind"] == "demand"]
    # raised at the first sale (10:00, 99 left, 1 an hour so far): 4 sell by 14:00, the
    # other 95 at 30 an hour
    assert demand["stock_level"] == 99
    assert demand["hours_to_stockout"] == pytest.approx(4 + 95 / 30)
    assert "usual demand" in demand["message"]
