"""Orders and stock in the batch layer: the order funnel, fulfilment times and demand profiles.

From the master dataset's ``order_status`` and ``inventory`` events (history and the
speed layer's archive):

- ``order_status_clean`` / ``inventory_clean``: valid events, one per ``event_id``;
  invalid ones go to ``transactions_quarantine`` with the reason, like transactions.
- ``order_funnel_daily``: per day orders were created, how many reached each status of
  the lifecycle, were cancelled or refunded, and took an invalid transition
  (:mod:`fraudstack.orders`, the rules the speed layer flags with).
- ``fulfilment_times``: per creation day and stage (created → confirmed, …, created →
  delivered), the hours orders spent: average, median, 90th percentile, maximum.
- ``demand_profiles``: per product and hour of the week (0 = Monday 00:00-01:00 UTC),
  the units sold an hour on average over the weeks of the range. Published to Hive and,
  as one row per product with all 168 hours, to Cassandra, where the speed layer's
  stock monitor reads it to warn before a stock-out the current sales rate alone would
  not foresee.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from batch import clean
from fraudstack.orders import FIRST_STATUS, LIFECYCLE, TRANSITIONS
from storage.cassandra_writer import CassandraTarget, write_dataframe

if TYPE_CHECKING:
    from fraudstack.config import Config

KEYS = {"order_status": "event_id", "inventory": "event_id"}
HOURS_OF_WEEK = 168
STAGES = {
    "created_to_confirmed": ("created", "confirmed"),
    "confirmed_to_paid": ("confirmed", "paid"),
    "paid_to_shipped": ("paid", "shipped"),
    "shipped_to_delivered": ("shipped", "delivered"),
    "created_to_delivered": ("created", "delivered"),
}
DEMAND_COLUMNS = ("product_id", "merchant_id", "units_per_hour", "weeks", "profile_date", "version")
DEMAND_TTL = 35 * 86_400  # a product unsold for longer has no demand to speak of


def clean_events(valid_df: DataFrame, event_type: str) -> DataFrame:
    """Valid rows -> typed, one per ``event_id`` (the earliest copy)."""
    return clean.typed(valid_df, event_type).transform(clean.first_of_each, KEYS[event_type])


def hour_of_week(time: Column) -> Column:
    """0 for Monday 00:00-00:59 UTC … 167 for Sunday 23:00-23:59."""
    return ((F.dayofweek(time) + 5) % 7) * 24 + F.hour(time)


def with_transition_flags(status_df: DataFrame) -> DataFrame:
    """Add ``previous`` (the order's status before, by time) and ``invalid`` (the change
    breaks :data:`fraudstack.orders.TRANSITIONS`)."""
    allowed = [f"{a}>{b}" for a, nexts in TRANSITIONS.items() for b in sorted(nexts)]
    order = Window.partitionBy("order_id").orderBy("event_time", "event_id")
    previous = F.lag("status").over(order)
    invalid = F.when(previous.isNull(), F.col("status") != FIRST_STATUS).otherwise(
        ~F.concat_ws(">", previous, F.col("status")).isin(allowed)
    )
    return status_df.withColumn("previous", previous).withColumn("invalid", invalid)


def orders_summary(status_df: DataFrame) -> DataFrame:
    """One row per order: when it first entered each status, its creation day, and how
    many invalid transitions it took."""
    flagged = with_transition_flags(status_df)
    statuses = [*LIFECYCLE, "cancelled", "refunded"]
    firsts = [
        F.min(F.when(F.col("status") == status, F.col("event_time"))).alias(f"at_{status}")
        for status in statuses
    ]
    return (
        flagged.groupBy("order_id")
        .agg(
            *firsts,
            F.min("event_time").alias("first_seen"),
            F.sum(F.col("invalid").cast("long")).alias("invalid_transitions"),
            F.max(F.when(F.col("status") == FIRST_STATUS, F.col("amount"))).alias("amount"),
        )
        .withColumn(
            "event_date", F.date_format(F.coalesce("at_created", "first_seen"), "yyyy-MM-dd")
        )
    )


def funnel_daily(summary_df: DataFrame) -> DataFrame:
    """Per creation day: orders reaching each status, invalid transitions, rates."""
    reached = {
        f"orders_{status}": F.count(F.col(f"at_{status}"))
        for status in [*LIFECYCLE, "cancelled", "refunded"]
    }
    counts = summary_df.groupBy("event_date").agg(
        *[column.alias(name) for name, column in reached.items()],
        F.sum("invalid_transitions").cast("long").alias("invalid_transitions"),
        F.coalesce(F.sum("amount"), F.lit(0.0)).alias("amount_created"),
    )

    def rate(name: str) -> Column:
        created = F.col("orders_created")
        return F.when(created > 0, F.col(name) / created).otherwise(F.lit(0.0))

    return (
        counts.withColumn("paid_rate", rate("orders_paid"))
        .withColumn("delivered_rate", rate("orders_delivered"))
        .withColumn("cancel_rate", rate("orders_cancelled"))
        .withColumn("refund_rate", rate("orders_refunded"))
    )


def fulfilment_times(summary_df: DataFrame) -> DataFrame:
    """Per creation day and stage: orders that went through it and the hours it took."""
    stages = F.explode(
        F.array(
            *[
                F.struct(
                    F.lit(stage).alias("stage"),
                    ((F.unix_micros(f"at_{end}") - F.unix_micros(f"at_{begin}")) / 3.6e9).alias(
                        "hours"
                    ),
                )
                for stage, (begin, end) in STAGES.items()
            ]
        )
    )
    durations = (
        summary_df.select("event_date", stages.alias("s"))
        .select("event_date", "s.stage", "s.hours")
        .where(F.col("hours").isNotNull() & (F.col("hours") >= 0))
    )
    return durations.groupBy("event_date", "stage").agg(
        F.count(F.lit(1)).alias("orders"),
        F.avg("hours").alias("avg_hours"),
        F.percentile_approx("hours", 0.5).alias("p50_hours"),
        F.percentile_approx("hours", 0.9).alias("p90_hours"),
        F.max("hours").alias("max_hours"),
    )


def demand_profiles(inventory_df: DataFrame, first: dt.date, last: dt.date) -> DataFrame:
    """Per product and hour of the week with sales, the average units sold an hour over
    the ``weeks`` the range [first, last] spans; hours without sales are absent (0)."""
    weeks = ((last - first).days + 1) / 7.0
    sales = inventory_df.where(F.col("change_type") == "sale")
    return (
        sales.withColumn("hour_of_week", hour_of_week(F.col("event_time")))
        .groupBy("product_id", "hour_of_week")
        .agg(
            F.first("merchant_id", ignorenulls=True).alias("merchant_id"),
            (F.sum(-F.col("quantity_change")) / F.lit(weeks)).alias("units_per_hour"),
        )
        .withColumn("weeks", F.lit(weeks))
        .select("product_id", "merchant_id", "hour_of_week", "units_per_hour", "weeks")
    )


def demand_rows(profiles_df: DataFrame, profile_date: str, version: str) -> DataFrame:
    """One Cassandra row per product: ``units_per_hour`` as a list of all 168 hours."""
    by_hour = F.map_from_entries(
        F.collect_list(F.struct(F.col("hour_of_week"), F.col("units_per_hour")))
    )
    hours = F.transform(
        F.sequence(F.lit(0), F.lit(HOURS_OF_WEEK - 1)),
        lambda hour: F.coalesce(F.element_at(F.col("by_hour"), hour), F.lit(0.0)),
    )
    return (
        profiles_df.groupBy("product_id")
        .agg(
            by_hour.alias("by_hour"),
            F.first("merchant_id", ignorenulls=True).alias("merchant_id"),
            F.first("weeks").alias("weeks"),
        )
        .select(
            "product_id",
            "merchant_id",
            hours.alias("units_per_hour"),
            "weeks",
            F.to_date(F.lit(profile_date)).alias("profile_date"),
            F.lit(version).alias("version"),
        )
    )


def publish_demand(config: Config, profiles_df: DataFrame, profile_date: str) -> dict[str, Any]:
    """The demand profiles to Cassandra (``demand_profiles``), the speed layer's copy."""
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    host, port = config.address("cassandra").split(":")
    target = CassandraTarget(
        host, int(port), config.keyspace, "demand_profiles", DEMAND_COLUMNS,
        ttl_seconds=DEMAND_TTL, consistency=config.raw["cassandra"].get("write_consistency"),
    )  # fmt: skip
    rows = demand_rows(profiles_df, profile_date, version).cache()
    write_dataframe(rows, target)
    products = int(rows.count())
    rows.unpersist()
    return {"products": products, "cassandra_version": version}
