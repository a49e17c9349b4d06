"""The batch layer's order funnel, fulfilment times and demand profiles, on small known
histories: counts by hand, the speed layer's transition rules, hours of the week."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from pyspark.sql import functions as F

from batch import orders
from fraudstack.events import ORDER_STATUSES
from fraudstack.orders import transition_problem

pytestmark = pytest.mark.spark
T0 = dt.datetime(2026, 11, 2, 9, 0)  # a Monday


def status_rows(order: str, *steps: tuple[str, float], amount: float = 10.0) -> list[dict]:
    """(status, hours after T0) per change of one order."""
    return [
        {
            "event_id": f"{order}-{n}",
            "order_id": order,
            "status": status,
            "event_time": T0 + dt.timedelta(hours=hours),
            "amount": amount if status == "created" else None,
        }
        for n, (status, hours) in enumerate(steps)
    ]


def frame(spark: Any, rows: list[dict]) -> Any:
    schema = "event_id string, order_id string, status string, event_time timestamp, amount double"
    return spark.createDataFrame(rows, schema)


def test_the_transition_flags_agree_with_the_speed_layers_rules(spark: Any) -> None:
    pairs = list(itertools.product(sorted(ORDER_STATUSES), repeat=2))
    rows = [
        row for n, (a, b) in enumerate(pairs) for row in status_rows(f"o{n}", (a, 0.0), (b, 1.0))
    ]
    flagged = orders.with_transition_flags(frame(spark, rows)).collect()
    got = {(r.order_id, r.status, r.previous): r.invalid for r in flagged}
    for n, (a, b) in enumerate(pairs):
        assert got[(f"o{n}", a, None)] == (transition_problem(None, a) is not None)
        assert got[(f"o{n}", b, a)] == (transition_problem(a, b) is not None), (a, b)


def test_the_funnel_and_fulfilment_times_count_each_order_once(spark: Any) -> None:
    rows = [
        *status_rows(
            "full",
            ("created", 0),
            ("confirmed", 1),
            ("paid", 2),
            ("shipped", 26),
            ("delivered", 74),
            amount=30.0,
        ),
        *status_rows("cancelled", ("created", 0), ("confirmed", 0.5), ("cancelled", 3)),
        *status_rows("skipped", ("created", 0), ("confirmed", 2), ("paid", 4), ("delivered", 50)),
        *status_rows(
            "refunded",
            ("created", 0),
            ("confirmed", 1),
            ("paid", 3),
            ("shipped", 27),
            ("delivered", 51),
            ("refunded", 99),
        ),
        *status_rows("next-day", ("created", 24), ("confirmed", 25)),
    ]
    summary = orders.orders_summary(frame(spark, rows)).cache()
    funnel = {r.event_date: r.asDict() for r in orders.funnel_daily(summary).collect()}
    monday = funnel["2026-11-02"]
    assert {k: monday[k] for k in monday if k.startswith("orders_")} == {
        "orders_created": 4, "orders_confirmed": 4, "orders_paid": 3, "orders_shipped": 2,
        "orders_delivered": 3, "orders_cancelled": 1, "orders_refunded": 1,
    }  # fmt: skip
    assert monday["invalid_transitions"] == 1  # delivered straight after paid
    assert monday["amount_created"] == pytest.approx(60.0)
    assert monday["paid_rate"] == pytest.approx(0.75) and monday["cancel_rate"] == 0.25
    assert funnel["2026-11-03"]["orders_created"] == 1
    times = {(r.event_date, r.stage): r for r in orders.fulfilment_times(summary).collect()}
    shipped = times[("2026-11-02", "paid_to_shipped")]
    assert shipped.orders == 2 and shipped.avg_hours == pytest.approx(24.0)
    delivered = times[("2026-11-02", "created_to_delivered")]
    assert delivered.orders == 3 and delivered.max_hours == pytest.approx(74.0)
    assert ("2026-11-02", "shipped_to_delivered") in times
    assert ("2026-11-03", "paid_to_shipped") not in times


def test_demand_profiles_average_the_units_by_hour_of_week_over_the_weeks(spark: Any) -> None:
    def sale(product: str, when: dt.datetime, units: int) -> dict:
        return {"product_id": product, "merchant_id": "m1", "event_time": when,
                "change_type": "sale", "quantity_change": -units}  # fmt: skip

    monday_9, sunday_23 = T0, T0 + dt.timedelta(days=6, hours=14)
    rows = [
        sale("p1", monday_9, 3),
        sale("p1", monday_9 + dt.timedelta(minutes=20), 1),
        sale("p1", monday_9 + dt.timedelta(days=7), 4),  # the next Monday, same hour
        sale("p1", sunday_23, 2),
        sale("p2", monday_9, 5),
        {**sale("p1", monday_9, 0), "change_type": "restock", "quantity_change": 100},
    ]
    schema = ("product_id string, merchant_id string, event_time timestamp, "
              "change_type string, quantity_change long")  # fmt: skip
    inventory = spark.createDataFrame(rows, schema)
    first, last = dt.date(2026, 11, 2), dt.date(2026, 11, 15)  # two weeks
    profiles = orders.demand_profiles(inventory, first, last).cache()
    got = {(r.product_id, r.hour_of_week): r.units_per_hour for r in profiles.collect()}
    assert got == {("p1", 9): 4.0, ("p1", 167): 1.0, ("p2", 9): 2.5}
    [p1] = orders.demand_rows(profiles.where("product_id = 'p1'"), "2026-11-16", "v1").collect()
    assert len(p1.units_per_hour) == 168 and sum(p1.units_per_hour) == pytest.approx(5.0)
    assert p1.units_per_hour[9] == 4.0 and p1.units_per_hour[167] == 1.0
    assert p1.weeks == 2.0 and p1.profile_date == dt.date(2026, 11, 16)


def test_the_hour_of_week_starts_on_monday_midnight_utc(spark: Any) -> None:
    times = [dt.datetime(2026, 11, 2, 0, 30), dt.datetime(2026, 11, 8, 23, 59),
             dt.datetime(2026, 11, 4, 13, 0)]  # fmt: skip
    df = spark.createDataFrame([(t,) for t in times], "t timestamp")
    hours = [r[0] for r in df.select(orders.hour_of_week(F.col("t"))).collect()]
    assert hours == [0, 167, 2 * 24 + 13]
