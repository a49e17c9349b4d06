"""Hive tables of the batch layer: external Parquet tables on HDFS, written so that
re-running a date range replaces its partitions and never duplicates them.

Tables live in the ``batch.database`` database at ``<batch.tables_dir>/<table>``. A
table is created from the first DataFrame written to it; afterwards its columns are
the contract, and a DataFrame that does not match is refused with the difference.
The Spark Thrift Server shares the metastore, so Superset and pyhive see every table
as soon as it is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from fraudstack.config import Config


class TableMismatch(ValueError):
    """A DataFrame's columns differ from its table's."""


def qualified(config: Config, table: str) -> str:
    return f"{config.raw['batch']['database']}.{table}"


def ensure_table(
    spark: SparkSession, config: Config, df: DataFrame, table: str, partition: str | None
) -> str:
    """Create the database and the table (from ``df``'s schema) if missing; return its name.

    Raises:
        TableMismatch: the table exists with other columns.
    """
    database = config.raw["batch"]["database"]
    root = config.storage_uri(config.raw["batch"]["tables_dir"]).rstrip("/")
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {database} LOCATION '{root}'")
    name = qualified(config, table)
    columns = [f for f in df.schema.fields if f.name != partition]
    if partition:
        columns += [f for f in df.schema.fields if f.name == partition]
    ddl = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in columns)
    partitioned = f" PARTITIONED BY (`{partition}`)" if partition else ""
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {name} ({ddl}) USING parquet{partitioned} "
        f"LOCATION '{root}/{table}'"
    )
    have = {f.name: f.dataType.simpleString() for f in spark.table(name).schema.fields}
    want = {f.name: f.dataType.simpleString() for f in columns}
    if have != want:
        diff = sorted(set(have.items()) ^ set(want.items()))
        raise TableMismatch(f"{name} has other columns than the data to write: {diff}")
    return name


def write_partitions(
    spark: SparkSession, config: Config, df: DataFrame, table: str, partition: str = "event_date"
) -> None:
    """Replace the partitions of ``table`` that ``df`` holds (others stay as they are)."""
    name = ensure_table(spark, config, df, table, partition)
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    df.select(*spark.table(name).columns).write.insertInto(name, overwrite=True)


def append(spark: SparkSession, config: Config, df: DataFrame, table: str) -> None:
    """Add ``df``'s rows to an unpartitioned table (e.g. one row per batch run)."""
    name = ensure_table(spark, config, df, table, None)
    df.select(*spark.table(name).columns).write.insertInto(name, overwrite=False)
