"""The split protocol, the label cut-off, and the model contract the speed layer scores with."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from batch.training import Split, fit, plan_split, sample_negatives, with_label
from fraudstack.scoring import MODEL_FEATURES, with_model_score

D = dt.date


def test_the_split_leaves_out_immature_labels_and_keeps_a_gap() -> None:
    split = plan_split(D(2026, 9, 1), D(2026, 9, 30), 7, 3, 4, 3)
    assert split == Split(
        train=(D(2026, 9, 1), D(2026, 9, 13)),
        validation=(D(2026, 9, 17), D(2026, 9, 19)),
        test=(D(2026, 9, 20), D(2026, 9, 23)),
    )


def test_too_little_history_says_how_much_is_needed() -> None:
    with pytest.raises(ValueError, match=r"covers 10 days .* needs at least 19"):
        plan_split(D(2026, 9, 1), D(2026, 9, 10), 7, 3, 4, 3)


@pytest.mark.spark
def test_a_label_counts_only_if_filed_before_the_cut_off(spark) -> None:
    df = spark.createDataFrame(
        [
            ("a", True, dt.datetime(2026, 9, 5, tzinfo=dt.UTC)),
            ("b", True, dt.datetime(2026, 9, 25, tzinfo=dt.UTC)),
            ("c", False, None),
        ],
        "transaction_id string, is_fraud boolean, label_time timestamp",
    )
    cut = F.lit(dt.datetime(2026, 9, 20, tzinfo=dt.UTC))
    labels = {r.transaction_id: r.label for r in with_label(df, cut).collect()}
    assert labels == {"a": 1.0, "b": 0.0, "c": 0.0}


@pytest.mark.spark
def test_the_fitted_model_is_calibrated_and_scores_through_the_shared_contract(spark) -> None:
    import random

    rng = random.Random(3)
    rows = []
    for i in range(1200):
        fraud = rng.random() < 0.1
        values = [rng.random() for _ in MODEL_FEATURES]
        values[0] = rng.uniform(400, 900) if fraud else rng.uniform(1, 500)  # amount_usd
        rows.append((f"t{i}", *values, 1.0 if fraud else 0.0))
    df = spark.createDataFrame(rows, ["transaction_id", *MODEL_FEATURES, "label"])
    train_df, validation_df = df.where("transaction_id < 't6'"), df.where("transaction_id >= 't6'")
    # the trees see every fraud and a sample of the rest; calibration undoes the sampling
    sampled_df, kept = sample_negatives(train_df, 200)
    assert kept < 0.5
    model = fit(sampled_df, validation_df, {"max_iter": 10, "max_depth": 3})
    sample = df.drop("label").limit(300)
    scored = with_model_score(sample, model, "v1").join(
        df.select("transaction_id", "label"), "transaction_id"
    )
    assert scored.where("model_score < 0 OR model_score > 1 OR model_score IS NULL").count() == 0
    mean_p, rate = scored.agg(F.avg("model_score"), F.avg("label")).first()
    assert abs(mean_p - rate) < 0.05, "calibrated probabilities average to the fraud rate"
    high = scored.where("amount_usd > 500").agg(F.avg("model_score")).first()[0]
    low = scored.where("amount_usd < 400").agg(F.avg("model_score")).first()[0]
    assert high > 0.3 > low


@pytest.mark.spark
def test_sampling_keeps_every_fraud_and_about_the_cap_of_the_rest(spark) -> None:
    df = spark.createDataFrame(
        [(f"t{i}", 1.0 if i % 50 == 0 else 0.0) for i in range(5000)], ["transaction_id", "label"]
    )
    sampled_df, kept = sample_negatives(df, 1000)
    rows = sampled_df.groupBy("label").agg(F.count("*").alias("n")).collect()
    counts = {r.label: r.n for r in rows}
    assert counts[1.0] == 100
    assert 800 < counts[0.0] < 1200
    assert kept == pytest.approx(1000 / 4900, abs=1e-6)
    assert sample_negatives(df, 10_000) == (df, 1.0)
    assert sample_negatives(df, None) == (df, 1.0)
