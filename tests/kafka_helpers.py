"""Read exactly what a test wrote to the real Kafka: offsets before, offsets after."""

from __future__ import annotations


def end_offsets(bootstrap: str, topics: list[str]) -> dict:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)
        ]
        return consumer.end_offsets(partitions)
    finally:
        consumer.close()


def read_between(bootstrap: str, start: dict, end: dict) -> list:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    consumer.assign(list(start))
    for partition, offset in start.items():
        consumer.seek(partition, offset)
    records, remaining = [], {p for p in start if end[p] > start[p]}
    while remaining:
        for partition, batch in consumer.poll(timeout_ms=2000).items():
            records += [r for r in batch if r.offset < end[partition]]
            if batch and batch[-1].offset >= end[partition] - 1:
                remaining.discard(partition)
    consumer.close()
    return records
