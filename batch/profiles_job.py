"""Publish the latest entity profiles: to Hive (history), Cassandra (lookups) and the
speed layer's batch views on HDFS (enrichment), all from one computation."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from batch.profiles import (
    PROFILE_METRICS,
    customer_view,
    daily_activity,
    day_number,
    fraud_chargebacks,
    latest_queries,
    merchant_view,
    profiles_as_of,
)
from fraudstack.views import CUSTOMER_PROFILES, MERCHANT_RISK
from storage import batch_views
from storage.cassandra_writer import CassandraTarget, write_dataframe

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from fraudstack.config import Config

PROFILE_COLUMNS = ("entity", "entity_key", "profile_date", "version", "metrics")
PROFILE_TTL = 35 * 86_400  # an entity idle for longer has an all-zero profile: let it expire


def latest_profiles(clean_df: DataFrame, chargebacks_df: DataFrame) -> DataFrame:
    """Every entity active in the last 30 days, profiled as of the day after the data ends."""
    daily_df = daily_activity(clean_df, fraud_chargebacks(chargebacks_df)).cache()
    last = clean_df.agg(F.max(day_number(F.col("event_date")))).first()
    if last is None or last[0] is None:
        raise ValueError("no clean transactions to profile: run the `clean` step first")
    return profiles_as_of(daily_df, latest_queries(daily_df, int(last[0]) + 1))


def cassandra_rows(profiles_df: DataFrame, version: str) -> DataFrame:
    """Profiles as ``entity_profiles`` rows: the metrics in one map."""
    pairs = [x for name in PROFILE_METRICS for x in (F.lit(name), F.col(name).cast("double"))]
    return profiles_df.select(
        "entity",
        "entity_key",
        "profile_date",
        F.lit(version).alias("version"),
        F.map_filter(F.create_map(*pairs), lambda _k, v: v.isNotNull()).alias("metrics"),
    )


def publish(
    spark: SparkSession, config: Config, profiles_df: DataFrame, write_hive: Any
) -> dict[str, Any]:
    """Write ``profiles_df`` everywhere it is read; return counts and versions.

    Args:
        write_hive: ``(df, table, partition_column)`` -> None, the Hive writer.
    """
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    profiles_df = profiles_df.cache()
    write_hive(profiles_df, "entity_profiles", "profile_date")
    keyspace = config.raw["cassandra"]["keyspace"]
    host, port = config.address("cassandra").split(":")
    target = CassandraTarget(
        host, int(port), keyspace, "entity_profiles", PROFILE_COLUMNS, ttl_seconds=PROFILE_TTL,
        consistency=config.raw["cassandra"].get("write_consistency"),
    )  # fmt: skip
    write_dataframe(cassandra_rows(profiles_df, version), target)
    views_dir = config.storage_uri(config.raw["streaming"]["views_dir"])
    views = {
        CUSTOMER_PROFILES: batch_views.publish_view(
            spark, views_dir, CUSTOMER_PROFILES, customer_view(profiles_df)
        ),
        MERCHANT_RISK: batch_views.publish_view(
            spark, views_dir, MERCHANT_RISK, merchant_view(profiles_df)
        ),
    }
    counts = {row["entity"]: row["n"] for row in profiles_df.groupBy("entity").agg(
        F.count(F.lit(1)).alias("n")).collect()}  # fmt: skip
    profiles_df.unpersist()
    return {"profiles": counts, "view_versions": views, "cassandra_version": version}
