"""The speed layer end to end, against the real stack: Kafka in, Cassandra and Kafka out.

One streaming job (``fraudstack stream start`` underneath) runs for the module with
its own checkpoints, registry and metrics port; each test produces transactions
with ids no other test uses, and checks what a user of the platform would see.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fraudstack.config import Config
from fraudstack.events import format_time
from fraudstack.features import (
    WIDE_FEATURES,
    explode_entities,
    history_features,
    widen,
    with_amount_usd,
)
from fraudstack.scoring import MODEL_FEATURES
from fraudstack.stack import launcher
from storage.kafka_log import end_offsets, read_between
from streaming import control
from streaming.audit import audit
from streaming.transforms import parse_events
from tests.polling import wait_for
from tests.speed_layer import running_speed_layer

pytestmark = [pytest.mark.integration, pytest.mark.spark, pytest.mark.slow]

RUN = uuid.uuid4().hex[:8]
ROOT = f"/tests/speed-layer-{RUN}"


WINDOW: dict[str, dt.datetime] = {}  # when this module began sending, for the audit


@pytest.fixture(scope="module")
def job(stack: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """The speed layer on the real stack, with this module's own paths and port."""
    WINDOW["since"] = dt.datetime.now(dt.UTC)
    with running_speed_layer(tmp_path_factory.mktemp("speed-layer"), ROOT) as config:
        yield config


@pytest.fixture(scope="module")
def cassandra(job: Config) -> Iterator[Any]:
    from storage.cassandra_client import connected

    with connected(job.host("cassandra"), job.port("cassandra"), job.keyspace) as session:
        yield session


# --- test data --------------------------------------------------------------------


def tx(tag: str, n: int, when: dt.datetime, customer: str, **fields: Any) -> dict[str, Any]:
    customer = f"{tag}-{customer}"  # each test's people are its own
    record = {
        "schema_version": 1,
        "transaction_id": f"tx-{RUN}-{tag}-{n:04d}",
        "event_time": format_time(when),
        "customer_id": f"c-{RUN}-{customer}",
        "merchant_id": "m-00001",
        "amount": 42.5,
        "currency": "USD",
        "payment_method": "card",
        "card_token": f"card-{RUN}-{customer}",
        "email_token": f"mail-{RUN}-{customer}",
        "ip_token": f"ip-{RUN}-{customer}",
        "device_id": f"dev-{RUN}-{customer}",
        "category": "books",
        "quantity": 1,
        "channel": "web",
        "country": "US",
        "lat": 40.71,
        "lon": -74.01,
        "account_age_days": 400,
    }
    record.update(fields)
    return record


def marketplace(tag: str, start: dt.datetime) -> list[dict[str, Any]]:
    """Ordinary customers, a velocity burst, impossible travel, a big new-account buy,
    card testing on one device; in event-time order."""
    records = []
    for i in range(30):  # ordinary customers, a few purchases hours apart
        for k in range(3):
            when = start + dt.timedelta(minutes=37 * k + i)
            records.append(tx(tag, len(records), when, f"ok{i}", amount=20.0 + i + k))
    for k in range(8):  # 8 purchases in 16 minutes: more than 5 an hour
        records.append(tx(tag, len(records), start + dt.timedelta(minutes=2 * k), "burst"))
    records.append(tx(tag, len(records), start, "traveller"))
    records.append(
        tx(tag, len(records), start + dt.timedelta(minutes=20), "traveller",
           country="JP", lat=35.68, lon=139.69, currency="JPY", amount=3000.0)
    )  # fmt: skip
    records.append(
        tx(tag, len(records), start + dt.timedelta(minutes=5), "newbie",
           amount=900.0, account_age_days=2)
    )  # fmt: skip
    for k in range(6):  # six stolen cards tried on one device within minutes
        records.append(
            tx(tag, len(records), start + dt.timedelta(minutes=30, seconds=20 * k), f"tester{k}",
               device_id=f"dev-{RUN}-{tag}-rig", amount=1.0)
        )  # fmt: skip
    return sorted(records, key=lambda r: (r["event_time"], r["transaction_id"]))


