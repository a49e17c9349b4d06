"""Order tracking: each status change checked against the one before it, time in each status."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from streaming.orders import (
    CARRIED,
    OrderState,
    status_history,
    track,
    with_order_columns,
)

T0 = pd.Timestamp("2026-11-01T10:00:00")


def changes(order: str, *steps: tuple[float, str]) -> pd.DataFrame:
    """(minutes after T0, status) per change of ``order``."""
    return pd.DataFrame(
        [
            {
                "order_id": order,
                "event_id": f"{order}-{status}-{minute}",
                "status": status,
                "event_time": T0 + pd.Timedelta(minutes=minute),
                "customer_id": "c-1",
                "transaction_id": "tx-1",
                "merchant_id": "m-1",
                "product_id": "p-1-00",
                "amount": 12.5,
                "currency": "EUR",
            }
            for minute, status in steps
        ]
    )


def test_a_whole_order_is_tracked_in_order_with_the_time_spent_in_each_status() -> None:
    # the batch arrives shuffled; the history comes out in event-time order
    batch = changes("o-1", (60, "paid"), (0, "created"), (2, "confirmed"), (180, "shipped"))
    out, state = track(batch.sample(frac=1, random_state=3), OrderState())
    assert list(out["status"]) == ["created", "confirmed", "paid", "shipped"]
    assert list(out["previous_status"]) == [None, "created", "confirmed", "paid"]
    seconds = list(out["seconds_in_previous_status"])
    assert pd.isna(seconds[0]) and seconds[1:] == [120.0, 3480.0, 7200.0]
    assert out["is_valid_transition"].all() and out["transition_problem"].isna().all()
    assert state.status == "shipped" and len(state.seen) == 4
    assert list(out[list(CARRIED)].iloc[0]) == ["c-1", "tx-1", "m-1", "p-1-00", 12.5, "EUR"]


def test_delivered_before_shipped_is_flagged_and_kept_and_a_replay_produces_nothing() -> None:
    _, state = track(changes("o-2", (0, "created"), (1, "confirmed"), (2, "paid")), OrderState())
    later = changes("o-2", (30, "delivered"), (40, "shipped"))
    out, state = track(later, state)
    assert list(out["status"]) == ["delivered", "shipped"]
    assert list(out["is_valid_transition"]) == [False, False]
    assert list(out["transition_problem"]) == [
        "delivered after paid (allowed: cancelled, refunded, shipped)",
        "shipped after delivered (allowed: refunded)",
    ]
    assert out["seconds_in_previous_status"].iloc[0] == 28 * 60.0
    again, state = track(pd.concat([later, later]), state)
    assert again.empty and state.status == "shipped"


@pytest.mark.spark
def test_the_orders_query_keeps_each_orders_status_across_micro_batches(
    spark, tmp_path: Path
) -> None:
    from fraudstack.events import format_time, spark_schema

    source = tmp_path / "in"
    source.mkdir()
    start = dt.datetime(2026, 11, 1, 10, tzinfo=dt.UTC)

    def write(name: str, steps: list[tuple[str, int, str]]) -> None:
        records = [
            {
                "schema_version": 1,
                "event_id": f"{order}-{status}",
                "order_id": order,
                "customer_id": "c-7",
                "status": status,
                "event_time": format_time(start + dt.timedelta(minutes=minute)),
            }
            for order, minute, status in steps
        ]
        (source / f"{name}.json").write_text("\n".join(json.dumps(r) for r in records))

    order_df = spark.readStream.schema(spark_schema("order_status")).json(f"file://{source}")
    query = (
        status_history(order_df)
        .writeStream.format("memory")
        .queryName("orders_test")
        .option("checkpointLocation", f"file://{tmp_path / 'checkpoint'}")
        .start()
    )
    try:
        write("a", [("o-a", 0, "created"), ("o-a", 1, "confirmed"), ("o-b", 0, "created")])
        query.processAllAvailable()
        # o-b is cancelled (and leaves the state); a change after that is a first change
        write("b", [("o-a", 5, "paid"), ("o-b", 3, "cancelled"), ("o-a", 1, "confirmed")])
        query.processAllAvailable()
        write("c", [("o-b", 9, "shipped")])
        query.processAllAvailable()
    finally:
        query.stop()
    rows_df = spark.table("orders_test")
    got = [
        (r.order_id, r.status, r.previous_status, r.is_valid_transition,
         r.seconds_in_previous_status)
        for r in rows_df.orderBy("order_id", "event_time").collect()
    ]  # fmt: skip
    assert got == [
        ("o-a", "created", None, True, None),
        ("o-a", "confirmed", "created", True, 60.0),
        ("o-a", "paid", "confirmed", True, 240.0),
        ("o-b", "created", None, True, None),
        ("o-b", "cancelled", "created", True, 180.0),
        ("o-b", "shipped", None, False, None),
    ]
    day = with_order_columns(rows_df).select("day", "event_time").first()
    assert day is not None and str(day.day) == "2026-11-01" and isinstance(day.event_time, int)
