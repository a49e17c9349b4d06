"""The body of the scoring query's ``foreachBatch``: widen, enrich, score, write.

Each micro-batch arrives as per-entity feature rows (``streaming/velocity.py``).
:func:`score` turns them into one scored row per transaction with pure shared
transforms; :class:`Scorer` adds what changes between batches (the promoted model,
the current batch views) and does the writes. A replayed batch id recomputes the
same rows from the same state, so its upserts change nothing.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fraudstack.config import Config
from fraudstack.events import TRANSACTION_SCHEMA
from fraudstack.features import widen, with_amount_usd
from fraudstack.scoring import Policy, with_model_score, with_risk, with_rule_hits
from fraudstack.views import CUSTOMER_PROFILES, MERCHANT_RISK, with_profiles
from storage import batch_views, model_registry
from streaming import sinks
from streaming.metrics import SpeedLayerMetrics

log = logging.getLogger("fraudstack.speed_layer")


def transactions_of(features_df: DataFrame) -> DataFrame:
    """The transactions of a micro-batch, parsed from the payload on their customer rows."""
    return with_amount_usd(
        features_df.where(F.col("entity") == "customer")
        .select(F.from_json("payload", TRANSACTION_SCHEMA).alias("tx"))
        .select("tx.*")
    )


def score(
    features_df: DataFrame,
    policy: Policy,
    customers_df: DataFrame,
    merchants_df: DataFrame,
    model: Any | None = None,
    model_version: str | None = None,
) -> DataFrame:
    """One scored row per transaction of the batch: features, enrichment, rules, model, decision."""
    return (
        widen(transactions_of(features_df), features_df)
        .transform(with_profiles, customers_df, merchants_df)
        .transform(with_rule_hits, policy)
        .transform(with_model_score, model, model_version)
        .transform(with_risk, policy)
    )


@dataclass
class Scorer:
    """Scores micro-batches and writes the results; swaps model and views as they change.

    Args:
        config: the loaded configuration.
        policy: rules and thresholds.
        metrics: where the scoring path's counters live.
        refresh_seconds: how often to look for a new model or view version.
    """

    config: Config
    policy: Policy
    metrics: SpeedLayerMetrics
    refresh_seconds: float = 10.0
    clock: Callable[[], float] = time.time
    _model: Any = None
    _model_version: str | None = None
    _views: dict[str, tuple[DataFrame, str | None]] = field(default_factory=dict)
    _checked_at: float = float("-inf")

    @property
    def tables(self) -> sinks.Tables:
        return sinks.Tables.from_config(self.config)

    def _path(self, key: str) -> str:
        return self.config.storage_uri(self.config.raw["streaming"][key])

    def refresh(self, spark: SparkSession) -> None:
        """Load a newly promoted model or a newly published batch view, if any."""
        if time.monotonic() - self._checked_at < self.refresh_seconds:
            return
        self._checked_at = time.monotonic()
        models_dir = self._path("models_dir")
        promoted = model_registry.promoted_version(spark, models_dir)
        if promoted != self._model_version:
            model = model_registry.load(models_dir, promoted) if promoted else None
            self.metrics.use_model(self._model_version, promoted)
            self._model, self._model_version = model, promoted
        for view in (CUSTOMER_PROFILES, MERCHANT_RISK):
            old = self._views.get(view)
            version = batch_views.current_version(spark, self._path("views_dir"), view)
            if old is None or old[1] != version:
                df, version = batch_views.read_view(spark, self._path("views_dir"), view)
                if old is not None:
                    old[0].unpersist()
                self._views[view] = (df.cache(), version)
                self.metrics.use_view(view, old[1] if old else None, version)

    def __call__(self, features_df: DataFrame, batch_id: int) -> None:
        """The ``foreachBatch`` function."""
        spark = features_df.sparkSession
        marks = [("start", time.monotonic())]
        self.refresh(spark)
        marks.append(("refresh", time.monotonic()))
        features_df = features_df.persist()
        if features_df.isEmpty():
            features_df.unpersist()
            return
        scored_df = score(
            features_df,
            self.policy,
            self._views[CUSTOMER_PROFILES][0],
            self._views[MERCHANT_RISK][0],
            self._model,
            self._model_version,
        ).withColumn("scored_at", F.current_timestamp())
        scored_df = scored_df.persist()
        try:
            marks.append(("features", time.monotonic()))
            tables = self.tables
            sinks.write_scored(scored_df, tables, batch_id)
            written_at = self.clock()
            marks.append(("cassandra", time.monotonic()))
            sinks.write_kafka(
                sinks.alert_records(scored_df),
                self.config.kafka_bootstrap,
                self.config.raw["streaming"]["alerts_topic"],
            )
            marks.append(("kafka", time.monotonic()))
            counts = sinks.minute_counts(scored_df, batch_id).collect()
            sinks.write_counts(
                [tuple(row[c] for c in sinks.COUNT_COLUMNS) for row in counts], tables
            )
            marks.append(("counts", time.monotonic()))
            self._observe(scored_df, counts, written_at)
            marks.append(("metrics", time.monotonic()))
            log.info(
                "batch %d: %s",
                batch_id,
                ", ".join(f"{b[0]} {b[1] - a[1]:.2f}s" for a, b in itertools.pairwise(marks)),
            )
        finally:
            scored_df.unpersist()
            features_df.unpersist()

    def _observe(self, scored_df: DataFrame, counts: list[Any], written_at: float) -> None:
        for row in counts:
            if row["dimension"] == "decision":
                self.metrics.scored.labels(row["value"]).inc(row["transactions"])
                if row["value"] != "ALLOW":
                    self.metrics.alerts.labels(row["value"]).inc(row["transactions"])
            else:
                self.metrics.reasons.labels(row["value"]).inc(row["transactions"])
        event_ms = [row[0] for row in scored_df.select(F.unix_millis("event_time")).collect()]
        for latency in (written_at - ms / 1000.0 for ms in event_ms):
            self.metrics.latency.observe(max(0.0, float(latency)))
