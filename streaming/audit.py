"""Reconciliation: every record that entered Kafka is accounted for, once.

``fraudstack audit --since T`` takes what the broker acknowledged on the input topics
from ``T`` on (producers send with ``acks=all`` and idempotence, so the log *is* the
acknowledged set), judges each record with the same contract as the speed layer, and
checks that it is where the speed layer should have put it:

- a valid transaction: one row in ``scored_transactions`` and one in
  ``transactions_by_customer`` (Cassandra); a flagged one, an alert in ``alerts_by_id``;
- a rejected record: its row in ``quarantine_by_day`` (by topic, partition, offset);
- every valid record, transactions and chargebacks: the master dataset on HDFS, as many
  copies as Kafka holds (the master dataset is raw; the batch layer drops replays).

``lost`` counts records missing from a sink, ``duplicated`` extra copies a sink keeps,
``unaccounted`` input records neither scored nor quarantined. The Kafka outputs
(``fraud_alerts``, ``dead_letter``) are at least once by design, keyed so a consumer can
drop a copy: their extra copies are reported as ``redelivered``, apart from the rest.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fraudstack.config import Config
from fraudstack.events import validate
from storage.kafka_log import end_offsets, offsets_at, read_between
from streaming.transforms import TOPIC_EVENTS, wire_schema

INPUT_TOPICS = ["transactions", "chargebacks"]
ID_FIELDS = {"transactions": "transaction_id", "chargebacks": "chargeback_id"}


@dataclass
class Inputs:
    """What Kafka holds for the window, judged by the contract."""

    records: dict[str, int] = field(default_factory=collections.Counter)  # per topic
    valid: dict[str, collections.Counter[str]] = field(
        default_factory=lambda: {t: collections.Counter() for t in INPUT_TOPICS}
    )
    # transaction id -> every customer it came with (a replay may differ from the first;
    # deduplication keeps whichever the job saw first, under that one customer)
    customers: dict[str, set[str]] = field(default_factory=dict)
    dates: set[str] = field(default_factory=set)  # event dates of valid records
    rejected: set[tuple[dt.date, str, int, int]] = field(default_factory=set)
    replayed: int = 0  # valid transactions whose id Kafka already held

    @property
    def total(self) -> int:
        return sum(self.records.values())


@dataclass
class Check:
    """One sink compared with what it should hold."""

    name: str
    expected: int
    found: int
    lost: int
    duplicated: int
    redelivered: int = 0
    examples: list[str] = field(default_factory=list)


@dataclass
class Audit:
    since: dt.datetime
    until: dt.datetime
    inputs: Inputs
    checks: list[Check]

    @property
    def unaccounted(self) -> int:
        by_name = {c.name: c for c in self.checks}
        return by_name["scored (Cassandra)"].lost + by_name["quarantine (Cassandra)"].lost

    @property
    def ok(self) -> bool:
        return self.unaccounted == 0 and not any(c.lost or c.duplicated for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "records": dict(self.inputs.records),
            "valid": {t: sum(c.values()) for t, c in self.inputs.valid.items()},
            "rejected": len(self.inputs.rejected),
            "replayed_duplicates": self.inputs.replayed,
            "unaccounted": self.unaccounted,
            "ok": self.ok,
            "checks": [vars(check) for check in self.checks],
        }


def _utc(millis: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def read_inputs(config: Config, since: dt.datetime, until: dt.datetime) -> Inputs:
    """The input topics' records with timestamps in ``[since, until)``."""
    bootstrap = config.kafka_bootstrap
    start, end = (
        offsets_at(bootstrap, INPUT_TOPICS, since),
        offsets_at(bootstrap, INPUT_TOPICS, until),
    )
    inputs = Inputs()
    for record in read_between(bootstrap, start, end):
        topic, received = record.topic, _utc(record.timestamp)
        inputs.records[topic] += 1
        value = record.value
        reason = (
            "empty message"
            if value is None
            else validate(value, TOPIC_EVENTS[topic], received_at=received)
        )
        if reason:
            inputs.rejected.add((received.date(), topic, record.partition, record.offset))
            continue
        event = json.loads(value)
        key = event[ID_FIELDS[topic]]
        inputs.replayed += topic == "transactions" and key in inputs.valid[topic]
        inputs.valid[topic][key] += 1
        inputs.dates.add(event["event_time"][:10])
        if topic == "transactions":
            inputs.customers.setdefault(key, set()).add(event["customer_id"])
    return inputs


