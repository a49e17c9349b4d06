"""Rules from YAML and the risk decision, on inline DataFrames."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from fraudstack.config import REPO_ROOT
from fraudstack.scoring import PolicyError, load_policy, with_risk, with_rule_hits

RULES = """
decision: {review_at: 0.3, block_at: 0.7}
model: {weight: 0.5, reason_at: 0.5}
rules:
  - code: BIG
    when: {amount_usd: {">": 500}}
    weight: 0.4
  - code: FAST
    when: {customer_tx_count_1h: {">": 5}, amount_usd: {">=": 10}}
    weight: 0.6
"""


def policy_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_the_committed_rules_load() -> None:
    policy = load_policy(REPO_ROOT / "config" / "rules.yaml")
    codes = [rule.code for rule in policy.rules]
    assert {"CUSTOMER_VELOCITY_1H", "CUSTOMER_SPEND_1H", "NEW_ACCOUNT_HIGH_VALUE"} <= set(codes)
    assert (policy.review_at, policy.block_at) == (0.3, 0.7)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('amount_usd: {">": 500}', 'amount_eur: {">": 500}'), "unknown column 'amount_eur'"),
        (("weight: 0.4", "weight: 1.5"), "weight must be in (0, 1]"),
        (("code: FAST", "code: BIG"), "rule codes repeat"),
        (('{">": 500}', '{"~": 500}'), "bad condition"),
        (("block_at: 0.7", "block_at: 0.2"), "review_at < block_at"),
    ],
)
def test_a_broken_rules_file_is_refused_with_the_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_policy(policy_file(tmp_path, RULES.replace(*change)))


@pytest.mark.spark
def test_rules_and_model_make_the_decision(spark, tmp_path: Path) -> None:
    policy = load_policy(policy_file(tmp_path, RULES))
    df = spark.createDataFrame(
        [
            ("quiet", 20.0, 1, None),
            ("big", 900.0, 1, None),
            ("big-fast", 900.0, 7, None),
            ("unknown", None, None, None),  # missing values never breach a rule
            ("model", 20.0, 1, 0.9),
        ],
        "id string, amount_usd double, customer_tx_count_1h int, model_score double",
    )
    scored = with_risk(with_rule_hits(df, policy), policy).select(
        "id", "reasons", "rule_score", "risk_score", "decision"
    )
    expected = spark.createDataFrame(
        [
            ("quiet", [], 0.0, 0.0, "ALLOW"),
            ("big", ["BIG"], 0.4, 0.4, "REVIEW"),
            ("big-fast", ["BIG", "FAST"], 0.76, 0.76, "BLOCK"),
            ("unknown", [], 0.0, 0.0, "ALLOW"),
            ("model", ["MODEL_HIGH_RISK"], 0.0, 0.45, "REVIEW"),
        ],
        "id string, reasons array<string>, rule_score double, risk_score double, decision string",
    )
    assertDataFrameEqual(scored, expected, checkRowOrder=False)