INVALID: list[tuple[str, bytes]] = [
    ("malformed", b'{"transaction_id": "tx-broken", "amount": 1'),
    ("no amount", json.dumps({"schema_version": 1, "transaction_id": "x"}).encode()),
    ("bad currency", b""),  # filled in by invalid_records()
    ("negative amount", b""),
    ("wrong type", b""),
]


def invalid_records(tag: str, start: dt.datetime) -> list[tuple[str, bytes]]:
    base = tx(tag, 9000, start, "invalid")
    return [
        (f"c-{RUN}-invalid", b'{"transaction_id": "tx-broken", "amount": 1'),
        (f"c-{RUN}-invalid", json.dumps({**base, "amount": None}).encode()),
        (f"c-{RUN}-invalid", json.dumps({**base, "currency": "XXX"}).encode()),
        (f"c-{RUN}-invalid", json.dumps({**base, "amount": -5}).encode()),
        (f"c-{RUN}-invalid", json.dumps({**base, "quantity": "two"}).encode()),
    ]


def produce(config: Config, records: list[tuple[str, bytes]], pause: float = 0.0) -> None:
    """Send raw records in order, each acknowledged before the next (no validation)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=config.kafka_bootstrap, acks="all")
    try:
        for key, value in records:
            producer.send("transactions", key=key.encode(), value=value).get(timeout=30)
            if pause:
                time.sleep(pause)
    finally:
        producer.close()


def as_wire(records: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(r["customer_id"], json.dumps(r).encode()) for r in records]


def scored(session: Any, ids: list[str]) -> dict[str, Any]:
    rows = {}
    for chunk in range(0, len(ids), 100):
        part = ids[chunk : chunk + 100]
        marks = ",".join("%s" for _ in part)
        for row in session.execute(
            f"SELECT * FROM scored_transactions WHERE transaction_id IN ({marks})", part
        ):
            rows[row.transaction_id] = row
    return rows


def wait_scored(session: Any, ids: list[str], timeout: float = 180) -> dict[str, Any]:
    found: dict[str, Any] = {}

    def done() -> bool:
        found.update(scored(session, [i for i in ids if i not in found]))
        return len(found) == len(ids)

    wait_for(done, timeout, f"{len(ids)} transactions in scored_transactions")
    return found


def reference_features(spark: Any, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The batch layer's computation of the same features over the same events."""
    raw_df = spark.createDataFrame([(json.dumps(r).encode(),) for r in records], "value binary")
    tx_df = with_amount_usd(parse_events(raw_df, "transaction"))
    wide = widen(tx_df, history_features(explode_entities(tx_df)))
    return {row["transaction_id"]: row.asDict() for row in wide.collect()}


def assert_features_match(stream: dict[str, Any], reference: dict[str, dict[str, Any]]) -> None:
    for tx_id, expected in reference.items():
        got = stream[tx_id].features or {}
        for name in WIDE_FEATURES:
            want = expected[name]
            if want is None:
                assert name not in got, f"{tx_id} {name}: stream has {got.get(name)}, batch null"
            else:
                assert got.get(name) == pytest.approx(want, abs=1e-6), f"{tx_id} {name}"


def customer_rows(session: Any, customers: set[str]) -> int:
    return sum(
        session.execute(
            "SELECT count(*) FROM transactions_by_customer WHERE customer_id = %s", [c]
        ).one()[0]
        for c in customers
    )


# --- tests ------------------------------------------------------------------------


