"""Batch-run metrics for Prometheus, through the node exporter's textfile collector.

Each step writes ``fraudstack_batch_<step>.prom`` (atomically) when it ends, well or
badly, so the last outcome of every step stays visible however the steps are run:

| metric | labels | what |
|---|---|---|
| ``fraudstack_batch_last_run_timestamp_seconds`` | step | when the step last ended |
| ``fraudstack_batch_last_success`` | step | 1 if it succeeded, 0 if it failed |
| ``fraudstack_batch_duration_seconds`` | step | how long it took |
| ``fraudstack_batch_rows`` | step, kind | counts it reported (rows read, clean, quarantined, ...) |
| ``fraudstack_model_test_metric`` | scorer, metric | the last candidate's test metrics |
| ``fraudstack_model_promoted`` | version | 1 if the last candidate was promoted |

The files go to the node exporter's textfile folder unless ``batch.metrics_dir`` names
another (a benchmark's runs must not replace what the last real run reported).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

if TYPE_CHECKING:
    from fraudstack.config import Config

MODEL_METRICS = ("auc_roc", "average_precision", "precision_review", "recall_review",
                 "precision_block", "recall_block", "card_precision_at_100")  # fmt: skip


def metrics_dir(config: Config) -> Path:
    """Where the steps' files go: ``batch.metrics_dir`` if set, else the textfile folder."""
    given = config.raw["batch"].get("metrics_dir")
    if not given:
        return config.textfile_dir
    return Path(given) if Path(given).is_absolute() else config.root / given


def write_step(
    folder: Path, step: str, seconds: float, ok: bool, report: dict[str, Any] | None = None
) -> Path:
    """Write the outcome of one step; return the file."""
    registry = CollectorRegistry()
    labels = {"step": step}
    Gauge("fraudstack_batch_last_run_timestamp_seconds", "when the step last ended",
          ["step"], registry=registry).labels(**labels).set(time.time())  # fmt: skip
    Gauge("fraudstack_batch_last_success", "1 if the step's last run succeeded",
          ["step"], registry=registry).labels(**labels).set(1 if ok else 0)  # fmt: skip
    Gauge("fraudstack_batch_duration_seconds", "how long the step's last run took",
          ["step"], registry=registry).labels(**labels).set(seconds)  # fmt: skip
    rows = Gauge("fraudstack_batch_rows", "counts the step reported", ["step", "kind"],
                 registry=registry)  # fmt: skip
    for kind, value in _numbers(report or {}):
        rows.labels(step=step, kind=kind).set(value)
    if report and "test" in report:
        _model(registry, report)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"fraudstack_batch_{step}.prom"
    write_to_textfile(str(path), registry)
    return path


def _numbers(report: dict[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """The report's counts, a nested section's as ``section_count`` (e.g. ``inventory_clean``)."""
    found: list[tuple[str, float]] = []
    for key, value in report.items():
        if isinstance(value, dict) and key not in ("test", "validation", "promotion"):
            found += _numbers(value, f"{prefix}{key}_")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            found.append((f"{prefix}{key}", value))
    return found


def _model(registry: CollectorRegistry, report: dict[str, Any]) -> None:
    test = Gauge("fraudstack_model_test_metric", "the last candidate's test metrics",
                 ["scorer", "metric"], registry=registry)  # fmt: skip
    for scorer in ("rules", "model", "combined"):
        for metric in MODEL_METRICS:
            test.labels(scorer=scorer, metric=metric).set(report["test"][scorer][metric])
    baseline = report["promotion"].get("baseline") or {}
    compared = Gauge("fraudstack_model_baseline_metric",
                     "test metrics of what the candidate was compared with (what scores now)",
                     ["metric"], registry=registry)  # fmt: skip
    for metric in MODEL_METRICS:
        if metric in baseline:
            compared.labels(metric=metric).set(baseline[metric])
    Gauge("fraudstack_model_promoted", "1 if the last candidate was promoted", ["version"],
          registry=registry).labels(version=report.get("version") or "").set(
        1 if report["promotion"]["promote"] else 0
    )  # fmt: skip
