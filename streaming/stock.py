"""Stock monitoring in the speed layer: threshold alerts and demand-aware alerts, deduplicated.

Spark state keeps, per product, its stock level, the sales of the last
``stock.sales_window_seconds`` (the current sales rate) and which alerts it has raised.
Alerts (seed 000: warning / critical):

- ``threshold``: the level falls to the product's warning threshold → one ``warning``;
  to its critical threshold → one ``critical``. Nothing more until a restock lifts the
  level above the warning threshold again: a product hovering near a threshold raises
  no storm.
- ``demand``: the product runs out within ``stock.demand_horizon_hours`` → one
  ``warning`` ("runs out in N hours"), raised again only after a restock. Each coming
  hour is expected to sell the current sales rate or, when the batch layer's demand
  profile (Cassandra ``demand_profiles``: units an hour by hour of the week) expects
  more for that hour of the week, the profile's figure: a quiet product before its busy
  hours is warned about before the rush, not during it.

Thresholds come from ``stock.products.<product_id>`` or the defaults in ``stock``. An
alert's id is its product, kind, severity and the change that raised it: a replayed
micro-batch recomputes the same alerts from the same state, so the Cassandra upserts
change nothing and Kafka consumers can drop the copy.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.streaming.state import GroupStateTimeout

from fraudstack.config import Config
from storage.cassandra_writer import CassandraTarget, write_dataframe_to_tables
from streaming import sinks
from streaming.transforms import filter_valid, parse_events, with_rejection_reason

log = logging.getLogger(__name__)
MAX_SEEN_IDS = 1_000  # recent change ids per product, to drop a replayed change
SEVERITY_RANK = {"none": 0, "warning": 1, "critical": 2}
# the product's state as one JSON string: it is small, and array columns in the state
# schema fail in pyspark 4.3.0's worker
STATE_SCHEMA = T.StructType([T.StructField("state", T.StringType())])
OUTPUT_SCHEMA = T.StructType(
    [
        T.StructField("kind", T.StringType()),  # level | threshold | demand
        T.StructField("product_id", T.StringType()),
        T.StructField("event_id", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("stock_level", T.IntegerType()),
        T.StructField("warning_threshold", T.IntegerType()),
        T.StructField("critical_threshold", T.IntegerType()),
        T.StructField("sales_per_hour", T.DoubleType()),
        T.StructField("hours_to_stockout", T.DoubleType()),
        T.StructField("severity", T.StringType()),  # of an alert; the raised state on a level
        T.StructField("alert_id", T.StringType()),
        T.StructField("message", T.StringType()),
    ]
)
LEVEL_COLUMNS = (
    "product_id", "event_time", "stock_level", "warning_threshold", "critical_threshold",
    "sales_per_hour", "hours_to_stockout", "severity",
)  # fmt: skip
ALERT_COLUMNS = (
    "alert_id", "product_id", "event_time", "kind", "severity", "stock_level",
    "warning_threshold", "critical_threshold", "sales_per_hour", "hours_to_stockout", "message",
)  # fmt: skip
ALERT_DAY_COLUMNS = ("day", *ALERT_COLUMNS)


@dataclass(frozen=True)
class Limits:
    """When a product's stock is worth an alert."""

    warning: int
    critical: int
    horizon_hours: float = 24.0
    window_seconds: float = 3600.0


def limits_from(config: Config) -> tuple[Limits, dict[str, Limits]]:
    """The default limits and the per-product ones from the ``stock`` section."""
    settings = config.raw.get("stock", {})
    default = Limits(
        warning=int(settings.get("warning_threshold", 20)),
        critical=int(settings.get("critical_threshold", 5)),
        horizon_hours=float(settings.get("demand_horizon_hours", 24)),
        window_seconds=float(settings.get("sales_window_seconds", 3600)),
    )
    products = {
        product: Limits(
            warning=int(own.get("warning", default.warning)),
            critical=int(own.get("critical", default.critical)),
            horizon_hours=default.horizon_hours,
            window_seconds=default.window_seconds,
        )
        for product, own in (settings.get("products") or {}).items()
    }
    return default, products


