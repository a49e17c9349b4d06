"""Personal data never rests in clear: not on Kafka, in Cassandra, on HDFS, in the logs.

The simulator makes a small marketplace day (a few hundred transactions, its usual
faults and fraud episodes) through the real tokeniser, which here also remembers
every raw card number, email and IP it was handed. The records go through the
validating producer to Kafka and through a speed layer of this module's own on the
real stack; then everything the run stored is searched for those raw values.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fraudstack.config import Config
from fraudstack.events import validate
from fraudstack.pii import Tokeniser, load_key
from fraudstack.simulator.faults import WireRecord, on_the_wire
from fraudstack.simulator.generator import Marketplace, midnight
from fraudstack.simulator.settings import SimulatorSettings, default_scenario_rates
from storage.kafka_log import end_offsets, read_between
from storage.master_dataset import list_hdfs, read_from_hdfs
from tests.polling import wait_for
from tests.security.pii_scan import leaks
from tests.speed_layer import running_speed_layer

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
ROOT = f"/tests/pii-{RUN}"
TOPICS = ["transactions", "fraud_alerts", "dead_letter"]
LEAK_KEY = f"c-{RUN}-leak"
# raw emails inside two invalid records: one offered to the validating producer, one
# written straight to `transactions` (a client that skips validation)
VIA_PRODUCER = f"leak.producer.{RUN}@example.com"
VIA_TOPIC = f"leak.topic.{RUN}@example.com"


class RecordingTokeniser(Tokeniser):
    """The real tokeniser, remembering every raw value it was handed."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self.raw: set[str] = set()

    def token(self, kind: str, value: str | None) -> str | None:
        if value is not None:
            self.raw.add(value)
        return super().token(kind, value)


@dataclass
class Run:
    config: Config
    records: list[WireRecord]
    raw: set[str]  # every raw card number, email and IP of the simulated day
    kafka: list[Any]  # every record the run put on TOPICS


def simulate(config: Config) -> tuple[list[WireRecord], set[str]]:
    tokens = RecordingTokeniser(load_key(config.home))
    # every scenario at 2%, so a day this small still has fraud episodes and alerts
    settings = SimulatorSettings(
        seed=int(RUN, 16),
        customers=80,
        merchants=20,
        transactions_per_day=300,
        scenario_rates=dict.fromkeys(default_scenario_rates(), 0.02),
    )
    start = midnight(dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    market = Marketplace(settings, tokens, start)
    records = list(on_the_wire(market.history(start, 1), settings.faults, settings.seed))
    return records, tokens.raw


def with_raw_email(record: WireRecord, email: str) -> bytes:
    return json.dumps({**json.loads(record.value), "email": email}).encode()


def hdfs_files(config: Config, root: str) -> Iterator[tuple[str, bytes]]:
    """(path, content) of every file under ``root``, through WebHDFS."""
    namenode = config.address("namenode", "http_port")
    for status in list_hdfs(namenode, root) or []:
        path = f"{root}/{status['pathSuffix']}"
        if status["type"] == "DIRECTORY":
            yield from hdfs_files(config, path)
        else:
            yield path, read_from_hdfs(namenode, path)


def readable(path: str, content: bytes) -> bytes:
    """A Parquet file's rows as text (its pages are compressed); other files as they are."""
    if not path.endswith(".parquet"):
        return content
    import pyarrow.parquet as pq

    return str(pq.read_table(io.BytesIO(content)).to_pylist()).encode()


def archived_ids(config: Config) -> set[str]:
    """Transaction ids in the archive's Parquet files so far (a file being written: none)."""
    import pyarrow.parquet as pq

    ids: set[str] = set()
    for path, content in hdfs_files(config, f"{ROOT}/master"):
        if path.endswith(".parquet"):
            try:
                table = pq.read_table(io.BytesIO(content), columns=["transaction_id"])
            except Exception:  # not yet complete
                continue
            ids |= set(table.column(0).to_pylist())
    return ids


def cassandra_tables(config: Config) -> Iterator[tuple[str, bytes]]:
    """(table, every row as text) for each table of the keyspace."""
    from cassandra.query import SimpleStatement

    from storage.cassandra_client import cluster

    session = cluster(config.host("cassandra"), config.port("cassandra"), timeout=60).connect()
    try:
        tables = [
            row.table_name
            for row in session.execute(
                "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s",
                [config.keyspace],
            )
        ]
        for table in tables:
            query = SimpleStatement(f"SELECT * FROM {config.keyspace}.{table}", fetch_size=2000)
            yield table, "\n".join(map(repr, session.execute(query))).encode()
    finally:
        session.cluster.shutdown()


def decisions(config: Config, ids: set[str]) -> dict[str, str]:
    """transaction id -> decision, of those ids scored so far."""
    from storage.cassandra_client import cluster

    session = cluster(config.host("cassandra"), config.port("cassandra")).connect(config.keyspace)
    try:
        found = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), 100):
            part = ordered[start : start + 100]
            marks = ",".join("%s" for _ in part)
            query = (
                "SELECT transaction_id, decision FROM scored_transactions"
                f" WHERE transaction_id IN ({marks})"
            )
            found |= {row.transaction_id: row.decision for row in session.execute(query, part)}
        return found
    finally:
        session.cluster.shutdown()