def test_every_valid_transaction_once_every_invalid_quarantined(
    job: Config, cassandra: Any, spark: Any
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    valid = marketplace("a", start)
    bad = invalid_records("a", start)
    before = end_offsets(job.kafka_bootstrap, ["dead_letter", "fraud_alerts"])
    # valid ones, the bad ones in between, then ten of the valid ones again
    produce(job, as_wire(valid[:40]) + bad + as_wire(valid[40:]) + as_wire(valid[:10]))

    ids = [r["transaction_id"] for r in valid]
    rows = wait_scored(cassandra, ids)
    assert set(rows) == set(ids)
    customers = {r["customer_id"] for r in valid}
    assert customer_rows(cassandra, customers) == len(valid), "a duplicate was stored twice"

    def quarantined() -> list[Any]:
        days = {dt.datetime.now(dt.UTC).date(), dt.datetime.now(dt.UTC).date() - dt.timedelta(1)}
        return [
            row
            for day in days
            for row in cassandra.execute(
                "SELECT * FROM quarantine_by_day WHERE day = %s AND source_topic = 'transactions'",
                [day],
            )
            if row.kafka_key == f"c-{RUN}-invalid"
        ]

    wait_for(lambda: len(quarantined()) == len(bad), 60, "5 rows in quarantine_by_day")
    stored = sorted(quarantined(), key=lambda row: row.kafka_offset)
    assert [row.raw for row in stored] == [value for _, value in bad]
    reasons = [row.reason for row in stored]
    assert reasons[0].startswith("malformed JSON")
    assert reasons[1:] == [
        "missing required field amount",
        "currency: unknown value 'XXX'",
        "amount: -5 below minimum 0.01",
        "quantity: expected int, got str",
    ]
    after = end_offsets(job.kafka_bootstrap, ["dead_letter", "fraud_alerts"])
    letters = [
        json.loads(r.value)
        for r in read_between(job.kafka_bootstrap, before, after)
        if r.topic == "dead_letter"
    ]
    ours = {
        (d["source_partition"], d["source_offset"]): d
        for d in letters
        if d["key"] == f"c-{RUN}-invalid"
    }
    assert sorted(d["reason"] for d in ours.values()) == sorted(reasons)
    assert all(d["stage"] == "speed_layer" for d in ours.values())

    # the features the speed layer stored are the batch definition's, value for value
    assert_features_match(rows, reference_features(spark, valid))

    # rules: documented reason codes on the transactions that breach them
    by_customer = {rows[i].customer_id.split("-")[-1]: rows[i] for i in ids}
    burst = sorted(
        (r for r in rows.values() if r.customer_id.endswith("-burst")), key=lambda r: r.event_time
    )
    assert all("CUSTOMER_VELOCITY_1H" in (r.reasons or []) for r in burst[5:])
    assert not any("CUSTOMER_VELOCITY_1H" in (r.reasons or []) for r in burst[:5])
    travel = [r for r in rows.values() if r.customer_id.endswith("-traveller")]
    assert any("IMPOSSIBLE_TRAVEL" in (r.reasons or []) for r in travel)
    newbie = by_customer["newbie"]
    assert {"NEW_ACCOUNT_HIGH_VALUE", "LARGE_AMOUNT"} <= set(newbie.reasons)
    assert newbie.decision in ("REVIEW", "BLOCK") and newbie.risk_score >= 0.3
    rig = [r for r in rows.values() if "-tester" in r.customer_id]
    assert any("DEVICE_MANY_CARDS" in (r.reasons or []) for r in rig)
    ordinary = [r for r in rows.values() if "-ok" in r.customer_id]
    assert all(r.decision == "ALLOW" and not r.reasons for r in ordinary)

    # every REVIEW / BLOCK is an alert in Cassandra and on the alerts topic
    flagged = {i for i, r in rows.items() if r.decision != "ALLOW"}
    assert flagged
    alerts = {
        json.loads(r.value)["alert_id"]
        for r in read_between(
            job.kafka_bootstrap,
            before,
            end_offsets(job.kafka_bootstrap, ["dead_letter", "fraud_alerts"]),
        )
        if r.topic == "fraud_alerts"
    }
    assert flagged <= alerts
    by_id = scored_alerts(cassandra, sorted(flagged))
    assert set(by_id) == flagged


def scored_alerts(session: Any, ids: list[str]) -> dict[str, Any]:
    marks = ",".join("%s" for _ in ids)
    return {
        row.alert_id: row
        for row in session.execute(f"SELECT * FROM alerts_by_id WHERE alert_id IN ({marks})", ids)
    }


def test_a_promoted_model_is_used_without_a_restart(
    job: Config, cassandra: Any, spark: Any
) -> None:
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import VectorAssembler

    from storage import model_registry

    pid = control.status(job).pid
    rows = [
        tuple([float((i * 7 + j) % 11) for j in range(len(MODEL_FEATURES))] + [float(i % 2)])
        for i in range(40)
    ]
    train_df = spark.createDataFrame(rows, [*MODEL_FEATURES, "label"])
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=list(MODEL_FEATURES), outputCol="vector"),
            LogisticRegression(featuresCol="vector", labelCol="label", maxIter=5),
        ]
    )
    models_dir = job.storage_uri(job.raw["streaming"]["models_dir"])
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for round_, tag in enumerate(("m1", "m2")):
        version = model_registry.register(spark, models_dir, pipeline.fit(train_df), {"auc": 0.5})
        model_registry.promote(spark, models_dir, version)
        time.sleep(3)  # the job looks for a new promotion every second
        records = [tx(tag, n, start + dt.timedelta(minutes=n), f"model{round_}") for n in range(5)]
        produce(job, as_wire(records))
        rows = wait_scored(cassandra, [r["transaction_id"] for r in records])
        assert {row.model_version for row in rows.values()} == {version}
        assert all(0.0 <= row.model_score <= 1.0 for row in rows.values())
    assert control.status(job).pid == pid, "the job restarted"


