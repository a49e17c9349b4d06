"""Spark Structured Streaming reads from and writes to the stack's real Kafka."""

from __future__ import annotations

import uuid

import pytest
from pyspark.sql import functions as F

from fraudstack.config import Config
from storage.topics import TopicSpec, ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.spark]


@pytest.fixture()
def topics(stack: Config):
    from kafka.admin import KafkaAdminClient

    run = uuid.uuid4().hex[:8]
    specs = [TopicSpec(f"it-in-{run}", 2, 3_600_000), TopicSpec(f"it-out-{run}", 1, 3_600_000)]
    ensure_topics(stack.kafka_bootstrap, specs)
    yield specs[0].name, specs[1].name
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    admin.delete_topics([spec.name for spec in specs])
    admin.close()


def test_a_streaming_query_copies_kafka_to_kafka_exactly(
    spark, stack: Config, topics, tmp_path
) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    source, sink = topics
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    for i in range(50):
        producer.send(source, key=f"c-{i % 7}".encode(), value=f'{{"n": {i}}}'.encode())
    producer.flush()
    producer.close()

    stream_df = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", stack.kafka_bootstrap)
        .option("subscribe", source)
        .option("startingOffsets", "earliest")
        .load()
    )
    query = (
        stream_df.select("key", F.upper(F.col("value").cast("string")).alias("value"))
        .writeStream.format("kafka")
        .option("kafka.bootstrap.servers", stack.kafka_bootstrap)
        .option("topic", sink)
        .option("checkpointLocation", str(tmp_path / "checkpoint"))
        .start()
    )
    try:
        query.processAllAvailable()
    finally:
        query.stop()

    consumer = KafkaConsumer(
        sink,
        bootstrap_servers=stack.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        group_id=None,
    )
    copied = sorted(record.value.decode() for record in consumer)
    consumer.close()
    assert copied == sorted(f'{{"N": {i}}}' for i in range(50))