@dataclass
class ProductStock:
    """What the speed layer remembers of one product."""

    level: int | None = None
    at_us: int | None = None
    raised: str = "none"  # the highest threshold alert since the level was last above warning
    demand_raised: bool = False
    sales: list[tuple[int, int]] = field(default_factory=list)  # (time_us, units) in the window
    seen: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ProductStock:
        raw = json.loads(text)
        raw["sales"] = [tuple(sale) for sale in raw["sales"]]
        return cls(**raw)

    def sales_per_hour(self, limits: Limits) -> float:
        return sum(units for _, units in self.sales) * 3600.0 / limits.window_seconds


HOURS_OF_WEEK = 168
LOOKAHEAD_HOURS = HOURS_OF_WEEK  # a projection with a demand profile looks a week ahead


def hours_to_stockout(
    level: int, rate: float, at_us: int, profile: Sequence[float] | None = None
) -> float | None:
    """Hours until ``level`` units are sold, from the time ``at_us`` (epoch microseconds).

    Without a profile: ``level / rate``. With one (units an hour by hour of the week, 0 =
    Monday 00:00 UTC), each coming hour sells ``max(rate, profile[that hour])``, up to a
    week ahead. None when nothing is expected to sell.
    """
    plain = level / rate if rate > 0 else None
    if not profile or not any(profile):
        return plain
    now = pd.Timestamp(at_us, unit="us")
    hour = now.dayofweek * 24 + now.hour
    left, elapsed = float(level), 0.0
    for step in range(LOOKAHEAD_HOURS + 1):
        span = 1.0 - (now.minute * 60 + now.second) / 3600.0 if step == 0 else 1.0
        demand = max(rate, float(profile[(hour + step) % HOURS_OF_WEEK]))
        if demand > 0 and demand * span >= left:
            return elapsed + left / demand
        left -= demand * span
        elapsed += span
    return plain  # more than a week's expected demand in stock: the current rate decides


class DemandProfiles:
    """The batch layer's demand profiles from Cassandra, looked up by product from the
    Spark worker and kept ``refresh_seconds``; picklable (the session is per worker)."""

    def __init__(self, host: str, port: int, keyspace: str, refresh_seconds: float = 600.0):
        self.host, self.port, self.keyspace = host, port, keyspace
        self.refresh_seconds = refresh_seconds

    def __call__(self, product_id: str) -> list[float] | None:
        cached = _PROFILES.get(product_id)
        if cached is not None and time.monotonic() - cached[0] < self.refresh_seconds:
            return cached[1]
        try:
            from storage.cassandra_writer import worker_session

            row = (
                worker_session(self.host, self.port)
                .execute(
                    f"SELECT units_per_hour FROM {self.keyspace}.demand_profiles "
                    "WHERE product_id = %s",
                    [product_id],
                )
                .one()
            )
        except Exception as exc:
            log.warning("demand profile of %s not read (%s): the sales rate alone", product_id, exc)
            return cached[1] if cached else None
        profile = [float(v) for v in row.units_per_hour] if row and row.units_per_hour else None
        _PROFILES[product_id] = (time.monotonic(), profile)
        return profile


_PROFILES: dict[str, tuple[float, list[float] | None]] = {}  # per Spark Python worker


def _alert(
    product_id: str,
    change: Any,
    stock: ProductStock,
    limits: Limits,
    kind: str,
    severity: str,
    rate: float,
    hours: float | None,
    message: str,
) -> dict[str, Any]:
    return {
        "kind": kind, "product_id": product_id, "event_id": change.event_id,
        "event_time": change.event_time, "stock_level": stock.level,
        "warning_threshold": limits.warning, "critical_threshold": limits.critical,
        "sales_per_hour": rate, "hours_to_stockout": hours, "severity": severity,
        "alert_id": f"{product_id}:{kind}:{severity}:{change.event_id}", "message": message,
    }  # fmt: skip


