"""Clean the master dataset: validate, type, deduplicate, repair, flag outliers.

Every row read ends in exactly one place, so the counts reconcile:
``read = clean + quarantined + duplicates removed``.

- **Invalid** rows (the shared contract, :func:`fraudstack.events.rejection_reason_column`)
  are quarantined with the reason and the row as JSON.
- **Duplicates** (the same ``transaction_id`` / ``chargeback_id`` more than once, e.g.
  from the history and the stream, or a producer retry) keep the earliest copy.
- **Missing values** with a neutral value are repaired (``category``, ``channel`` ->
  ``unknown``) and listed in ``repaired``; others (location, device) stay null, as no
  honest value exists, and the velocity features treat them as absent.
- **Outliers**: an amount far above its category's usual (log10 of the US-dollar
  amount more than ``sigmas`` robust standard deviations, 1.4826 x MAD, above the
  category median) is kept and flagged ``is_outlier``: big purchases are real, and
  fraud hides among them.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fraudstack.events import rejection_reason_column, spark_schema
from fraudstack.features import with_amount_usd

REPAIRS: dict[str, bool | float | int | str] = {"category": "unknown", "channel": "unknown"}
KEYS = {"transaction": "transaction_id", "chargeback": "chargeback_id"}
ROBUST_SIGMA = 1.4826  # MAD to standard deviation for normal data


def with_reason(raw_df: DataFrame, event_type: str) -> DataFrame:
    """Add ``rejection``: why the row breaks the contract, or null. (Not ``reason``: a
    chargeback has a field of that name.)"""
    return raw_df.withColumn("rejection", rejection_reason_column(event_type))


def quarantine_rows(rejected_df: DataFrame, event_type: str) -> DataFrame:
    """Rejected rows as stored: the reason, the row as JSON, where it came from."""
    fields = [name for name in spark_schema(event_type).names]
    return rejected_df.select(
        F.lit(event_type).alias("event_type"),
        F.col("rejection").alias("reason"),
        F.to_json(F.struct(*fields)).alias("raw"),
        "source",
        "event_date",
    )


def typed(valid_df: DataFrame, event_type: str) -> DataFrame:
    """Cast the wire types to the contract's (timestamps, ints), keeping ``event_date`` and
    ``source``."""
    schema = spark_schema(event_type)
    return valid_df.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema], "event_date", "source"
    )


def first_of_each(df: DataFrame, key: str) -> DataFrame:
    """One row per ``key``: the earliest by event time (then history before stream)."""
    order = Window.partitionBy(key).orderBy("event_time", "source")
    return df.withColumn("_n", F.row_number().over(order)).where("_n = 1").drop("_n")


def with_repairs(tx_df: DataFrame) -> DataFrame:
    """Fill :data:`REPAIRS` and list the repaired fields in ``repaired``."""
    flags = [F.when(F.col(name).isNull(), F.lit(name)) for name in REPAIRS]
    return tx_df.withColumn(
        "repaired", F.filter(F.array(*flags), lambda name: name.isNotNull())
    ).fillna(REPAIRS)


def _log_amount() -> Column:
    return F.log10(F.greatest(F.col("amount_usd"), F.lit(0.01)))


def with_outlier_flag(tx_df: DataFrame, sigmas: float) -> DataFrame:
    """Add ``is_outlier``: the amount is ``sigmas`` robust deviations above its category's
    median (on a log scale), computed over ``tx_df`` itself."""
    logged = tx_df.withColumn("_log", _log_amount())
    medians = logged.groupBy("category").agg(F.percentile_approx("_log", 0.5).alias("_median"))
    spread = (
        logged.join(medians, "category")
        .groupBy("category")
        .agg(
            F.first("_median").alias("_median"),
            F.percentile_approx(F.abs(F.col("_log") - F.col("_median")), 0.5).alias("_mad"),
        )
    )
    limit = F.col("_median") + F.lit(sigmas * ROBUST_SIGMA) * F.greatest("_mad", F.lit(0.05))
    return (
        logged.join(F.broadcast(spread), "category", "left")
        .withColumn("is_outlier", F.coalesce(F.col("_log") > limit, F.lit(False)))
        .drop("_log", "_median", "_mad")
    )


def clean_transactions(valid_df: DataFrame, outlier_sigmas: float) -> DataFrame:
    """Valid transaction rows -> the clean table's rows."""
    return (
        typed(valid_df, "transaction")
        .transform(first_of_each, "transaction_id")
        .transform(with_amount_usd)
        .transform(with_repairs)
        .transform(with_outlier_flag, outlier_sigmas)
    )


def clean_chargebacks(valid_df: DataFrame) -> DataFrame:
    """Valid chargeback rows -> the clean table's rows (one per chargeback id)."""
    return typed(valid_df, "chargeback").transform(first_of_each, "chargeback_id")
