"""HDFS NameNode and DataNode sharing one rendered Hadoop configuration."""

from __future__ import annotations

from pathlib import Path

from fraudstack.config import Config
from fraudstack.stack import health
from fraudstack.stack.services.base import (
    CONF_TEMPLATES,
    Service,
    classpath,
    java,
    jvm_flags,
    render,
    run_checked,
)

HDFS_DIRECTORIES = ("/warehouse", "/master", "/checkpoints", "/tmp")


def _render_hadoop_conf(config: Config) -> None:
    _hadoop_conf(config)


def _hadoop_conf(config: Config) -> Path:
    """Render the Hadoop configuration shared by the NameNode and the DataNode."""
    namenode, datanode = config.service("namenode"), config.service("datanode")
    return render(
        CONF_TEMPLATES / "hadoop",
        config.conf_dir / "hadoop",
        {
            **namenode,
            "data_dir": config.data_dir / "hdfs",
            "datanode_port": datanode["port"],
            "datanode_http_port": datanode["http_port"],
            "datanode_ipc_port": datanode["ipc_port"],
        },
    )


def _hadoop_command(config: Config, name: str, main_class: str) -> list[str]:
    conf = config.conf_dir / "hadoop"
    return [
        java(),
        *jvm_flags(name, config.service(name)["heap"]),
        f"-Dlog4j.configuration=file://{conf / 'log4j.properties'}",
        f"-Dhadoop.log.dir={config.logs_dir}",
        "-cp",
        classpath(config, conf, config.jars_dir / "hadoop-webroot", "hadoop"),
        main_class,
    ]


def namenode(config: Config) -> Service:
    http = config.address("namenode", "http_port")

    def prepare() -> None:
        conf = _hadoop_conf(config)
        if (config.data_dir / "hdfs" / "name" / "current" / "VERSION").exists():
            return
        run_checked(
            [
                *_hadoop_command(
                    config, "namenode", "org.apache.hadoop.hdfs.server.namenode.NameNode"
                ),
                "-format",
                "-nonInteractive",
                "-clusterId",
                "fraudstack",
            ],
            what=f"format the HDFS NameNode (config in {conf})",
        )

    return Service(
        name="namenode",
        host=config.host("namenode"),
        ports={k: config.port("namenode", k) for k in ("port", "http_port")},
        command=lambda: (
            _hadoop_command(config, "namenode", "org.apache.hadoop.hdfs.server.namenode.NameNode"),
            {},
        ),
        health=lambda: health.namenode_active(http),
        prepare=prepare,
        bootstrap=lambda: health.hdfs_mkdirs(http, HDFS_DIRECTORIES),
        start_timeout=120,
    )


def datanode(config: Config) -> Service:
    return Service(
        name="datanode",
        host=config.host("datanode"),
        ports={k: config.port("datanode", k) for k in ("port", "http_port", "ipc_port")},
        command=lambda: (
            _hadoop_command(config, "datanode", "org.apache.hadoop.hdfs.server.datanode.DataNode"),
            {},
        ),
        health=lambda: health.hdfs_roundtrip(config.address("namenode", "http_port")),
        prepare=lambda: _render_hadoop_conf(config),
        depends_on=("namenode",),
        start_timeout=120,
    )
