"""History into Parquet (locally and on the real HDFS) with the ground truth beside it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fraudstack.config import Config
from fraudstack.events import TRANSACTION_SCHEMA
from fraudstack.simulator.run import resolve_target, to_parquet, wire_history
from fraudstack.simulator.settings import SimulatorSettings
from storage.master_dataset import list_hdfs

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
SETTINGS = SimulatorSettings(seed=5, customers=200, merchants=30, transactions_per_day=800)


def test_history_to_local_parquet_is_partitioned_by_date_with_truth(
    tmp_path: Path, config: Config
) -> None:
    counts = to_parquet(
        config,
        wire_history(config, SETTINGS, START, 3),
        str(tmp_path / "out"),
        tmp_path / "t.parquet",
    )
    dates = sorted(p.name for p in (tmp_path / "out" / "transactions").iterdir())
    assert dates[:3] == ["event_date=2026-09-01", "event_date=2026-09-02", "event_date=2026-09-03"]
    table = pq.read_table(tmp_path / "out" / "transactions")
    assert table.num_rows == counts["transaction:written"]
    [rejected] = (tmp_path / "out" / "rejected").glob("*.jsonl")
    assert counts["transaction:rejected"] == len(rejected.read_text().splitlines())
    truth = pq.read_table(tmp_path / "t.parquet").to_pylist()
    assert {"transaction_id", "is_fraud", "scenario", "fault"} <= set(truth[0])
    assert "is_fraud" not in table.column_names, "labels stay out of the transactions"
    assert sum(row["is_fraud"] for row in truth) > 0


def test_history_for_hdfs_leaves_no_local_staging_copy_behind(
    tmp_path: Path, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploaded: dict[str, object] = {}

    def upload(files: list[Path], local_root: Path, namenode_http: str, hdfs_root: str) -> int:
        uploaded.update(root=local_root, staged=all(f.exists() for f in files), to=hdfs_root)
        return len(files)

    monkeypatch.setattr("storage.master_dataset.upload_to_hdfs", upload)
    target = f"hdfs://{config.address('namenode')}/bench/master"
    to_parquet(config, wire_history(config, SETTINGS, START, 1), target, tmp_path / "t.parquet")
    assert uploaded["to"] == "/bench/master" and uploaded["staged"]
    assert not Path(str(uploaded["root"])).exists(), "the staging folder is removed after upload"


@pytest.mark.integration
@pytest.mark.spark
def test_history_lands_in_the_hdfs_master_dataset(spark, stack: Config, tmp_path: Path) -> None:
    root = f"/tmp/it-master-{dt.datetime.now().strftime('%H%M%S%f')}"
    counts = to_parquet(stack, wire_history(stack, SETTINGS, START, 2), f"hdfs://{stack.address('namenode')}{root}",
                        tmp_path / "truth.parquet")  # fmt: skip
    listing = list_hdfs(stack.address("namenode", "http_port"), f"{root}/transactions") or []
    assert {entry["pathSuffix"] for entry in listing} >= {
        "event_date=2026-09-01",
        "event_date=2026-09-02",
    }
    assert counts["transaction:written"] > 1_000
    master_df = spark.read.parquet(f"{stack.hdfs_uri}{root}/transactions")
    assert master_df.count() == counts["transaction:written"]
    assert set(TRANSACTION_SCHEMA.names) <= set(master_df.columns)


def test_master_means_the_hdfs_master_dataset(config: Config) -> None:
    assert resolve_target(config, "master") == f"hdfs://{config.address('namenode')}/master"
    assert resolve_target(config, "kafka") == "kafka"
    assert resolve_target(config, "/tmp/out") == "/tmp/out"
