"""The services of the local stack: how each is prepared, started and checked.

Every service is a real upstream program: JVM services from Maven Central jars
(``stack/maven``), the Spark Thrift Server from pyspark's own jars, Prometheus from
Debian, Superset from its own virtualenv. Config files are templates under
``stack/conf/<service>`` (Prometheus: ``monitoring/prometheus``) rendered into
``<home>/conf/<service>`` on start.
"""

from __future__ import annotations

from fraudstack.config import Config
from fraudstack.stack.services.alert_notifier import alert_notifier
from fraudstack.stack.services.alertmanager import alertmanager
from fraudstack.stack.services.base import Service, render
from fraudstack.stack.services.cassandra import cassandra
from fraudstack.stack.services.exporters import node_exporter, process_exporter
from fraudstack.stack.services.hdfs import datanode, namenode
from fraudstack.stack.services.hive import metastore, thriftserver
from fraudstack.stack.services.kafka import kafka
from fraudstack.stack.services.prometheus import prometheus
from fraudstack.stack.services.streamlit import streamlit
from fraudstack.stack.services.superset import superset

__all__ = ["Service", "render", "stack_services"]


def stack_services(config: Config) -> dict[str, Service]:
    """Every service of the local stack, in start order (``down`` goes in reverse)."""
    builders = (
        kafka,
        cassandra,
        namenode,
        datanode,
        metastore,
        thriftserver,
        node_exporter,
        process_exporter,
        alertmanager,
        prometheus,
        streamlit,
        alert_notifier,
        superset,
    )
    return {service.name: service for service in (build(config) for build in builders)}
