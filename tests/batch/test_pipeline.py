"""The whole batch run against the real stack: HDFS master dataset in, Hive tables (read
back through the Thrift Server), Cassandra profiles, batch views and a registered model
out; a re-run of the same range replaces, never duplicates."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pyhive import hive
from pyspark.sql import functions as F

from fraudstack.config import Config
from storage import batch_views, model_registry
from storage.cassandra_client import cluster
from streaming import control
from tests.overlay import overlaid
from tests.polling import free_port
from tests.streaming.test_job import as_wire, produce, tx, wait_scored

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLI = [sys.executable, "-m", "fraudstack.cli"]
TAG = uuid.uuid4().hex[:8]
ROOT = f"/tests/batch-{TAG}"
DATABASE = f"test_batch_{TAG}"
TABLES = (
    "transactions_raw", "transactions_clean", "transactions_quarantine", "chargebacks_clean",
    "category_hourly", "sales_daily", "fraud_rates", "entity_profiles", "data_quality_runs",
    "model_evaluations", "order_status_clean", "inventory_clean", "order_funnel_daily",
    "fulfilment_times", "demand_profiles",
)  # fmt: skip


def cli(*args: str) -> str:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def batch(stack: Config, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    sections = {
        "batch": {
            "master_dir": f"{ROOT}/master",
            "database": DATABASE,
            "tables_dir": f"{ROOT}/warehouse",
            "driver_memory": "2g",
            "model": {
                "label_delay_days": 3,
                "validation_days": 3,
                "test_days": 3,
                "gap_days": 3,
                "trees": {"max_iter": 15, "max_depth": 4},
            },
        },
        "streaming": {
            "views_dir": f"{ROOT}/views",
            "models_dir": f"{ROOT}/models",
            "checkpoint_dir": f"{ROOT}/checkpoints",
            "archive_dir": f"{ROOT}/stream-archive",
            "metrics_port": free_port(),
            "starting_offsets": "latest",
        },
    }
    with overlaid(tmp_path_factory.mktemp("batch"), ROOT, sections) as config:
        cli("generate", "--days", "20", "--per-day", "1500", "--customers", "1500",
            "--seed", "5", "--start", "2026-07-01", "--orders", "--to", "master")  # fmt: skip
        try:
            yield config
        finally:
            spark.sql(f"DROP DATABASE IF EXISTS {DATABASE} CASCADE")


@pytest.fixture(scope="module")
def first_run(batch: Config) -> str:
    return cli("batch", "run")


def thrift(config: Config, sql: str) -> list[tuple[Any, ...]]:
    host, port = config.address("thriftserver").split(":")
    with hive.connect(host=host, port=int(port), auth="NOSASL", database=DATABASE) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        return list(cursor.fetchall())


def test_every_table_is_written_and_readable_through_the_thrift_server(
    batch: Config, first_run: str
) -> None:
    assert "batch run done" in first_run
    shown = {row[1] for row in thrift(batch, f"SHOW TABLES IN {DATABASE}")}
    assert set(TABLES) <= shown
    [(days,)] = thrift(batch, "SELECT count(DISTINCT event_date) FROM transactions_clean")
    assert days == 20
    rates = thrift(batch, "SELECT DISTINCT dimension FROM fraud_rates")
    assert {r[0] for r in rates} == {"category", "payment_method", "country", "channel", "device"}


def test_counts_reconcile_and_a_rerun_replaces(spark: Any, batch: Config, first_run: str) -> None:
    def quality() -> list[Any]:
        return spark.table(f"{DATABASE}.data_quality_runs").orderBy("run_at").collect()

    [run] = quality()
    assert run.rows_read > 29_000 and run.rows_read_stream == 0
    assert run.rows_read == run.clean + run.quarantined + run.duplicates_removed
    assert run.duplicates_removed > 0  # the simulator sends ~1% twice
    assert run.repaired_category > 0 and run.outliers > 0  # ~5% missing, ~2% outliers
    clean = spark.table(f"{DATABASE}.transactions_clean")
    assert clean.count() == run.clean == clean.select("transaction_id").distinct().count()
    before = {t: spark.table(f"{DATABASE}.{t}").count() for t in TABLES[:7]}

    cli("batch", "run", "--from", "2026-07-05", "--to", "2026-07-06", "--steps", "clean,aggregates")
    for table in TABLES:  # this session cached the old file listing; the run replaced files
        spark.catalog.refreshTable(f"{DATABASE}.{table}")
    after = {t: spark.table(f"{DATABASE}.{t}").count() for t in TABLES[:7]}
    assert after == before, "re-running two days replaced their partitions"
    second = quality()[-1]
    assert (second.range_start, second.range_end) == ("2026-07-05", "2026-07-06")
    assert second.rows_read == second.clean + second.quarantined + second.duplicates_removed


def test_profiles_reach_hive_cassandra_and_the_speed_layer(
    spark: Any, batch: Config, first_run: str
) -> None:
    profiles = spark.table(f"{DATABASE}.entity_profiles")
    assert {r.entity for r in profiles.select("entity").distinct().collect()} == {
        "customer", "card", "merchant", "device", "ip",
    }  # fmt: skip
    assert {str(r.profile_date) for r in profiles.select("profile_date").distinct().collect()} == {
        "2026-07-21"
    }
    merchant = profiles.where("entity = 'merchant'").orderBy("entity_key").first()
    host, port = batch.address("cassandra").split(":")
    session = cluster(host, int(port)).connect(batch.raw["cassandra"]["keyspace"])
    row = session.execute(
        "SELECT metrics FROM entity_profiles WHERE entity = 'merchant' AND entity_key = %s",
        [merchant.entity_key],
    ).one()
    assert row.metrics["tx_count_30d"] == merchant.tx_count_30d
    views_dir = batch.storage_uri(batch.raw["streaming"]["views_dir"])
    customers, version = batch_views.read_view(spark, views_dir, "customer_profiles")
    assert version and customers.count() == profiles.where("entity = 'customer'").count()


def test_orders_give_a_funnel_fulfilment_times_and_demand_profiles(
    spark: Any, batch: Config, first_run: str
) -> None:
    from batch.orders import STAGES

    statuses = spark.table(f"{DATABASE}.order_status_clean")
    assert statuses.count() == statuses.select("event_id").distinct().count() > 0
    created = statuses.where("status = 'created'").select("order_id").distinct().count()
    [(funnel_created, invalid, days)] = thrift(
        batch, "SELECT sum(orders_created), sum(invalid_transitions), count(*) "
        "FROM order_funnel_daily"
    )  # fmt: skip
    assert funnel_created == created and f"orders {created:,} created" in first_run
    assert invalid > 0 and days >= 20  # the simulator skips a status now and then
    [(paid, delivered)] = thrift(
        batch, "SELECT sum(orders_paid), sum(orders_delivered) FROM order_funnel_daily"
    )
    assert created > paid > 0 and paid >= delivered > 0
    times = spark.table(f"{DATABASE}.fulfilment_times").collect()
    assert {r.stage for r in times} == set(STAGES)
    assert all(0 <= r.p50_hours <= r.p90_hours <= r.max_hours for r in times)
    profiles = spark.table(f"{DATABASE}.demand_profiles")
    assert {str(r[0]) for r in profiles.select("profile_date").distinct().collect()} == {
        "2026-07-21"
    }
    busiest = profiles.orderBy(F.desc("units_per_hour"), "product_id").first()
    sold = spark.table(f"{DATABASE}.inventory_clean").where(
        f"change_type = 'sale' AND product_id = '{busiest.product_id}'"
    )
    assert busiest.weeks == pytest.approx(20 / 7)
    assert profiles.where(f"product_id = '{busiest.product_id}'").agg(
        F.sum("units_per_hour")
    ).first()[0] * busiest.weeks == pytest.approx(-sold.agg(F.sum("quantity_change")).first()[0])
    host, port = batch.address("cassandra").split(":")
    session = cluster(host, int(port)).connect(batch.keyspace)
    row = session.execute(
        "SELECT units_per_hour, weeks FROM demand_profiles WHERE product_id = %s",
        [busiest.product_id],
    ).one()
    assert row.units_per_hour[busiest.hour_of_week] == pytest.approx(busiest.units_per_hour)
    assert len(row.units_per_hour) == 168
    # a re-run of the step replaces: the same funnel, not twice the orders
    cli("batch", "run", "--steps", "orders")
    spark.catalog.refreshTable(f"{DATABASE}.order_funnel_daily")
    again = spark.table(f"{DATABASE}.order_funnel_daily").agg(F.sum("orders_created")).first()
    assert again[0] == created


def test_a_model_is_trained_evaluated_registered_and_promoted(
    spark: Any, batch: Config, first_run: str
) -> None:
    models_dir = batch.storage_uri(batch.raw["streaming"]["models_dir"])
    [version] = model_registry.versions(spark, models_dir)
    assert f"registered as version {version}" in first_run
    evaluations = spark.table(f"{DATABASE}.model_evaluations").where(f"version = '{version}'")
    metrics = {(r.scorer, r.metric): r.value for r in evaluations.collect()}
    for scorer in ("rules", "model", "combined"):
        assert 0.0 <= metrics[(scorer, "auc_roc")] <= 1.0
        assert (scorer, "card_precision_at_100") in metrics
    scenarios = {
        m.split(":")[1] for (_, m) in metrics if m.startswith("recall_review_by_scenario:")
    }
    assert scenarios and scenarios <= {
        "fraud_card_not_present", "fraud_account_takeover", "fraud_merchant_compromise",
    }  # fmt: skip
    promoted = model_registry.promoted_version(spark, models_dir)
    assert (promoted == version) == evaluations.first().promoted
    # every step's outcome reaches Prometheus through the node exporter's textfile collector
    served = requests.get(f"http://{batch.address('node_exporter')}/metrics", timeout=10).text
    for step in ("clean", "aggregates", "orders", "profiles", "train"):
        assert f'fraudstack_batch_last_success{{step="{step}"}} 1' in served
    assert 'fraudstack_model_test_metric{metric="auc_roc",scorer="model"}' in served


def test_the_speed_layer_scores_with_the_batch_model_and_views(
    spark: Any, batch: Config, first_run: str
) -> None:
    """The Lambda loop closed: what the batch layer published is what the speed layer uses."""
    models_dir = batch.storage_uri(batch.raw["streaming"]["models_dir"])
    promoted = model_registry.promoted_version(spark, models_dir)
    assert promoted, "the first model beats the rules alone on this history"
    customer = (
        spark.table(f"{DATABASE}.entity_profiles")
        .where("entity = 'customer' AND avg_amount_usd_30d > 0")
        .first()
    )
    if control.status(batch).running:
        pytest.fail("a speed layer is already running: `fraudstack stream stop` first")
    control.start(batch, ("score",))
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        records = [tx("batch", n, now, "x", customer_id=customer.entity_key) for n in range(3)]
        produce(batch, as_wire(records))
        host, port = batch.address("cassandra").split(":")
        session = cluster(host, int(port)).connect(batch.raw["cassandra"]["keyspace"])
        rows = wait_scored(session, [r["transaction_id"] for r in records])
    finally:
        control.stop(batch)
    assert {row.model_version for row in rows.values()} == {promoted}
    assert all(0.0 <= row.model_score <= 1.0 for row in rows.values())
    ratio = 42.5 / customer.avg_amount_usd_30d
    assert all(
        row.features["amount_to_customer_avg"] == pytest.approx(ratio, abs=1e-3)
        for row in rows.values()
    ), "the customer's batch profile enriched the live transaction"


def test_a_range_without_data_fails_with_advice(batch: Config) -> None:
    done = subprocess.run(
        [*CLI, "batch", "run", "--from", "2030-01-01", "--to", "2030-01-02", "--steps", "clean"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1
    assert "fraudstack generate --days 30 --to master" in done.stdout


def test_an_unknown_step_is_refused(batch: Config, tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "batch", "run", "--steps", "clean,polish"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1 and "unknown step(s) ['polish']" in done.stdout


def test_an_analyst_verdict_becomes_a_label(spark: Any, batch: Config, first_run: str) -> None:
    """A verdict given on the live-alert screen reaches Hive as a label at its own time."""
    from storage.alert_store import AlertStore

    clean = spark.table(f"{DATABASE}.transactions_clean")
    [tx] = clean.where("event_date = '2026-07-10'").orderBy("transaction_id").limit(1).collect()
    given = dt.datetime(2026, 7, 12, 9, 30, tzinfo=dt.UTC)
    host, port = batch.address("cassandra").split(":")
    session = cluster(host, int(port)).connect()
    store = AlertStore(session, batch.keyspace)
    alert = {"alert_id": tx.transaction_id, "customer_id": tx.customer_id,
             "event_time": tx.event_time}  # fmt: skip
    try:
        store.record_verdict(alert, "fraud", "test-analyst", at=given)
        cli("batch", "run", "--from", "2026-07-12", "--to", "2026-07-12", "--steps", "clean")
        rows = thrift(batch, "SELECT transaction_id, verdict, analyst, event_date FROM "
                      f"analyst_labels WHERE transaction_id = '{tx.transaction_id}'")  # fmt: skip
        assert rows == [(tx.transaction_id, "fraud", "test-analyst", "2026-07-12")]
    finally:
        session.execute(
            f"DELETE FROM {batch.keyspace}.analyst_labels WHERE day = %s AND labelled_at = %s "
            "AND transaction_id = %s", (given.date(), given, tx.transaction_id),
        )  # fmt: skip
        session.execute(f"DELETE FROM {batch.keyspace}.alerts_by_id WHERE alert_id = %s",
                        (tx.transaction_id,))  # fmt: skip
        session.cluster.shutdown()
