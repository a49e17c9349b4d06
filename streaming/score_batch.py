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
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from fraudstack.config import Config
from fraudstack.events import TRANSACTION_SCHEMA
from fraudstack.features import WIDE_FEATURES, pivot_features, with_amount_usd
from fraudstack.scoring import Policy, with_model_score, with_risk, with_rule_hits
from fraudstack.views import CUSTOMER_PROFILES, MERCHANT_RISK, with_profiles
from storage import batch_views, model_registry
from streaming import sinks
from streaming.metrics import SpeedLayerMetrics

log = logging.getLogger("fraudstack.speed_layer")


def transactions_of(features_df: DataFrame) -> DataFrame:
    """One row per transaction of the micro-batch: its fields (from the payload carried on
    the customer row) and every entity's features, in one aggregation."""
    wide_df = pivot_features(features_df, carry=["payload"])
    parsed = F.from_json("payload", TRANSACTION_SCHEMA)
    fields = [parsed[name].alias(name) for name in TRANSACTION_SCHEMA.names]
    return with_amount_usd(wide_df.select(*fields, *WIDE_FEATURES))


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
        transactions_of(features_df)
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
            summary = sinks.write_scored(scored_df, tables, batch_id)
            marks.append(("cassandra", time.monotonic()))
            if any(decision != "ALLOW" for _, decision, _, _ in summary):
                sinks.write_kafka(
                    sinks.alert_records(scored_df),
                    self.config.kafka_bootstrap,
                    self.config.raw["streaming"]["alerts_topic"],
                )
            marks.append(("kafka", time.monotonic()))
            sinks.write_counts(sinks.minute_counts(summary, batch_id), tables)
            self._observe(summary)
            marks.append(("counts", time.monotonic()))
            log.info(
                "batch %d: %d transactions; %s",
                batch_id,
                len(summary),
                ", ".join(f"{b[0]} {b[1] - a[1]:.2f}s" for a, b in itertools.pairwise(marks)),
            )
        finally:
            scored_df.unpersist()
            features_df.unpersist()

    def _observe(self, summary: list[tuple[int, str, list[str], float]]) -> None:
        for event_ms, decision, reasons, written_at in summary:
            self.metrics.scored.labels(decision).inc()
            if decision != "ALLOW":
                self.metrics.alerts.labels(decision).inc()
            for reason in reasons:
                self.metrics.reasons.labels(reason).inc()
            self.metrics.latency.observe(max(0.0, written_at - event_ms / 1000.0))
