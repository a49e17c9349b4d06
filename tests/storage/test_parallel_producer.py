"""Several producer processes against the real Kafka: counts, per-customer order, partitions."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import pytest

from fraudstack.config import Config
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import on_the_wire
from fraudstack.simulator.generator import Marketplace
from fraudstack.simulator.settings import FaultRates, SimulatorSettings
from storage.kafka_log import end_offsets, read_between
from storage.kafka_producer import DEAD_LETTER_TOPIC, partition_for
from storage.parallel_producer import produce_parallel, shard
from storage.topics import load_topics


def test_shards_keep_every_key_whole_and_in_order() -> None:
    records = [("transactions", f"c-{i % 7}".encode(), str(i).encode()) for i in range(200)]
    shards = shard(records, 3)
    assert sorted(r for part in shards for r in part) == sorted(records)
    owner = {}
    for number, part in enumerate(shards):
        for _, key, _ in part:
            assert owner.setdefault(key, number) == number  # one key, one shard
    for part in shards:
        for key in {k for _, k, _ in part}:
            mine = [int(v) for _, k, v in part if k == key]
            assert mine == sorted(mine)  # original order within the key


@pytest.mark.integration
def test_two_workers_reconcile_keep_order_and_use_the_default_partitioner(stack: Config) -> None:
    settings = SimulatorSettings(
        seed=5, customers=200, merchants=30, transactions_per_day=2_000,
        faults=FaultRates(malformed=0.03),
    )  # fmt: skip
    start = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    market = Marketplace(settings, Tokeniser(load_key(stack.home)), start)
    wire = [
        w for w in on_the_wire(market.history(start, 1), settings.faults, 5)
        if w.topic == "transactions"
    ]  # fmt: skip
    offered = [(w.topic, w.key, w.value) for w in wire]
    topics = ["transactions", DEAD_LETTER_TOPIC]
    before = end_offsets(stack.kafka_bootstrap, topics)
    counts = produce_parallel(stack.kafka_bootstrap, offered, workers=2)
    records = read_between(
        stack.kafka_bootstrap, before, end_offsets(stack.kafka_bootstrap, topics)
    )

    malformed = sum(1 for w in wire if w.fault == "malformed")
    assert malformed > 0
    assert counts["transactions:sent"] + counts["transactions:dead_letter"] == len(wire)
    assert counts["transactions:dead_letter"] == malformed
    assert counts["errors"] == 0
    on_topic = [r for r in records if r.topic == "transactions"]
    assert len(on_topic) == counts["transactions:sent"]
    assert sum(1 for r in records if r.topic == DEAD_LETTER_TOPIC) == malformed

    partitions = {t.name: t.partitions for t in load_topics(stack.path("topics_file", "kafka"))}
    sent_order: dict[bytes, list[bytes]] = defaultdict(list)
    for w in wire:
        if w.fault != "malformed":
            sent_order[w.key].append(w.value)
    arrived: dict[bytes, list[tuple[int, bytes]]] = defaultdict(list)
    for r in on_topic:
        assert r.partition == partition_for(
            r.key, partitions["transactions"]
        )  # what Kafka's default partitioner picks
        arrived[r.key].append((r.offset, r.value))
    for key, values in sent_order.items():
        assert [value for _, value in sorted(arrived[key])] == values
    assert {json.loads(r.value)["customer_id"].encode() for r in on_topic} == set(sent_order)
