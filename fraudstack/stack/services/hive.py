"""The Hive metastore database (Derby network server) and the Spark Thrift Server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import Service, classpath, java, jvm_flags


def metastore(config: Config) -> Service:
    settings = config.service("metastore")
    home = config.data_dir / "metastore"

    def command() -> tuple[list[str], dict[str, str]]:
        home.mkdir(parents=True, exist_ok=True)
        return [
            java(),
            *jvm_flags("metastore", settings["heap"]),
            f"-Dderby.system.home={home}",
            "-cp",
            classpath(config, "metastore"),
            "org.apache.derby.drda.NetworkServerControl",
            "start",
            "-h",
            settings["host"],
            "-p",
            str(settings["port"]),
            # Java 17 deprecates the security manager Derby would install by default
            "-noSecurityManager",
        ], {}

    return Service(
        name="metastore",
        host=config.host("metastore"),
        ports={"port": settings["port"]},
        command=command,
        health=lambda: health.derby_ping(
            config.jars_dir / "metastore", settings["host"], settings["port"]
        ),
        start_timeout=60,
    )


# --- Spark Thrift Server ---------------------------------------------------------------


def thriftserver(config: Config) -> Service:
    from fraudstack.spark import spark_conf, spark_env

    settings = config.service("thriftserver")

    def command() -> tuple[list[str], dict[str, str]]:
        conf = {**spark_conf(config), "spark.ui.port": str(settings["ui_port"])}
        argv = [
            str(Path(sys.executable).parent / "spark-submit"),
            "--name",
            "fraudstack-thriftserver",
            "--driver-memory",
            settings["driver_memory"],
            "--class",
            "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        ]
        for key, value in conf.items():
            argv += ["--conf", f"{key}={value}"]
        argv += [
            "--hiveconf",
            f"hive.server2.thrift.bind.host={settings['host']}",
            "--hiveconf",
            f"hive.server2.thrift.port={settings['port']}",
            "--hiveconf",
            "hive.server2.authentication=NOSASL",
            "spark-internal",
        ]
        env = {**spark_env(config), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        return argv, env

    return Service(
        name="thriftserver",
        host=config.host("thriftserver"),
        ports={k: config.port("thriftserver", k) for k in ("port", "ui_port")},
        command=command,
        health=lambda: health.thrift_select(settings["host"], settings["port"]),
        # metadata operations only at start: the NameNode suffices, no DataNode needed
        depends_on=("namenode", "metastore"),
        start_timeout=180,
    )
