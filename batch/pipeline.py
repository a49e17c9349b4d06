"""The batch run: master dataset -> Hive tables, entity profiles, the fraud model.

One function (:func:`run`) called by ``fraudstack batch run`` and by the Airflow DAG
(``batch/dags/``). Steps, in order; each can run alone, reading what an earlier step
wrote to Hive:

- ``clean``: the master dataset in the date range -> ``transactions_raw``,
  ``transactions_clean``, ``transactions_quarantine``, ``chargebacks_clean``, and a
  ``data_quality_runs`` row whose counts reconcile (read = clean + quarantined +
  duplicates removed);
- ``aggregates``: ``category_hourly``, ``sales_daily``, ``fraud_rates`` for the range;
- ``orders``: the range's ``order_status`` and ``inventory`` events -> ``order_status_clean``,
  ``inventory_clean``, ``orders_quarantine``, ``order_funnel_daily``,
  ``fulfilment_times`` (orders created in the range) and ``demand_profiles`` (Hive and
  Cassandra, for the speed layer's stock alerts);
- ``profiles``: entity profiles as of the day after the range -> ``entity_profiles``
  (Hive), Cassandra, and the speed layer's batch views;
- ``train``: the range's clean days (all without a start) -> a model, its evaluation
  (``model_evaluations``), registered, and promoted only if it beats the current one.

Re-running a range replaces its partitions; nothing is appended twice except the
per-run rows (``data_quality_runs``, ``model_evaluations``), which carry the run id.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from batch import aggregates, clean, hive_tables, master, metrics, model_job, orders, profiles_job
from batch.evaluation import metric_rows
from batch.labels import ANALYST_LABEL_SCHEMA, LABEL_COLUMNS, analyst_fraud_labels, with_labels
from fraudstack.scoring import load_policy

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from fraudstack.config import Config


@dataclass
class Run:
    """One batch run: where, which days, and what each step reported."""

    spark: SparkSession
    config: Config
    start: dt.date | None
    end: dt.date | None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    report: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str, all_days: bool = False) -> DataFrame:
        """A Hive table of this layer, limited to the run's days unless ``all_days``."""
        df = self.spark.table(hive_tables.qualified(self.config, name))
        if not all_days and self.start:
            df = df.where(F.col("event_date") >= str(self.start))
        if self.end:
            df = df.where(F.col("event_date") <= str(self.end))
        return df

    def write(self, df: DataFrame, table: str, partition: str = "event_date") -> None:
        hive_tables.write_partitions(self.spark, self.config, df, table, partition)


def _count(df: DataFrame) -> int:
    return int(df.count())


def step_clean(run: Run) -> dict[str, Any]:
    """Validate, deduplicate, repair and flag the range's events; write the Hive tables."""
    sigmas = float(run.config.raw["batch"]["outlier_sigmas"])
    raw_tx = master.read_events(run.spark, run.config, "transaction", run.start, run.end)
    raw_tx = clean.with_reason(raw_tx, "transaction").cache()
    read = {row["source"]: row["count"] for row in raw_tx.groupBy("source").count().collect()}
    if not read:
        raise ValueError(
            "no transactions in the master dataset for this range: load history with "
            "`fraudstack generate --days 30 --to master` or run the speed layer's archiver"
        )
    valid_tx, rejected_tx = raw_tx.where("rejection IS NULL"), raw_tx.where("rejection IS NOT NULL")
    clean_tx = clean.clean_transactions(valid_tx, sigmas).cache()
    raw_cb = master.read_events(run.spark, run.config, "chargeback", run.start, run.end)
    raw_cb = clean.with_reason(raw_cb, "chargeback").cache()
    clean_cb = clean.clean_chargebacks(raw_cb.where("rejection IS NULL")).cache()
    quarantined = clean.quarantine_rows(rejected_tx, "transaction").unionByName(
        clean.quarantine_rows(raw_cb.where("rejection IS NOT NULL"), "chargeback")
    )
    run.write(raw_tx.drop("rejection"), "transactions_raw")
    run.write(clean_tx, "transactions_clean")
    run.write(quarantined, "transactions_quarantine")
    if _count(clean_cb):
        run.write(clean_cb, "chargebacks_clean")
    counts = clean_tx.agg(
        F.count(F.lit(1)).alias("clean"),
        F.sum(F.array_contains("repaired", "category").cast("int")).alias("repaired_category"),
        F.sum(F.array_contains("repaired", "channel").cast("int")).alias("repaired_channel"),
        F.sum(F.col("country").isNull().cast("int")).alias("missing_location"),
        F.sum(F.col("device_id").isNull().cast("int")).alias("missing_device"),
        F.sum(F.col("is_outlier").cast("int")).alias("outliers"),
        F.countDistinct("event_date").alias("dates"),
    ).first()
    assert counts is not None
    rows_read, rejected = sum(read.values()), _count(rejected_tx)
    report = {
        "rows_read": rows_read,
        "rows_read_history": read.get("history", 0),
        "rows_read_stream": read.get("stream", 0),
        "quarantined": rejected,
        "duplicates_removed": rows_read - rejected - counts["clean"],
        **{k: int(counts[k] or 0) for k in counts.asDict()},
        "chargebacks_read": _count(raw_cb),
        "chargebacks_clean": _count(clean_cb),
    }
    report["chargebacks_quarantined"] = _count(raw_cb.where("rejection IS NOT NULL"))
    _record_quality(run, report)
    report["analyst_verdicts"] = _copy_verdicts(run, clean_tx)  # not a data-quality column
    for df in (raw_tx, clean_tx, raw_cb, clean_cb):
        df.unpersist()
    return report


