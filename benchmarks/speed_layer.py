"""Benchmark: the speed layer's throughput and end-to-end latency on this machine.

Run with the stack up and no speed layer running:
`.fraudstack/venv/bin/python benchmarks/speed_layer.py`. Writes
benchmarks/results/speed_layer.json. Every run starts the real job (`spark-submit`,
local mode) with its own checkpoint, so runs do not share state.

- drain: DRAIN_RECORDS simulator transactions are put into `transactions` first; the
  scoring query then starts at their offsets and scores them all. Throughput = records
  / seconds from "queries active" until the last is scored. In the same run, before
  the job starts, a kafka-python consumer reads the same records: the raw consume
  rate of that topic on this machine. Reported: both rates and their ratio.
- latency: the whole micro-batch job and the real-time job running side by side;
  transactions sent at RATE a second for DURATION seconds, each stamped with the
  send time. Alert path: a consumer on `fraud_alerts` takes receive time - event
  time per alert; real-time path: the same on `fraud_alerts_fast`. Cassandra path:
  the job's own end-to-end histogram (event time -> rows written), as a delta over
  the run. After sending, the backlog is given DRAIN_WAIT seconds; the transactions
  still unscored when sending ended show whether the rate was sustained.

Each figure is measured REPEATS times; min / median / max are reported.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from produce_rate import machine, summary

from fraudstack.config import Config, load_config
from fraudstack.events import format_time, parse_time
from fraudstack.simulator.run import wire_history
from fraudstack.simulator.settings import FaultRates, SimulatorSettings
from storage.master_dataset import delete_from_hdfs
from streaming import control
from streaming.summary import LATENCY, histogram_quantile

REPEATS = 3
DRAIN_RECORDS = 30_000
LATENCY_RUNS = ((200, 60), (1_000, 60))  # (transactions a second, seconds)
DRAIN_WAIT = 180  # seconds after sending for the backlog to be scored
SETTINGS = SimulatorSettings(
    seed=3, customers=50_000, transactions_per_day=60_000, faults=FaultRates(0, 0, 0, 0)
)


def transactions(config: Config, count: int) -> list[dict[str, Any]]:
    start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    records = []
    for record in wire_history(config, SETTINGS, start, 1 + count // SETTINGS.transactions_per_day):
        if record.topic == "transactions":
            records.append(json.loads(record.value))
            if len(records) == count:
                break
    return records


def ends(config: Config, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=config.kafka_bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def send(config: Config, records: list[dict[str, Any]], rate: float | None = None) -> None:
    """Send records (re-stamped with the send time when a rate is given)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=config.kafka_bootstrap, acks="all", linger_ms=5, batch_size=256_000
    )
    begun = time.monotonic()
    for n, record in enumerate(records):
        if rate:
            record = {**record, "event_time": format_time(dt.datetime.now(dt.UTC))}
            record["transaction_id"] = f"{record['transaction_id']}-{uuid.uuid4().hex[:6]}"
            ahead = begun + n / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        producer.send(
            "transactions", key=record["customer_id"].encode(), value=json.dumps(record).encode()
        )
    producer.flush()
    producer.close()


def raw_consume_rate(config: Config, start: dict[int, int], end: dict[int, int]) -> float:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=config.kafka_bootstrap, group_id=None, max_poll_records=5000
    )
    partitions = [TopicPartition("transactions", p) for p in start]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, start[tp.partition])
    wanted, seen, begun = sum(end[p] - start[p] for p in start), 0, time.perf_counter()
    while seen < wanted:
        for batch in consumer.poll(timeout_ms=1000).values():
            seen += sum(1 for r in batch if r.offset < end[r.partition])
    elapsed = time.perf_counter() - begun
    consumer.close()
    return wanted / elapsed


def overlay(streaming: dict[str, Any]) -> Path:
    path = Path(tempfile.mkdtemp(prefix="fraudstack-bench-")) / "overlay.yaml"
    run = uuid.uuid4().hex[:8]
    path.write_text(
        yaml.safe_dump(
            {
                "streaming": {
                    "checkpoint_dir": f"/benchmarks/{run}/checkpoints",
                    "archive_dir": f"/benchmarks/{run}/master",
                    **streaming,
                }
            }
        )
    )
    os.environ["FRAUDSTACK_CONFIG"] = str(path)
    return path


def scored_total(config: Config) -> float:
    samples = control.read_metrics(config) or {}
    return sum(
        v for k, v in samples.items() if k.startswith("fraudstack_stream_scored_transactions_total")
    )


def drain_once(base: Config, records: list[dict[str, Any]]) -> dict[str, float]:
    start = ends(base, "transactions")
    send(base, records)
    end = ends(base, "transactions")
    raw = raw_consume_rate(base, start, end)
    overlay(
        {"starting_offsets": json.dumps({"transactions": {str(p): o for p, o in start.items()}})}
    )
    config = load_config()
    control.start(config, ("score",))
    begun = time.monotonic()
    try:
        while scored_total(config) < len(records):
            time.sleep(0.5)
        elapsed = time.monotonic() - begun
    finally:
        control.stop(config)
    return {"scored_per_second": len(records) / elapsed, "raw_consume_per_second": raw}


