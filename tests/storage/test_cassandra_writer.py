from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from pyspark.sql import types as T

from fraudstack.config import Config
from storage.cassandra_writer import CassandraTarget, with_retries, write_dataframe


def test_insert_statement_names_columns_and_ttl() -> None:
    target = CassandraTarget("h", 1, "ks", "t", ("a", "b"), ttl_seconds=60)
    assert target.insert_cql() == "INSERT INTO ks.t (a, b) VALUES (?, ?) USING TTL 60"


@pytest.mark.integration
@pytest.mark.spark
def test_failed_writes_are_sent_again_and_only_they() -> None:
    flaky = {"b": 2, "c": 1}  # row -> rounds it times out before it lands
    rounds: list[list[str]] = []

    def execute(rows: list[str]) -> list[tuple[bool, object]]:
        rounds.append(rows)
        results = [(flaky.get(r, 0) == 0, "timeout" if flaky.get(r, 0) else None) for r in rows]
        for r in rows:
            flaky[r] = max(0, flaky.get(r, 0) - 1)
        return results

    assert len(with_retries(execute, ["a", "b", "c"], "t", pause=0)) == 3
    assert rounds == [["a", "b", "c"], ["b", "c"], ["b"]]


def test_writes_that_keep_failing_are_reported_with_the_error() -> None:
    with pytest.raises(RuntimeError, match=r"1 of 2 writes to t failed after 3 retries: down"):
        with_retries(lambda rows: [(r == "a", "down") for r in rows], ["a", "b"], "t", pause=0)


def test_spark_rows_land_in_cassandra_once_even_when_written_twice(spark, stack: Config) -> None:
    from storage.cassandra_client import cluster as cassandra_cluster

    table = f"it_writer_{uuid.uuid4().hex[:8]}"
    cluster = cassandra_cluster("127.0.0.1", stack.port("cassandra"))
    session = cluster.connect(stack.keyspace)
    session.execute(
        f"CREATE TABLE {table} (customer_id text, event_time timestamp, transaction_id text, "
        "amount decimal, PRIMARY KEY (customer_id, event_time, transaction_id))"
    )
    try:
        schema = T.StructType(
            [
                T.StructField("customer_id", T.StringType(), False),
                T.StructField("event_time", T.TimestampType(), False),
                T.StructField("transaction_id", T.StringType(), False),
                T.StructField("amount", T.DecimalType(12, 2), True),
            ]
        )
        start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        rows = [
            (
                f"c-{i % 50}",
                start + dt.timedelta(seconds=i),
                f"t-{i}",
                Decimal(i) / 4 if i % 9 else None,
            )
            for i in range(2_000)
        ]
        df = spark.createDataFrame(rows, schema).repartition(4)
        target = CassandraTarget(
            "127.0.0.1", stack.port("cassandra"), stack.keyspace, table, tuple(schema.names)
        )
        write_dataframe(df, target)
        write_dataframe(df, target)  # a replayed batch: upserts, no duplicates

        count = session.execute(f"SELECT count(*) FROM {table}").one()[0]
        assert count == 2_000
        row = session.execute(
            f"SELECT amount FROM {table} WHERE customer_id = 'c-9' AND event_time = %s",
            (start + dt.timedelta(seconds=9),),
        ).one()
        assert row.amount is None
        row = session.execute(
            f"SELECT amount FROM {table} WHERE customer_id = 'c-10' AND event_time = %s",
            (start + dt.timedelta(seconds=10),),
        ).one()
        assert row.amount == Decimal("2.50")
    finally:
        session.execute(f"DROP TABLE IF EXISTS {table}")
        cluster.shutdown()


@pytest.mark.spark
def test_a_missing_column_is_a_clear_error(spark) -> None:
    df = spark.createDataFrame([("a",)], "x string")
    with pytest.raises(ValueError, match=r"lacks columns \['y'\]"):
        write_dataframe(df, CassandraTarget("h", 1, "ks", "t", ("x", "y")))
