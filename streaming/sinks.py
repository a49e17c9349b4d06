"""Where the speed layer writes: Cassandra tables and Kafka topics.

The row shaping here is pure (DataFrame in, DataFrame out); the ``write_*``
functions do the I/O. Cassandra writes are upserts by natural key, so a micro-batch
replayed after a crash rewrites the same rows. Kafka writes are at least once: a
replayed batch can send an alert again with the same ``alert_id`` (= transaction id)
and key, which consumers use to drop the copy.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Row
from pyspark.sql import functions as F

from fraudstack.config import Config
from fraudstack.features import WIDE_FEATURES
from fraudstack.scoring import MODEL_FEATURES
from storage.cassandra_writer import CassandraTarget, write_rows, write_to_tables

TRANSACTION_COLUMNS = (
    "customer_id", "event_time", "transaction_id", "merchant_id", "amount", "currency",
    "amount_usd", "payment_method", "category", "channel", "country", "device_id",
    "risk_score", "decision", "reasons", "scored_at",
)  # fmt: skip
SCORED_COLUMNS = (
    "transaction_id", "event_time", "customer_id", "merchant_id", "amount", "currency",
    "amount_usd", "rule_score", "model_score", "model_version", "risk_score", "decision",
    "reasons", "features", "scored_at", "batch_id",
)  # fmt: skip
ALERT_DAY_COLUMNS = (
    "day", "event_time", "alert_id", "customer_id", "merchant_id", "amount", "currency",
    "amount_usd", "risk_score", "decision", "reasons", "scored_at",
)  # fmt: skip
ALERT_ID_COLUMNS = (
    "alert_id", "day", "event_time", "customer_id", "merchant_id", "amount", "currency",
    "amount_usd", "risk_score", "decision", "reasons", "features", "model_version", "scored_at",
)  # fmt: skip
QUARANTINE_COLUMNS = (
    "day", "source_topic", "kafka_partition", "kafka_offset", "received_at", "kafka_key",
    "reason", "raw",
)  # fmt: skip
COUNT_COLUMNS = ("day", "minute", "dimension", "value", "batch_id", "transactions")
ALERT_FIELDS = (
    "alert_id", "transaction_id", "event_time", "customer_id", "merchant_id", "amount",
    "currency", "amount_usd", "risk_score", "rule_score", "model_score", "model_version",
    "decision", "reasons", "scored_at",
)  # fmt: skip


def speed_layer_target(config: Config, table: str, columns: tuple[str, ...]) -> CassandraTarget:
    """A table of the speed layer's keyspace, written with its concurrency and consistency."""
    return CassandraTarget(
        config.host("cassandra"), config.port("cassandra"), config.keyspace, table, columns,
        concurrency=int(config.raw["streaming"]["write_concurrency"]),
        consistency=config.raw["cassandra"].get("write_consistency"),
    )  # fmt: skip


@dataclass(frozen=True)
class Tables:
    """The speed layer's Cassandra tables."""

    transactions: CassandraTarget
    scored: CassandraTarget
    alerts_by_day: CassandraTarget
    alerts_by_id: CassandraTarget
    counts: CassandraTarget
    quarantine: CassandraTarget

    @classmethod
    def from_config(cls, config: Config) -> Tables:
        def target(table: str, columns: tuple[str, ...]) -> CassandraTarget:
            return speed_layer_target(config, table, columns)

        return cls(
            transactions=target("transactions_by_customer", TRANSACTION_COLUMNS),
            scored=target("scored_transactions", SCORED_COLUMNS),
            alerts_by_day=target("alerts_by_day", ALERT_DAY_COLUMNS),
            alerts_by_id=target("alerts_by_id", ALERT_ID_COLUMNS),
            counts=target("counts_by_minute", COUNT_COLUMNS),
            quarantine=target("quarantine_by_day", QUARANTINE_COLUMNS),
        )


def _epoch_ms(column: str) -> F.Column:
    # the driver reads integers as epoch milliseconds: no time-zone guesswork on workers
    return F.unix_millis(F.col(column))


