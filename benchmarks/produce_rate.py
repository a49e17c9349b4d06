"""Benchmark: simulator speed, produce rate into the local Kafka, Parquet history speed.

Run with the stack up: `.fraudstack/venv/bin/python benchmarks/produce_rate.py`.
Writes benchmarks/results/produce_rate.json. Each figure is measured REPEATS times;
min / median / max are reported. Produce figures use pre-generated, pre-serialised
records (what `replay` and history loading send) into a scratch topic with the same
partition count as `transactions`, validated against the transaction contract:

- validated_1_process: one EventProducer (validation, dead letters, metrics);
- validated_N_processes: produce_parallel with N producer processes;
- kafka_python_raw_1_process: KafkaProducer.send with no validation (the client's ceiling);
- librdkafka_raw_reference: confluent-kafka, only if it is importable (not a dependency).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fraudstack.config import load_config
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import on_the_wire
from fraudstack.simulator.generator import Marketplace
from fraudstack.simulator.run import to_parquet, wire_history
from fraudstack.simulator.settings import SimulatorSettings
from storage.kafka_producer import EventProducer
from storage.parallel_producer import produce_parallel
from storage.topics import TopicSpec, ensure_topics

REPEATS = 3
WORKERS = (2, 3)
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
SETTINGS = SimulatorSettings(seed=1, customers=20_000, merchants=500, transactions_per_day=100_000)
TOPIC, DEAD = "bench.transactions", "bench.dead_letter"
ROUTING = {"event_types": {TOPIC: "transaction"}, "dead_letter_topic": DEAD}


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def machine() -> dict[str, object]:
    import kafka

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "kafka_python": kafka.__version__,
        "note": "shared 2-core VM; the Kafka broker and the rest of the local stack were up",
    }


def timed(action: Callable[..., object], *args: object, **kwargs: object) -> float:
    """Records a second for ``action(bootstrap, records, ...)``; ``args[1]`` is the records."""
    began = time.perf_counter()
    action(*args, **kwargs)
    return len(args[1]) / (time.perf_counter() - began)  # type: ignore[arg-type]


def produce_one(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = EventProducer(bootstrap, **ROUTING)  # type: ignore[arg-type]
    for topic, key, value in records:
        producer.send(topic, key, value)
    producer.flush()
    producer.close()


def produce_raw(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
        compression_type="lz4", linger_ms=20, batch_size=256 * 1024,
    )  # fmt: skip
    for topic, key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def produce_librdkafka(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
         "compression.type": "lz4", "linger.ms": 20}
    )  # fmt: skip
    for topic, key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush()


def main() -> None:
    config = load_config()
    tokens = Tokeniser(load_key(config.home))
    ensure_topics(
        config.kafka_bootstrap, [TopicSpec(TOPIC, 3, 3_600_000), TopicSpec(DEAD, 1, 3_600_000)]
    )
    try:
        import confluent_kafka  # noqa: F401

        reference = True
    except ImportError:
        reference = False
    rates: dict[str, list[float]] = {"simulator_events_per_second": []}
    for key in ("validated_1_process", *(f"validated_{n}_processes" for n in WORKERS)):
        rates[key] = []
    rates |= {"kafka_python_raw_1_process": [], "librdkafka_raw_reference": []}
    rates["history_to_parquet_rows_per_second"] = []
    bootstrap = config.kafka_bootstrap
    for _ in range(REPEATS):
        market = Marketplace(SETTINGS, tokens, START)  # the population is built once, not timed
        began = time.perf_counter()
        wire = list(on_the_wire(market.history(START, 1), SETTINGS.faults, SETTINGS.seed))
        rates["simulator_events_per_second"].append(len(wire) / (time.perf_counter() - began))
        records = [(TOPIC, w.key, w.value) for w in wire if w.topic == "transactions"]
        n = len(records)
        rates["validated_1_process"].append(timed(produce_one, bootstrap, records))
        for workers in WORKERS:
            rates[f"validated_{workers}_processes"].append(
                timed(produce_parallel, bootstrap, records, workers, **ROUTING)
            )
        rates["kafka_python_raw_1_process"].append(timed(produce_raw, bootstrap, records))
        if reference:
            rates["librdkafka_raw_reference"].append(timed(produce_librdkafka, bootstrap, records))
        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            counts = to_parquet(
                config, wire_history(config, SETTINGS, START, 1), folder, Path(folder) / "t.parquet"
            )
            rates["history_to_parquet_rows_per_second"].append(
                sum(counts.values()) / (time.perf_counter() - began)
            )
    results = {
        "benchmark": "produce_rate",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "transactions_per_run": n,
        "rates_per_second": {key: summary(values) for key, values in rates.items()},
        "target_produce_records_per_second": 50_000,
        "notes": [
            "history_to_parquet includes building the 20,000-customer population (~0.7 s)",
            "librdkafka_raw_reference is null when confluent-kafka is not installed",
        ],
    }
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.delete_topics([TOPIC, DEAD])
    admin.close()
    out = Path(__file__).parent / "results" / "produce_rate.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
