"""Bring your own data, end to end through the CLI: a labelled CSV in, a model and its
evaluation out (registered on the real HDFS), then a file scored with it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from batch.byod import InputError, conform
from fraudstack.config import Config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLI = [sys.executable, "-m", "fraudstack.cli"]
KEEP = (
    *("transaction_id", "event_time", "customer_id", "merchant_id", "amount", "currency"),
    *("card_token", "device_id", "ip_token", "country", "lat", "lon", "account_age_days"),
)


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def labelled_csv(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's file: simulator history with its ground truth as the is_fraud column."""
    folder = tmp_path_factory.mktemp("byod")
    out = run("generate", "--days", "28", "--per-day", "2000", "--customers", "3000",
              "--seed", "11", "--start", "2026-08-01", "--to", str(folder / "history"))  # fmt: skip
    truth_path = out.split("ground truth in ")[-1].split()[0]
    truth = {
        r["transaction_id"]: r
        for r in pq.read_table(
            truth_path, columns=["transaction_id", "is_fraud", "scenario"]
        ).to_pylist()
    }
    rows = (
        ds.dataset(folder / "history" / "transactions", partitioning="hive").to_table().to_pylist()
    )
    path = folder / "labelled.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*KEEP, "is_fraud", "scenario"])
        for row in rows:
            label = truth[row["transaction_id"]]
            writer.writerow([*(row[k] for k in KEEP), label["is_fraud"], label["scenario"] or ""])
        writer.writerow(["broken", "not a time", "c", "m", "12.5", "USD", *[""] * 7, "false", ""])
    return path


def test_train_on_your_own_file_then_score_with_the_model(
    stack: Config, labelled_csv: Path, tmp_path: Path
) -> None:
    models = f"{stack.hdfs_uri}/tests/byod-{uuid.uuid4().hex[:8]}"
    report_path = tmp_path / "report.json"
    out = run("model", "train", "--input", str(labelled_csv), "--models-dir", models,
              "--report", str(report_path))  # fmt: skip
    assert "skipped 1 rows" in out and "event_time missing or not a timestamp" in out
    report = json.loads(report_path.read_text())
    assert report["split"]["test"] == ["2026-08-18", "2026-08-21"]
    test = report["test"]
    assert test["frauds"] > 20
    # the model learns something beyond the rules, and its probabilities are calibrated
    assert test["model"]["auc_roc"] > 0.8
    assert test["combined"]["average_precision"] > test["rules"]["average_precision"]
    assert report["promotion"] == {
        **report["promotion"],
        "compared_with": "rules alone",
        "promote": True,
    }
    assert f"registered as version {report['version']}" in out
    assert set(test["model"]["recall_review_by_scenario"]) <= {
        "card_testing", "account_takeover", "velocity_burst", "compromised_merchant",
        "new_customer_high_value", "shared_ring", "impossible_travel",
    }  # fmt: skip

    scored_path = tmp_path / "scored.csv"
    out = run("model", "score", "--input", str(labelled_csv), "--output", str(scored_path),
              "--models-dir", models)  # fmt: skip
    assert f"model {report['version']}" in out
    [part] = scored_path.glob("part-*.csv")
    with part.open() as f:
        scored = list(csv.DictReader(f))
    with labelled_csv.open() as f:
        ids = {row["transaction_id"] for row in csv.DictReader(f)} - {"broken"}
    assert sorted(r["transaction_id"] for r in scored) == sorted(ids)  # duplicates scored once
    assert {r["decision"] for r in scored} <= {"ALLOW", "REVIEW", "BLOCK"}
    assert all(r["model_version"] == report["version"] for r in scored)
    flagged = [r for r in scored if r["decision"] != "ALLOW"]
    assert flagged and all(r["reasons"] for r in flagged)


@pytest.mark.spark
def test_a_file_without_a_required_column_is_refused(spark) -> None:
    df = spark.createDataFrame([("t1", "c1")], "transaction_id string, customer_id string")
    with pytest.raises(
        InputError, match=r"lacks column\(s\) \['event_time', 'merchant_id', 'amount', 'is_fraud'\]"
    ):
        conform(df, need_labels=True)
