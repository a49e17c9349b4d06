"""How good a fraud scorer is on a labelled period: the numbers a fraud team asks for.

Every scorer is judged on the same rows with the same code: the rules alone
(``rule_score``), the model alone (``model_score``) and what the speed layer decides
with (``risk_score``, rules and model combined). Reported per scorer:

- ``auc_roc`` and ``average_precision`` (area under the precision-recall curve);
- ``precision`` / ``recall`` / ``flagged`` at the REVIEW and BLOCK thresholds;
- ``card_precision_at_100``: per day, of the 100 cards with the highest score, the
  share that had a fraud that day; averaged over days (an analyst team checks about
  that many cards a day);
- recall at REVIEW per fraud scenario (the chargeback reason);

for the model, its calibration: Brier score and a reliability table (mean
predicted p(fraud) against the observed fraud rate, in ten bins); and for each
rule, how often it fired and its precision (what to tune in ``config/rules.yaml``).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from fraudstack.scoring import Policy

SCORERS = ("rules", "model", "combined")
_COLUMNS = {"rules": "rule_score", "model": "model_score", "combined": "risk_score"}
CARDS_PER_DAY = 100


def _ranking(scored_df: DataFrame, column: str) -> dict[str, float]:
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    rows = scored_df.select(F.col(column).cast("double").alias("s"), "label")
    metrics: dict[str, float] = {}
    names = {"auc_roc": "areaUnderROC", "average_precision": "areaUnderPR"}
    for name, metric in names.items():
        evaluator = BinaryClassificationEvaluator(
            rawPredictionCol="s",
            labelCol="label",
            metricName=metric,  # type: ignore[arg-type]
        )
        metrics[name] = round(float(evaluator.evaluate(rows)), 4)
    return metrics


def _at_thresholds(scored_df: DataFrame, column: str, policy: Policy) -> dict[str, float]:
    fraud = F.col("label") == 1.0
    aggregates = [F.sum(fraud.cast("int")).alias("frauds")]
    for name, at in (("review", policy.review_at), ("block", policy.block_at)):
        flagged = F.col(column) >= at
        aggregates += [
            F.sum(flagged.cast("int")).alias(f"flagged_{name}"),
            F.sum((flagged & fraud).cast("int")).alias(f"caught_{name}"),
        ]
    row = scored_df.agg(*aggregates).first()
    assert row is not None
    frauds, metrics = row["frauds"] or 0, dict[str, float]()
    for name in ("review", "block"):
        hits, caught = row[f"flagged_{name}"] or 0, row[f"caught_{name}"] or 0
        metrics[f"flagged_{name}"] = hits
        metrics[f"precision_{name}"] = round(caught / hits, 4) if hits else 0.0
        metrics[f"recall_{name}"] = round(caught / frauds, 4) if frauds else 0.0
    return metrics


def card_precision_at_k(scored_df: DataFrame, column: str, k: int = CARDS_PER_DAY) -> float:
    """Mean over days of the fraud share among the ``k`` highest-scored cards that day."""
    cards = (
        scored_df.where(F.col("card_token").isNotNull())
        .groupBy("event_date", "card_token")
        .agg(F.max(column).alias("s"), F.max("label").alias("fraud"))
    )
    ranked = cards.withColumn(
        "rank", F.row_number().over(Window.partitionBy("event_date").orderBy(F.desc("s")))
    ).where(F.col("rank") <= k)
    daily = ranked.groupBy("event_date").agg((F.sum("fraud") / F.lit(k)).alias("p"))
    row = daily.agg(F.avg("p")).first()
    return round(float(row[0]), 4) if row and row[0] is not None else 0.0


def _recall_by_scenario(scored_df: DataFrame, column: str, at: float) -> dict[str, float]:
    rows = (
        scored_df.where(F.col("label") == 1.0)
        .groupBy(F.coalesce("scenario", F.lit("unknown")).alias("scenario"))
        .agg(F.avg((F.col(column) >= at).cast("double")).alias("recall"))
        .collect()
    )
    return {row["scenario"]: round(float(row["recall"]), 4) for row in rows}


def rule_hits(scored_df: DataFrame) -> dict[str, dict[str, float]]:
    """Per rule code: how often it fired and how often that was fraud (to tune weights)."""
    rows = (
        scored_df.select(F.explode("rule_reasons").alias("code"), "label")
        .groupBy("code")
        .agg(F.count(F.lit(1)).alias("hits"), F.round(F.avg("label"), 4).alias("precision"))
        .collect()
    )
    return {row["code"]: {"hits": row["hits"], "precision": row["precision"]} for row in rows}


def calibration(scored_df: DataFrame, bins: int = 10) -> dict[str, Any]:
    """Brier score and a reliability table of ``model_score`` against ``label``."""
    p = F.col("model_score")
    table = (
        scored_df.groupBy(F.least(F.floor(p * bins), F.lit(bins - 1)).alias("bin"))
        .agg(
            F.count(F.lit(1)).alias("transactions"),
            F.round(F.avg(p), 4).alias("mean_predicted"),
            F.round(F.avg("label"), 4).alias("observed_rate"),
        )
        .orderBy("bin")
        .collect()
    )
    brier = scored_df.agg(F.avg((p - F.col("label")) * (p - F.col("label")))).first()
    return {
        "brier": round(float(brier[0]), 5) if brier and brier[0] is not None else None,
        "reliability": [row.asDict() for row in table],
    }


def evaluate(scored_df: DataFrame, policy: Policy) -> dict[str, Any]:
    """Every metric for every scorer on ``scored_df``.

    Args:
        scored_df: one row per transaction with ``label`` (1.0 fraud), ``scenario``,
            ``event_date``, ``card_token``, and ``rule_score``, ``model_score``,
            ``risk_score`` (as :func:`fraudstack.scoring.with_risk` computes them).
        policy: the thresholds.
    """
    scored_df = scored_df.cache()
    counts = scored_df.agg(
        F.count(F.lit(1)).alias("transactions"), F.sum("label").alias("frauds")
    ).first()
    assert counts is not None
    report: dict[str, Any] = {
        "transactions": counts["transactions"],
        "frauds": int(counts["frauds"] or 0),
    }
    for scorer in SCORERS:
        column = _COLUMNS[scorer]
        report[scorer] = {
            **_ranking(scored_df, column),
            **_at_thresholds(scored_df, column, policy),
            "card_precision_at_100": card_precision_at_k(scored_df, column),
            "recall_review_by_scenario": _recall_by_scenario(scored_df, column, policy.review_at),
        }
    report["calibration"] = calibration(scored_df)
    report["rule_hits"] = rule_hits(scored_df)
    scored_df.unpersist()
    return report


def metric_rows(version: str, report: dict[str, Any]) -> list[tuple[str, str, str, float]]:
    """The report as (version, scorer, metric, value) rows, for a Hive table."""
    rows = []
    for scorer in SCORERS:
        for metric, value in report[scorer].items():
            if isinstance(value, dict):
                rows += [(version, scorer, f"{metric}:{k}", float(v)) for k, v in value.items()]
            else:
                rows.append((version, scorer, metric, float(value)))
    if report["calibration"]["brier"] is not None:
        rows.append((version, "model", "brier", float(report["calibration"]["brier"])))
    return rows