def _compare(
    name: str, expected: collections.Counter[str], found: collections.Counter[str]
) -> Check:
    lost = [k for k, n in expected.items() if found[k] < n]
    extra = [k for k, n in found.items() if n > expected[k] > 0]
    return Check(
        name,
        expected=sum(expected.values()),
        found=sum(min(found[k], n) for k, n in expected.items()),
        lost=sum(n - found[k] for k, n in expected.items() if found[k] < n),
        duplicated=sum(found[k] - expected[k] for k in extra),
        examples=sorted(lost)[:3] + sorted(extra)[:3],
    )


def _rows(session: Any, cql: str, keys: list[Any]) -> Iterator[Any]:
    """Every row of ``cql`` (one ``?``) over ``keys``, 32 queries in flight. Reads that
    time out (a node busy with a draining job's writes) are sent again, up to 5 rounds.

    Raises:
        RuntimeError: reads still failed after the retries.
    """
    from storage.cassandra_writer import execute_with_retries

    table = cql.split(" FROM ", 1)[1].split()[0]
    params = [(k,) for k in keys]
    for rows in execute_with_retries(
        session, session.prepare(cql), params, table, 32, retries=5, pause=2.0, action="reads of"
    ):
        yield from rows


def check_cassandra(session: Any, inputs: Inputs) -> tuple[list[Check], set[str]]:
    """Scored, by-customer, alert and quarantine rows; also returns the flagged ids."""
    once = collections.Counter(dict.fromkeys(inputs.valid["transactions"], 1))
    scored: collections.Counter[str] = collections.Counter()
    flagged: set[str] = set()
    for row in _rows(
        session,
        "SELECT transaction_id, decision FROM scored_transactions WHERE transaction_id = ?",
        sorted(once),
    ):
        scored[row.transaction_id] += 1
        if row.decision != "ALLOW":
            flagged.add(row.transaction_id)
    stored = collections.Counter(
        row.transaction_id
        for row in _rows(
            session,
            "SELECT transaction_id FROM transactions_by_customer WHERE customer_id = ?",
            sorted(set().union(*inputs.customers.values())),
        )
        if row.transaction_id in once
    )
    alerted = collections.Counter(
        row.alert_id
        for row in _rows(
            session, "SELECT alert_id FROM alerts_by_id WHERE alert_id = ?", sorted(flagged)
        )
    )
    wanted = collections.Counter(f"{t}/{p}/{o}" for _, t, p, o in inputs.rejected)
    kept: collections.Counter[str] = collections.Counter()
    for topic in sorted({t for _, t, _, _ in inputs.rejected}):
        days = sorted({d for d, t, _, _ in inputs.rejected if t == topic})
        cql = (
            "SELECT kafka_partition, kafka_offset FROM quarantine_by_day "
            f"WHERE day = ? AND source_topic = '{topic}'"
        )
        positions = (
            f"{topic}/{r.kafka_partition}/{r.kafka_offset}" for r in _rows(session, cql, days)
        )
        kept.update(p for p in positions if p in wanted)
    checks = [
        _compare("scored (Cassandra)", once, scored),
        _compare("by customer (Cassandra)", once, stored),
        _compare("alerts (Cassandra)", collections.Counter(dict.fromkeys(flagged, 1)), alerted),
        _compare("quarantine (Cassandra)", wanted, kept),
    ]
    return checks, flagged


