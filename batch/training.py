"""The fraud model's training set, time-ordered split, and fit (GBT + Platt calibration).

Features come from the shared definitions the speed layer scores with: velocity
features over each entity's history (:mod:`fraudstack.features`), transaction
fields, and profile enrichment as it was on the transaction's day
(:mod:`batch.profiles`, point in time). Labels are fraud chargebacks, and a label
counts only if it was filed by the time the model could have used it.

Split (oldest to newest), with ``E`` the last day of data and ``L`` the label delay::

    [ train ] [ gap ] [ validation ] [ test ]  [ L days: labels not yet mature ]

The last ``L`` days are left out (their fraud is mostly not yet charged back).
Training labels are those filed before validation begins, and the ``gap`` keeps
training transactions at least ``gap`` days older than that, so they had time to be
charged back. The model is fitted on train; the calibration on validation; every
reported number is on test, which neither saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from batch.profiles import customer_view, day_number, merchant_view, profiles_as_of
from fraudstack.features import explode_entities, history_features, widen
from fraudstack.scoring import MODEL_FEATURES, model_input
from fraudstack.views import with_profiles


@dataclass(frozen=True)
class Split:
    """Inclusive date ranges of the three periods."""

    train: tuple[dt.date, dt.date]
    validation: tuple[dt.date, dt.date]
    test: tuple[dt.date, dt.date]

    def as_dict(self) -> dict[str, list[str]]:
        return {
            name: [str(first), str(last)]
            for name, (first, last) in (
                ("train", self.train),
                ("validation", self.validation),
                ("test", self.test),
            )
        }


def plan_split(
    first: dt.date,
    last: dt.date,
    label_delay_days: int,
    validation_days: int,
    test_days: int,
    gap_days: int,
    min_train_days: int = 2,
) -> Split:
    """The periods for data from ``first`` to ``last`` (inclusive).

    Raises:
        ValueError: too few days for the protocol; the message says how many are needed.
    """
    day = dt.timedelta(days=1)
    test_end = last - label_delay_days * day
    test_start = test_end - (test_days - 1) * day
    validation_end = test_start - day
    validation_start = validation_end - (validation_days - 1) * day
    train_end = validation_start - (gap_days + 1) * day
    have = (last - first).days + 1
    need = label_delay_days + test_days + validation_days + gap_days + min_train_days
    if (train_end - first).days + 1 < min_train_days:
        raise ValueError(
            f"the data covers {have} days ({first} to {last}); the split needs at least {need}: "
            f"{min_train_days} to train, a {gap_days}-day gap, {validation_days} to validate, "
            f"{test_days} to test and the last {label_delay_days} whose labels are not mature. "
            "Add history (e.g. `fraudstack generate --days 30 --to master`) or shorten the "
            "`batch.model` periods in the config."
        )
    return Split((first, train_end), (validation_start, validation_end), (test_start, test_end))


def with_point_in_time_profiles(tx_df: DataFrame, daily_df: DataFrame) -> DataFrame:
    """Add the enrichment columns from each customer's and merchant's profile as of the
    start of the transaction's day (only what was known then)."""
    queries = tx_df.select(
        F.explode(
            F.array(
                F.struct(F.lit("customer").alias("entity"), F.col("customer_id").alias("k")),
                F.struct(F.lit("merchant").alias("entity"), F.col("merchant_id").alias("k")),
            )
        ).alias("q"),
        day_number(F.col("event_date")).alias("day"),
    ).select("q.entity", F.col("q.k").alias("entity_key"), "day")
    profiles_df = profiles_as_of(daily_df, queries).cache()
    return with_profiles(
        tx_df,
        customer_view(profiles_df, as_of="event_date"),
        merchant_view(profiles_df, as_of="event_date"),
        as_of="event_date",
    )


def with_features(tx_df: DataFrame) -> DataFrame:
    """Add the velocity features over each entity's whole history in ``tx_df``."""
    return widen(tx_df, history_features(explode_entities(tx_df)))


def with_label(tx_df: DataFrame, known_by: Column) -> DataFrame:
    """Add ``label`` (1.0 = fraud): a fraud chargeback filed before ``known_by``.

    ``tx_df`` carries ``is_fraud`` and ``label_time`` (:func:`batch.labels.with_labels`
    without a cut-off); the cut-off is applied per period here.
    """
    known = F.col("is_fraud") & (F.col("label_time") < known_by)
    return tx_df.withColumn("label", F.when(known, 1.0).otherwise(0.0))


