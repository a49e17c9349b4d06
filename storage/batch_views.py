"""Versioned batch views on HDFS: the batch layer publishes, the speed layer reads.

Layout: ``<views_dir>/<view>/version=<v>/`` holds Parquet; ``<views_dir>/<view>/CURRENT``
names the version readers use. Publishing writes a whole new version, then swaps
``CURRENT`` atomically, so a reader never sees a half-written view and an old
version stays available for a rollback.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from fraudstack.views import VIEW_SCHEMAS
from storage import hdfs

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def current_version(spark: SparkSession, views_dir: str, view: str) -> str | None:
    """The published version of ``view``, or None before the first publication."""
    text = hdfs.read_text(spark, f"{views_dir}/{view}/CURRENT")
    return text.strip() if text else None


def read_view(spark: SparkSession, views_dir: str, view: str) -> tuple[DataFrame, str | None]:
    """The current version of ``view`` and its version (an empty view before any exists)."""
    version = current_version(spark, views_dir, view)
    if version is None:
        return spark.createDataFrame([], VIEW_SCHEMAS[view]), None
    df = spark.read.schema(VIEW_SCHEMAS[view]).parquet(f"{views_dir}/{view}/version={version}")
    return df, version


def publish_view(spark: SparkSession, views_dir: str, view: str, df: DataFrame) -> str:
    """Write ``df`` as a new version of ``view`` and make it current.

    Returns:
        The new version (a UTC timestamp, so versions sort in publication order).

    Raises:
        ValueError: ``df`` lacks a column of the view's schema.
    """
    schema = VIEW_SCHEMAS[view]
    missing = [name for name in schema.names if name not in df.columns]
    if missing:
        raise ValueError(f"view {view} needs columns {missing}")
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    df.select(*schema.names).write.mode("errorifexists").parquet(
        f"{views_dir}/{view}/version={version}"
    )
    hdfs.write_text(spark, f"{views_dir}/{view}/CURRENT", version)
    return version
