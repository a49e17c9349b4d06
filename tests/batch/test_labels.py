"""Analysts' verdicts become labels the way chargebacks do."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.testing import assertDataFrameEqual

from batch.labels import ANALYST_LABEL_SCHEMA, analyst_fraud_labels, with_labels

pytestmark = pytest.mark.spark

T = dt.datetime(2026, 11, 20, 12, 0)


def test_the_newest_fraud_verdict_is_a_label_filed_when_given(spark):
    verdicts_df = spark.createDataFrame(
        [
            ("t1", T, "fraud", "ana", "c1", T),
            ("t2", T, "fraud", "ana", "c2", T),  # changed mind: newest is not_fraud
            ("t2", T + dt.timedelta(hours=1), "not_fraud", "bo", "c2", T),
            ("t3", T + dt.timedelta(hours=2), "not_fraud", "bo", "c3", T),
            ("t4", T, "fraud", "ana", "c4", T),  # an earlier mistake, corrected to fraud
            ("t4", T - dt.timedelta(hours=3), "not_fraud", "ana", "c4", T),
        ],
        ANALYST_LABEL_SCHEMA,
    )
    labels_df = analyst_fraud_labels(verdicts_df)
    expected_df = spark.createDataFrame(
        [("t1", T, True, "analyst_verdict"), ("t4", T, True, "analyst_verdict")],
        "transaction_id string, event_time timestamp, is_fraud boolean, reason string",
    )
    assertDataFrameEqual(labels_df, expected_df, checkRowOrder=False)


def test_a_verdict_labels_only_from_when_it_was_given(spark):
    tx_df = spark.createDataFrame(
        [("t1", T - dt.timedelta(days=1)), ("t2", T - dt.timedelta(days=1)), ("t3", None)],
        "transaction_id string, event_time timestamp",
    )
    labels_df = spark.createDataFrame(
        [("t1", T, True, "analyst_verdict"), (None, T, True, "analyst_verdict")],
        "transaction_id string, event_time timestamp, is_fraud boolean, reason string",
    )
    before = with_labels(tx_df, labels_df, known_by=T - dt.timedelta(hours=1))
    after = with_labels(tx_df, labels_df, known_by=T + dt.timedelta(hours=1))
    assert {r.transaction_id for r in before.where("is_fraud").collect()} == set()
    rows = after.where("is_fraud").collect()
    assert [(r.transaction_id, r.scenario, r.label_time) for r in rows] == [
        ("t1", "analyst_verdict", T)
    ]
