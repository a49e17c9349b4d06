"""Data-quality faults, injected as events are put on the wire (rates from seed 003).

Missing values, duplicates and outliers stay valid records (the layers must cope);
malformed records are broken JSON or wrong types, which validation must reject.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from fraudstack.events import EVENT_TOPICS, MAX_AMOUNT
from fraudstack.simulator.records import SimEvent
from fraudstack.simulator.settings import FaultRates

TOPICS = EVENT_TOPICS
KEY_FIELDS = {"order_status": "order_id", "inventory": "product_id"}  # default: customer_id
NULLABLE = ("device_id", "category", "quantity", "channel", "country", "lat", "account_age_days")


@dataclass(frozen=True, slots=True)
class WireRecord:
    """What goes to Kafka: topic, key, the JSON bytes, and the truth the simulator keeps."""

    topic: str
    key: bytes
    value: bytes
    event: SimEvent
    fault: str | None = None


def _broken(rng: random.Random, record: dict) -> bytes:
    if rng.random() < 0.5:
        text = json.dumps(record)
        return text[: rng.randint(1, len(text) - 2)].encode()  # truncated JSON
    wrong = dict(record)
    wrong[rng.choice(("amount", "event_time", "quantity"))] = rng.choice(("n/a", "", [1], {"x": 1}))
    return json.dumps(wrong).encode()


def on_the_wire(events: Iterator[SimEvent], rates: FaultRates, seed: int) -> Iterator[WireRecord]:
    """Serialise events for Kafka, injecting faults into transactions at ``rates``."""
    rng = random.Random(seed ^ 0x5EED)
    for event in events:
        topic = TOPICS[event.kind]
        key = event.record[KEY_FIELDS.get(event.kind, "customer_id")].encode()
        if event.kind != "transaction":
            yield WireRecord(topic, key, json.dumps(event.record).encode(), event)
            continue
        draw = rng.random()
        record, fault = event.record, None
        if draw < rates.malformed:
            yield WireRecord(topic, key, _broken(rng, record), event, "malformed")
            continue
        draw -= rates.malformed
        if draw < rates.missing:
            field = rng.choice(NULLABLE)
            record = {**record, field: None, **({"lon": None} if field == "lat" else {})}
            fault = f"missing:{field}"
        elif draw - rates.missing < rates.outlier:
            record = {
                **record,
                "amount": round(min(MAX_AMOUNT / 2, record["amount"] * rng.uniform(20, 200)), 2),
            }
            fault = "outlier"
        value = json.dumps(record).encode()
        yield WireRecord(topic, key, value, event, fault)
        if rng.random() < rates.duplicate:
            yield WireRecord(topic, key, value, event, "duplicate")
