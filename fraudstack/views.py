"""Batch views the speed layer reads: their schemas and the enrichment join.

The batch layer publishes each view as a new version (``storage/batch_views.py``);
the speed layer joins the current versions onto every micro-batch. Before the batch
layer has published anything the views are empty and the enrichment columns are
null, which no rule treats as a risk and the model input fills with neutral values.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

CUSTOMER_PROFILES = "customer_profiles"
MERCHANT_RISK = "merchant_risk"

VIEW_SCHEMAS: dict[str, T.StructType] = {
    CUSTOMER_PROFILES: T.StructType(
        [
            T.StructField("customer_id", T.StringType(), False),
            T.StructField("tx_count_30d", T.IntegerType()),
            T.StructField("avg_amount_usd_30d", T.DoubleType()),
            T.StructField("chargebacks_30d", T.IntegerType()),
        ]
    ),
    MERCHANT_RISK: T.StructType(
        [
            T.StructField("merchant_id", T.StringType(), False),
            T.StructField("tx_count_30d", T.IntegerType()),
            T.StructField("fraud_rate_30d", T.DoubleType()),
        ]
    ),
}

ENRICHED_COLUMNS: tuple[str, ...] = (
    "amount_to_customer_avg",
    "customer_chargebacks_30d",
    "merchant_fraud_rate_30d",
)


def with_profiles(
    tx_df: DataFrame,
    customers_df: DataFrame,
    merchants_df: DataFrame,
    as_of: str | None = None,
) -> DataFrame:
    """Add :data:`ENRICHED_COLUMNS` from the customer-profile and merchant-risk views.

    Args:
        tx_df: transactions with ``customer_id``, ``merchant_id`` and ``amount_usd``.
        customers_df: the customer-profile view (may be empty).
        merchants_df: the merchant-risk view (may be empty).
        as_of: for point-in-time history (the batch layer's training set): a column of
            ``tx_df`` and of both views (e.g. ``event_date``) joined on as well, so each
            transaction sees the profile as it was then. None joins the latest views
            (the speed layer), broadcast.

    Returns:
        ``tx_df`` with the enrichment columns; null where a view has no row.
    """
    at = [as_of] if as_of else []
    customers = customers_df.select(
        "customer_id",
        *at,
        F.col("avg_amount_usd_30d").alias("_avg_usd"),
        F.col("chargebacks_30d").alias("customer_chargebacks_30d"),
    )
    merchants = merchants_df.select(
        "merchant_id", *at, F.col("fraud_rate_30d").alias("merchant_fraud_rate_30d")
    )
    if not as_of:
        customers, merchants = F.broadcast(customers), F.broadcast(merchants)
    return (
        tx_df.join(customers, ["customer_id", *at], "left")
        .join(merchants, ["merchant_id", *at], "left")
        .withColumn(
            "amount_to_customer_avg",
            F.when(F.col("_avg_usd") > 0, F.round(F.col("amount_usd") / F.col("_avg_usd"), 3)),
        )
        .drop("_avg_usd")
    )
