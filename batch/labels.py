"""Labels from chargebacks: a transaction is fraud once a fraud chargeback is filed for it."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def with_labels(
    tx_df: DataFrame, chargebacks_df: DataFrame, known_by: dt.datetime | Column | None = None
) -> DataFrame:
    """Add ``is_fraud``, ``label_time`` (when the first fraud chargeback was filed) and
    ``scenario`` (its reason).

    Args:
        tx_df: transactions with ``transaction_id``.
        chargebacks_df: chargebacks (``transaction_id``, ``event_time`` = filed, ``is_fraud``,
            ``reason``). A dispute that is not fraud is not a fraud label.
        known_by: count only chargebacks filed before this time (None: all of them).
    """
    frauds = chargebacks_df.where(F.col("is_fraud"))
    if known_by is not None:
        cut = known_by if isinstance(known_by, Column) else F.lit(known_by)
        frauds = frauds.where(F.col("event_time") < cut)
    first = frauds.groupBy("transaction_id").agg(
        F.min_by("reason", "event_time").alias("scenario"),
        F.min("event_time").alias("label_time"),
    )
    return (
        tx_df.drop("is_fraud", "label_time", "scenario")
        .join(first, "transaction_id", "left")
        .withColumn("is_fraud", F.col("label_time").isNotNull())
    )
