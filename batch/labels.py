"""Labels: a transaction is fraud once a fraud chargeback is filed for it, or an analyst
marks it fraud on the live-alert screen (whichever comes first)."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

ANALYST_REASON = "analyst_verdict"
LABEL_COLUMNS = ("transaction_id", "event_time", "is_fraud", "reason")  # what with_labels reads

# `analyst_labels` rows as the screen writes them (storage/cassandra/schema.cql), by day given
ANALYST_LABEL_SCHEMA = StructType([
    StructField("transaction_id", StringType(), False),
    StructField("labelled_at", TimestampType(), False),
    StructField("verdict", StringType(), True),
    StructField("analyst", StringType(), True),
    StructField("customer_id", StringType(), True),
    StructField("event_time", TimestampType(), True),
])  # fmt: skip


def analyst_fraud_labels(verdicts_df: DataFrame) -> DataFrame:
    """Analysts' verdicts as fraud labels shaped like chargebacks (``LABEL_COLUMNS``).

    The newest verdict on a transaction wins (an analyst may change their mind); only a
    ``fraud`` verdict is a label, filed when it was given (``labelled_at``), so the label
    delay applies to it as to a chargeback. A ``not_fraud`` verdict does not undo a
    fraud chargeback: the card holder's dispute is the stronger evidence.
    """
    newest = Window.partitionBy("transaction_id").orderBy(F.col("labelled_at").desc())
    return (
        verdicts_df.where(F.col("transaction_id").isNotNull() & F.col("labelled_at").isNotNull())
        .withColumn("_newest", F.row_number().over(newest))
        .where((F.col("_newest") == 1) & (F.col("verdict") == "fraud"))
        .select(
            "transaction_id",
            F.col("labelled_at").alias("event_time"),
            F.lit(True).alias("is_fraud"),
            F.lit(ANALYST_REASON).alias("reason"),
        )
    )


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
