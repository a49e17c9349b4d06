"""Run the simulator: history into Kafka or into Parquet, with the ground truth beside it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fraudstack.config import Config
from fraudstack.events import validate
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import TOPICS, WireRecord, on_the_wire
from fraudstack.simulator.generator import Marketplace, midnight
from fraudstack.simulator.orders import OrderBook, with_orders
from fraudstack.simulator.settings import SimulatorSettings

BATCH = 50_000
LIVE_CHUNK_SECONDS = 10
LIVE_TIME_SCALE = 1 / 3600  # live orders move on in seconds what takes hours in history
# every topic the simulator writes, validated by the producer against its contract
VALIDATED_TOPICS = {topic: kind for kind, topic in TOPICS.items()}


def resolve_target(config: Config, target: str) -> str:
    """``master`` names the master dataset (``batch.master_dir``); anything else is as given."""
    return config.storage_uri(config.raw["batch"]["master_dir"]) if target == "master" else target


def producer_metrics(config: Config) -> tuple[str, int]:
    """Where a running generator serves its producer counters (``/metrics``)."""
    return str(config.raw["host"]), int(config.raw["producer"]["metrics_port"])


def wire_history(
    config: Config, settings: SimulatorSettings, start: dt.datetime, days: int
) -> Iterator[WireRecord]:
    """The simulated history as it would travel on Kafka (faults included)."""
    tokens = Tokeniser(load_key(config.home))
    market = Marketplace(settings, tokens, midnight(start))
    events = market.history(start, days)
    if settings.orders.enabled:
        events = with_orders(events, settings.orders, settings.seed)
    return on_the_wire(events, settings.faults, settings.seed)


def truth_row(record: WireRecord) -> dict[str, Any]:
    event = record.event
    return {
        "transaction_id": event.record["transaction_id"],
        "event_time": event.record["event_time"],
        "is_fraud": event.is_fraud,
        "scenario": event.scenario,
        "fault": record.fault,
    }


def send_counted(
    producer: Any, record: WireRecord, counts: Counter[str], truth: list[dict[str, Any]]
) -> None:
    """Send one record, count its outcome, and keep the truth of each distinct sale."""
    rejected = producer.send(record.topic, record.key, record.value)
    counts[f"{record.topic}:{'dead_letter' if rejected else 'sent'}"] += 1
    if record.event.kind == "transaction" and record.fault != "duplicate":
        truth.append(truth_row(record))


def write_truth(rows: list[dict[str, Any]], path: Path) -> None:
    """The simulator's labels (never sent to the speed layer), as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist(rows), partial)
    partial.replace(path)  # readers never see half a file


def to_kafka(config: Config, records: Iterator[WireRecord], truth_path: Path) -> Counter[str]:
    """Send every record through the validating producer; returns counts by outcome."""
    from storage.kafka_producer import EventProducer

    producer = EventProducer(
        config.kafka_bootstrap, metrics=producer_metrics(config), event_types=VALIDATED_TOPICS
    )
    counts: Counter[str] = Counter()
    truth: list[dict[str, Any]] = []
    try:
        for record in records:
            send_counted(producer, record, counts, truth)
        producer.flush()
    finally:
        producer.close()
    write_truth(truth, truth_path)
    return counts


