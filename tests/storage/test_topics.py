from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from fraudstack.config import Config
from storage.topics import TopicSpec, ensure_topics, load_topics


def test_the_committed_topic_list_loads() -> None:
    specs = load_topics(Path(__file__).parents[2] / "storage" / "kafka" / "topics.yaml")
    names = {spec.name for spec in specs}
    assert {"transactions", "chargebacks", "fraud_alerts", "dead_letter"} <= names
    assert all(spec.retention_ms > 0 for spec in specs)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "topics:\n  - {name: a, partitions: 1, retention_ms: 1}\n"
            "  - {name: a, partitions: 2, retention_ms: 1}\n",
            "more than once",
        ),
        ("topics:\n  - {name: b, partitions: 0, retention_ms: 1}\n", "at least one partition"),
    ],
)
def test_a_bad_topic_list_is_rejected_with_the_reason(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(body)
    with pytest.raises(ValueError, match=message):
        load_topics(path)


@pytest.mark.integration
def test_ensure_topics_creates_grows_and_aligns_retention(stack: Config) -> None:
    from kafka.admin import KafkaAdminClient

    spec = TopicSpec(name=f"it-{uuid.uuid4().hex[:8]}", partitions=1, retention_ms=3_600_000)
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        assert ensure_topics(stack.kafka_bootstrap, [spec]) == [
            f"created {spec.name} (1 partitions)"
        ]
        assert ensure_topics(stack.kafka_bootstrap, [spec]) == []
        grown = dataclasses.replace(spec, partitions=3, retention_ms=7_200_000)
        assert ensure_topics(stack.kafka_bootstrap, [grown]) == [
            f"grew {spec.name} to 3 partitions",
            f"set retention.ms=7200000 on {spec.name}",
        ]
        assert ensure_topics(stack.kafka_bootstrap, [grown]) == []
        assert len(admin.describe_topics([spec.name])[0]["partitions"]) == 3
    finally:
        admin.delete_topics([spec.name])
        admin.close()