def with_cassandra_columns(scored_df: DataFrame, batch_id: int) -> DataFrame:
    """Add what the tables need: ``day``, ``alert_id``, ``is_alert``, ``features`` and ``batch_id``.

    Timestamps become epoch milliseconds; ``features`` maps every model input that
    has a value (Cassandra maps cannot hold nulls).
    """
    names = list(dict.fromkeys((*WIDE_FEATURES, *MODEL_FEATURES)))
    features = F.map_from_arrays(
        F.array(*[F.lit(name) for name in names]),
        F.array(*[F.col(name).cast("double") for name in names]),
    )
    return (
        scored_df.withColumn("day", F.to_date("event_time"))
        .withColumn("alert_id", F.col("transaction_id"))
        .withColumn("is_alert", F.col("decision") != "ALLOW")
        .withColumn("features", F.map_filter(features, lambda _, value: value.isNotNull()))
        .withColumn("batch_id", F.lit(batch_id).cast("long"))
        .withColumn("event_time", _epoch_ms("event_time"))
        .withColumn("scored_at", _epoch_ms("scored_at"))
    )


def alert_records(scored_df: DataFrame) -> DataFrame:
    """Kafka ``key`` (customer id) and JSON ``value`` of every REVIEW and BLOCK decision."""
    iso = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    formats = {
        "alert_id": F.col("transaction_id"),
        "event_time": F.date_format("event_time", iso),
        "scored_at": F.date_format("scored_at", iso),
    }
    fields = [formats.get(name, F.col(name)).alias(name) for name in ALERT_FIELDS]
    return scored_df.where(F.col("decision") != "ALLOW").select(
        F.col("customer_id").alias("key"), F.to_json(F.struct(*fields)).alias("value")
    )


SUMMARY_COLUMNS = ("event_ms", "decision", "reasons")


def _write_and_summarise(
    targets: list[tuple[CassandraTarget, str | None]], partition: Iterable[Row]
) -> Iterator[tuple[int, str, list[str], float]]:
    rows = list(partition)
    write_to_tables(targets, rows)
    written_at = time.time()
    for row in rows:
        yield row["event_ms"], row["decision"], list(row["reasons"] or ()), written_at


def write_scored(
    scored_df: DataFrame, tables: Tables, batch_id: int
) -> list[tuple[int, str, list[str], float]]:
    """Upsert a scored micro-batch into the transaction and alert tables in one pass.

    Returns:
        Per transaction: event time (epoch ms), decision, reasons and when its rows
        were written (epoch s), for the counters and the latency histogram.
    """
    targets: list[tuple[CassandraTarget, str | None]] = [
        (tables.transactions, None),
        (tables.scored, None),
        (tables.alerts_by_day, "is_alert"),
        (tables.alerts_by_id, "is_alert"),
    ]
    needed = sorted(
        {name for target, flag in targets for name in (*target.columns, flag) if name}
        | set(SUMMARY_COLUMNS)
    )
    rows_df = with_cassandra_columns(scored_df, batch_id).withColumn(
        "event_ms", F.col("event_time")
    )
    return (
        rows_df.select(*needed)
        .rdd.mapPartitions(lambda rows: _write_and_summarise(targets, rows))
        .collect()
    )


def minute_counts(
    summary: list[tuple[int, str, list[str], float]], batch_id: int
) -> list[tuple[Any, ...]]:
    """Rows of ``counts_by_minute`` for this batch: by event-time minute, decision and reason."""
    counts: Counter[tuple[int, str, str]] = Counter()
    for event_ms, decision, reasons, _ in summary:
        minute = event_ms // 60_000 * 60_000
        counts[(minute, "decision", decision)] += 1
        for reason in reasons:
            counts[(minute, "reason", reason)] += 1
    return [
        (dt.datetime.fromtimestamp(minute / 1000, dt.UTC).date(), minute, dimension, value,
         batch_id, count)
        for (minute, dimension, value), count in sorted(counts.items())
    ]  # fmt: skip


def write_counts(rows: list[tuple], tables: Tables) -> None:
    """Upsert the (few) per-minute count rows from the driver."""
    write_rows(tables.counts, rows)


def write_kafka(records_df: DataFrame, bootstrap: str, topic: str) -> None:
    """Send ``key``/``value`` rows to a Kafka topic (a batch write, acks=all)."""
    (
        records_df.write.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("kafka.acks", "all")
        .option("kafka.enable.idempotence", "true")
        .option("topic", topic)
        .save()
    )