def to_parquet(
    config: Config, records: Iterator[WireRecord], output: str, truth_path: Path
) -> Counter[str]:
    """Write valid transactions and chargebacks as date-partitioned Parquet (local or hdfs://).

    Rejected records are counted and kept with their reason in ``<output>/rejected``.
    """
    from storage.master_dataset import upload_to_hdfs, write_partitioned

    counts: Counter[str] = Counter()
    truth: list[dict[str, Any]] = []
    remote = output.startswith("hdfs://")
    local_root = Path(tempfile.mkdtemp(prefix="fraudstack-history-")) if remote else Path(output)
    pending: dict[str, list[dict[str, Any]]] = {kind: [] for kind in TOPICS}
    rejected: list[str] = []
    files: list[Path] = []

    def flush() -> None:
        for event_type, rows in pending.items():
            if rows:
                files.extend(write_partitioned(rows, event_type, local_root / TOPICS[event_type]))
                rows.clear()

    for record in records:
        event_type = record.event.kind
        try:  # parse once; only a malformed record is parsed again, for its reason
            parsed = json.loads(record.value)
        except ValueError:
            parsed = None
        reason = validate(record.value if parsed is None else parsed, event_type)
        if reason:
            rejected.append(
                json.dumps({"reason": reason, "raw": record.value.decode(errors="replace")})
            )
            counts[f"{event_type}:rejected"] += 1
        else:
            pending[event_type].append(parsed)
            counts[f"{event_type}:written"] += 1
        if event_type == "transaction" and record.fault != "duplicate":
            truth.append(truth_row(record))
        if sum(len(rows) for rows in pending.values()) >= BATCH:
            flush()
    flush()
    if rejected:
        (local_root / "rejected").mkdir(parents=True, exist_ok=True)
        reject_file = local_root / "rejected" / f"rejected-{len(files)}.jsonl"
        reject_file.write_text("\n".join(rejected) + "\n")
        files.append(reject_file)
    if remote:
        hdfs_root = "/" + output.removeprefix("hdfs://").split("/", 1)[1]
        try:
            upload_to_hdfs(files, local_root, config.address("namenode", "http_port"), hdfs_root)
        finally:  # the local copy was only a staging area (gigabytes for big histories)
            shutil.rmtree(local_root, ignore_errors=True)
    write_truth(truth, truth_path)
    return counts


def live(
    config: Config, settings: SimulatorSettings, rate: int, duration: float, truth_path: Path
) -> Counter[str]:
    """Send ``rate`` transactions a second for ``duration`` seconds, stamped with the send time.

    Every ``LIVE_CHUNK_SECONDS`` a small simulated "day" of the marketplace (fraud
    episodes included, in their order) is made and sent ``rate`` a second, each event
    stamped with the wall clock as it goes. The ground truth so far is rewritten to
    ``truth_path`` every 5 seconds.
    Chargebacks arrive days after a sale, so a live run emits none.
    """
    import time

    from fraudstack.events import format_time
    from storage.kafka_producer import EventProducer

    tokens = Tokeniser(load_key(config.home))
    market = Marketplace(settings, tokens, midnight(dt.datetime.now(dt.UTC)))
    producer = EventProducer(
        config.kafka_bootstrap, metrics=producer_metrics(config), event_types=VALIDATED_TOPICS
    )
    book = OrderBook(settings.orders, settings.seed, LIVE_TIME_SCALE)
    counts: Counter[str] = Counter()
    truth: list[dict[str, Any]] = []
    started = time.monotonic()
    tick = 0
    pending: list[Any] = []
    try:
        while time.monotonic() - started < duration:
            if not pending:  # a small "day" per chunk: enough sales for whole fraud episodes
                day = market.day(midnight(dt.datetime.now(dt.UTC)), rate * LIVE_CHUNK_SECONDS)
                pending = [e for e in day if e.kind == "transaction"]
            sales, pending = pending[:rate], pending[rate:]
            now = dt.datetime.now(dt.UTC)
            for event in sales:
                event.record["event_time"] = format_time(now)
                event.time = now
            if settings.orders.enabled:  # each sale's order and stock, due as the clock moves
                for event in sales:
                    book.add_sale(event)
                sales = [*sales, *book.due(now + dt.timedelta(seconds=1))]
            for record in on_the_wire(iter(sales), settings.faults, settings.seed + tick):
                send_counted(producer, record, counts, truth)
            tick += 1
            if tick % 5 == 0:  # the truth so far, for live precision and recall
                write_truth(truth, truth_path)
            pause = started + tick - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        producer.flush()
    finally:
        producer.close()
    write_truth(truth, truth_path)
    return counts
