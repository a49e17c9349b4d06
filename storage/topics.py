"""Kafka topics declared in ``storage/kafka/topics.yaml``, created and grown idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient


@dataclass(frozen=True)
class TopicSpec:
    """One declared topic."""

    name: str
    partitions: int
    retention_ms: int
    description: str = ""


def load_topics(path: Path) -> list[TopicSpec]:
    """Read and check the declarative topic list.

    Raises:
        ValueError: a topic is declared twice or has fewer than one partition.
    """
    entries = yaml.safe_load(path.read_text())["topics"]
    specs = [TopicSpec(**entry) for entry in entries]
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: topics declared more than once: {duplicates}")
    for spec in specs:
        if spec.partitions < 1:
            raise ValueError(f"{path}: topic {spec.name} needs at least one partition")
    return specs


def ensure_topics(bootstrap: str, specs: list[TopicSpec], replication_factor: int = 1) -> list[str]:
    """Create missing topics, add partitions and set retention where they differ.

    Args:
        bootstrap: the brokers to ask.
        specs: the declared topics.
        replication_factor: copies of each new partition (1 on one broker; 3 in the
            compose scale profile). Existing topics keep theirs.

    Returns:
        One line per change made; empty when the broker already matched.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fraudstack-topics")
    try:
        listed = set(admin.list_topics())
        existing = {
            meta["name"]: len(meta["partitions"])
            for meta in admin.describe_topics([s.name for s in specs if s.name in listed])
        }
        changes: list[str] = []
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            admin.create_topics(
                {
                    spec.name: {
                        "num_partitions": spec.partitions,
                        "replication_factor": replication_factor,
                        "configs": {"retention.ms": str(spec.retention_ms)},
                    }
                    for spec in missing
                }
            )
            admin.wait_for_topics([spec.name for spec in missing], timeout_ms=30_000)
            changes += [f"created {s.name} ({s.partitions} partitions)" for s in missing]
        grow = {
            s.name: s.partitions for s in specs if existing.get(s.name, s.partitions) < s.partitions
        }
        if grow:
            admin.create_partitions(grow)
            changes += [f"grew {name} to {count} partitions" for name, count in grow.items()]
        changes += _align_retention(admin, [s for s in specs if s.name in existing])
        return changes
    finally:
        admin.close()


def _align_retention(admin: KafkaAdminClient, specs: list[TopicSpec]) -> list[str]:
    """Set retention.ms on existing topics whose value differs from the declaration."""
    if not specs:
        return []
    described = admin.describe_configs(
        [
            ConfigResource(ConfigResourceType.TOPIC, s.name, configs={"retention.ms": None})
            for s in specs
        ],
        config_filter="all",
    )["topic"]
    stale = [
        spec
        for spec in specs
        if described.get(spec.name, {}).get("retention.ms", {}).get("value")
        != str(spec.retention_ms)
    ]
    if stale:
        admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC, s.name, configs={"retention.ms": str(s.retention_ms)}
                )
                for s in stale
            ],
            incremental=True,
        )
    return [f"set retention.ms={s.retention_ms} on {s.name}" for s in stale]
