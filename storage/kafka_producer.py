"""Produce events to Kafka: validated, keyed by customer, and nothing lost silently.

Every record is checked with the shared contract before it is sent. An invalid one
goes to the ``dead_letter`` topic with the reason and the raw payload instead, so
``produced + dead_lettered == offered`` always holds and is exported as metrics.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from typing import Any

from kafka import KafkaProducer
from kafka.partitioner.default import murmur2
from prometheus_client import CollectorRegistry, Counter, start_http_server

from fraudstack.events import EVENT_TOPICS, MAX_RECORD_BYTES, MAX_TEXT, format_time, validate
from fraudstack.pii import redact

log = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "dead_letter"
EVENT_TYPES = {topic: event_type for event_type, topic in EVENT_TOPICS.items()}


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (murmur2, as in Java)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def dead_letter(topic: str, key: bytes | None, value: bytes, reason: str) -> bytes:
    """The dead-letter record: why, where it was headed, and the payload as it came, with
    emails, IP addresses and card numbers masked (:func:`fraudstack.pii.redact`).

    A payload over :data:`MAX_RECORD_BYTES` keeps its first that many bytes, its size and
    its SHA-256 (of the whole payload as it came): the dead letter must fit in a Kafka message.
    """
    kept = value[:MAX_RECORD_BYTES]
    # personal data in a refused record was never tokenised: mask it (the patterns are
    # ASCII, so a Latin-1 round trip leaves every other byte as it was)
    shown = redact(kept.decode("latin-1")).encode("latin-1")
    try:
        raw_text: str | None = shown.decode()
    except UnicodeDecodeError:
        raw_text = None
    return json.dumps(
        {
            "rejected_at": format_time(dt.datetime.now(dt.UTC)),
            "stage": "producer",
            "source_topic": topic,
            "key": key[:MAX_TEXT].decode(errors="replace") if key else None,
            "reason": reason,
            "raw": raw_text,
            "raw_base64": base64.b64encode(shown).decode(),
            "raw_bytes": len(value),
            "raw_sha256": hashlib.sha256(value).hexdigest(),
            "raw_truncated": len(value) > len(kept),
            "raw_redacted": shown != kept,
        }
    ).encode()


class EventProducer:
    """A tuned, idempotent Kafka producer with validation and dead-lettering.

    Args:
        bootstrap: Kafka bootstrap servers.
        registry: where the produced/dead-letter counters live.
        metrics: (host, port) to serve the counters at ``/metrics`` while the producer
            is open; None serves nothing. A taken port is logged and skipped.
        event_types: topic -> contract validated on it (default: the shared topics);
            a benchmark maps its own scratch topics here.
        dead_letter_topic: where rejected records go.
        **overrides: extra ``KafkaProducer`` settings.
    """

    def __init__(
        self,
        bootstrap: str,
        registry: CollectorRegistry | None = None,
        metrics: tuple[str, int] | None = None,
        event_types: dict[str, str] | None = None,
        dead_letter_topic: str = DEAD_LETTER_TOPIC,
        **overrides: Any,
    ) -> None:
        self.event_types = EVENT_TYPES if event_types is None else event_types
        self.dead_letter_topic = dead_letter_topic
        settings: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "acks": "all",
            "enable_idempotence": True,  # retries cannot duplicate or reorder per partition
            "retries": 10,
            "compression_type": "lz4",
            "linger_ms": 20,
            "batch_size": 256 * 1024,
            "client_id": "fraudstack-producer",
            **overrides,
        }
        self._producer = KafkaProducer(**settings)
        self.registry = registry or CollectorRegistry()
        self.produced = Counter(
            "fraudstack_producer_records",
            "Records sent, by topic",
            ["topic"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "fraudstack_producer_dead_letters",
            "Records rejected by validation, by the topic they were meant for",
            ["topic"],
            registry=self.registry,
        )
        self.errors = Counter(
            "fraudstack_producer_errors",
            "Sends that failed after retries",
            ["topic"],
            registry=self.registry,
        )
        self._server: Any = None
        # key -> partition, per topic: the default partitioner's choice, computed once
        # per customer instead of once per record (murmur2 is pure Python in kafka-python)
        self._partitions: dict[str, tuple[int, dict[bytes, int]]] = {}
        self._routes: dict[str, tuple[Any, Any]] = {}
        if metrics is not None:
            try:
                self._server, _ = start_http_server(
                    metrics[1], addr=metrics[0], registry=self.registry
                )
            except OSError as exc:  # another producer serves that port: keep producing
                log.warning("producer metrics not served on %s:%s: %s", *metrics, exc)

    def _route(self, topic: str) -> tuple[Any, Any]:
        """The produced counter and the error callback of ``topic``, made once per topic."""
        route = self._routes.get(topic)
        if route is None:
            failed = self.errors.labels(topic)

            def count(exc: BaseException) -> None:
                failed.inc()

            route = self._routes[topic] = (self.produced.labels(topic), count)
        return route

    def _partition(self, topic: str, key: bytes | None) -> int | None:
        if key is None:
            return None
        known = self._partitions.get(topic)
        if known is None:
            known = (len(self._producer.partitions_for(topic)), {})
            self._partitions[topic] = known
        count, cache = known
        partition = cache.get(key)
        if partition is None:
            if len(cache) >= 1_000_000:
                cache.clear()
            partition = cache[key] = partition_for(key, count)
        return partition

    def send(self, topic: str, key: bytes | None, value: bytes) -> str | None:
        """Validate and send one record; returns the rejection reason if it was dead-lettered."""
        event_type = self.event_types.get(topic)
        received = dt.datetime.now(dt.UTC)
        reason = validate(value, event_type, received_at=received) if event_type else None
        if reason:
            self._producer.send(
                self.dead_letter_topic, key=key, value=dead_letter(topic, key, value, reason)
            )
            self.dead_lettered.labels(topic).inc()
            return reason
        produced, on_error = self._route(topic)
        self._producer.send(
            topic, key=key, value=value, partition=self._partition(topic, key)
        ).add_errback(on_error)
        produced.inc()
        return None

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self) -> None:
        self._producer.close(timeout=30)
        if self._server is not None:
            self._server.shutdown()
            self._server = None
