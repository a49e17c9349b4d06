"""The validating producer against the real Kafka: PII, round trip, dead letters, counts."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest

from fraudstack.config import Config
from fraudstack.events import MAX_RECORD_BYTES
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import on_the_wire
from fraudstack.simulator.generator import Marketplace
from fraudstack.simulator.settings import FaultRates, SimulatorSettings
from storage.kafka_log import end_offsets, read_between
from storage.kafka_producer import DEAD_LETTER_TOPIC, EventProducer, dead_letter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def produced(stack: Config):
    """One simulated day, faults included, sent through the producer; what Kafka holds after."""
    settings = SimulatorSettings(
        seed=21, customers=300, merchants=40, transactions_per_day=1_500,
        faults=FaultRates(malformed=0.02),
    )  # fmt: skip
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    market = Marketplace(settings, Tokeniser(load_key(stack.home)), start)
    wire = list(on_the_wire(market.history(start, 1), settings.faults, settings.seed))
    topics = ["transactions", DEAD_LETTER_TOPIC]
    before = end_offsets(stack.kafka_bootstrap, topics)
    producer = EventProducer(stack.kafka_bootstrap)
    reasons = [producer.send(w.topic, w.key, w.value) for w in wire]
    producer.flush()
    producer.close()
    after = end_offsets(stack.kafka_bootstrap, topics)
    records = read_between(stack.kafka_bootstrap, before, after)
    return market, wire, reasons, producer, records


def test_counts_reconcile_sent_plus_dead_lettered_is_offered(produced) -> None:
    _, wire, reasons, producer, records = produced
    on_topic = [r for r in records if r.topic == "transactions"]
    dead = [r for r in records if r.topic == DEAD_LETTER_TOPIC]
    assert len(on_topic) + len(dead) == len(wire)
    assert (
        len(dead)
        == sum(1 for reason in reasons if reason)
        == sum(1 for w in wire if w.fault == "malformed")
    )
    assert producer.registry.get_sample_value(
        "fraudstack_producer_records_total", {"topic": "transactions"}
    ) == len(on_topic)


def test_a_round_trip_through_kafka_preserves_every_field_and_the_key(produced) -> None:
    _, wire, _, _, records = produced

    def canonical(key: bytes, value: bytes) -> tuple[bytes, str]:
        return key, json.dumps(json.loads(value), sort_keys=True)

    sent = sorted(canonical(w.key, w.value) for w in wire if w.fault != "malformed")
    received = sorted(canonical(r.key, r.value) for r in records if r.topic == "transactions")
    assert received == sent
    assert all(
        r.key.decode() == json.loads(r.value)["customer_id"]
        for r in records
        if r.topic == "transactions"
    )


def test_dead_letters_carry_the_reason_and_the_exact_payload(produced) -> None:
    import base64

    _, wire, _, _, records = produced
    malformed = sorted(w.value for w in wire if w.fault == "malformed")
    letters = [json.loads(r.value) for r in records if r.topic == DEAD_LETTER_TOPIC]
    assert sorted(base64.b64decode(letter["raw_base64"]) for letter in letters) == malformed
    assert all(letter["reason"] and letter["source_topic"] == "transactions" for letter in letters)


def test_no_card_number_email_or_ip_appears_in_clear(produced) -> None:
    market, _, _, _, records = produced
    secrets = {
        value
        for customer in market.population.customers
        for value in (*customer.cards, customer.email, *customer.ips)
    }
    payloads = b"\n".join(r.value for r in records).decode(errors="replace")
    leaked = [value for value in secrets if value in payloads]
    assert not leaked, f"{len(leaked)} personal values found in clear, e.g. {leaked[:3]}"
    assert "card_token" in payloads


def test_dead_letter_keeps_undecodable_bytes() -> None:
    letter = json.loads(dead_letter("transactions", b"c-1", b"\xff\x00", "malformed JSON"))
    assert letter["raw"] is None and letter["raw_base64"] == "/wA="


def test_the_producer_serves_its_counters_while_open(stack: Config) -> None:
    import requests

    from fraudstack.stack.process import port_open
    from tests.polling import free_port

    port = free_port()
    producer = EventProducer(stack.kafka_bootstrap, metrics=("127.0.0.1", port))
    try:
        producer.send("transactions", b"c-1", b'{"broken": ')
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'fraudstack_producer_dead_letters_total{topic="transactions"} 1.0' in text
    finally:
        producer.close()
    assert not port_open("127.0.0.1", port)


def test_an_oversized_payload_is_dead_lettered_truncated_with_its_size_and_digest() -> None:
    huge = b'{"transaction_id": "' + b"x" * 2_000_000 + b'"}'
    letter = json.loads(dead_letter("transactions", b"c-1", huge, "too big"))
    assert letter["raw_bytes"] == len(huge) and letter["raw_truncated"] is True
    assert base64.b64decode(letter["raw_base64"]) == huge[:MAX_RECORD_BYTES]
    assert letter["raw_sha256"] == hashlib.sha256(huge).hexdigest()
    assert len(json.dumps(letter)) < 100_000, "the dead letter fits in one Kafka message"


def test_a_dead_letter_masks_personal_data_the_refused_record_carried() -> None:
    raw = b'{"email": "ann@example.com", "card": "4111 1111 1111 1111", "id": "\xff"}'
    letter = json.loads(dead_letter("transactions", b"c-1", raw, "unknown field(s)"))
    shown = base64.b64decode(letter["raw_base64"])
    assert shown == b'{"email": "<email>", "card": "<card>", "id": "\xff"}'
    assert letter["raw"] is None and letter["raw_redacted"] is True