def _record_quality(run: Run, report: dict[str, Any]) -> None:
    row = {
        "run_id": run.run_id,
        "run_at": run.started,
        "range_start": str(run.start or ""),
        "range_end": str(run.end or ""),
        **{key: int(value) for key, value in report.items()},
    }
    df = run.spark.createDataFrame([row])
    hive_tables.append(run.spark, run.config, df.select(*row), "data_quality_runs")


def _copy_verdicts(run: Run, clean_tx: DataFrame) -> int:
    """Copy the analysts' verdicts given on the run's days (up to today when the range is
    open) from Cassandra into the ``analyst_labels`` table; return how many."""
    from storage.alert_store import read_verdicts

    today = dt.datetime.now(dt.UTC).date()
    row = clean_tx.agg(F.min("event_date")).first()
    earliest = row[0] if row is not None else None
    first = run.start or (dt.date.fromisoformat(str(earliest)) if earliest else today)
    last = run.end or today
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    config = run.config
    rows = read_verdicts(config.host("cassandra"), config.port("cassandra"), config.keyspace, days)
    wanted = [{f.name: row.get(f.name) for f in ANALYST_LABEL_SCHEMA.fields} for row in rows]
    verdicts_df = run.spark.createDataFrame(wanted, ANALYST_LABEL_SCHEMA).withColumn(
        "event_date", F.to_date("labelled_at")
    )
    if wanted:
        run.write(verdicts_df, "analyst_labels")
    return len(wanted)


def _labels(run: Run) -> DataFrame:
    """Every label known now: fraud chargebacks and analysts' fraud verdicts."""
    labels_df = run.table("chargebacks_clean", True).select(*LABEL_COLUMNS)
    if run.spark.catalog.tableExists(hive_tables.qualified(run.config, "analyst_labels")):
        verdicts_df = run.table("analyst_labels", True)
        labels_df = labels_df.unionByName(analyst_fraud_labels(verdicts_df))
    return labels_df


def _labelled(run: Run, all_days: bool = False) -> DataFrame:
    return with_labels(run.table("transactions_clean", all_days), _labels(run))


def step_aggregates(run: Run) -> dict[str, Any]:
    """Sales and fraud-rate tables for the range, with the labels known now."""
    labelled_df = _labelled(run).cache()
    tables = {
        "category_hourly": aggregates.category_hourly(labelled_df),
        "sales_daily": aggregates.sales_daily(labelled_df),
        "fraud_rates": aggregates.fraud_rates(labelled_df),
    }
    for table, df in tables.items():
        run.write(df, table)
    labelled_df.unpersist()
    return {"tables": sorted(tables)}


def step_orders(run: Run) -> dict[str, Any]:
    """Order funnel, fulfilment times and demand profiles from the range's order and stock
    events; counts reconcile per event type (read = clean + quarantined + duplicates)."""
    report: dict[str, Any] = {}
    cleaned: dict[str, DataFrame] = {}
    quarantined: list[DataFrame] = []
    for event_type, table in (("order_status", "order_status_clean"),
                              ("inventory", "inventory_clean")):  # fmt: skip
        raw_df = master.read_events(run.spark, run.config, event_type, run.start, run.end)
        raw_df = clean.with_reason(raw_df, event_type).cache()
        clean_df = orders.clean_events(raw_df.where("rejection IS NULL"), event_type).cache()
        rejected_df = raw_df.where("rejection IS NOT NULL")
        read, kept, refused = _count(raw_df), _count(clean_df), _count(rejected_df)
        report[event_type] = {"rows_read": read, "clean": kept, "quarantined": refused,
                              "duplicates_removed": read - kept - refused}  # fmt: skip
        if kept:
            run.write(clean_df, table)
        quarantined.append(clean.quarantine_rows(rejected_df, event_type))
        cleaned[event_type] = clean_df
    if not report["order_status"]["rows_read"] and not report["inventory"]["rows_read"]:
        # a deployment that tracks no orders: nothing to do, and no reason to fail the run
        report["skipped"] = (
            "no order or stock events in the master dataset for this range (the "
            "simulator writes them with `fraudstack generate --orders --to master`; the "
            "speed layer archives the order_status and inventory topics)"
        )
        return report
    quarantine_df = quarantined[0].unionByName(quarantined[1])
    if not quarantine_df.isEmpty():
        run.write(quarantine_df, "orders_quarantine")
    summary_df = orders.orders_summary(cleaned["order_status"]).where("at_created IS NOT NULL")
    summary_df = summary_df.cache()
    run.write(orders.funnel_daily(summary_df), "order_funnel_daily")
    run.write(orders.fulfilment_times(summary_df), "fulfilment_times")
    report["orders_created"] = _count(summary_df)
    report["demand"] = _publish_demand(run, cleaned["inventory"])
    for df in (summary_df, *cleaned.values()):
        df.unpersist()
    return report


