"""Evaluation metrics on a tiny period whose answers can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch.evaluation import card_precision_at_k, evaluate, metric_rows
from fraudstack.scoring import load_policy

pytestmark = pytest.mark.spark
RULES = Path(__file__).parents[2] / "config" / "rules.yaml"


@pytest.fixture(scope="module")
def scored(spark):
    rows = [
        # id, day, card, label, scenario, rule, model, risk, rule reasons
        ("a", "2026-09-01", "k1", 1.0, "card_testing", 0.8, 0.9, 0.95, ["LARGE_AMOUNT", "X"]),
        ("b", "2026-09-01", "k2", 0.0, None, 0.4, 0.1, 0.45, ["LARGE_AMOUNT"]),
        ("c", "2026-09-01", "k3", 0.0, None, 0.0, 0.2, 0.14, []),
        ("d", "2026-09-02", "k1", 1.0, "account_takeover", 0.0, 0.6, 0.42, []),
        ("e", "2026-09-02", None, 0.0, None, 0.0, 0.0, 0.0, []),
    ]
    return spark.createDataFrame(
        rows,
        "transaction_id string, event_date string, card_token string, label double, "
        "scenario string, rule_score double, model_score double, risk_score double, "
        "rule_reasons array<string>",
    )


def test_precision_and_recall_at_the_decision_thresholds(scored) -> None:
    report = evaluate(scored, load_policy(RULES))
    assert (report["transactions"], report["frauds"]) == (5, 2)
    combined = report["combined"]
    # REVIEW at 0.3: a, b, d flagged; a and d are fraud
    assert combined["flagged_review"] == 3
    assert combined["precision_review"] == pytest.approx(2 / 3, abs=1e-4)
    assert combined["recall_review"] == 1.0
    # BLOCK at 0.7: only a
    assert (combined["precision_block"], combined["recall_block"]) == (1.0, 0.5)
    assert report["rules"]["recall_review_by_scenario"] == {
        "card_testing": 1.0,
        "account_takeover": 0.0,
    }
    assert report["rule_hits"] == {
        "LARGE_AMOUNT": {"hits": 2, "precision": 0.5},
        "X": {"hits": 1, "precision": 1.0},
    }
    assert combined["auc_roc"] == pytest.approx(5 / 6, abs=1e-3)  # d ranks below b
    rows = metric_rows("v1", report)
    assert ("v1", "combined", "recall_review", 1.0) in rows
    assert ("v1", "rules", "recall_review_by_scenario:account_takeover", 0.0) in rows


def test_card_precision_at_k_is_the_daily_fraud_share_of_the_top_cards(scored) -> None:
    # day 1: top 2 cards by risk are k1 (fraud) and k2: 1/2; day 2: k1 (fraud): 1/2
    assert card_precision_at_k(scored, "risk_score", k=2) == 0.5