@pytest.fixture(scope="module")
def run(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    from kafka import KafkaProducer

    from storage.kafka_producer import EventProducer

    with running_speed_layer(tmp_path_factory.mktemp("pii"), ROOT) as config:
        records, raw = simulate(config)
        sale = next(r for r in records if r.topic == "transactions" and r.fault is None)
        before = end_offsets(config.kafka_bootstrap, TOPICS)
        producer = EventProducer(config.kafka_bootstrap)
        try:
            for record in records:
                producer.send(record.topic, record.key, record.value)
            producer.send("transactions", LEAK_KEY.encode(), with_raw_email(sale, VIA_PRODUCER))
            producer.flush()
        finally:
            producer.close()
        unchecked = KafkaProducer(bootstrap_servers=config.kafka_bootstrap, acks="all")
        try:
            unchecked.send(
                "transactions", key=LEAK_KEY.encode(), value=with_raw_email(sale, VIA_TOPIC)
            ).get(timeout=30)
        finally:
            unchecked.close()

        valid = {
            json.loads(r.value)["transaction_id"]
            for r in records
            if r.topic == "transactions" and validate(r.value, "transaction") is None
        }
        wait_for(lambda: len(decisions(config, valid)) == len(valid), 300, "every sale scored")
        flagged = {i for i, decision in decisions(config, valid).items() if decision != "ALLOW"}
        assert flagged, "no alert among the simulated fraud: the scan would miss fraud_alerts"
        wait_for(lambda: valid <= archived_ids(config), 120, "every valid sale archived")
        # found by its key: the raw email in it is masked in the quarantine
        wait_for(lambda: bool(quarantined(config)), 120, "the bad record quarantined")
        kafka: list[Any] = []

        def every_alert_sent() -> bool:
            after = end_offsets(config.kafka_bootstrap, TOPICS)
            kafka[:] = read_between(config.kafka_bootstrap, before, after)
            sent = {json.loads(r.value)["alert_id"] for r in kafka if r.topic == "fraud_alerts"}
            return flagged <= sent

        wait_for(every_alert_sent, 60, "every alert on fraud_alerts")
        yield Run(config, records, raw, kafka)


def quarantined(config: Config) -> list[Any]:
    """Today's and yesterday's quarantine rows of the record sent past the producer."""
    from storage.cassandra_client import cluster

    session = cluster(config.host("cassandra"), config.port("cassandra")).connect(config.keyspace)
    today = dt.datetime.now(dt.UTC).date()
    try:
        return [
            row
            for day in (today, today - dt.timedelta(days=1))
            for row in session.execute(
                "SELECT * FROM quarantine_by_day WHERE day = %s AND source_topic = 'transactions'",
                [day],
            )
            if row.kafka_key == LEAK_KEY
        ]
    finally:
        session.cluster.shutdown()


def _kafka_places(run: Run) -> list[tuple[str, bytes]]:
    return [
        (f"kafka {r.topic}[{r.partition}]@{r.offset}", (r.key or b"") + b" " + (r.value or b""))
        for r in run.kafka
    ]


def test_the_simulated_day_has_raw_values_of_every_kind_and_sends_none(run: Run) -> None:
    emails = {v for v in run.raw if "@" in v}
    cards = {v for v in run.raw if v.isdigit()}
    ips = run.raw - emails - cards
    assert len(emails) > 20 and len(cards) > 20 and len(ips) > 20
    sent = [(f"wire {r.topic} {r.key!r}", r.key + b" " + r.value) for r in run.records]
    assert len(sent) > 250
    assert leaks(sent, run.raw) == {}


def test_kafka_holds_no_raw_personal_data(run: Run) -> None:
    topics = {r.topic for r in run.kafka}
    assert {"transactions", "fraud_alerts", "dead_letter"} <= topics, topics
    assert leaks(_kafka_places(run), run.raw) == {}


def test_cassandra_holds_no_raw_personal_data(run: Run) -> None:
    tables = dict(cassandra_tables(run.config))
    assert {"scored_transactions", "transactions_by_customer", "alerts_by_id"} <= tables.keys()
    assert leaks(tables.items(), run.raw) == {}


def test_hdfs_archive_and_checkpoints_hold_no_raw_personal_data(run: Run) -> None:
    files = {path: readable(path, content) for path, content in hdfs_files(run.config, ROOT)}
    assert any(p.endswith(".parquet") for p in files), "the archive wrote no Parquet"
    assert any("/checkpoints/" in p for p in files), "no checkpoint files"
    assert leaks(files.items(), run.raw) == {}


def test_logs_hold_no_raw_personal_data(run: Run) -> None:
    logs = [(str(p), p.read_bytes()) for p in sorted(run.config.logs_dir.iterdir()) if p.is_file()]
    assert any("speed-layer" in name for name, _ in logs)
    assert leaks(logs, run.raw) == {}


def test_a_rejected_record_with_raw_personal_data_is_not_stored_in_clear(run: Run) -> None:
    bad = {VIA_PRODUCER, VIA_TOPIC}
    rows = "\n".join(map(repr, quarantined(run.config))).encode()
    assert rows, "the record sent past the producer was not quarantined"
    letters = [(n, v) for n, v in _kafka_places(run) if n.startswith("kafka dead_letter")]
    logs = [(str(p), p.read_bytes()) for p in sorted(run.config.logs_dir.iterdir()) if p.is_file()]
    found = leaks([*letters, ("cassandra quarantine_by_day", rows), *logs], bad)
    assert found == {}, f"raw emails of rejected records stored in clear: {found}"
