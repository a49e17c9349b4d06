"""Pure transformations of the speed layer: Kafka rows in, DataFrames out.

Validation calls the shared :func:`fraudstack.events.validate` through a pandas UDF
rather than re-expressing the contract as column expressions: one definition of
validity, and the producer, the speed layer and the batch layer give a rejected
record the same reason, word for word.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fraudstack.events import CONTRACTS, EVENT_TOPICS, MAX_RECORD_BYTES, spark_schema, validate
from fraudstack.pii import redacted_column

TOPIC_EVENTS: dict[str, str] = {topic: event_type for event_type, topic in EVENT_TOPICS.items()}
KAFKA_COLUMNS = ("topic", "partition", "offset", "timestamp", "key", "value")


@F.pandas_udf(T.StringType())  # type: ignore[call-overload]
def _rejection_reason(topics: pd.Series, values: pd.Series, received: pd.Series) -> pd.Series:
    reasons: list[str | None] = []
    for topic, value, at in zip(topics, values, received, strict=True):
        event_type = TOPIC_EVENTS.get(topic)
        if event_type is None:
            reasons.append(f"no contract for topic {topic}")
        elif value is None:
            reasons.append("empty message (null value)")
        else:
            # Arrow hands Spark timestamps over as naive UTC (the session time zone)
            arrived = None if pd.isna(at) else at.to_pydatetime().replace(tzinfo=dt.UTC)
            reasons.append(validate(bytes(value), event_type, received_at=arrived))
    return pd.Series(reasons, dtype=object)


def with_rejection_reason(kafka_df: DataFrame) -> DataFrame:
    """Add ``reason``: why the record breaks its topic's contract, or null if it is valid.

    The Kafka record's timestamp is when it was received: an event dated more than a day
    after it is refused (a clock far ahead, or a forged time)."""
    return kafka_df.withColumn(
        "reason", _rejection_reason(F.col("topic"), F.col("value"), F.col("timestamp"))
    )


def filter_valid(df: DataFrame) -> DataFrame:
    """Keep records that passed validation."""
    return df.where(F.col("reason").isNull())


def filter_rejected(df: DataFrame) -> DataFrame:
    """Keep records that failed validation."""
    return df.where(F.col("reason").isNotNull())


def parse_events(
    valid_df: DataFrame, event_type: str, wire: bool = False, keep_payload: bool = False
) -> DataFrame:
    """The event's fields as columns (explicit contract schema, never inferred).

    Args:
        valid_df: Kafka rows that passed validation.
        event_type: ``transaction`` or ``chargeback``.
        wire: keep times as ISO-8601 strings and integers as longs, the master
            dataset's types (the same as the history written by the simulator).
        keep_payload: also keep the raw JSON as ``payload``.
    """
    schema = wire_schema(event_type) if wire else spark_schema(event_type)
    raw = F.col("value").cast("string")
    extra = [raw.alias("payload")] if keep_payload else []
    return valid_df.select(*extra, F.from_json(raw, schema).alias("event")).select(
        *(["payload"] if keep_payload else []), "event.*"
    )


_WIRE_TYPES: dict[str, T.DataType] = {
    "str": T.StringType(), "int": T.LongType(), "float": T.DoubleType(),
    "time": T.StringType(), "bool": T.BooleanType(),
}  # fmt: skip


def wire_schema(event_type: str) -> T.StructType:
    """The event as it travels (times as strings): the master dataset's Parquet schema."""
    return T.StructType([T.StructField(f.name, _WIRE_TYPES[f.kind]) for f in CONTRACTS[event_type]])


def with_event_date(df: DataFrame) -> DataFrame:
    """Add ``event_date`` (YYYY-MM-DD of the wire ``event_time``), the partition column."""
    return df.withColumn("event_date", F.substring("event_time", 1, 10))


def redacted_bytes(value: Column) -> Column:
    """A binary column with emails, IP addresses and card numbers masked: personal data in
    a refused record was never tokenised. (The patterns are ASCII, so a Latin-1 round
    trip keeps every other byte as it was.)"""
    return F.encode(redacted_column(F.decode(value, "ISO-8859-1")), "ISO-8859-1")


def dead_letter_records(rejected_df: DataFrame) -> DataFrame:
    """Kafka ``key``/``value`` for the dead-letter topic, shaped like the producer's own.

    The key is the source position (``topic/partition/offset``): a consumer can drop
    the copies a replayed micro-batch sends again. Personal data in the payload is masked
    (:func:`redacted_bytes`). A payload over
    :data:`~fraudstack.events.MAX_RECORD_BYTES` keeps that many bytes, its size and its
    SHA-256 (the whole record, masked alike, stays in the Cassandra quarantine).
    """
    position = F.concat_ws("/", "topic", "partition", "offset")
    kept = redacted_bytes(F.substring("value", 1, MAX_RECORD_BYTES))  # must fit in Kafka
    value = F.to_json(
        F.struct(
            F.date_format(F.current_timestamp(), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").alias(
                "rejected_at"
            ),
            F.lit("speed_layer").alias("stage"),
            F.col("topic").alias("source_topic"),
            F.col("partition").alias("source_partition"),
            F.col("offset").alias("source_offset"),
            F.col("key").cast("string").alias("key"),
            F.col("reason"),
            kept.cast("string").alias("raw"),
            F.base64(kept).alias("raw_base64"),
            F.length("value").alias("raw_bytes"),
            F.sha2("value", 256).alias("raw_sha256"),
            (F.length("value") > MAX_RECORD_BYTES).alias("raw_truncated"),
            (kept != F.substring("value", 1, MAX_RECORD_BYTES)).alias("raw_redacted"),
        )
    )
    return rejected_df.select(position.alias("key"), value.alias("value"))


def quarantine_rows(rejected_df: DataFrame) -> DataFrame:
    """Rows of the Cassandra ``quarantine_by_day`` table."""
    return rejected_df.select(
        F.to_date("timestamp").alias("day"),
        F.col("topic").alias("source_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("received_at"),
        F.col("key").cast("string").alias("kafka_key"),
        F.col("reason"),
        F.coalesce(redacted_bytes(F.col("value")), F.lit(b"")).alias("raw"),
    )
