"""Analytics tables over the clean, labelled transactions (what Superset's dashboards read).

Fraud counts use the labels known when the batch runs (fraud chargebacks filed so
far): recent days' fraud rates rise as their chargebacks arrive, and a re-run
replaces them with the newer figures.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def _dimensions() -> dict[str, Column]:
    return {
        "category": F.col("category"),
        "payment_method": F.col("payment_method"),
        "country": F.coalesce("country", F.lit("unknown")),
        "channel": F.col("channel"),
        # the device is a fingerprint: what analysts compare is having one or not
        "device": F.when(F.col("device_id").isNull(), "no device").otherwise("device known"),
    }


def _money(column: str) -> Column:
    return F.round(F.sum(column), 2)


def _fraud_sums() -> list[Column]:
    fraud = F.col("is_fraud")
    return [
        F.sum(fraud.cast("int")).alias("frauds"),
        F.round(F.sum(F.when(fraud, F.col("amount_usd")).otherwise(0.0)), 2).alias(
            "fraud_amount_usd"
        ),
    ]


def category_hourly(labelled_df: DataFrame) -> DataFrame:
    """Per day, hour of day and category: sales and fraud."""
    return labelled_df.groupBy("event_date", F.hour("event_time").alias("hour"), "category").agg(
        F.count(F.lit(1)).alias("transactions"),
        _money("amount_usd").alias("amount_usd"),
        F.round(F.avg("amount_usd"), 2).alias("avg_amount_usd"),
        *_fraud_sums(),
    )


def sales_daily(labelled_df: DataFrame) -> DataFrame:
    """Per day and channel: orders, revenue, distinct buyers and sellers, basket size."""
    return labelled_df.groupBy("event_date", "channel").agg(
        F.count(F.lit(1)).alias("orders"),
        _money("amount_usd").alias("revenue_usd"),
        F.countDistinct("customer_id").alias("customers"),
        F.countDistinct("merchant_id").alias("merchants"),
        F.round(F.avg("amount_usd"), 2).alias("avg_basket_usd"),
        F.sum(F.coalesce("quantity", F.lit(1))).alias("items"),
        *_fraud_sums(),
    )


def fraud_rates(labelled_df: DataFrame) -> DataFrame:
    """Per day, dimension (category, payment method, country, channel, device) and value:
    transactions, frauds, fraud rate and the money at risk."""
    dimensions = _dimensions()
    exploded = labelled_df.select(
        "event_date",
        "amount_usd",
        "is_fraud",
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(name).alias("dimension"), column.alias("value"))
                    for name, column in dimensions.items()
                ]
            )
        ).alias("d"),
    )
    return (
        exploded.groupBy(
            "event_date", F.col("d.dimension").alias("dimension"), F.col("d.value").alias("value")
        )
        .agg(F.count(F.lit(1)).alias("transactions"), *_fraud_sums())
        .withColumn("fraud_rate", F.round(F.col("frauds") / F.col("transactions"), 5))
    )
