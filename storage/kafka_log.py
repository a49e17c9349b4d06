"""Read a stretch of Kafka's log exactly: offsets at a time or at the end, records between."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any


def _consumer(bootstrap: str) -> Any:
    from kafka import KafkaConsumer

    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)


def _partitions(consumer: Any, topics: list[str]) -> list[Any]:
    from kafka import TopicPartition

    return [
        TopicPartition(topic, p) for topic in topics for p in consumer.partitions_for_topic(topic)
    ]


def end_offsets(bootstrap: str, topics: list[str]) -> dict[Any, int]:
    """The next offset of every partition of ``topics`` (what a reader would get next)."""
    consumer = _consumer(bootstrap)
    try:
        return dict(consumer.end_offsets(_partitions(consumer, topics)))
    finally:
        consumer.close()


def offsets_at(bootstrap: str, topics: list[str], moment: dt.datetime) -> dict[Any, int]:
    """Per partition, the first offset whose record timestamp is at or after ``moment``
    (the end offset when there is none yet)."""
    consumer = _consumer(bootstrap)
    try:
        partitions = _partitions(consumer, topics)
        millis = int(moment.timestamp() * 1000)
        found = consumer.offsets_for_times(dict.fromkeys(partitions, millis))
        ends = consumer.end_offsets(partitions)
        return {p: found[p].offset if found.get(p) else ends[p] for p in partitions}
    finally:
        consumer.close()


def read_between(
    bootstrap: str, start: dict[Any, int], end: dict[Any, int], timeout: float = 600
) -> list[Any]:
    """Every record from ``start`` (inclusive) to ``end`` (exclusive) per partition.

    Raises:
        TimeoutError: the records could not all be read in ``timeout`` seconds (e.g. the
            broker is down, or retention deleted part of the range).
    """
    consumer = _consumer(bootstrap)
    try:
        consumer.assign(list(start))
        for partition, offset in start.items():
            consumer.seek(partition, offset)
        records: list[Any] = []
        remaining = {p for p in start if end[p] > start[p]}
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {sorted(map(str, remaining))} to the end")
            for partition, batch in consumer.poll(timeout_ms=2000).items():
                records += [r for r in batch if r.offset < end[partition]]
                if batch and batch[-1].offset >= end[partition] - 1:
                    remaining.discard(partition)
        return records
    finally:
        consumer.close()
