"""Benchmark: simulator speed, validated produce rate into the local Kafka, Parquet history speed.

Run with the stack up: `.fraudstack/venv/bin/python benchmarks/produce_rate.py`.
Writes benchmarks/results/produce_rate.json. Each figure is measured REPEATS times
in one run, side by side; min / median / max are reported.
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
from pathlib import Path

from fraudstack.config import load_config
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import on_the_wire
from fraudstack.simulator.generator import Marketplace
from fraudstack.simulator.run import to_parquet, wire_history
from fraudstack.simulator.settings import SimulatorSettings
from storage.kafka_producer import EventProducer
from storage.topics import TopicSpec, ensure_topics

REPEATS = 3
START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
SETTINGS = SimulatorSettings(seed=1, customers=20_000, merchants=500, transactions_per_day=100_000)
TOPIC = "bench.transactions"


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def machine() -> dict[str, object]:
    import kafka

    return {
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "kafka_python": kafka.__version__,
        "note": "shared 2-core VM; the rest of the local stack was up during the run",
    }


def main() -> None:
    config = load_config()
    tokens = Tokeniser(load_key(config.home))
    ensure_topics(config.kafka_bootstrap, [TopicSpec(TOPIC, 3, 3_600_000)])
    generate, produce, parquet = [], [], []
    for _ in range(REPEATS):
        began = time.perf_counter()
        market = Marketplace(SETTINGS, tokens, START)
        wire = list(on_the_wire(market.history(START, 1), SETTINGS.faults, SETTINGS.seed))
        generate.append(len(wire) / (time.perf_counter() - began))

        producer = EventProducer(config.kafka_bootstrap)
        began = time.perf_counter()
        for record in wire:
            producer.send(
                TOPIC if record.topic == "transactions" else record.topic, record.key, record.value
            )
        producer.flush()
        produce.append(len(wire) / (time.perf_counter() - began))
        producer.close()

        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            counts = to_parquet(
                config, wire_history(config, SETTINGS, START, 1), folder, Path(folder) / "t.parquet"
            )
            parquet.append(sum(counts.values()) / (time.perf_counter() - began))
    results = {
        "benchmark": "produce_rate",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "records_per_run": len(wire),
        "simulator_events_per_second": summary(generate),
        "validated_produce_records_per_second": summary(produce),
        "history_to_parquet_rows_per_second": summary(parquet),
        "target_produce_records_per_second": 50_000,
    }
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=config.kafka_bootstrap)
    admin.delete_topics([TOPIC])
    admin.close()
    out = Path(__file__).parent / "results" / "produce_rate.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
