"""Train, evaluate, register and (only if it is better) promote the fraud model.

The candidate is judged on the held-out test period against what the speed layer
uses now: the rules plus the promoted model, or the rules alone before any model
was promoted. It is promoted only if its combined score ranks fraud better (higher
average precision) on that same period. Every candidate is registered with its
report, promoted or not, so a later look can tell why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from batch import evaluation, training
from batch.profiles import daily_activity, fraud_chargebacks
from fraudstack.scoring import Policy, with_model_score, with_risk, with_rule_hits
from storage import model_registry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class ModelSettings:
    """The split protocol and the trees' parameters (``batch.model`` in the config)."""

    label_delay_days: int = 7
    validation_days: int = 3
    test_days: int = 4
    gap_days: int = 7
    min_train_days: int = 2
    min_improvement: float = 0.0  # average precision the candidate must add
    max_train_negatives: int | None = 400_000  # legitimate training rows the trees see
    trees: dict[str, Any] | None = None

    @classmethod
    def from_config(cls, raw: dict[str, Any]) -> ModelSettings:
        fields = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


def build_dataset(labelled_df: DataFrame, chargebacks_df: DataFrame) -> DataFrame:
    """Transactions with velocity features, point-in-time profiles and label columns.

    Args:
        labelled_df: clean transactions with ``is_fraud``, ``label_time`` and
            ``scenario`` (the fraud chargeback's reason).
        chargebacks_df: the chargebacks (for profile chargeback counts, by filing day).
    """
    daily_df = daily_activity(labelled_df, fraud_chargebacks(chargebacks_df))
    return training.with_point_in_time_profiles(training.with_features(labelled_df), daily_df)


def score(df: DataFrame, policy: Policy, model: Any | None, version: str | None) -> DataFrame:
    """Rules, model and the combined decision: the speed layer's scoring, on history."""
    return (
        df.transform(with_rule_hits, policy)
        .transform(with_model_score, model, version)
        .transform(with_risk, policy)
    )


def _date_range(df: DataFrame) -> tuple[dt.date, dt.date]:
    row = df.agg(F.min("event_date"), F.max("event_date")).first()
    if row is None or row[0] is None:
        raise ValueError("no transactions to train on")
    return dt.date.fromisoformat(str(row[0])), dt.date.fromisoformat(str(row[1]))


def _size(labelled_df: DataFrame) -> dict[str, int]:
    row = labelled_df.agg(F.count(F.lit(1)), F.sum("label")).first()
    assert row is not None
    return {"transactions": int(row[0]), "frauds": int(row[1] or 0)}


def plan(tx_df: DataFrame, settings: ModelSettings) -> tuple[training.Split, dt.date]:
    """The split of ``tx_df``'s days and the day after its last (labels filed before it
    are known)."""
    first, last = _date_range(tx_df)
    split = training.plan_split(
        first,
        last,
        settings.label_delay_days,
        settings.validation_days,
        settings.test_days,
        settings.gap_days,
        settings.min_train_days,
    )
    return split, last + dt.timedelta(days=1)


@contextmanager
def used_days(dataset_df: DataFrame, split: training.Split) -> Iterator[DataFrame]:
    """The rows of the days some period uses, computed once and kept (memory, then disk)
    while the block runs: the features are windows over each entity's whole history, and
    every period, the trees, the calibration and the evaluations read from this one copy
    instead of recomputing them."""
    used = [training.in_period(p) for p in (split.train, split.validation, split.test)]
    used_df = dataset_df.where(used[0] | used[1] | used[2]).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield used_df
    finally:
        used_df.unpersist()


def train_candidate(
    dataset_df: DataFrame,
    split: training.Split,
    labels_known_at: dt.date,
    policy: Policy,
    settings: ModelSettings,
) -> tuple[Any, dict[str, Any], dict[str, DataFrame]]:
    """Fit on the split of ``dataset_df`` and evaluate on its test period.

    Returns:
        The fitted model, its report (split, sizes, metrics per scorer) and the periods.
    """
    sets = training.periods(dataset_df, split, labels_known_at)
    fitted_df, kept = training.sample_negatives(
        sets["train"], settings.max_train_negatives, int((settings.trees or {}).get("seed", 7))
    )
    model = training.fit(fitted_df, sets["validation"], settings.trees or {})
    report = {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data": [str(split.train[0]), str(labels_known_at - dt.timedelta(days=1))],
        "split": split.as_dict(),
        "label_delay_days": settings.label_delay_days,
        "gap_days": settings.gap_days,
        "sizes": {name: _size(frame) for name, frame in sets.items()},
        "train_legitimate_fraction": kept,
        "test": evaluation.evaluate(score(sets["test"], policy, model, "candidate"), policy),
    }
    return model, report, sets


def decide(
    spark: SparkSession,
    models_dir: str,
    test_df: DataFrame,
    report: dict[str, Any],
    policy: Policy,
    settings: ModelSettings,
) -> dict[str, Any]:
    """Compare the candidate with what is promoted now, on the same test rows."""
    current = model_registry.promoted_version(spark, models_dir)
    if current:
        baseline_model = model_registry.load(models_dir, current)
        scored = score(test_df, policy, baseline_model, current)
        baseline_metrics = evaluation.evaluate(scored, policy)["combined"]
        against = f"model {current}"
    else:
        baseline_metrics = report["test"]["rules"]
        against = "rules alone"
    baseline = baseline_metrics["average_precision"]
    candidate = report["test"]["combined"]["average_precision"]
    return {
        "compared_with": against,
        "baseline": {k: v for k, v in baseline_metrics.items() if isinstance(v, int | float)},
        "baseline_average_precision": baseline,
        "candidate_average_precision": candidate,
        "promote": candidate > baseline + settings.min_improvement,
    }


def run(
    spark: SparkSession,
    models_dir: str,
    labelled_df: DataFrame,
    chargebacks_df: DataFrame,
    policy: Policy,
    settings: ModelSettings,
    register: bool = True,
) -> dict[str, Any]:
    """Build the data set, train, evaluate, register and promote if better.

    Returns:
        The report: split, sizes, test metrics, the promotion decision, ``version``.
    """
    dataset_df = build_dataset(labelled_df, chargebacks_df)
    split, labels_known_at = plan(labelled_df, settings)
    with used_days(dataset_df, split) as used_df:
        model, report, sets = train_candidate(used_df, split, labels_known_at, policy, settings)
        report["promotion"] = decide(spark, models_dir, sets["test"], report, policy, settings)
    report["version"] = None
    if register:
        version = model_registry.register(spark, models_dir, model, report)
        report["version"] = version
        if report["promotion"]["promote"]:
            model_registry.promote(spark, models_dir, version)
    return report
