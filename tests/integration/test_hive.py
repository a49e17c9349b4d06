"""Spark writes Parquet to HDFS and a Hive table over it; the Thrift Server serves it to pyhive."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from fraudstack.config import Config
from storage.master_dataset import list_hdfs

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SCHEMA = T.StructType(
    [
        T.StructField("transaction_id", T.StringType(), nullable=False),
        T.StructField("amount", T.DoubleType(), nullable=True),
        T.StructField("category", T.StringType(), nullable=True),
    ]
)
ROWS = [("t-1", 12.5, "books"), ("t-2", 1500.0, "electronics"), ("t-3", None, None)]


@pytest.fixture()
def hive_table(spark, stack: Config):
    """An external Parquet table on HDFS in a database of its own, dropped afterwards."""
    run = uuid.uuid4().hex[:8]
    database, location = f"it_{run}", f"{stack.hdfs_uri}/tmp/it/{run}/transactions"
    spark.createDataFrame(ROWS, SCHEMA).write.mode("overwrite").parquet(location)
    spark.sql(f"CREATE DATABASE {database}")
    spark.sql(
        f"CREATE EXTERNAL TABLE {database}.transactions "
        f"(transaction_id STRING, amount DOUBLE, category STRING) "
        f"STORED AS PARQUET LOCATION '{location}'"
    )
    yield database, location, run
    spark.sql(f"DROP DATABASE IF EXISTS {database} CASCADE")


def test_spark_writes_parquet_to_hdfs(spark, stack: Config, hive_table) -> None:
    _, location, run = hive_table
    listing = list_hdfs(stack.address("namenode", "http_port"), f"/tmp/it/{run}/transactions") or []
    names = [entry["pathSuffix"] for entry in listing]
    assert "_SUCCESS" in names
    assert any(name.endswith(".parquet") for name in names)
    assertDataFrameEqual(spark.read.parquet(location), spark.createDataFrame(ROWS, SCHEMA))


def test_the_table_is_in_the_shared_metastore_as_external_parquet(spark, hive_table) -> None:
    database, location, _ = hive_table
    details = {
        row.col_name: row.data_type
        for row in spark.sql(f"DESCRIBE TABLE EXTENDED {database}.transactions").collect()
    }
    assert details["Type"] == "EXTERNAL"
    assert details["Location"] == location
    assert "parquet" in details["Serde Library"].lower()


def test_thrift_server_serves_the_table_to_pyhive(stack: Config, hive_table) -> None:
    from pyhive import hive

    database, _, _ = hive_table
    connection = hive.connect(
        host="127.0.0.1", port=stack.port("thriftserver"), database=database, auth="NOSASL"
    )
    try:
        cursor = connection.cursor()
        cursor.execute(
            "SELECT transaction_id, amount, category FROM transactions ORDER BY transaction_id"
        )
        assert cursor.fetchall() == ROWS
        cursor.execute("SELECT count(*), sum(amount) FROM transactions WHERE amount IS NOT NULL")
        assert cursor.fetchall() == [(2, 1512.5)]
    finally:
        connection.close()