def in_period(period: tuple[dt.date, dt.date]) -> Column:
    """Transactions whose ``event_date`` falls in the inclusive period."""
    return F.col("event_date").between(str(period[0]), str(period[1]))


def start_of(day: dt.date) -> Column:
    return F.lit(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))


def periods(dataset_df: DataFrame, split: Split, labels_known_at: dt.date) -> dict[str, DataFrame]:
    """The labelled train, validation and test sets.

    Args:
        dataset_df: transactions with features, enrichment, ``is_fraud`` and ``label_time``.
        split: the periods.
        labels_known_at: the day after the data ends: labels filed before it are known.
    """
    train_known = start_of(split.validation[0])
    return {
        "train": with_label(dataset_df.where(in_period(split.train)), train_known),
        "validation": with_label(
            dataset_df.where(in_period(split.validation)), start_of(labels_known_at)
        ),
        "test": with_label(dataset_df.where(in_period(split.test)), start_of(labels_known_at)),
    }


def sample_negatives(
    train_df: DataFrame, max_negatives: int | None, seed: int = 7
) -> tuple[DataFrame, float]:
    """Keep every fraud and at most about ``max_negatives`` legitimate transactions.

    The trees learn as much from a sample of the (plentiful) legitimate transactions,
    and their time grows with the rows they pass over; the weight in :func:`fit`
    balances whatever is kept, and Platt scaling on the untouched validation period
    puts the probabilities back on the real fraud rate.

    Returns:
        The training rows and the fraction of legitimate ones kept (1.0: all).
    """
    if not max_negatives:
        return train_df, 1.0
    negatives = train_df.where(F.col("label") == 0.0).count()
    if negatives <= max_negatives:
        return train_df, 1.0
    fraction = max_negatives / negatives
    kept = train_df.where(F.col("label") == 1.0).unionByName(
        train_df.where(F.col("label") == 0.0).sample(fraction=fraction, seed=seed)
    )
    return kept, round(fraction, 6)


def fit(train_df: DataFrame, validation_df: DataFrame, params: dict[str, Any]) -> Any:
    """Gradient-boosted trees on train (fraud weighted up to balance the classes), then
    Platt scaling on validation so ``probability`` is a calibrated p(fraud).

    Returns:
        A ``PipelineModel`` reading :data:`MODEL_FEATURES` and writing ``probability``,
        the contract :func:`fraudstack.scoring.with_model_score` scores with.

    Raises:
        ValueError: a period has no fraud label to learn from.
    """
    from pyspark.ml import Pipeline, PipelineModel
    from pyspark.ml.classification import GBTClassifier, LogisticRegression
    from pyspark.ml.feature import VectorAssembler, VectorSlicer

    counts = {row["label"]: row["n"] for row in train_df.groupBy("label").agg(
        F.count(F.lit(1)).alias("n")).collect()}  # fmt: skip
    positives, negatives = counts.get(1.0, 0), counts.get(0.0, 0)
    if positives == 0 or validation_df.where(F.col("label") == 1.0).limit(1).count() == 0:
        raise ValueError("no known fraud in the training or validation period: nothing to learn")
    weighted = model_input(train_df).withColumn(
        "weight", F.when(F.col("label") == 1.0, negatives / positives).otherwise(1.0)
    )
    trees = Pipeline(
        stages=[
            VectorAssembler(
                inputCols=list(MODEL_FEATURES), outputCol="features", handleInvalid="keep"
            ),
            GBTClassifier(
                labelCol="label",
                weightCol="weight",
                maxIter=int(params.get("max_iter", 60)),
                maxDepth=int(params.get("max_depth", 5)),
                stepSize=float(params.get("step_size", 0.1)),
                subsamplingRate=float(params.get("subsampling_rate", 0.8)),
                seed=int(params.get("seed", 7)),
                predictionCol="gbt_prediction",
            )
            .setProbabilityCol("gbt_probability")
            .setRawPredictionCol("gbt_raw"),
        ]
    ).fit(weighted)
    slicer = VectorSlicer(inputCol="gbt_raw", outputCol="gbt_margin", indices=[1])
    calibration = LogisticRegression(featuresCol="gbt_margin", labelCol="label", maxIter=100)
    margins = slicer.transform(trees.transform(model_input(validation_df)))
    return PipelineModel(stages=[*trees.stages, slicer, calibration.fit(margins)])
