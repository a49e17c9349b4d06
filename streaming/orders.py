"""Order tracking in the speed layer: every status change, in order, with its transition checked.

Spark state keeps, per order, its last status and when it began, and the ids of the
changes already seen (a replayed event produces nothing). Each new change gets the
status before it, how long the order spent in that status, and whether the transition
is allowed (:func:`fraudstack.orders.transition_problem`): an invalid one (``delivered``
before ``shipped``) is kept in the history and flagged with the reason.
An order leaves the state when it ends (``cancelled``, ``refunded``). No timeout: an
event-time one would drop late changes silently, and a processing-time one runs a batch
on every trigger, so the query is never idle. Delivered orders therefore stay (about 100
bytes each) until refunded; pruning them by age is left for later.

The ``foreachBatch`` writer upserts the history by order (oldest first), by customer
(newest first) and the flagged transitions by day, all keyed by the change's natural key,
so a replayed micro-batch rewrites the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupStateTimeout

from fraudstack.config import Config
from fraudstack.orders import FINAL_STATUSES, transition_problem
from storage.cassandra_writer import CassandraTarget, write_dataframe_to_tables
from streaming import sinks
from streaming.transforms import filter_valid, parse_events, with_rejection_reason

MAX_SEEN_IDS = 64  # an order has a handful of changes; a runaway one must not grow state
# ids as one comma-joined string: array columns in the state schema fail in pyspark 4.3.0
STATE_SCHEMA = T.StructType(
    [
        T.StructField("status", T.StringType()),
        T.StructField("since_us", T.LongType()),
        T.StructField("seen", T.StringType()),
    ]
)
CARRIED = ("customer_id", "transaction_id", "merchant_id", "product_id", "amount", "currency")
OUTPUT_SCHEMA = T.StructType(
    [
        T.StructField("order_id", T.StringType()),
        T.StructField("event_id", T.StringType()),
        T.StructField("status", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("previous_status", T.StringType()),
        T.StructField("previous_time", T.TimestampType()),
        T.StructField("seconds_in_previous_status", T.DoubleType()),
        T.StructField("is_valid_transition", T.BooleanType()),
        T.StructField("transition_problem", T.StringType()),
        *(
            T.StructField(name, T.DoubleType() if name == "amount" else T.StringType())
            for name in CARRIED
        ),
    ]
)
HISTORY_COLUMNS = (
    "order_id", "event_time", "event_id", "status", "previous_status",
    "seconds_in_previous_status", "is_valid_transition", "transition_problem", *CARRIED,
)  # fmt: skip
BY_CUSTOMER_COLUMNS = (
    "customer_id", "event_time", "order_id", "event_id", "status", "previous_status",
    "is_valid_transition", "transition_problem",
)  # fmt: skip
FLAGGED_COLUMNS = (
    "day", "event_time", "order_id", "event_id", "customer_id", "status", "previous_status",
    "transition_problem",
)  # fmt: skip


@dataclass(frozen=True)
class OrderState:
    """What the speed layer remembers of one order."""

    status: str | None = None
    since_us: int | None = None
    seen: tuple[str, ...] = ()


def track(changes: pd.DataFrame, state: OrderState) -> tuple[pd.DataFrame, OrderState]:
    """The new status changes of one order, checked against the status before each.

    Args:
        changes: the order's changes of this micro-batch (``event_id``, ``status``,
            ``event_time`` as pandas timestamps, the carried columns); any order.
        state: the order as the previous batches left it.

    Returns:
        One :data:`OUTPUT_SCHEMA` row per change not seen before, in event-time order,
        and the state after them.
    """
    seen = set(state.seen)
    fresh = changes[~changes["event_id"].isin(seen)].drop_duplicates("event_id")
    fresh = fresh.sort_values(["event_time", "event_id"], kind="stable")
    rows: list[dict[str, Any]] = []
    status, since_us, ids = state.status, state.since_us, list(state.seen)
    for change in fresh.itertuples(index=False):
        at_us = int(pd.Timestamp(change.event_time).value // 1_000)
        problem = transition_problem(status, change.status)
        rows.append(
            {
                "order_id": change.order_id,
                "event_id": change.event_id,
                "status": change.status,
                "event_time": change.event_time,
                "previous_status": status,
                "previous_time": None if since_us is None else pd.Timestamp(since_us, unit="us"),
                "seconds_in_previous_status": (
                    None if since_us is None else (at_us - since_us) / 1_000_000
                ),
                "is_valid_transition": problem is None,
                "transition_problem": problem,
                **{name: getattr(change, name) for name in CARRIED},
            }
        )
        status, since_us = change.status, at_us
        ids.append(change.event_id)
    out = pd.DataFrame(rows, columns=OUTPUT_SCHEMA.names)
    return out, OrderState(status, since_us, tuple(ids[-MAX_SEEN_IDS:]))


def update_order(
    key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: Any
) -> Iterator[pd.DataFrame]:
    """The new changes of one order; the order's state moves on (or ends with the order)."""
    before = OrderState()
    if state.exists:
        status, since_us, seen = state.get
        before = OrderState(status, since_us, tuple(seen.split(",")) if seen else ())
    out, after = track(pd.concat(list(batches), ignore_index=True), before)
    if after.status in FINAL_STATUSES:
        state.remove()
    else:
        state.update((after.status, after.since_us, ",".join(after.seen)))
    if not out.empty:
        yield out


