"""The one SparkSession factory, and the Spark settings every Spark process shares.

The Spark Thrift Server (started by ``fraudstack up``), batch jobs, streaming jobs
and the test suite all take their settings from :func:`spark_conf`, so they see
the same HDFS, the same warehouse and the same Hive metastore.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fraudstack.config import Config, load_config

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def derby_client_jar(config: Config) -> Path:
    """The Derby JDBC client jar that connects Spark to the shared metastore database."""
    jars = sorted((config.jars_dir / "metastore").glob("derbyclient-*.jar"))
    if not jars:
        raise FileNotFoundError(
            f"no derbyclient jar under {config.jars_dir / 'metastore'}: run `make setup` first"
        )
    return jars[-1]


def extra_jars(config: Config) -> list[Path]:
    """Jars every Spark process loads besides pyspark's own: the Kafka connector."""
    jars = sorted((config.jars_dir / "spark").glob("*.jar"))
    if not jars:
        raise FileNotFoundError(
            f"no Spark connector jars under {config.jars_dir / 'spark'}: run `make setup` first"
        )
    return jars


def metastore_url(config: Config) -> str:
    """JDBC URL of the Hive metastore database on the Derby network server."""
    return f"jdbc:derby://{config.address('metastore')}/metastore_db;create=true"


def driver_host(config: Config) -> str:
    """The address executors use to reach the driver.

    Locally the loopback host. In compose, ``spark.driver_host: hostname`` names the
    container itself (each driver service sets ``hostname:``), since executors run
    in other containers.
    """
    wanted = str(config.raw["spark"].get("driver_host") or config.raw["host"])
    return socket.gethostname() if wanted == "hostname" else wanted


def metastore_conf(config: Config) -> dict[str, str]:
    """How Spark finds the Hive metastore.

    With ``hive.metastore_uri`` (the compose deployment: a Hive metastore service on
    PostgreSQL) every Spark process is a thrift client of it. Otherwise each process
    embeds the metastore client and shares one Derby network database (local stack).
    """
    uri = config.raw["hive"].get("metastore_uri")
    if uri:
        return {"spark.hadoop.hive.metastore.uris": str(uri)}
    return {
        "spark.driver.extraClassPath": str(derby_client_jar(config)),
        # every Spark process embeds the metastore client; they share one database
        "spark.hadoop.javax.jdo.option.ConnectionURL": metastore_url(config),
        "spark.hadoop.javax.jdo.option.ConnectionDriverName": "org.apache.derby.jdbc.ClientDriver",
        "spark.hadoop.datanucleus.schema.autoCreateAll": "true",
        "spark.hadoop.hive.metastore.schema.verification": "false",
    }


def spark_conf(config: Config) -> dict[str, str]:
    """Spark settings shared by every Spark process of the stack.

    Args:
        config: the loaded configuration.

    Returns:
        Spark configuration keys and values (``spark.*``).
    """
    host = config.raw["host"]
    return {
        "spark.master": str(config.raw["spark"]["master"]),
        "spark.driver.host": driver_host(config),
        "spark.driver.bindAddress": host,
        "spark.jars": ",".join(str(jar) for jar in extra_jars(config)),
        "spark.sql.shuffle.partitions": str(config.raw["spark"]["shuffle_partitions"]),
        "spark.sql.session.timeZone": "UTC",
        "spark.pyspark.python": sys.executable,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": f"{config.hdfs_uri}{config.raw['hive']['warehouse_dir']}",
        "spark.hadoop.fs.defaultFS": config.hdfs_uri,
        # the client decides replication; the default 3 leaves blocks under-replicated
        "spark.hadoop.dfs.replication": str(config.raw["hive"].get("replication", 1)),
        **metastore_conf(config),
        # a batch run replaces table partitions; other processes (the Thrift Server behind
        # Superset) forget cached file listings after this long instead of failing on them
        "spark.sql.metadataCacheTTLSeconds": "30s",
        "spark.ui.prometheus.enabled": "true",
        "spark.metrics.conf.*.sink.prometheusServlet.class": (
            "org.apache.spark.metrics.sink.PrometheusServlet"
        ),
        "spark.metrics.conf.*.sink.prometheusServlet.path": "/metrics/prometheus",
        # any further Spark setting a deployment needs (YARN queues, Kubernetes images, ...)
        **{str(key): str(value) for key, value in config.raw["spark"].get("conf", {}).items()},
    }


def spark_env(config: Config) -> dict[str, str]:
    """Environment for a Spark JVM: the pip-installed Spark and a loopback-only bind."""
    import pyspark

    return {
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
        "SPARK_LOCAL_IP": str(config.raw["host"]),
        # Python workers run the project's own interpreter (its packages, its code)
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def build_session(
    app_name: str,
    config: Config | None = None,
    extra: dict[str, str] | None = None,
) -> SparkSession:
    """Create (or return the running) SparkSession configured for the stack.

    Args:
        app_name: name shown in the Spark UI and logs.
        config: the configuration; loaded from the defaults when omitted.
        extra: additional or overriding Spark settings (e.g. ``spark.ui.enabled``).

    Returns:
        A SparkSession with Hive support, HDFS and the shared metastore.
    """
    from pyspark.sql import SparkSession

    config = config or load_config()
    for key, value in spark_env(config).items():
        os.environ.setdefault(key, value)
    builder = SparkSession.builder.appName(app_name)
    for key, value in {**spark_conf(config), **(extra or {})}.items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()
