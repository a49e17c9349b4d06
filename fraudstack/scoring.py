"""Risk scoring: rules from YAML plus the promoted model, combined into one decision.

The rule set and the policy live in ``config/rules.yaml`` (see the comments there).
Both layers use these functions: the speed layer scores every transaction, the
batch layer evaluates rules and model on labelled history with the same code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import yaml
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraudstack.features import WIDE_FEATURES
from fraudstack.views import ENRICHED_COLUMNS

DECISIONS = ("ALLOW", "REVIEW", "BLOCK")
MODEL_REASON = "MODEL_HIGH_RISK"
# transaction fields a rule or the model may read besides features and enrichment
TRANSACTION_INPUTS = ("amount_usd", "account_age_days", "quantity")
MODEL_FEATURES: tuple[str, ...] = (*TRANSACTION_INPUTS, *WIDE_FEATURES, *ENRICHED_COLUMNS)

_OPERATORS: dict[str, Callable[[Column, Any], Column]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


class PolicyError(ValueError):
    """The rules file is not a valid policy."""


@dataclass(frozen=True)
class Rule:
    """A named condition on a scored transaction's columns, with its weight."""

    code: str
    description: str
    conditions: tuple[tuple[str, str, float], ...]  # (column, operator, threshold)
    weight: float

    def holds(self) -> Column:
        """True when every condition holds; a null value never holds."""
        tests = [_OPERATORS[op](F.col(column), value) for column, op, value in self.conditions]
        return F.coalesce(reduce(operator.and_, tests), F.lit(False))


@dataclass(frozen=True)
class Policy:
    """The rules, their combination with the model, and the decision thresholds."""

    rules: tuple[Rule, ...]
    review_at: float
    block_at: float
    model_weight: float
    model_reason_at: float


def _rule(entry: dict[str, Any], known: frozenset[str]) -> Rule:
    code = entry.get("code")
    if not code or not isinstance(entry.get("when"), dict) or not entry["when"]:
        raise PolicyError(f"rule {entry!r} needs a code and a non-empty `when`")
    conditions = []
    for column, test in entry["when"].items():
        if column not in known:
            raise PolicyError(f"rule {code}: unknown column {column!r}")
        if not isinstance(test, dict) or len(test) != 1:
            raise PolicyError(f"rule {code}: condition on {column} must be one {{op: value}}")
        [(op, value)] = test.items()
        if op not in _OPERATORS or not isinstance(value, int | float):
            raise PolicyError(f"rule {code}: bad condition {column} {op} {value!r}")
        conditions.append((column, op, float(value)))
    weight = float(entry.get("weight", 0))
    if not 0 < weight <= 1:
        raise PolicyError(f"rule {code}: weight must be in (0, 1], got {weight}")
    return Rule(code, str(entry.get("description", "")), tuple(conditions), weight)


def load_policy(path: Path, columns: Iterable[str] = MODEL_FEATURES) -> Policy:
    """Read and check a rules file.

    Args:
        path: the YAML file (``config/rules.yaml``).
        columns: the columns a rule may name.

    Raises:
        PolicyError: a rule names an unknown column, has a bad operator or weight,
            a code repeats, or the thresholds are out of order.
    """
    data = yaml.safe_load(path.read_text()) or {}
    known = frozenset(columns)
    rules = tuple(_rule(entry, known) for entry in data.get("rules") or [])
    codes = [rule.code for rule in rules]
    if len(set(codes)) != len(codes):
        raise PolicyError(f"{path}: rule codes repeat: {sorted(codes)}")
    decision, model = data.get("decision", {}), data.get("model", {})
    policy = Policy(
        rules=rules,
        review_at=float(decision.get("review_at", 0.3)),
        block_at=float(decision.get("block_at", 0.7)),
        model_weight=float(model.get("weight", 0.7)),
        model_reason_at=float(model.get("reason_at", 0.5)),
    )
    if not 0 < policy.review_at < policy.block_at <= 1:
        raise PolicyError(f"{path}: need 0 < review_at < block_at <= 1")
    if policy.model_weight * policy.model_reason_at > policy.review_at:
        raise PolicyError(
            f"{path}: model.reason_at must be at most review_at / model.weight "
            f"({policy.review_at / policy.model_weight:.3f}), or a transaction the model "
            "alone flags would have no reason code"
        )
    return policy


def with_rule_hits(df: DataFrame, policy: Policy) -> DataFrame:
    """Add ``rule_reasons`` (codes of the rules that hold, in file order) and ``rule_score``."""
    hits = [F.when(rule.holds(), F.lit(rule.code)) for rule in policy.rules]
    misses = [F.when(rule.holds(), 1.0 - rule.weight).otherwise(1.0) for rule in policy.rules]
    return df.withColumn(
        "rule_reasons", F.filter(F.array(*hits), lambda code: code.isNotNull())
    ).withColumn("rule_score", F.round(1.0 - reduce(operator.mul, misses, F.lit(1.0)), 4))


def with_risk(df: DataFrame, policy: Policy) -> DataFrame:
    """Combine ``rule_score`` and ``model_score`` (null without a model) into a decision.

    Adds ``risk_score`` (0-1), ``decision`` (ALLOW / REVIEW / BLOCK) and ``reasons``:
    the rule codes, plus ``MODEL_HIGH_RISK`` when the model's probability reaches
    ``model.reason_at``.
    """
    model_part = policy.model_weight * F.coalesce(F.col("model_score"), F.lit(0.0))
    risk = F.round(1.0 - (1.0 - F.col("rule_score")) * (1.0 - model_part), 4)
    model_reason = F.when(
        F.col("model_score") >= policy.model_reason_at, F.array(F.lit(MODEL_REASON))
    )
    return (
        df.withColumn("risk_score", risk)
        .withColumn(
            "decision",
            F.when(F.col("risk_score") >= policy.block_at, "BLOCK")
            .when(F.col("risk_score") >= policy.review_at, "REVIEW")
            .otherwise("ALLOW"),
        )
        .withColumn(
            "reasons",
            F.concat(
                F.col("rule_reasons"), F.coalesce(model_reason, F.array().cast("array<string>"))
            ),
        )
    )


def model_input(df: DataFrame) -> DataFrame:
    """The model's inputs with missing values made neutral (no entity, no history: 0)."""
    return df.fillna(0, subset=list(MODEL_FEATURES))


def with_model_score(df: DataFrame, model: Any | None, version: str | None) -> DataFrame:
    """Add ``model_score`` (p(fraud)) and ``model_version``; null columns without a model.

    Args:
        df: transactions with every column of :data:`MODEL_FEATURES`.
        model: a fitted Spark ML ``PipelineModel`` whose stages read
            :data:`MODEL_FEATURES` and write ``probability``, or None.
        version: the registry version of ``model``.
    """
    if model is None:
        return df.withColumn("model_score", F.lit(None).cast("double")).withColumn(
            "model_version", F.lit(None).cast("string")
        )
    from pyspark.ml.functions import vector_to_array

    inputs = model_input(df.select("transaction_id", *MODEL_FEATURES))
    scores = model.transform(inputs).select(
        "transaction_id",
        F.round(vector_to_array(F.col("probability"))[1], 4).alias("model_score"),
    )
    return df.join(scores, "transaction_id", "left").withColumn("model_version", F.lit(version))