def status_history(order_df: DataFrame) -> DataFrame:
    """Each new status change of the stream, checked against the order's previous status.

    Args:
        order_df: parsed ``order_status`` events (the contract's columns).

    Returns:
        :data:`OUTPUT_SCHEMA` rows.
    """
    return (
        order_df.select("order_id", "event_id", "status", "event_time", *CARRIED)
        .groupBy("order_id")
        .applyInPandasWithState(
            update_order,
            outputStructType=OUTPUT_SCHEMA,
            stateStructType=STATE_SCHEMA,
            outputMode="append",
            timeoutConf=GroupStateTimeout.NoTimeout,
        )
    )


def with_order_columns(history_df: DataFrame) -> DataFrame:
    """What the Cassandra tables need: ``day`` and times as epoch milliseconds."""
    return history_df.withColumn("day", F.to_date("event_time")).withColumn(
        "event_time", F.unix_millis("event_time")
    )


@dataclass(frozen=True)
class OrderTables:
    """The order-tracking tables of the speed layer."""

    by_order: CassandraTarget
    by_customer: CassandraTarget
    flagged: CassandraTarget

    @classmethod
    def from_config(cls, config: Config) -> OrderTables:
        def target(table: str, columns: tuple[str, ...]) -> CassandraTarget:
            return sinks.speed_layer_target(config, table, columns)

        return cls(
            by_order=target("order_status_by_order", HISTORY_COLUMNS),
            by_customer=target("order_status_by_customer", BY_CUSTOMER_COLUMNS),
            flagged=target("invalid_order_transitions_by_day", FLAGGED_COLUMNS),
        )


class OrderWriter:
    """The ``foreachBatch`` body: upsert a micro-batch of status changes into Cassandra."""

    def __init__(self, tables: OrderTables, metrics: Any | None = None) -> None:
        self.tables = tables
        self.metrics = metrics

    def __call__(self, history_df: DataFrame, batch_id: int) -> None:
        rows_df = (
            with_order_columns(history_df)
            .withColumn("is_flagged", ~F.col("is_valid_transition"))
            .persist()  # written, then counted: the state update runs once
        )
        try:
            write_dataframe_to_tables(
                rows_df,
                [
                    (self.tables.by_order, None),
                    (self.tables.by_customer, None),
                    (self.tables.flagged, "is_flagged"),
                ],
            )
            if self.metrics is not None:
                for row in rows_df.groupBy("status", "is_valid_transition").count().collect():
                    valid = "true" if row["is_valid_transition"] else "false"
                    self.metrics.order_changes.labels(row["status"], valid).inc(row["count"])
        finally:
            rows_df.unpersist()


def start(
    kafka_df: DataFrame, config: Config, checkpoint: str, metrics: Any | None = None
) -> StreamingQuery:
    """The ``orders`` query: valid ``order_status`` events → status history in Cassandra."""
    valid_df = filter_valid(with_rejection_reason(kafka_df))
    return (
        status_history(parse_events(valid_df, "order_status"))
        .writeStream.queryName("orders")
        .foreachBatch(OrderWriter(OrderTables.from_config(config), metrics))
        .trigger(processingTime=config.raw["streaming"].get("orders_trigger", "5 seconds"))
        .option("checkpointLocation", checkpoint)
        .start()
    )
