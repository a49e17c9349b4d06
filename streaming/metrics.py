"""Prometheus metrics for Structured Streaming queries, fed by a query listener.

Every streaming job of the speed layer registers :class:`PrometheusQueryListener`
on its session and serves the registry with ``prometheus_client``; Prometheus
scrapes it. Metric names start with ``fraudstack_stream_`` and carry a ``query``
label (the query name).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pyspark.sql.streaming import StreamingQueryListener

from fraudstack.scoring import DECISIONS

BATCH_SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class PrometheusQueryListener(StreamingQueryListener):
    """Turns every query progress report into Prometheus metrics.

    Args:
        registry: where the metrics live (a fresh one per listener by default).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        label = ["query"]
        self.active = Gauge(
            "fraudstack_stream_query_active",
            "1 while the query runs",
            label,
            registry=self.registry,
        )
        self.input_rows = Counter(
            "fraudstack_stream_input_rows", "Rows read by the query", label, registry=self.registry
        )
        self.input_rate = Gauge(
            "fraudstack_stream_input_rows_per_second",
            "Input rate of the last micro-batch",
            label,
            registry=self.registry,
        )
        self.processing_rate = Gauge(
            "fraudstack_stream_processed_rows_per_second",
            "Processing rate of the last micro-batch",
            label,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "fraudstack_stream_batch_duration_seconds",
            "Wall time of each micro-batch",
            label,
            buckets=BATCH_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.state_rows = Gauge(
            "fraudstack_stream_state_rows", "Rows held in state", label, registry=self.registry
        )
        self.watermark_delay = Gauge(
            "fraudstack_stream_watermark_delay_seconds",
            "How far the event-time watermark trails the batch's wall time",
            label,
            registry=self.registry,
        )
        self.phase_seconds = Gauge(
            "fraudstack_stream_phase_seconds",
            "Time the last micro-batch spent in each phase (addBatch = the sink's work)",
            ["query", "phase"],
            registry=self.registry,
        )
        self.offsets_behind = Gauge(
            "fraudstack_stream_source_offsets_behind_latest",
            "Kafka offsets the query is behind the newest, on its worst partition (the lag: "
            "Spark does not commit consumer-group offsets, so the broker cannot report it)",
            label,
            registry=self.registry,
        )
        self.failures = Counter(
            "fraudstack_stream_query_failures",
            "Queries that ended with an exception",
            label,
            registry=self.registry,
        )
        self._names: dict[str, str] = {}

    def _name(self, query_id: Any, name: str | None) -> str:
        key = str(query_id)
        if name:
            self._names[key] = name
        return self._names.get(key, key)

    def onQueryStarted(self, event: Any) -> None:
        self.active.labels(self._name(event.id, event.name)).set(1)

    def onQueryProgress(self, event: Any) -> None:
        progress = event.progress
        query = self._name(progress.id, progress.name)
        self.input_rows.labels(query).inc(progress.numInputRows)
        self.input_rate.labels(query).set(progress.inputRowsPerSecond or 0.0)
        self.processing_rate.labels(query).set(progress.processedRowsPerSecond or 0.0)
        self.batch_seconds.labels(query).observe(progress.batchDuration / 1000.0)
        self.state_rows.labels(query).set(sum(op.numRowsTotal for op in progress.stateOperators))
        for phase, millis in (progress.durationMs or {}).items():
            self.phase_seconds.labels(query, phase).set(millis / 1000.0)
        behind = [
            float(source.metrics["maxOffsetsBehindLatest"])
            for source in progress.sources
            if (source.metrics or {}).get("maxOffsetsBehindLatest") is not None
        ]
        if behind:
            self.offsets_behind.labels(query).set(max(behind))
        watermark = _parse_time(progress.eventTime.get("watermark"))
        batch_time = _parse_time(progress.timestamp)
        if watermark and batch_time and watermark.year > 1970:
            self.watermark_delay.labels(query).set((batch_time - watermark).total_seconds())

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        query = self._name(event.id, None)
        self.active.labels(query).set(0)
        if event.exception:
            self.failures.labels(query).inc()


LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300)


class SpeedLayerMetrics:
    """What the scoring and quarantine paths count, beside the per-query progress.

    Args:
        registry: where the metrics live (the listener's, so one endpoint serves all).
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "fraudstack_stream_end_to_end_latency_seconds",
            "From a transaction's event time until its score is written to Cassandra",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.scored = Counter(
            "fraudstack_stream_scored_transactions",
            "Transactions scored and written, by decision",
            ["decision"],
            registry=registry,
        )
        self.alerts = Counter(
            "fraudstack_stream_alerts",
            "REVIEW and BLOCK alerts sent to the alerts topic, by decision",
            ["decision"],
            registry=registry,
        )
        self.reasons = Counter(
            "fraudstack_stream_rule_hits",
            "Scored transactions by reason code",
            ["reason"],
            registry=registry,
        )
        self.quarantined = Counter(
            "fraudstack_stream_dead_letters",
            "Records rejected by validation (dead-letter topic and quarantine table)",
            ["topic"],
            registry=registry,
        )
        self.model_version = Gauge(
            "fraudstack_stream_model_info",
            "1 for the model version in use ('none' before a model is promoted)",
            ["version"],
            registry=registry,
        )
        self.view_version = Gauge(
            "fraudstack_stream_view_info",
            "1 for the batch-view version in use, per view",
            ["view", "version"],
            registry=registry,
        )
        self.order_changes = Counter(
            "fraudstack_stream_order_status_changes",
            "Order status changes tracked, by status and whether the transition is valid",
            ["status", "valid"],
            registry=registry,
        )
        self.stock_alerts = Counter(
            "fraudstack_stream_stock_alerts",
            "Stock alerts raised, by kind (threshold, demand) and severity",
            ["kind", "severity"],
            registry=registry,
        )
        # Series exist from the start at 0, so rate() reads "none" rather than "no data"
        # (dashboards and alert rules on a quiet pipeline).
        for kind, severity in (("threshold", "warning"), ("threshold", "critical"),
                               ("demand", "warning")):  # fmt: skip
            self.stock_alerts.labels(kind, severity)
        for decision in DECISIONS:
            self.scored.labels(decision)
        for decision in DECISIONS[1:]:
            self.alerts.labels(decision)
        for topic in ("transactions", "chargebacks", "order_status", "inventory"):
            self.quarantined.labels(topic)

    def use_model(self, old: str | None, new: str | None) -> None:
        self.model_version.labels(old or "none").set(0)
        self.model_version.labels(new or "none").set(1)

    def use_view(self, view: str, old: str | None, new: str | None) -> None:
        self.view_version.labels(view, old or "none").set(0)
        self.view_version.labels(view, new or "none").set(1)