def monitor(
    product_id: str,
    changes: pd.DataFrame,
    stock: ProductStock,
    limits: Limits,
    profile: Sequence[float] | None = None,
) -> tuple[list[dict[str, Any]], ProductStock]:
    """Apply one product's stock changes of a micro-batch and decide its alerts.

    Args:
        product_id: the product.
        changes: its ``inventory`` events (``event_id``, ``event_time`` as pandas
            timestamps, ``change_type``, ``quantity_change``, ``stock_level``); any order.
        stock: the product as the previous batches left it (updated in place).
        limits: its thresholds, demand horizon and sales-rate window.
        profile: its demand profile (units an hour, 168 hours of the week), if any.

    Returns:
        :data:`OUTPUT_SCHEMA` rows (the alerts raised, then the product's ``level`` row;
        nothing if every change was seen before) and the product's state.
    """
    seen = set(stock.seen)
    fresh = changes[~changes["event_id"].isin(seen)].drop_duplicates("event_id")
    fresh = fresh.sort_values(["event_time", "event_id"], kind="stable")
    rows: list[dict[str, Any]] = []
    for change in fresh.itertuples(index=False):
        at_us = int(pd.Timestamp(change.event_time).value // 1_000)
        stock.seen.append(change.event_id)
        if change.change_type == "sale":
            stock.sales.append((at_us, -int(change.quantity_change)))
        if change.change_type == "restock":
            stock.demand_raised = False
        newest = max(at_us, stock.at_us or at_us)
        start = newest - int(limits.window_seconds * 1_000_000)
        stock.sales = [sale for sale in stock.sales if sale[0] > start]
        if stock.at_us is not None and at_us < stock.at_us:
            continue  # a late change: counted in the sales rate, but the level is newer
        stock.level, stock.at_us = int(change.stock_level), at_us
        rate = stock.sales_per_hour(limits)
        hours = hours_to_stockout(stock.level, rate, at_us, profile)
        if stock.level > limits.warning:
            stock.raised = "none"  # restocked above the threshold: alerts are armed again
        severity = (
            "critical" if stock.level <= limits.critical
            else "warning" if stock.level <= limits.warning
            else "none"
        )  # fmt: skip
        if SEVERITY_RANK[severity] > SEVERITY_RANK[stock.raised]:
            stock.raised = severity
            threshold = limits.critical if severity == "critical" else limits.warning
            rows.append(_alert(product_id, change, stock, limits, "threshold", severity, rate,
                               hours, f"{product_id}: stock {stock.level} at or below its "
                               f"{severity} threshold {threshold}"))  # fmt: skip
        runs_out = hours is not None and 0 < hours <= limits.horizon_hours  # (0: already out)
        if runs_out and not stock.demand_raised:
            stock.demand_raised = True
            basis = ("the current sales rate and its usual demand" if profile and any(profile)
                     else "the current sales rate")  # fmt: skip
            rows.append(_alert(product_id, change, stock, limits, "demand", "warning", rate, hours,
                               f"{product_id}: at {basis} ({rate:.1f} an hour now) it runs "
                               f"out in {hours:.1f} hours"))  # fmt: skip
    stock.seen = stock.seen[-MAX_SEEN_IDS:]
    if not fresh.empty and stock.level is not None and stock.at_us is not None:
        rate = stock.sales_per_hour(limits)
        rows.append(
            {
                "kind": "level", "product_id": product_id, "event_id": None,
                "event_time": pd.Timestamp(stock.at_us, unit="us"), "stock_level": stock.level,
                "warning_threshold": limits.warning, "critical_threshold": limits.critical,
                "sales_per_hour": rate,
                "hours_to_stockout": hours_to_stockout(stock.level, rate, stock.at_us, profile),
                "severity": stock.raised, "alert_id": None, "message": None,
            }
        )  # fmt: skip
    return rows, stock


def stock_alerts(
    inventory_df: DataFrame,
    default: Limits,
    products: dict[str, Limits],
    demand: Callable[[str], Sequence[float] | None] | None = None,
) -> DataFrame:
    """Alerts and the latest level of each product with new stock changes.

    Args:
        inventory_df: parsed ``inventory`` events (the contract's columns).
        default: limits of a product without its own.
        products: per-product limits.
        demand: a product's demand profile, or None (e.g. :class:`DemandProfiles`).

    Returns:
        :data:`OUTPUT_SCHEMA` rows.
    """

    def update(
        key: tuple[Any, ...], batches: Iterator[pd.DataFrame], state: Any
    ) -> Iterator[pd.DataFrame]:
        product_id = str(key[0])
        before = ProductStock.from_json(state.get[0]) if state.exists else ProductStock()
        changes = pd.concat(list(batches), ignore_index=True)
        limits = products.get(product_id, default)
        profile = demand(product_id) if demand is not None else None
        rows, after = monitor(product_id, changes, before, limits, profile)
        state.update((after.to_json(),))
        if rows:
            yield pd.DataFrame(rows, columns=OUTPUT_SCHEMA.names)

    return (
        inventory_df.select(
            "product_id", "event_id", "event_time", "change_type", "quantity_change", "stock_level"
        )
        .groupBy("product_id")
        .applyInPandasWithState(
            update,
            outputStructType=OUTPUT_SCHEMA,
            stateStructType=STATE_SCHEMA,
            outputMode="append",
            timeoutConf=GroupStateTimeout.NoTimeout,
        )
    )


def with_stock_columns(alerts_df: DataFrame) -> DataFrame:
    """What the tables need: ``day``, times as epoch milliseconds, ``is_alert``."""
    return (
        alerts_df.withColumn("day", F.to_date("event_time"))
        .withColumn("is_alert", F.col("kind") != "level")
        .withColumn("is_level", F.col("kind") == "level")
        .withColumn("event_time", F.unix_millis("event_time"))
    )


def alert_records(alerts_df: DataFrame) -> DataFrame:
    """Kafka ``key`` (the product) and JSON ``value`` of every alert (not the level rows)."""
    iso = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    fields = [
        F.date_format("event_time", iso).alias(name) if name == "event_time" else F.col(name)
        for name in ALERT_COLUMNS
    ]
    return alerts_df.where(F.col("kind") != "level").select(
        F.col("product_id").alias("key"), F.to_json(F.struct(*fields)).alias("value")
    )


@dataclass(frozen=True)
class StockTables:
    """The stock-monitoring tables of the speed layer."""

    levels: CassandraTarget
    alerts_by_product: CassandraTarget
    alerts_by_day: CassandraTarget

    @classmethod
    def from_config(cls, config: Config) -> StockTables:
        def target(table: str, columns: tuple[str, ...]) -> CassandraTarget:
            return sinks.speed_layer_target(config, table, columns)

        return cls(
            levels=target("stock_levels", LEVEL_COLUMNS),
            alerts_by_product=target("stock_alerts_by_product", ALERT_COLUMNS),
            alerts_by_day=target("stock_alerts_by_day", ALERT_DAY_COLUMNS),
        )


class StockWriter:
    """The ``foreachBatch`` body: levels and alerts to Cassandra, alerts to Kafka."""

    def __init__(self, tables: StockTables, bootstrap: str, topic: str,
                 metrics: Any | None = None) -> None:  # fmt: skip
        self.tables, self.bootstrap, self.topic, self.metrics = tables, bootstrap, topic, metrics

    def __call__(self, alerts_df: DataFrame, batch_id: int) -> None:
        alerts_df = alerts_df.persist()
        try:
            write_dataframe_to_tables(
                with_stock_columns(alerts_df),
                [
                    (self.tables.levels, "is_level"),
                    (self.tables.alerts_by_product, "is_alert"),
                    (self.tables.alerts_by_day, "is_alert"),
                ],
            )
            records_df = alert_records(alerts_df)
            if not records_df.isEmpty():
                sinks.write_kafka(records_df, self.bootstrap, self.topic)
            if self.metrics is not None:
                raised = alerts_df.where(F.col("kind") != "level").groupBy("kind", "severity")
                for row in raised.count().collect():
                    self.metrics.stock_alerts.labels(row["kind"], row["severity"]).inc(row["count"])
        finally:
            alerts_df.unpersist()


def start(
    kafka_df: DataFrame, config: Config, checkpoint: str, metrics: Any | None = None
) -> StreamingQuery:
    """The ``stock`` query: valid ``inventory`` events → levels and alerts."""
    default, products = limits_from(config)
    topic = config.raw.get("stock", {}).get("alerts_topic", "stock_alerts")
    valid_df = filter_valid(with_rejection_reason(kafka_df))
    writer = StockWriter(StockTables.from_config(config), config.kafka_bootstrap, topic, metrics)
    host, port = config.address("cassandra").split(":")
    refresh = float(config.raw.get("stock", {}).get("demand_refresh_seconds", 600))
    demand = DemandProfiles(host, int(port), config.keyspace, refresh)
    return (
        stock_alerts(parse_events(valid_df, "inventory"), default, products, demand)
        .writeStream.queryName("stock")
        .foreachBatch(writer)
        .trigger(processingTime=config.raw["streaming"].get("stock_trigger", "5 seconds"))
        .option("checkpointLocation", checkpoint)
        .start()
    )