def check_topics(
    config: Config, since: dt.datetime, inputs: Inputs, flagged: set[str]
) -> list[Check]:
    """The alerts and dead-letter topics: every expected key there, copies counted apart."""
    settings = config.raw["streaming"]
    topics = [settings["alerts_topic"], settings["dead_letter_topic"]]
    bootstrap = config.kafka_bootstrap
    records = read_between(
        bootstrap, offsets_at(bootstrap, topics, since), end_offsets(bootstrap, topics)
    )
    alerts: collections.Counter[str] = collections.Counter()
    letters: collections.Counter[str] = collections.Counter()
    for record in records:
        body = json.loads(record.value)
        if record.topic == settings["alerts_topic"]:
            alerts[body["alert_id"]] += body["alert_id"] in flagged
        elif body.get("stage") == "speed_layer":
            letters[
                f"{body['source_topic']}/{body['source_partition']}/{body['source_offset']}"
            ] += 1
    checks = []
    for name, expected, found in (
        ("alerts topic (at least once)", collections.Counter(dict.fromkeys(flagged, 1)), alerts),
        (
            "dead-letter topic (at least once)",
            collections.Counter(f"{t}/{p}/{o}" for _, t, p, o in inputs.rejected),
            letters,
        ),
    ):
        check = _compare(name, expected, found)
        check.redelivered, check.duplicated = check.duplicated, 0
        checks.append(check)
    return checks


def check_master(spark: Any, config: Config, inputs: Inputs) -> list[Check]:
    """The speed layer's archive on HDFS (through Spark: only committed files count)."""
    from pyspark.sql import functions as F

    root = config.storage_uri(config.raw["streaming"]["archive_dir"])
    checks = []
    for topic in INPUT_TOPICS:
        expected = inputs.valid[topic]
        found: collections.Counter[str] = collections.Counter()
        if expected:
            key = ID_FIELDS[topic]
            wanted_df = spark.createDataFrame([(k,) for k in expected], f"{key} string")
            schema = wire_schema(TOPIC_EVENTS[topic]).add("event_date", "string")
            try:  # the explicit schema reads an archive with no file yet as empty
                archive_df = spark.read.schema(schema).parquet(f"{root}/{topic}")
            except Exception as exc:  # no archive yet: everything is missing
                if "PATH_NOT_FOUND" not in str(exc):
                    raise
            else:
                counted = (
                    archive_df.where(F.col("event_date").isin(*sorted(inputs.dates)))
                    .join(F.broadcast(wanted_df), key)
                    .groupBy(key)
                    .count()
                    .collect()
                )
                found.update({row[key]: row["count"] for row in counted})
        checks.append(_compare(f"master dataset {topic} (HDFS)", expected, found))
    return checks


def audit(
    config: Config,
    since: dt.datetime,
    until: dt.datetime | None = None,
    spark: Any = None,
    wait: float = 0.0,
) -> Audit:
    """Reconcile the window ``[since, until)`` (until: now).

    Args:
        spark: a session to check the HDFS master dataset with; None leaves it out.
        wait: seconds to keep re-checking the sinks while anything is missing (the
            archive commits every ``streaming.archive_trigger``; a restarted job catches up).
    """
    import time

    from storage.cassandra_client import cluster

    until = until or dt.datetime.now(dt.UTC)
    inputs = read_inputs(config, since, until)
    deadline = time.monotonic() + wait
    connection = cluster(config.host("cassandra"), config.port("cassandra"), timeout=30)
    session = connection.connect(config.keyspace)
    try:
        while True:
            checks, flagged = check_cassandra(session, inputs)
            checks += check_topics(config, since, inputs, flagged)
            if spark is not None:
                checks += check_master(spark, config, inputs)
            result = Audit(since, until, inputs, checks)
            if result.ok or time.monotonic() > deadline:
                return result
            time.sleep(5)
    finally:
        connection.shutdown()
