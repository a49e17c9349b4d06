"""Health checks that mean "usable", one per service.

Each check either returns a short human-readable detail or raises ``Unhealthy``
with the reason. They talk to the real service through the same client libraries
the product uses (kafka-python, cassandra-driver, WebHDFS, pyhive, HTTP).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import requests

from fraudstack.stack.process import port_open

HEALTH_TOPIC = "fraudstack.health"


class Unhealthy(RuntimeError):
    """The service is not usable yet (or any more); the message says why."""


def kafka_roundtrip(bootstrap: str, timeout: float = 15.0) -> str:
    """Produce a token to the health topic and consume it back from its offset."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.errors import KafkaError

    token = uuid.uuid4().hex.encode()
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, acks="all", request_timeout_ms=int(timeout * 1000)
        )
        try:
            sent = producer.send(HEALTH_TOPIC, token, partition=0).get(timeout=timeout)
        finally:
            producer.close(timeout=5)
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
        )
        try:
            partition = TopicPartition(HEALTH_TOPIC, 0)
            consumer.assign([partition])
            consumer.seek(partition, sent.offset)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500).values():
                    if any(record.value == token for record in records):
                        return f"produced and consumed offset {sent.offset}"
        finally:
            consumer.close()
    except KafkaError as exc:
        raise Unhealthy(f"kafka round trip failed: {exc}") from exc
    raise Unhealthy("kafka accepted the message but it could not be consumed back")


def cassandra_roundtrip(host: str, port: int, keyspace: str) -> str:
    """Write a row to ``service_health`` and read it back."""
    from cassandra import DriverException
    from cassandra.cluster import NoHostAvailable

    from storage.cassandra_client import cluster as cassandra_cluster

    token = uuid.uuid4()
    cluster = cassandra_cluster(host, port, timeout=5)
    try:
        session = cluster.connect()
        version = session.execute("SELECT release_version FROM system.local").one()[0]
        session.execute(
            f"INSERT INTO {keyspace}.service_health (probe, checked_at, nonce) "
            "VALUES ('stack', toTimestamp(now()), %s)",
            (token,),
        )
        row = session.execute(
            f"SELECT nonce FROM {keyspace}.service_health WHERE probe = 'stack'"
        ).one()
    except (NoHostAvailable, DriverException, OSError) as exc:
        raise Unhealthy(f"cassandra query failed: {exc}") from exc
    finally:
        cluster.shutdown()
    if row is None or row.nonce != token:
        raise Unhealthy("cassandra accepted a write but did not return it")
    return f"Cassandra {version}: wrote and read {keyspace}.service_health"


def namenode_active(http: str) -> str:
    """The NameNode answers on JMX, is active and out of safe mode."""
    beans = _jmx(http, "Hadoop:service=NameNode,name=NameNodeInfo")
    info = beans[0] if beans else {}
    if info.get("Safemode"):
        raise Unhealthy(f"namenode in safe mode: {info['Safemode']}")
    status = _jmx(http, "Hadoop:service=NameNode,name=NameNodeStatus")
    state = status[0].get("State") if status else None
    if state != "active":
        raise Unhealthy(f"namenode state is {state!r}, not active")
    return f"active, version {info.get('Version', '?').split(',')[0]}"


def hdfs_roundtrip(namenode_http: str) -> str:
    """Write a small file through WebHDFS (NameNode redirects to the DataNode) and read it."""
    path = "/tmp/fraudstack-health/probe"
    body = uuid.uuid4().hex.encode()
    base = f"http://{namenode_http}/webhdfs/v1{path}"
    try:
        redirect = requests.put(
            f"{base}?op=CREATE&overwrite=true&user.name=fraudstack",
            allow_redirects=False,
            timeout=10,
        )
        if redirect.status_code != 307:
            raise Unhealthy(
                f"webhdfs CREATE answered {redirect.status_code}: {redirect.text[:200]}"
            )
        created = requests.put(redirect.headers["Location"], data=body, timeout=10)
        if created.status_code != 201:
            raise Unhealthy(f"datanode write answered {created.status_code}: {created.text[:200]}")
        read = requests.get(f"{base}?op=OPEN&user.name=fraudstack", timeout=10)
    except requests.RequestException as exc:
        raise Unhealthy(f"hdfs round trip failed: {exc}") from exc
    if read.content != body:
        raise Unhealthy(f"hdfs returned other bytes than written (status {read.status_code})")
    return f"wrote and read hdfs://{path}"


