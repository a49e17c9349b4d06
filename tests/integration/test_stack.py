"""The real local stack: every service is up, usable through its real client, and managed."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import requests

from fraudstack.config import Config
from fraudstack.stack import launcher, process
from fraudstack.stack.services import stack_services

pytestmark = pytest.mark.integration


def test_status_shows_every_service_healthy_with_its_ports(stack: Config) -> None:
    states = launcher.status(stack)
    assert [s.name for s in states] == list(stack_services(stack))
    unhealthy = {s.name: s.detail for s in states if s.state != "healthy"}
    assert not unhealthy
    for state in states:
        assert state.pid is not None
        for port in state.ports.values():
            assert process.port_in_use("127.0.0.1", port), f"{state.name} does not hold {port}"


def test_every_listening_socket_of_the_stack_is_on_loopback(stack: Config) -> None:
    # every process `up` (or `stream start`) recorded, with its whole process group:
    # a wrapper script's JVM, gunicorn's workers, Spark's Python workers
    pids = set()
    for pid_path in stack.run_dir.glob("*.pid"):
        pid = process.PidFile(pid_path).running_pid()
        if pid is not None:
            pids |= {pid, *process.group_members(os.getpgid(pid))}
    listening = process.listening_sockets(pids)
    ports = {port for _, _, port in listening}
    declared = {p for s in launcher.status(stack) for p in s.ports.values()}
    # the scan sees what `up` declared, so an empty or partial scan cannot pass
    assert declared <= ports, f"declared ports not found listening: {sorted(declared - ports)}"
    public = [
        (pid, address, port) for pid, address, port in listening if not process.is_loopback(address)
    ]
    assert not public, f"sockets bound beyond loopback (pid, address, port): {public}"


def test_up_again_keeps_the_running_processes(stack: Config) -> None:
    before = {name: launcher.pid_file(stack, name).running_pid() for name in stack_services(stack)}
    events: list[tuple[str, str]] = []
    launcher.up(stack, report=lambda name, event: events.append((name, event)))
    assert not [e for e in events if e[1] == "started"]
    after = {name: launcher.pid_file(stack, name).running_pid() for name in stack_services(stack)}
    assert after == before


def test_a_stopped_service_is_gone_and_comes_back(stack: Config) -> None:
    pid = launcher.pid_file(stack, "prometheus").running_pid()
    assert pid is not None
    assert launcher.down(stack, ["prometheus"]) == ["prometheus"]
    assert process.group_members(pid) == []
    assert not process.port_open("127.0.0.1", stack.port("prometheus"))
    launcher.up(stack, ["prometheus"])
    assert launcher.pid_file(stack, "prometheus").running_pid() not in (None, pid)


def test_kafka_topics_from_the_declaration_exist_without_auto_create(stack: Config) -> None:
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaTimeoutError

    from storage.topics import load_topics

    declared = {t.name: t.partitions for t in load_topics(stack.path("topics_file", "kafka"))}
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(declared))}
    finally:
        admin.close()
    assert described == declared
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaTimeoutError):
            producer.send(f"undeclared-{uuid.uuid4().hex[:8]}", b"x").get(timeout=5)
    finally:
        producer.close(timeout=5)


def test_kafka_produce_and_consume_keyed_messages(stack: Config) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    run = uuid.uuid4().hex
    producer = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    sent = [
        producer.send("fraudstack.health", key=run.encode(), value=f"{run}:{i}".encode()).get(10)
        for i in range(20)
    ]
    producer.close()
    partition = TopicPartition("fraudstack.health", 0)
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, group_id=None)
    consumer.assign([partition])
    consumer.seek(partition, sent[0].offset)
    received: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(received) < 20 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            received += [r.value for r in records if r.key == run.encode()]
    consumer.close()
    assert received == [f"{run}:{i}".encode() for i in range(20)]


def test_cassandra_write_and_read_with_prepared_statements(stack: Config) -> None:
    from storage.cassandra_client import cluster as cassandra_cluster

    table = f"{stack.keyspace}.it_{uuid.uuid4().hex[:8]}"
    cluster = cassandra_cluster("127.0.0.1", stack.port("cassandra"))
    session = cluster.connect()
    try:
        session.execute(
            f"CREATE TABLE {table} (customer_id text, ts timeuuid, amount decimal, "
            "PRIMARY KEY (customer_id, ts)) WITH CLUSTERING ORDER BY (ts DESC)"
        )
        insert = session.prepare(
            f"INSERT INTO {table} (customer_id, ts, amount) VALUES (?, now(), ?)"
        )
        from decimal import Decimal

        for amount in ("10.50", "99.99", "1500.00"):
            session.execute(insert, ("c-1", Decimal(amount)))
        rows = session.execute(f"SELECT amount FROM {table} WHERE customer_id = 'c-1'")
        assert [str(r.amount) for r in rows] == ["1500.00", "99.99", "10.50"]
    finally:
        session.execute(f"DROP TABLE IF EXISTS {table}")
        cluster.shutdown()


def test_cassandra_schema_applies_idempotently(stack: Config) -> None:
    from storage.cassandra_schema import apply_schema, schema_statements

    statements = schema_statements(stack.path("schema_file", "cassandra"), stack.keyspace)
    assert any("service_health" in s for s in statements)
    assert apply_schema("127.0.0.1", stack.port("cassandra"), statements, stack.keyspace) == []


def test_prometheus_scrapes_every_target_of_the_stack(stack: Config) -> None:
    base = f"http://{stack.address('prometheus')}"
    expected = {
        "prometheus",
        "kafka",
        "cassandra",
        "hdfs",
        "thriftserver",
        "thriftserver-executors",
        "node",
        "processes",
        "alertmanager",
        "alert-notifier",
    }
    deadline = time.monotonic() + 60
    while True:
        targets = requests.get(f"{base}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        # the speed layer and producers are scraped too, but only while they run
        health = {
            (t["labels"]["job"], t["scrapeUrl"]): t["health"]
            for t in targets
            if t["labels"]["job"] in expected
        }
        if {job for job, _ in health} >= expected and set(health.values()) == {"up"}:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"targets not all up after 60s: {health}")
        time.sleep(2)
    result = requests.get(
        f"{base}/api/v1/query", params={"query": "count by (job) (up == 1)"}, timeout=5
    ).json()["data"]["result"]
    assert {r["metric"]["job"] for r in result} >= expected
    # the metrics are the services' own, not just the `up` series
    for query in (
        'kafka_server_brokertopicmetrics_count{name="MessagesInPerSec"}',
        'org_apache_cassandra_metrics_clientrequest_50thpercentile{name="Latency"}',
        'jvm_memory_used_bytes{job="cassandra"}',
        '{job="hdfs", __name__=~"fs_namesystem_.*"}',
        'metrics_executor_memoryUsed_bytes{job="thriftserver-executors"}',
    ):
        series = requests.get(f"{base}/api/v1/query", params={"query": query}, timeout=5).json()
        assert series["data"]["result"], f"no series for {query}"


def test_prometheus_has_memory_and_cpu_per_service(stack: Config) -> None:
    base = f"http://{stack.address('prometheus')}"
    services = {
        "kafka",
        "cassandra",
        "namenode",
        "datanode",
        "metastore",
        "thriftserver",
        "prometheus",
    }
    deadline = time.monotonic() + 60
    while True:
        seen = {
            (r["metric"]["__name__"], r["metric"]["groupname"])
            for query in (
                "fraudstack:service_resident_memory_bytes > 0",
                "fraudstack:service_cpu_cores:rate1m >= 0",
            )
            for r in requests.get(
                f"{base}/api/v1/query", params={"query": query}, timeout=5
            ).json()["data"]["result"]
        }
        missing = {
            (metric, name)
            for metric in (
                "fraudstack:service_resident_memory_bytes",
                "fraudstack:service_cpu_cores:rate1m",
            )
            for name in services
        } - seen
        if not missing:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"per-service series missing after 60s: {sorted(missing)}")
        time.sleep(2)
