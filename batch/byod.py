"""Bring your own data: train, evaluate and score on a labelled CSV or Parquet file.

The file goes through the same feature pipeline, split protocol and evaluation as
the master dataset. Columns (names as below; any order; extra columns are ignored):

| column | type | needed |
|---|---|---|
| transaction_id | string | always |
| event_time | timestamp (ISO-8601) | always |
| customer_id | string | always |
| merchant_id | string | always |
| amount | number | always |
| is_fraud | boolean (true/false/1/0) | to train |
| currency | ISO 4217 | no (USD) |
| card_token, device_id, ip_token | string | no (features of that entity stay empty) |
| country, lat, lon | string, number, number | no (geography features stay empty) |
| account_age_days, quantity | integer | no |
| category, channel, payment_method | string | no |
| label_time | timestamp | no: when the fraud became known (default: event_time + the label delay) |
| scenario | string | no: the fraud type, for recall per scenario |
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fraudstack.features import with_amount_usd

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REQUIRED = ("transaction_id", "event_time", "customer_id", "merchant_id", "amount")
COLUMNS: dict[str, T.DataType] = {
    "transaction_id": T.StringType(),
    "event_time": T.TimestampType(),
    "customer_id": T.StringType(),
    "merchant_id": T.StringType(),
    "amount": T.DoubleType(),
    "is_fraud": T.BooleanType(),
    "currency": T.StringType(),
    "payment_method": T.StringType(),
    "card_token": T.StringType(),
    "device_id": T.StringType(),
    "ip_token": T.StringType(),
    "country": T.StringType(),
    "lat": T.DoubleType(),
    "lon": T.DoubleType(),
    "account_age_days": T.IntegerType(),
    "quantity": T.IntegerType(),
    "category": T.StringType(),
    "channel": T.StringType(),
    "label_time": T.TimestampType(),
    "scenario": T.StringType(),
}


class InputError(ValueError):
    """The file cannot be used; the message says what to change."""


def read_input(spark: SparkSession, path: str) -> DataFrame:
    """Read a CSV (header row, every value read as text, then cast) or Parquet file.

    A path without a scheme is a local file; ``hdfs://...`` and other URIs are read as given.
    """
    uri = as_uri(path)
    if uri.startswith("file:") and not Path(path).exists():
        raise InputError(f"{path}: no such file or folder")
    if path.endswith((".csv", ".csv.gz")):
        return spark.read.option("header", True).option("inferSchema", False).csv(uri)
    return spark.read.parquet(uri)


def as_uri(path: str) -> str:
    """A local path as a ``file://`` URI (Spark's default file system is HDFS)."""
    return path if "://" in path else Path(path).resolve().as_uri()


def _cast(df: DataFrame, name: str, kind: T.DataType) -> Column:
    if name not in df.columns:
        return F.lit(None).cast(kind).alias(name)
    if isinstance(kind, T.BooleanType):
        text = F.lower(F.trim(F.col(name).cast("string")))
        return (
            F.when(text.isin("true", "1", "yes", "t"), True)
            .when(text.isin("false", "0", "no", "f"), False)
            .alias(name)
        )
    return F.col(name).try_cast(kind).alias(name)  # a bad value is a row problem, not a crash


def conform(df: DataFrame, need_labels: bool) -> DataFrame:
    """The file's rows as typed transactions, with ``amount_usd`` and ``event_date``.

    Adds ``problem``: why a row cannot be used (a required value missing or not
    parsable), or null.

    Raises:
        InputError: a required column is absent.
    """
    needed = [*REQUIRED, *(["is_fraud"] if need_labels else [])]
    absent = [name for name in needed if name not in df.columns]
    if absent:
        raise InputError(f"the file lacks column(s) {absent}; needed: {needed}")
    typed = df.select(*[_cast(df, name, kind) for name, kind in COLUMNS.items()])
    problems = [
        F.when(
            F.col(name).isNull(), F.lit(f"{name} missing or not a {COLUMNS[name].simpleString()}")
        )
        for name in needed
    ]
    return (
        typed.withColumn("currency", F.coalesce("currency", F.lit("USD")))
        .withColumn("problem", F.coalesce(*problems))
        .transform(with_amount_usd)
        .withColumn("event_date", F.date_format("event_time", "yyyy-MM-dd"))
    )


def labelled(conformed_df: DataFrame, label_delay_days: int) -> tuple[DataFrame, DataFrame]:
    """Usable rows as the training pipeline's labelled transactions, and the frauds as
    chargebacks filed at ``label_time`` (default: ``label_delay_days`` after the payment)."""
    usable = conformed_df.where(F.col("problem").isNull()).dropDuplicates(["transaction_id"])
    known = F.coalesce(
        "label_time", F.col("event_time") + F.make_interval(days=F.lit(label_delay_days))
    )
    labelled_df = (
        usable.withColumn("is_fraud", F.coalesce("is_fraud", F.lit(False)))
        .withColumn("label_time", F.when(F.col("is_fraud"), known))
        .withColumn("scenario", F.when(F.col("is_fraud"), F.coalesce("scenario", F.lit("unknown"))))
    )
    chargebacks_df = labelled_df.where("is_fraud").select(
        "transaction_id", F.col("label_time").alias("event_time"), F.lit(True).alias("is_fraud")
    )
    return labelled_df, chargebacks_df


def write_scores(scored_df: DataFrame, output: str) -> None:
    """Write one scored row per transaction, as CSV (reasons ``;``-joined) or Parquet."""
    columns = [
        "transaction_id",
        "event_time",
        "customer_id",
        "merchant_id",
        "amount",
        "currency",
        "rule_score",
        "model_score",
        "model_version",
        "risk_score",
        "decision",
    ]
    if output.endswith(".csv"):
        scored_df.select(*columns, F.array_join("reasons", ";").alias("reasons")).coalesce(
            1
        ).write.mode("overwrite").option("header", True).csv(as_uri(output))
    else:
        scored_df.select(*columns, "reasons").write.mode("overwrite").parquet(as_uri(output))
