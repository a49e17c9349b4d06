"""Batch-run metrics as the node exporter's textfile collector reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from batch import pipeline
from batch.metrics import MODEL_METRICS, write_step
from fraudstack.config import Config


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def test_a_step_writes_its_outcome_counts_and_model_metrics(tmp_path: Path) -> None:
    metrics = {name: 0.5 for name in MODEL_METRICS}
    report = {
        "rows_read": 120, "clean": 100, "flag": True, "version": "v9",
        "test": {"rules": metrics, "model": metrics, "combined": {**metrics, "auc_roc": 0.9}},
        "promotion": {"promote": True, "baseline": {**metrics, "auc_roc": 0.8}},
    }  # fmt: skip
    got = samples(write_step(tmp_path, "train", 12.5, ok=True, report=report))
    assert got[("fraudstack_batch_last_success", (("step", "train"),))] == 1
    assert got[("fraudstack_batch_duration_seconds", (("step", "train"),))] == 12.5
    assert got[("fraudstack_batch_rows", (("kind", "rows_read"), ("step", "train")))] == 120
    assert ("fraudstack_batch_rows", (("kind", "flag"), ("step", "train"))) not in got
    key = ("fraudstack_model_test_metric", (("metric", "auc_roc"), ("scorer", "combined")))
    assert got[key] == 0.9
    assert got[("fraudstack_model_promoted", (("version", "v9"),))] == 1
    assert got[("fraudstack_model_baseline_metric", (("metric", "auc_roc"),))] == 0.8


def test_a_failed_step_says_so_and_keeps_other_steps_files(tmp_path: Path) -> None:
    write_step(tmp_path, "clean", 3.0, ok=True, report={"rows_read": 5})
    failed = samples(write_step(tmp_path, "train", 1.0, ok=False))
    assert failed[("fraudstack_batch_last_success", (("step", "train"),))] == 0
    assert sorted(p.name for p in tmp_path.glob("*.prom")) == [
        "fraudstack_batch_clean.prom",
        "fraudstack_batch_train.prom",
    ]


def test_a_run_writes_its_metrics_where_batch_metrics_dir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A benchmark's run (own folder) must not replace what the last real run reported."""
    monkeypatch.delenv("FRAUDSTACK_HOME", raising=False)
    monkeypatch.setattr(pipeline, "STEPS", {"clean": lambda run: {"rows_read": 7}})
    textfiles = tmp_path / "data" / "node-exporter-textfile"

    def run(metrics_dir: str | None) -> None:
        config = Config(raw={"home": str(tmp_path), "batch": {"metrics_dir": metrics_dir}})
        pipeline.run(None, config, steps=("clean",))  # type: ignore[arg-type]

    run(str(tmp_path / "bench"))
    assert (tmp_path / "bench" / "fraudstack_batch_clean.prom").exists()
    assert not textfiles.exists(), "the node exporter's folder is left alone"
    run(None)  # the default: the node exporter's textfile folder
    key = ("fraudstack_batch_rows", (("kind", "rows_read"), ("step", "clean")))
    assert samples(textfiles / "fraudstack_batch_clean.prom")[key] == 7