def hdfs_mkdirs(namenode_http: str, paths: tuple[str, ...]) -> list[str]:
    """Create the stack's top-level HDFS directories that are missing (WebHDFS MKDIRS)."""
    created = []
    for path in paths:
        url = f"http://{namenode_http}/webhdfs/v1{path}"
        status = requests.get(f"{url}?op=GETFILESTATUS&user.name=fraudstack", timeout=10)
        if status.status_code == 200:
            continue
        made = requests.put(f"{url}?op=MKDIRS&permission=1777&user.name=fraudstack", timeout=10)
        if made.status_code != 200 or not made.json().get("boolean"):
            raise Unhealthy(f"could not create hdfs://{path}: {made.status_code} {made.text[:200]}")
        created.append(f"created hdfs://{path}")
    return created


def _jmx(http: str, query: str) -> list[dict]:
    try:
        response = requests.get(f"http://{http}/jmx", params={"qry": query}, timeout=5)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise Unhealthy(f"no JMX answer from {http}: {exc}") from exc
    beans: list[dict] = response.json().get("beans", [])
    return beans


def derby_ping(jars: Path, host: str, port: int) -> str:
    """Ping the Derby network server over its own protocol (NetworkServerControl ping)."""
    result = subprocess.run(
        [
            "java",
            "-cp",
            f"{jars}/*",
            "org.apache.derby.drda.NetworkServerControl",
            "ping",
            "-h",
            host,
            "-p",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise Unhealthy(f"derby ping failed: {(result.stdout + result.stderr).strip()[-300:]}")
    return "metastore database answers ping"


def thrift_select(host: str, port: int) -> str:
    """Run ``SELECT 1`` and list databases (which reads the metastore) over HiveServer2."""
    from pyhive import hive
    from thrift.Thrift import TException

    if not port_open(host, port):
        raise Unhealthy(f"nothing listens on {host}:{port} yet")
    try:
        connection = hive.connect(host=host, port=port, auth="NOSASL")
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            one = cursor.fetchone()
            cursor.execute("SHOW DATABASES")
            databases = [row[0] for row in cursor.fetchall()]
        finally:
            connection.close()
    except (TException, OSError) as exc:
        raise Unhealthy(f"thrift server query failed: {exc}") from exc
    if one != (1,):
        raise Unhealthy(f"SELECT 1 returned {one!r}")
    return f"SELECT 1 ok; {len(databases)} database(s)"


def http_ok(url: str, what: str) -> str:
    """``url`` answers 200 (a readiness endpoint)."""
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException as exc:
        raise Unhealthy(f"{what} did not answer: {exc}") from exc
    if response.status_code != 200:
        raise Unhealthy(f"{what} answered {response.status_code}: {response.text[:100]}")
    return f"{what} ready"


def metrics_served(address: str, metric: str) -> str:
    """The exporter at ``address`` serves Prometheus text that includes ``metric``."""
    try:
        response = requests.get(f"http://{address}/metrics", timeout=10)
    except requests.RequestException as exc:
        raise Unhealthy(f"no answer from {address}/metrics: {exc}") from exc
    if response.status_code != 200 or f"\n{metric}" not in response.text:
        raise Unhealthy(f"{address}/metrics answered {response.status_code} without {metric}")
    return f"serving {metric}"


def prometheus_ready(address: str) -> str:
    """Prometheus is ready and reports how many scrape targets are up."""
    try:
        ready = requests.get(f"http://{address}/-/ready", timeout=5)
        if ready.status_code != 200:
            raise Unhealthy(f"prometheus not ready: {ready.status_code} {ready.text[:100]}")
        targets = requests.get(f"http://{address}/api/v1/targets", timeout=5).json()
    except requests.RequestException as exc:
        raise Unhealthy(f"prometheus did not answer: {exc}") from exc
    active = targets["data"]["activeTargets"]
    up = sum(1 for target in active if target["health"] == "up")
    return f"ready; {up}/{len(active)} scrape targets up"
