"""Read the immutable master dataset on HDFS: the simulator's or a user's history, and
the speed layer's archive of the stream, as one typed DataFrame per event type.

Layout (``batch.master_dir``, default ``/master``): ``<master>/<topic>/event_date=D/``
(history written by ``fraudstack generate --to master``) and
``<master>/stream/<topic>/event_date=D/`` (the archiver's file sink; read through its
``_spark_metadata`` log, so only committed files count). Both hold the events as they
were on the wire: times as ISO-8601 strings, integers as longs.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from fraudstack.events import CONTRACTS, EVENT_TOPICS
from storage import hdfs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from fraudstack.config import Config

_WIRE: dict[str, T.DataType] = {
    "str": T.StringType(),
    "int": T.LongType(),
    "float": T.DoubleType(),
    "time": T.StringType(),
    "bool": T.BooleanType(),
}
SOURCES = ("history", "stream")


def wire_schema(event_type: str) -> T.StructType:
    """The master dataset's schema of an event type, with its ``event_date`` partition."""
    fields = [T.StructField(f.name, _WIRE[f.kind]) for f in CONTRACTS[event_type]]
    return T.StructType([*fields, T.StructField("event_date", T.StringType())])


def source_paths(config: Config, event_type: str) -> dict[str, str]:
    """Where each source keeps an event type."""
    master = config.storage_uri(config.raw["batch"]["master_dir"]).rstrip("/")
    topic = EVENT_TOPICS[event_type]
    return {"history": f"{master}/{topic}", "stream": f"{master}/stream/{topic}"}


def read_events(
    spark: SparkSession,
    config: Config,
    event_type: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> DataFrame:
    """Every source's events of one type whose ``event_date`` is in [start, end], with a
    ``source`` column; empty (with the schema) when no source has any."""
    schema = wire_schema(event_type)
    frames = []
    for source, path in source_paths(config, event_type).items():
        if not any(name.startswith("event_date=") for name in hdfs.list_names(spark, path)):
            continue
        frames.append(spark.read.schema(schema).parquet(path).withColumn("source", F.lit(source)))
    if not frames:
        return spark.createDataFrame([], schema).withColumn("source", F.lit("none"))
    df = frames[0]
    for other in frames[1:]:
        df = df.unionByName(other)
    if start:
        df = df.where(F.col("event_date") >= str(start))
    if end:
        df = df.where(F.col("event_date") <= str(end))
    return df


def dates(df: DataFrame) -> list[str]:
    """The distinct ``event_date`` values of ``df``, sorted."""
    return sorted(row[0] for row in df.select("event_date").distinct().collect() if row[0])
