from __future__ import annotations

import time

import pytest
from prometheus_client import generate_latest
from pyspark.sql import functions as F

from streaming.metrics import PrometheusQueryListener

pytestmark = pytest.mark.spark


def sample(listener: PrometheusQueryListener, name: str, query: str) -> float | None:
    return listener.registry.get_sample_value(name, {"query": query})


def test_progress_of_a_stateful_query_becomes_metrics(spark, tmp_path) -> None:
    listener = PrometheusQueryListener()
    spark.streams.addListener(listener)
    source = tmp_path / "in"
    source.mkdir()
    for i in range(3):
        (source / f"part-{i}.json").write_text(
            "\n".join(
                f'{{"customer": "c{j % 4}", "ts": "2026-11-01T00:00:{j:02d}Z"}}' for j in range(20)
            )
        )
    events_df = (
        spark.readStream.schema("customer string, ts timestamp")
        .option("maxFilesPerTrigger", 1)
        .json(f"file://{source}")
    )
    counts_df = (
        events_df.withWatermark("ts", "10 seconds")
        .groupBy(F.window("ts", "1 minute"), "customer")
        .count()
    )
    query = (
        counts_df.writeStream.queryName("velocity_test")
        .outputMode("update")
        .format("memory")
        .option("checkpointLocation", f"file://{tmp_path / 'checkpoint'}")
        .start()
    )
    try:
        query.processAllAvailable()
        query.stop()
        # listener events arrive asynchronously, after stop() returns
        deadline = time.monotonic() + 30
        while sample(listener, "fraudstack_stream_query_active", "velocity_test") != 0:
            assert time.monotonic() < deadline, "query termination never reached the listener"
            time.sleep(0.1)
    finally:
        query.stop()
        spark.streams.removeListener(listener)
    assert sample(listener, "fraudstack_stream_input_rows_total", "velocity_test") == 60
    assert sample(listener, "fraudstack_stream_batch_duration_seconds_count", "velocity_test") >= 3
    assert sample(listener, "fraudstack_stream_state_rows", "velocity_test") == 4
    assert sample(listener, "fraudstack_stream_query_failures_total", "velocity_test") is None
    assert b"fraudstack_stream_processed_rows_per_second" in generate_latest(listener.registry)