def latency_once(
    base: Config, records: list[dict[str, Any]], rate: int, seconds: int
) -> dict[str, Any]:
    """Both paths running side by side: micro-batch (all queries) and real-time."""
    from kafka import KafkaConsumer

    overlay({"starting_offsets": "latest"})
    config = load_config()
    control.start(config)
    control.start(config, realtime=True)
    fast_topic = config.raw["streaming"]["realtime"]["alerts_topic"]
    arrivals: dict[str, list[float]] = {"fraud_alerts": [], fast_topic: []}
    stop = threading.Event()
    consumer = KafkaConsumer(bootstrap_servers=config.kafka_bootstrap, group_id=None)
    consumer.subscribe(list(arrivals))
    consumer.poll(timeout_ms=2000)
    consumer.seek_to_end()

    def listen() -> None:
        while not stop.is_set():
            for batch in consumer.poll(timeout_ms=200).values():
                now = time.time()
                for r in batch:
                    event_time = parse_time(json.loads(r.value)["event_time"]).timestamp()
                    arrivals[r.topic].append(now - event_time)

    listener = threading.Thread(target=listen)
    listener.start()
    before = control.read_metrics(config) or {}
    sent = rate * seconds
    try:
        send(config, records[:sent], rate=rate)
        behind = scored_total(config) - sum(
            v for k, v in before.items() if k.startswith("fraudstack_stream_scored")
        )
        lag_at_end = sent - behind
        deadline = time.monotonic() + DRAIN_WAIT
        while time.monotonic() < deadline and scored_total(config) < behind + lag_at_end:
            time.sleep(1)
        time.sleep(5)
        after = control.read_metrics(config) or {}
    finally:
        stop.set()
        listener.join()
        consumer.close()
        control.stop(config, realtime=True)
        control.stop(config)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if k.startswith(LATENCY)}

    def pct(values: list[float], q: float) -> float | None:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None

    quantiles = (0.5, 0.95, 0.99)
    return {
        "sent": sent,
        "unscored_when_sending_ended": lag_at_end,
        "alerts": len(arrivals["fraud_alerts"]),
        "fast_warnings": len(arrivals[fast_topic]),
        "alert_path_seconds": {
            f"p{int(q * 100)}": pct(arrivals["fraud_alerts"], q) for q in quantiles
        },
        "realtime_path_seconds": {
            f"p{int(q * 100)}": pct(arrivals[fast_topic], q) for q in quantiles
        },
        "cassandra_path_seconds": {
            f"p{int(q * 100)}": histogram_quantile(delta, LATENCY, q) for q in quantiles
        },
    }


def main() -> None:
    base = load_config()
    if control.status(base).running:
        raise SystemExit("stop the running speed layer first (fraudstack stream stop)")
    records = transactions(base, max(DRAIN_RECORDS, *(r * s for r, s in LATENCY_RUNS)))
    drains = [drain_once(base, records[:DRAIN_RECORDS]) for _ in range(REPEATS)]
    latencies = {
        f"{rate}_per_second": [latency_once(base, records, rate, seconds) for _ in range(REPEATS)]
        for rate, seconds in LATENCY_RUNS
    }

    def spread(runs: list[dict[str, Any]], path: str, key: str) -> dict[str, float] | None:
        return summary([r[path][key] for r in runs if r[path][key] is not None])

    results = {
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "note": "2 cores shared with the whole local stack (Kafka, Cassandra, HDFS, Thrift, ...)",
        "drain": {
            "records": DRAIN_RECORDS,
            "scored_per_second": summary([d["scored_per_second"] for d in drains]),
            "raw_consume_per_second": summary([d["raw_consume_per_second"] for d in drains]),
            "ratio_scored_to_raw": summary(
                [d["scored_per_second"] / d["raw_consume_per_second"] for d in drains]
            ),
        },
        "latency": {
            name: {
                "runs": runs,
                "alert_path_p50": spread(runs, "alert_path_seconds", "p50"),
                "alert_path_p99": spread(runs, "alert_path_seconds", "p99"),
                "realtime_path_p50": spread(runs, "realtime_path_seconds", "p50"),
                "realtime_path_p99": spread(runs, "realtime_path_seconds", "p99"),
                "cassandra_path_p50": spread(runs, "cassandra_path_seconds", "p50"),
                "cassandra_path_p99": spread(runs, "cassandra_path_seconds", "p99"),
            }
            for name, runs in latencies.items()
        },
    }
    out = Path(__file__).parent / "results" / "speed_layer.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    delete_from_hdfs(base.address("namenode", "http_port"), "/benchmarks")


if __name__ == "__main__":
    main()
