"""Entity profiles: how each customer, card, merchant, device and IP behaved over 1/7/30 days.

A profile *as of day d* summarises the days before ``d`` (``d`` itself excluded), so
it holds only what was known when day ``d`` began: transactions from those days and
the fraud chargebacks *filed* on those days (labels arrive late; a chargeback filed
after ``d`` began is not counted, whatever transaction it disputes).

One computation serves both uses. :func:`profiles_as_of` answers "the profile of
these entities as of these days": the batch layer asks it for every entity-day with
activity (point-in-time enrichment of the training set, no peeking at the future)
and for every entity as of the day after the data ends (the latest profile, which is
published to Hive, to Cassandra and, as the speed layer's batch views, to HDFS).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window, WindowSpec
from pyspark.sql import functions as F
from pyspark.sql import types as T

# entity: key column of a clean transaction
PROFILE_ENTITIES: dict[str, str] = {
    "customer": "customer_id",
    "card": "card_token",
    "merchant": "merchant_id",
    "device": "device_id",
    "ip": "ip_token",
}
WINDOW_DAYS: tuple[int, ...] = (1, 7, 30)
EPOCH = "1970-01-01"

DAILY_SCHEMA = T.StructType(
    [
        T.StructField("entity", T.StringType()),
        T.StructField("entity_key", T.StringType()),
        T.StructField("day", T.IntegerType()),  # days since the epoch
        T.StructField("tx_count", T.LongType()),
        T.StructField("amount_sum", T.DoubleType()),
        T.StructField("amount_sumsq", T.DoubleType()),
        T.StructField("countries", T.ArrayType(T.StringType())),
        T.StructField("devices", T.ArrayType(T.StringType())),
        T.StructField("chargebacks", T.LongType()),
    ]
)


def day_number(date: Column) -> Column:
    """Days since 1970-01-01 of a date or ``YYYY-MM-DD`` string column."""
    return F.datediff(F.to_date(date), F.lit(EPOCH).cast("date"))


def day_date(day: Column) -> Column:
    """The date of a day number (inverse of :func:`day_number`)."""
    return F.date_add(F.lit(EPOCH).cast("date"), day)


def _entity_rows(tx_df: DataFrame, carry: list[str]) -> DataFrame:
    entities = F.array(
        *[
            F.struct(F.lit(entity).alias("entity"), F.col(key).alias("entity_key"))
            for entity, key in PROFILE_ENTITIES.items()
        ]
    )
    return (
        tx_df.select(F.explode(entities).alias("e"), *carry)
        .where(F.col("e.entity_key").isNotNull())
        .select("e.entity", "e.entity_key", *carry)
    )


def daily_activity(clean_df: DataFrame, fraud_chargebacks_df: DataFrame) -> DataFrame:
    """One row per entity and day with activity or a fraud chargeback filed that day.

    Args:
        clean_df: clean transactions (``transaction_id``, ``event_date``, ``amount_usd``,
            ``country``, ``device_id`` and the keys of :data:`PROFILE_ENTITIES`).
        fraud_chargebacks_df: fraud chargebacks: ``transaction_id`` (the disputed
            transaction, which names the entities) and ``filed_date``.

    Returns:
        Rows of :data:`DAILY_SCHEMA`.
    """
    entity_tx = _entity_rows(
        clean_df.withColumn("day", day_number(F.col("event_date"))),
        ["transaction_id", "day", "amount_usd", "country", "device_id"],
    )
    activity = entity_tx.groupBy("entity", "entity_key", "day").agg(
        F.count(F.lit(1)).alias("tx_count"),
        F.sum("amount_usd").alias("amount_sum"),
        F.sum(F.col("amount_usd") * F.col("amount_usd")).alias("amount_sumsq"),
        F.collect_set("country").alias("countries"),
        F.collect_set("device_id").alias("devices"),
    )
    filed = (
        fraud_chargebacks_df.select(
            "transaction_id", day_number(F.col("filed_date")).alias("filed_day")
        )
        .dropDuplicates(["transaction_id"])
        .join(entity_tx.select("transaction_id", "entity", "entity_key"), "transaction_id")
        .groupBy("entity", "entity_key", F.col("filed_day").alias("day"))
        .agg(F.count(F.lit(1)).alias("chargebacks"))
    )
    empty = F.array().cast("array<string>")
    return activity.join(filed, ["entity", "entity_key", "day"], "full").select(
        "entity",
        "entity_key",
        F.col("day").cast("int").alias("day"),
        F.coalesce("tx_count", F.lit(0)).cast("long").alias("tx_count"),
        F.coalesce("amount_sum", F.lit(0.0)).alias("amount_sum"),
        F.coalesce("amount_sumsq", F.lit(0.0)).alias("amount_sumsq"),
        F.coalesce("countries", empty).alias("countries"),
        F.coalesce("devices", empty).alias("devices"),
        F.coalesce("chargebacks", F.lit(0)).cast("long").alias("chargebacks"),
    )


def fraud_chargebacks(chargebacks_df: DataFrame) -> DataFrame:
    """Fraud chargebacks with the day each was filed (non-fraud disputes are not labels)."""
    return chargebacks_df.where(F.col("is_fraud")).select(
        "transaction_id", F.to_date("event_time").alias("filed_date")
    )


def _window_columns(days: int, window: WindowSpec) -> list[Column]:
    count = F.sum("tx_count").over(window)
    amount = F.sum("amount_sum").over(window)
    sumsq = F.sum("amount_sumsq").over(window)
    frauds = F.sum("chargebacks").over(window)
    avg = amount / count
    distinct = lambda name: F.size(F.array_distinct(F.flatten(F.collect_list(name).over(window))))  # noqa: E731
    return [
        F.coalesce(count, F.lit(0)).cast("int").alias(f"tx_count_{days}d"),
        F.round(F.coalesce(amount, F.lit(0.0)), 2).alias(f"amount_usd_{days}d"),
        F.round(F.when(count > 0, avg), 2).alias(f"avg_amount_usd_{days}d"),
        F.round(
            F.when(count > 1, F.sqrt(F.greatest(sumsq / count - avg * avg, F.lit(0.0)))), 2
        ).alias(f"std_amount_usd_{days}d"),
        distinct("countries").alias(f"countries_{days}d"),
        distinct("devices").alias(f"devices_{days}d"),
        F.coalesce(frauds, F.lit(0)).cast("int").alias(f"chargebacks_{days}d"),
        F.round(F.when(count > 0, F.coalesce(frauds, F.lit(0)) / count), 4).alias(
            f"chargeback_rate_{days}d"
        ),
    ]


PROFILE_METRICS: tuple[str, ...] = tuple(
    f"{name}_{days}d"
    for days in WINDOW_DAYS
    for name in (
        "tx_count",
        "amount_usd",
        "avg_amount_usd",
        "std_amount_usd",
        "countries",
        "devices",
        "chargebacks",
        "chargeback_rate",
    )
)


def profiles_as_of(daily_df: DataFrame, queries_df: DataFrame) -> DataFrame:
    """Profiles of the queried entities as of the start of the queried days.

    Args:
        daily_df: :func:`daily_activity` rows.
        queries_df: ``entity``, ``entity_key``, ``day`` (day number): the profiles wanted.

    Returns:
        One row per distinct query: ``entity``, ``entity_key``, ``profile_date`` (the
        query day as a date) and :data:`PROFILE_METRICS`, over the days before it.
    """
    questions = (
        queries_df.select("entity", "entity_key", F.col("day").cast("int").alias("day"))
        .distinct()
        .select(
            "entity",
            "entity_key",
            "day",
            F.lit(0).cast("long").alias("tx_count"),
            F.lit(0.0).alias("amount_sum"),
            F.lit(0.0).alias("amount_sumsq"),
            F.array().cast("array<string>").alias("countries"),
            F.array().cast("array<string>").alias("devices"),
            F.lit(0).cast("long").alias("chargebacks"),
            F.lit(True).alias("is_query"),
        )
    )
    rows = daily_df.select(*DAILY_SCHEMA.names, F.lit(False).alias("is_query")).unionByName(
        questions
    )
    ordered = Window.partitionBy("entity", "entity_key").orderBy("day")
    columns = [
        column
        for days in WINDOW_DAYS
        for column in _window_columns(days, ordered.rangeBetween(-days, -1))
    ]
    return (
        rows.select("entity", "entity_key", "day", "is_query", *columns)
        .where("is_query")
        .select(
            "entity", "entity_key", day_date(F.col("day")).alias("profile_date"), *PROFILE_METRICS
        )
    )


def latest_queries(daily_df: DataFrame, as_of_day: int) -> DataFrame:
    """Every entity active within the longest window before ``as_of_day``, asked as of it."""
    oldest = as_of_day - max(WINDOW_DAYS)
    return (
        daily_df.where((F.col("day") >= oldest) & (F.col("day") < as_of_day))
        .select("entity", "entity_key")
        .distinct()
        .withColumn("day", F.lit(as_of_day))
    )


def customer_view(profiles_df: DataFrame, as_of: str | None = None) -> DataFrame:
    """The speed layer's ``customer_profiles`` view from customer profiles."""
    return profiles_df.where(F.col("entity") == "customer").select(
        F.col("entity_key").alias("customer_id"),
        *([F.col("profile_date").cast("string").alias(as_of)] if as_of else []),
        "tx_count_30d",
        "avg_amount_usd_30d",
        "chargebacks_30d",
    )


def merchant_view(profiles_df: DataFrame, as_of: str | None = None) -> DataFrame:
    """The speed layer's ``merchant_risk`` view from merchant profiles."""
    return profiles_df.where(F.col("entity") == "merchant").select(
        F.col("entity_key").alias("merchant_id"),
        *([F.col("profile_date").cast("string").alias(as_of)] if as_of else []),
        "tx_count_30d",
        F.col("chargeback_rate_30d").cast("double").alias("fraud_rate_30d"),
    )
