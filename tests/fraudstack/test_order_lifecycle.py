"""The order_status and inventory contracts, and the order lifecycle's transitions."""

from __future__ import annotations

import json

import pytest

from fraudstack.events import (
    CONTRACTS,
    INVENTORY_SCHEMA,
    ORDER_STATUS_SCHEMA,
    ORDER_STATUSES,
    validate,
)
from fraudstack.orders import FINAL_STATUSES, LIFECYCLE, TRANSITIONS, transition_problem

ORDER = {
    "schema_version": 1, "event_id": "os-1", "order_id": "o-1", "customer_id": "c-1",
    "status": "shipped", "event_time": "2026-11-01T10:00:00.000Z", "transaction_id": "tx-1",
    "merchant_id": "m-1", "product_id": "p-1-00", "quantity": 2, "amount": 30.0,
    "currency": "EUR",
}  # fmt: skip
STOCK = {
    "schema_version": 1, "event_id": "inv-1", "product_id": "p-1-00",
    "event_time": "2026-11-01T10:00:00.000Z", "change_type": "sale", "quantity_change": -2,
    "stock_level": 17, "merchant_id": "m-1", "category": "books", "order_id": "o-1",
}  # fmt: skip


def test_good_order_and_stock_events_are_valid_and_optional_fields_may_be_null() -> None:
    assert validate(json.dumps(ORDER).encode(), "order_status") is None
    assert validate(STOCK, "inventory") is None
    for event_type, good in (("order_status", ORDER), ("inventory", STOCK)):
        optional = {f.name for f in CONTRACTS[event_type] if not f.required}
        assert validate({k: v for k, v in good.items() if k not in optional}, event_type) is None


@pytest.mark.parametrize(
    ("event_type", "change", "reason"),
    [
        ("order_status", {"status": "lost"}, "status: unknown value 'lost'"),
        ("order_status", {"order_id": None}, "missing required field order_id"),
        ("order_status", {"quantity": 0}, "quantity: 0 below minimum 1"),
        ("order_status", {"event_time": "yesterday"}, "event_time: not a timestamp"),
        ("order_status", {"tracking": "x"}, "unknown field(s) ['tracking']"),
        ("inventory", {"stock_level": -3}, "stock_level: -3 below minimum 0"),
        ("inventory", {"change_type": "theft"}, "change_type: unknown value 'theft'"),
        ("inventory", {"quantity_change": "two"}, "quantity_change: expected int, got str"),
        ("inventory", {"product_id": None}, "missing required field product_id"),
    ],
)
def test_a_bad_order_or_stock_event_is_refused_with_the_reason(
    event_type: str, change: dict, reason: str
) -> None:
    good = ORDER if event_type == "order_status" else STOCK
    got = validate({**good, **change}, event_type)
    assert got is not None and got.startswith(reason)


def test_the_spark_schemas_follow_the_contracts() -> None:
    assert ORDER_STATUS_SCHEMA.names == [f.name for f in CONTRACTS["order_status"]]
    assert INVENTORY_SCHEMA.names == [f.name for f in CONTRACTS["inventory"]]
    assert ORDER_STATUS_SCHEMA["event_time"].dataType.typeName() == "timestamp"
    assert not INVENTORY_SCHEMA["stock_level"].nullable
    assert INVENTORY_SCHEMA["order_id"].nullable


@pytest.mark.spark
def test_the_column_forms_of_the_new_contracts_agree_with_validate(spark) -> None:
    from pyspark.sql import functions as F

    from fraudstack.events import is_valid_column, rejection_reason_column, spark_schema

    cases = {
        "order_status": [ORDER, {**ORDER, "status": "lost"}, {**ORDER, "customer_id": None}],
        "inventory": [STOCK, {**STOCK, "stock_level": -1}, {**STOCK, "change_type": "theft"}],
    }
    for event_type, records in cases.items():
        raw_df = spark.createDataFrame([(json.dumps(r),) for r in records], "value string")
        parsed_df = raw_df.select(F.from_json("value", spark_schema(event_type)).alias("e"))
        parsed_df = parsed_df.select("e.*")
        rows = parsed_df.select(
            is_valid_column(event_type).alias("ok"),
            rejection_reason_column(event_type).alias("why"),
        ).collect()
        expected = [validate(r, event_type) for r in records]
        assert [row.ok for row in rows] == [reason is None for reason in expected]
        assert [row.why for row in rows] == expected


def test_the_happy_path_is_valid_step_by_step() -> None:
    previous = None
    for status in LIFECYCLE:
        assert transition_problem(previous, status) is None, status
        previous = status
    assert transition_problem("delivered", "refunded") is None
    assert transition_problem("confirmed", "cancelled") is None


@pytest.mark.parametrize(
    ("previous", "status", "problem"),
    [
        ("paid", "delivered", "delivered after paid (allowed: cancelled, refunded, shipped)"),
        ("shipped", "paid", "paid after shipped (allowed: delivered, refunded)"),
        ("cancelled", "shipped", "shipped after cancelled (allowed: nothing (final))"),
        ("delivered", "delivered", "delivered after delivered (allowed: refunded)"),
        (None, "shipped", "first status shipped, expected created"),
    ],
)
def test_an_invalid_transition_says_what_was_allowed(
    previous: str | None, status: str, problem: str
) -> None:
    assert transition_problem(previous, status) == problem


def test_every_status_has_its_transitions_and_only_cancelled_and_refunded_are_final() -> None:
    assert set(TRANSITIONS) == ORDER_STATUSES
    assert all(nexts <= ORDER_STATUSES for nexts in TRANSITIONS.values())
    assert FINAL_STATUSES == {"cancelled", "refunded"}
