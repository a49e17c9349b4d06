"""The low-latency alert path: Spark real-time mode, Kafka to Kafka, in milliseconds.

A separate Spark application (``fraudstack stream start --realtime``) that sends a
first warning to ``fraud_alerts_fast`` while the micro-batch path is still scoring.
Real-time mode runs long batches whose rows flow through as they arrive, but only
with operators on its allow-list (Spark 4.3), which decides what this path can do:

- validation is :func:`fraudstack.events.is_valid_column`, column expressions:
  Python and pandas UDFs are not allowed (``ArrowEvalPythonExec``), so the shared
  ``validate()`` cannot run here;
- the rules are those of ``config/rules.yaml`` that need no history: single-event
  rules and the batch-view rules (views joined by broadcast, re-read every batch).
  Velocity features need per-entity state through a Python function
  (``applyInPandasWithState``), which real-time mode does not run; the model needs
  those features. Both stay on the micro-batch path, whose alerts on ``fraud_alerts``
  remain the decision of record;
- every Kafka partition needs its own task slot for the whole batch, so the app
  runs with ``local[<partitions + 1>]`` threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from prometheus_client import start_http_server
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from fraudstack.config import Config, load_config
from fraudstack.events import TRANSACTION_SCHEMA, is_valid_column
from fraudstack.features import WIDE_FEATURES, with_amount_usd
from fraudstack.scoring import Policy, load_policy, with_rule_hits
from fraudstack.spark import build_session
from fraudstack.views import CUSTOMER_PROFILES, MERCHANT_RISK, with_profiles
from storage import batch_views
from streaming.metrics import PrometheusQueryListener

log = logging.getLogger("fraudstack.realtime")
QUERY = "realtime_alerts"


def stateless(policy: Policy) -> Policy:
    """The rules that read no velocity feature."""
    history = set(WIDE_FEATURES)
    kept = tuple(
        rule
        for rule in policy.rules
        if not any(column in history for column, _, _ in rule.conditions)
    )
    return Policy(kept, policy.review_at, policy.block_at, 0.0, policy.model_reason_at)


def first_warnings(
    tx_df: DataFrame, policy: Policy, customers_df: DataFrame, merchants_df: DataFrame
) -> DataFrame:
    """Valid transactions whose single-event and batch-view rules reach REVIEW, as alerts."""
    scored = (
        tx_df.where(is_valid_column("transaction"))
        .transform(with_amount_usd)
        .transform(with_profiles, customers_df, merchants_df)
        .transform(with_rule_hits, policy)
        .where(F.col("rule_score") >= policy.review_at)
    )
    decision = F.when(F.col("rule_score") >= policy.block_at, "BLOCK").otherwise("REVIEW")
    iso = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    value = F.to_json(
        F.struct(
            F.col("transaction_id").alias("alert_id"),
            "transaction_id",
            F.date_format("event_time", iso).alias("event_time"),
            "customer_id",
            "merchant_id",
            "amount",
            "currency",
            "amount_usd",
            F.col("rule_score").alias("risk_score"),
            decision.alias("decision"),
            F.col("rule_reasons").alias("reasons"),
            F.lit("realtime").alias("path"),
        )
    )
    return scored.select(F.col("customer_id").alias("key"), value.alias("value"))


def run(config: Config) -> int:
    settings = config.raw["streaming"]
    realtime = settings["realtime"]
    spark = build_session(
        "fraudstack-realtime",
        config,
        extra={"spark.master": str(realtime["master"]), "spark.sql.shuffle.partitions": "1"},
    )
    spark.sparkContext.setLogLevel("WARN")
    listener = PrometheusQueryListener()
    spark.streams.addListener(listener)
    start_http_server(
        int(realtime["metrics_port"]), addr=config.raw["host"], registry=listener.registry
    )
    policy = stateless(load_policy(config.root / settings["rules_file"]))
    log.warning("real-time rules: %s", ", ".join(rule.code for rule in policy.rules))
    views_dir = config.storage_uri(settings["views_dir"])
    customers_df, _ = batch_views.read_view(spark, views_dir, CUSTOMER_PROFILES)
    merchants_df, _ = batch_views.read_view(spark, views_dir, MERCHANT_RISK)
    source = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.kafka_bootstrap)
        .option("subscribe", "transactions")
        .option("startingOffsets", "latest")
        .load()
    )
    tx_df = source.select(
        F.from_json(F.col("value").cast("string"), TRANSACTION_SCHEMA).alias("tx")
    ).select("tx.*")
    query = (
        first_warnings(tx_df, policy, customers_df, merchants_df)
        .writeStream.queryName(QUERY)
        .format("kafka")
        .option("kafka.bootstrap.servers", config.kafka_bootstrap)
        .option("topic", realtime["alerts_topic"])
        .option("checkpointLocation", f"{config.storage_uri(settings['checkpoint_dir'])}-realtime")
        .outputMode("update")
        .trigger(realTime=realtime["batch"])  # type: ignore[call-overload]  # 4.3 API, old stubs
        .start()
    )
    stop_file = config.run_dir / "speed-layer-realtime.stop"
    stopping = threading.Event()
    while not stopping.is_set():
        if stop_file.exists() or not query.isActive:
            stopping.set()
        time.sleep(0.5)
    failed = query.exception()
    if query.isActive:
        query.stop()
    spark.stop()
    return 1 if failed else 0


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sys.exit(run(load_config()))


if __name__ == "__main__":
    main()