def test_sigkill_mid_stream_loses_and_duplicates_nothing(
    job: Config, cassandra: Any, spark: Any
) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    records = marketplace("k", start) + marketplace("k2", start + dt.timedelta(hours=1))
    records = sorted(records, key=lambda r: (r["event_time"], r["transaction_id"]))
    # The second half waits for the kill: however slowly the job starts, the stream is
    # still going when it dies, and records keep arriving while it is down.
    half = len(records) // 2
    killed = threading.Event()

    def send() -> None:
        produce(job, as_wire(records[:half]), 0.05)
        killed.wait(300)
        produce(job, as_wire(records[half:]), 0.05)

    sender = threading.Thread(target=send)
    sender.start()
    ids = [r["transaction_id"] for r in records]
    try:
        wait_for(lambda: len(scored(cassandra, ids)) > 20, 120, "the first scored transactions")
        pid = launcher.pid_file(job, control.NAME).running_pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
    finally:
        killed.set()
    wait_for(lambda: not control.status(job).running, 30, "the killed job to be gone")
    partial = len(scored(cassandra, ids))
    control.start(job)
    sender.join()
    rows = wait_scored(cassandra, ids)
    assert partial <= half, "records sent after the kill were scored before it"
    assert customer_rows(cassandra, {r["customer_id"] for r in records}) == len(records)
    assert_features_match(rows, reference_features(spark, records))


def test_the_audit_reconciles_everything_this_module_sent_and_notices_a_lost_row(
    job: Config, cassandra: Any, spark: Any
) -> None:
    """Runs last: every record the tests above put on Kafka (valid, invalid, replayed,
    sent across a SIGKILL) is scored, quarantined or archived exactly as it should be."""
    result = audit(job, WINDOW["since"], spark=spark, wait=120)
    assert result.ok, result.as_dict()
    summary = result.as_dict()
    assert summary["rejected"] >= 5 and summary["replayed_duplicates"] >= 10
    checks = {c.name: c for c in result.checks}
    assert checks["scored (Cassandra)"].expected >= 200
    assert checks["master dataset transactions (HDFS)"].found == sum(
        result.inputs.valid["transactions"].values()
    )
    # a scored row that disappears is reported lost and unaccounted, by id
    victim = sorted(result.inputs.valid["transactions"])[0]
    cassandra.execute("DELETE FROM scored_transactions WHERE transaction_id = %s", [victim])
    broken = audit(job, WINDOW["since"], until=result.until)
    assert not broken.ok and broken.unaccounted == 1
    lost = {c.name: c for c in broken.checks}["scored (Cassandra)"]
    assert lost.lost == 1 and victim in lost.examples
