"""Produce events to Kafka: validated, keyed by customer, and nothing lost silently.

Every record is checked with the shared contract before it is sent. An invalid one
goes to the ``dead_letter`` topic with the reason and the raw payload instead, so
``produced + dead_lettered == offered`` always holds and is exported as metrics.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from typing import Any

from kafka import KafkaProducer
from prometheus_client import CollectorRegistry, Counter, start_http_server

from fraudstack.events import format_time, validate

log = logging.getLogger(__name__)

DEAD_LETTER_TOPIC = "dead_letter"
EVENT_TYPES = {"transactions": "transaction", "chargebacks": "chargeback"}


def dead_letter(topic: str, key: bytes | None, value: bytes, reason: str) -> bytes:
    """The dead-letter record: why, where it was headed, and the payload byte for byte."""
    try:
        raw_text: str | None = value.decode()
    except UnicodeDecodeError:
        raw_text = None
    return json.dumps(
        {
            "rejected_at": format_time(dt.datetime.now(dt.UTC)),
            "stage": "producer",
            "source_topic": topic,
            "key": key.decode(errors="replace") if key else None,
            "reason": reason,
            "raw": raw_text,
            "raw_base64": base64.b64encode(value).decode(),
        }
    ).encode()


class EventProducer:
    """A tuned, idempotent Kafka producer with validation and dead-lettering.

    Args:
        bootstrap: Kafka bootstrap servers.
        registry: where the produced/dead-letter counters live.
        metrics: (host, port) to serve the counters at ``/metrics`` while the producer
            is open; None serves nothing. A taken port is logged and skipped.
        **overrides: extra ``KafkaProducer`` settings.
    """

    def __init__(
        self,
        bootstrap: str,
        registry: CollectorRegistry | None = None,
        metrics: tuple[str, int] | None = None,
        **overrides: Any,
    ) -> None:
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
        if metrics is not None:
            try:
                self._server, _ = start_http_server(
                    metrics[1], addr=metrics[0], registry=self.registry
                )
            except OSError as exc:  # another producer serves that port: keep producing
                log.warning("producer metrics not served on %s:%s: %s", *metrics, exc)

    def _on_error(self, topic: str) -> Any:
        def count(exc: BaseException) -> None:
            self.errors.labels(topic).inc()

        return count

    def send(self, topic: str, key: bytes | None, value: bytes) -> str | None:
        """Validate and send one record; returns the rejection reason if it was dead-lettered."""
        event_type = EVENT_TYPES.get(topic)
        reason = validate(value, event_type) if event_type else None
        if reason:
            self._producer.send(
                DEAD_LETTER_TOPIC, key=key, value=dead_letter(topic, key, value, reason)
            )
            self.dead_lettered.labels(topic).inc()
            return reason
        self._producer.send(topic, key=key, value=value).add_errback(self._on_error(topic))
        self.produced.labels(topic).inc()
        return None

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self) -> None:
        self._producer.close(timeout=30)
        if self._server is not None:
            self._server.shutdown()
            self._server = None
