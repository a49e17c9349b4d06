"""The speed layer: one Spark application running eight streaming queries.

- ``score``: transactions → validate → velocity features (Spark state, dedup) →
  ``foreachBatch``: enrich with batch views, rules + model, decision → Cassandra
  tables and the ``fraud_alerts`` topic.
- ``quarantine``: records of every input topic (``TOPIC_EVENTS``) that break their
  contract → the ``dead_letter`` topic and the Cassandra ``quarantine_by_day`` table.
- ``archive_<topic>`` (transactions, chargebacks, order_status, inventory): valid raw
  events → the HDFS master dataset (Parquet by ``event_date``; the file sink's log makes
  it exactly once), where the batch layer reads them.
- ``orders``: ``order_status`` events → each order's status history in Cassandra, invalid
  transitions flagged (``streaming/orders.py``).
- ``stock``: ``inventory`` events → stock levels, threshold and demand-aware alerts to
  Cassandra and the ``stock_alerts`` topic (``streaming/stock.py``).

Started by ``fraudstack stream start`` through ``spark-submit``; every query keeps
its checkpoint under ``streaming.checkpoint_dir``, so a restart resumes where the
last committed micro-batch ended. SIGTERM stops the queries between batches.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from functools import partial

from prometheus_client import start_http_server
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from fraudstack.config import Config, load_config
from fraudstack.events import EVENT_TOPICS
from fraudstack.features import explode_entities, with_amount_usd
from fraudstack.scoring import load_policy
from fraudstack.spark import build_session
from storage.cassandra_writer import write_dataframe_to_tables
from storage.kafka_log import end_offsets
from streaming import orders, sinks, stock
from streaming.metrics import PrometheusQueryListener, SpeedLayerMetrics
from streaming.score_batch import Scorer
from streaming.transforms import (
    TOPIC_EVENTS,
    dead_letter_records,
    filter_rejected,
    filter_valid,
    parse_events,
    quarantine_rows,
    with_event_date,
    with_rejection_reason,
)
from streaming.velocity import stream_features

log = logging.getLogger("fraudstack.speed_layer")

STREAMING_CONF = {
    # state lives in RocksDB off the JVM heap, so millions of entities fit in 2 GiB
    "spark.sql.streaming.stateStore.providerClass": (
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
    ),
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    "spark.sql.streaming.metricsEnabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # the batch views are broadcast to every micro-batch; on a machine overloaded for
    # minutes the 300 s default ran out and the scoring query died (fault runs saw it)
    "spark.sql.broadcastTimeout": "1800",
}
ARCHIVES = {f"archive_{topic}": event_type for event_type, topic in EVENT_TOPICS.items()}
QUERIES = ("score", "quarantine", *ARCHIVES, "orders", "stock")


def starting_offsets(config: Config, topics: str) -> str:
    """Where a query without a checkpoint starts. ``latest`` is pinned to the end offsets
    now, before the query starts, so nothing produced after ``start`` returns is skipped."""
    wanted = config.raw["streaming"]["starting_offsets"]
    if wanted != "latest":
        return str(wanted)
    ends = end_offsets(config.kafka_bootstrap, topics.split(","))
    offsets: dict[str, dict[str, int]] = {}
    for partition, offset in ends.items():
        offsets.setdefault(partition.topic, {})[str(partition.partition)] = offset
    return json.dumps(offsets)


def read_kafka(spark: SparkSession, config: Config, topics: str) -> DataFrame:
    """A Kafka stream of ``topics`` (comma-separated), with the settings from config."""
    settings = config.raw["streaming"]
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.kafka_bootstrap)
        .option("subscribe", topics)
        .option("startingOffsets", starting_offsets(config, topics))
        .option("maxOffsetsPerTrigger", int(settings["max_offsets_per_trigger"]))
        .option("failOnDataLoss", "true")
        .load()
    )


def _checkpoint(config: Config, query: str) -> str:
    return f"{config.storage_uri(config.raw['streaming']['checkpoint_dir'])}/{query}"


def start_scoring(spark: SparkSession, config: Config, scorer: Scorer) -> StreamingQuery:
    """The scoring query: every valid transaction scored and written."""
    settings = config.raw["streaming"]
    valid_df = filter_valid(with_rejection_reason(read_kafka(spark, config, "transactions")))
    tx_df = (
        parse_events(valid_df, "transaction", keep_payload=True)
        .withWatermark("event_time", settings["watermark"])
        .transform(with_amount_usd)
    )
    long_df = explode_entities(tx_df, carry=["payload"]).withColumn(
        "payload", F.when(F.col("entity") == "customer", F.col("payload"))
    )
    return (
        stream_features(long_df, int(settings["state_buckets"]))
        .writeStream.queryName("score")
        .foreachBatch(scorer)
        .option("checkpointLocation", _checkpoint(config, "score"))
        .start()
    )


def start_quarantine(
    spark: SparkSession, config: Config, metrics: SpeedLayerMetrics
) -> StreamingQuery:
    """The quarantine query: rejected records to the dead-letter topic and Cassandra."""
    settings = config.raw["streaming"]
    tables = sinks.Tables.from_config(config)

    def write(rejected_df: DataFrame, batch_id: int) -> None:
        rejected_df = rejected_df.persist()
        try:
            if rejected_df.isEmpty():
                return
            rows_df = quarantine_rows(rejected_df).withColumn(
                "received_at", F.unix_millis("received_at")
            )
            write_dataframe_to_tables(rows_df, [(tables.quarantine, None)])
            sinks.write_kafka(
                dead_letter_records(rejected_df),
                config.kafka_bootstrap,
                settings["dead_letter_topic"],
            )
            for row in rejected_df.groupBy("topic").count().collect():
                metrics.quarantined.labels(row["topic"]).inc(row["count"])
        finally:
            rejected_df.unpersist()

    rejected_df = filter_rejected(
        with_rejection_reason(read_kafka(spark, config, ",".join(TOPIC_EVENTS)))
    )
    return (
        rejected_df.writeStream.queryName("quarantine")
        .foreachBatch(write)
        .trigger(processingTime=settings["quarantine_trigger"])
        .option("checkpointLocation", _checkpoint(config, "quarantine"))
        .start()
    )


def start_archive(spark: SparkSession, config: Config, event_type: str) -> StreamingQuery:
    """An archive query: valid raw events of one type into the master dataset."""
    settings = config.raw["streaming"]
    topic = EVENT_TOPICS[event_type]
    name = f"archive_{topic}"
    valid_df = filter_valid(with_rejection_reason(read_kafka(spark, config, topic)))
    return (
        with_event_date(parse_events(valid_df, event_type, wire=True))
        .writeStream.queryName(name)
        .format("parquet")
        .partitionBy("event_date")
        .option("path", f"{config.storage_uri(settings['archive_dir'])}/{topic}")
        .option("checkpointLocation", _checkpoint(config, name))
        .option("compression", "zstd")
        .trigger(processingTime=settings["archive_trigger"])
        .start()
    )


def run(config: Config, queries: tuple[str, ...] = QUERIES) -> int:
    """Start the queries and block until they stop; 0 after a clean stop, 1 on failure."""
    settings = config.raw["streaming"]
    extra = {**STREAMING_CONF, "spark.sql.shuffle.partitions": str(settings["shuffle_partitions"])}
    spark = build_session("fraudstack-speed-layer", config, extra=extra)
    spark.sparkContext.setLogLevel("WARN")
    listener = PrometheusQueryListener()
    spark.streams.addListener(listener)
    metrics = SpeedLayerMetrics(listener.registry)
    start_http_server(
        int(settings["metrics_port"]), addr=config.raw["host"], registry=listener.registry
    )
    policy = load_policy(config.root / settings["rules_file"])
    scorer = Scorer(config, policy, metrics, refresh_seconds=float(settings["refresh_seconds"]))
    starters: dict[str, Callable[[], StreamingQuery]] = {
        "score": lambda: start_scoring(spark, config, scorer),
        "quarantine": lambda: start_quarantine(spark, config, metrics),
        **{name: partial(start_archive, spark, config, kind) for name, kind in ARCHIVES.items()},
        "orders": lambda: orders.start(
            read_kafka(spark, config, "order_status"),
            config,
            _checkpoint(config, "orders"),
            metrics,
        ),
        "stock": lambda: stock.start(
            read_kafka(spark, config, "inventory"), config, _checkpoint(config, "stock"), metrics
        ),
    }
    running = [starters[name]() for name in queries]
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.set())
    stop_file = config.run_dir / "speed-layer.stop"
    log.warning("speed layer running: %s", ", ".join(q.name for q in running))
    failed: Exception | None = None
    while not stopping.is_set() and failed is None:
        try:
            spark.streams.awaitAnyTermination(timeout=1)
        except Exception as exc:  # a query died: stop the others, exit non-zero
            failed = exc
        if stop_file.exists() or any(not query.isActive for query in running):
            stopping.set()
    log.warning("stopping %d queries after their current micro-batch", len(running))
    for query in running:
        if query.isActive:
            query.stop()
    spark.stop()
    if failed is not None:
        log.error("a streaming query failed: %s", failed)
        return 1
    return 0


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(description="The speed layer's micro-batch job.")
    parser.add_argument(
        "queries",
        nargs="*",
        metavar="QUERY",
        help=f"queries to run (default: all of {', '.join(QUERIES)})",
    )
    parser.add_argument(
        "--starting-offsets",
        choices=("earliest", "latest"),
        help="where queries without a checkpoint begin (default: config)",
    )
    args = parser.parse_args()
    unknown = set(args.queries) - set(QUERIES)
    if unknown:
        parser.error(f"unknown queries {sorted(unknown)}; choose from {QUERIES}")
    config = load_config()
    if args.starting_offsets:
        config.raw["streaming"]["starting_offsets"] = args.starting_offsets
    sys.exit(run(config, tuple(args.queries) or QUERIES))


if __name__ == "__main__":
    main()