def _publish_demand(run: Run, inventory_df: DataFrame) -> dict[str, Any]:
    """Demand by hour of week over the range's days: Hive (as of the day after) and Cassandra."""
    bounds = inventory_df.agg(F.min("event_date"), F.max("event_date")).first()
    if bounds is None or bounds[0] is None:
        return {"products": 0}
    first = run.start or dt.date.fromisoformat(str(bounds[0]))
    last = run.end or dt.date.fromisoformat(str(bounds[1]))
    profile_date = str(last + dt.timedelta(days=1))
    profiles_df = (
        orders.demand_profiles(inventory_df, first, last)
        .withColumn("profile_date", F.lit(profile_date))
        .cache()
    )
    run.write(profiles_df, "demand_profiles", "profile_date")
    published = orders.publish_demand(run.config, profiles_df, profile_date)
    profiles_df.unpersist()
    return {"profile_date": profile_date, "weeks": round(((last - first).days + 1) / 7, 2),
            **published}  # fmt: skip


def step_profiles(run: Run) -> dict[str, Any]:
    """Latest entity profiles (as of the day after the range) to Hive, Cassandra, views."""
    tx_df = run.table("transactions_clean", all_days=True)
    if run.end:  # the 30-day window before the end is enough
        tx_df = tx_df.where(F.col("event_date") > str(run.end - dt.timedelta(days=31)))
    latest = profiles_job.latest_profiles(tx_df, run.table("chargebacks_clean", True))
    return profiles_job.publish(run.spark, run.config, latest, run.write)


def step_train(run: Run) -> dict[str, Any]:
    """Train on the range's clean days (all days without ``--from``); register; promote
    if better."""
    config = run.config
    settings = model_job.ModelSettings.from_config(config.raw["batch"]["model"])
    policy = load_policy(config.root / config.raw["streaming"]["rules_file"])
    models_dir = config.storage_uri(config.raw["streaming"]["models_dir"])
    labelled_df = _labelled(run)
    report = model_job.run(
        run.spark, models_dir, labelled_df, run.table("chargebacks_clean", True), policy, settings
    )
    version, promoted = report["version"], report["promotion"]["promote"]
    rows = [
        (run.run_id, run.started, version, promoted, *row[1:])
        for row in metric_rows(version, report["test"])
    ]
    evaluations = run.spark.createDataFrame(
        rows,
        "run_id string, run_at timestamp, version string, promoted boolean, "
        "scorer string, metric string, value double",
    )
    hive_tables.append(run.spark, config, evaluations, "model_evaluations")
    return report


STEPS: dict[str, Callable[[Run], dict[str, Any]]] = {
    "clean": step_clean,
    "aggregates": step_aggregates,
    "orders": step_orders,
    "profiles": step_profiles,
    "train": step_train,
}


def run(
    spark: SparkSession,
    config: Config,
    start: dt.date | None = None,
    end: dt.date | None = None,
    steps: tuple[str, ...] = tuple(STEPS),
    progress: Callable[[str, str], None] = lambda step, event: None,
) -> dict[str, Any]:
    """Run ``steps`` (in :data:`STEPS` order) over [start, end]; return each step's report.

    Raises:
        ValueError: an unknown step, or a step that cannot run (the message says why).
    """
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        raise ValueError(f"unknown step(s) {unknown}; steps: {list(STEPS)}")
    this = Run(spark, config, start, end)
    metrics_dir = metrics.metrics_dir(config)
    for name, step in STEPS.items():
        if name not in steps:
            continue
        progress(name, "started")
        begun = time.monotonic()
        try:
            this.report[name] = step(this)
        except Exception:
            metrics.write_step(metrics_dir, name, time.monotonic() - begun, ok=False)
            raise
        metrics.write_step(
            metrics_dir, name, time.monotonic() - begun, ok=True, report=this.report[name]
        )
        progress(name, "done")
    return {"run_id": this.run_id, **this.report}
